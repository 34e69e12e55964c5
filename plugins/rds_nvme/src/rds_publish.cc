// Storage-level fencing of the rds_nvme backend. RouterOS's per-disk property
// nvme-tcp-server-allow-host-name (documented by MikroTik as host-based access control for the
// NVMe/TCP server) holds the host NQNs allowed to connect, comma-separated. Publish adds the
// node's host NQN, unpublish removes it; with no node left, the placeholder NQN keeps the
// export closed (an empty value would allow any host). A KubeVirt migration has two entries
// for the length of the window.
#include "nvme_paths.hpp"
#include "rds_backend.hpp"
#include "volume_naming.hpp"

namespace polycsi::rds_nvme {
namespace {

// nvmeAddress (the first path) as before, for readers of older versions; nvmeAddresses is
// what the node connects (nvme_paths.hpp).
StringMap publishContext(const RdsDisk& disk, const std::vector<HostAddress>& paths) {
  return {{"nqn", disk.nvmeTcpServerNqn},
          {"nvmeAddress", paths.front().str()},
          {kNvmeAddressesKey, joinNvmeAddresses(paths)},
          {"nvmePort", disk.nvmeTcpServerPort.value_or("")}};
}

}  // namespace

StringMap RdsBackend::publish(const PublishRequest& req) {
  const SlotName slot = volumeSlot(req.volumeId, "volume id");
  std::optional<Nqn> host;
  if (settings_.fencing) {
    if (req.nodeIdentity.empty())
      throw Error(Code::kFailedPrecondition,
                  "node " + req.nodeName +
                      " reported no NVMe host NQN, which fencing needs to "
                      "allow it on the export of " +
                      slot.str() +
                      " (set 'fencing: false' to publish without storage-level fencing)");
    host = Nqn::parse(req.nodeIdentity, "node identity (NVMe host NQN) of " + req.nodeName);
  }
  if (!isVolumeSlot(slot, settings_.volumePrefix))
    throw Error(Code::kNotFound, "volume " + slot.str() + " does not exist");
  defaultPlacement(settings_);  // FAILED_PRECONDITION on a node-only instance
  const std::vector<HostAddress> paths =
      publishedNvmeAddresses(req.volumeContext, settings_.nvmePaths());

  RdsClient& rds = client();
  auto disk = rds.findDisk(slot, req.call);
  if (!disk) throw Error(Code::kNotFound, "volume " + slot.str() + " does not exist");
  if (host) {
    NqnList allowed = RdsClient::allowedHosts(*disk);
    if (!allowed.contains(*host)) {
      allowed.remove(Nqn::parse(kFencedPlaceholderNqn, "fencing placeholder"));
      allowed.add(*host);
      disk = rds.ensureAllowedHosts(slot, allowed, req.call, disk);
      host_.info("allowed " + host->str() + " (node " + req.nodeName + ") on the export of " +
                 slot.str());
    }
  }
  return publishContext(*disk, paths);
}

void RdsBackend::unpublish(const PublishRequest& req) {
  const SlotName slot = volumeSlot(req.volumeId, "volume id");
  if (!settings_.fencing || req.nodeIdentity.empty()) return;  // nothing was allowed
  const Nqn host = Nqn::parse(req.nodeIdentity, "node identity (NVMe host NQN) of " + req.nodeName);
  if (!isVolumeSlot(slot, settings_.volumePrefix)) return;
  RdsClient& rds = client();
  auto disk = rds.findDisk(slot, req.call);
  if (!disk) return;  // deleted: nothing left to fence
  NqnList allowed = RdsClient::allowedHosts(*disk);
  if (!allowed.contains(host)) return;
  allowed.remove(host);
  if (allowed.empty()) allowed.add(Nqn::parse(kFencedPlaceholderNqn, "fencing placeholder"));
  rds.ensureAllowedHosts(slot, allowed, req.call, disk);
  host_.info("removed " + host.str() + " (node " + req.nodeName + ") from the export of " +
             slot.str());
}

}  // namespace polycsi::rds_nvme
