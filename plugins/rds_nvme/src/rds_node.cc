// The node half of the rds_nvme backend: host identity, attach, detach and volume condition.
// The connection logic itself is in nvme_volume_connections.cc.
#include "host_identity.hpp"
#include "namespace_growth.hpp"
#include "nvme_connect_tuning.hpp"
#include "nvme_paths.hpp"
#include "rds_backend.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {
namespace {

const std::string& contextValue(const StringMap& context, const std::string& key,
                                const std::string& volumeId) {
  auto it = context.find(key);
  if (it == context.end() || it->second.empty())
    throw Error(Code::kInvalidArgument,
                "the volume context of " + volumeId + " has no '" + key +
                    "' (rds_nvme's CreateVolume puts nqn, nvmeAddress and nvmePort there)");
  return it->second;
}

// The subsystem to connect and its paths, from the volume and publish contexts
// (nvme_paths.hpp); every value passes its allow-list, so nothing can add options to
// libnvme's comma-separated connect string.
NvmeTcpPaths pathsFromContext(const AttachRequest& req, const std::string& volumeId) {
  NvmeTcpPaths paths{
      Nqn::parse(contextValue(req.volumeContext, "nqn", volumeId), "volume context nqn").str(),
      PortNumber::parse(contextValue(req.volumeContext, "nvmePort", volumeId),
                        "volume context nvmePort")
          .str(),
      {}};
  for (const auto& a : nodeNvmeAddresses(req.volumeContext, req.publishContext, volumeId))
    paths.addresses.push_back(a.str());
  return paths;
}

}  // namespace

NvmeVolumeConnections& RdsBackend::connections() {
  if (!connections_)
    throw Error(Code::kFailedPrecondition,
                "this rds_nvme instance runs as a controller plugin; node calls need the node "
                "role");
  return *connections_;
}

std::string RdsBackend::nodeIdentity(const Call& call) {
  call.checkpoint("reading the NVMe host NQN");
  std::lock_guard<std::mutex> lock(identityMu_);
  if (hostNqn_.empty()) {
    std::filesystem::path file(settings_.hostNqnFile);
    std::string nqn = loadOrCreateHostNqn(file);
    hostId_ = loadHostId(file.parent_path() / "hostid");
    hostNqn_ = nqn;
    host_.info("rds_nvme backend '" + instanceName_ + "': NVMe host NQN " + hostNqn_ + " (from " +
               file.string() + ")");
  }
  return hostNqn_;
}

NvmeConnectOptions RdsBackend::connectOptions() {
  NvmeConnectOptions options;
  options.hostNqn = nodeIdentity(Call{});
  {
    std::lock_guard<std::mutex> lock(identityMu_);
    options.hostId = hostId_;
  }
  options.ctrlLossTmoSeconds = static_cast<int>(settings_.ctrlLossTmo.count());
  options.reconnectDelaySeconds = static_cast<int>(settings_.reconnectDelay.count());
  options.keepAliveTmoSeconds = static_cast<int>(settings_.keepAliveTmo.count());
  return options;
}

Attachment RdsBackend::attach(const AttachRequest& req) {
  req.call.checkpoint("attaching volume " + req.volumeId);
  SlotName slot = volumeSlot(req.volumeId, "volume id");
  NvmeVolumeConnections& nodeSide = connections();
  const NvmeTcpPaths paths = pathsFromContext(req, slot.str());
  // The StorageClass's tuning travels in the volume context (also in rds-csi's PVs).
  const NvmeConnectOptions options =
      tuned(connectOptions(), parseConnectTuning(req.volumeContext, "volume context"));
  std::string device = nodeSide.attach(slot.str(), paths, req.stagingPath, options,
                                       settings_.deviceTimeout, req.call);
  return Attachment::blockDevice(device);
}

void RdsBackend::detach(const DetachRequest& req) {
  req.call.checkpoint("detaching volume " + req.volumeId);
  SlotName slot = volumeSlot(req.volumeId, "volume id");
  connections().detach(slot.str(), req.stagingPath, req.call);
}

void RdsBackend::nodeExpand(const NodeExpandRequest& req) {
  req.call.checkpoint("expanding volume " + req.volumeId + " on the node");
  const NvmeSysfs& nvme = connections().sysfs();
  rescanNamespace(nvme, BlockDeviceSysfs(nvme.root()), req.devicePath, req.requiredBytes, req.call);
}

VolumeCondition RdsBackend::volumeCondition(const DetachRequest& req) {
  req.call.checkpoint("checking volume " + req.volumeId);
  SlotName slot = volumeSlot(req.volumeId, "volume id");
  return connections().condition(slot.str());
}

}  // namespace polycsi::rds_nvme
