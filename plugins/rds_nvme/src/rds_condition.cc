// The controller-side condition of rds_nvme volumes: what the RDS says of each disk, checked
// against what the driver expects (exported over NVMe/TCP, and with fencing on, an allow-list of
// exactly the published nodes' host NQNs: rds_publish.cc keeps it so).
#include <algorithm>
#include <map>
#include <set>

#include "rds_backend.hpp"
#include "volume_naming.hpp"

namespace polycsi::rds_nvme {
namespace {

// "a, b" of `items`.
std::string listed(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// The published node holding `nqn`, for messages: "node-a (nqn...)".
std::string nodeOf(const std::vector<PublishedNode>& nodes, const std::string& nqn) {
  for (const auto& n : nodes)
    if (n.nodeIdentity == nqn) return "node " + n.nodeName + " (host NQN " + nqn + ")";
  return "host NQN " + nqn;
}

// Whether the allow-list of `disk` holds exactly the published nodes' NQNs; what differs
// otherwise, naming each extra and each missing host.
VolumeCondition compareAllowList(const RdsDisk& disk, const std::vector<PublishedNode>& nodes) {
  NqnList allowed;
  try {
    allowed = RdsClient::allowedHosts(disk);
  } catch (const Error& e) {
    return {true, e.what()};
  }
  std::set<std::string> onExport;
  for (const auto& nqn : allowed.items())
    if (nqn.str() != kFencedPlaceholderNqn) onExport.insert(nqn.str());
  std::vector<std::string> problems;
  // RouterOS reads an empty allow-list as "any host" (rds_publish.cc).
  if (allowed.empty())
    problems.push_back(
        "its allow-list (nvme-tcp-server-allow-host-name) is empty, so any host "
        "may connect; publish or unpublish the volume again to restore it");
  std::set<std::string> expected;
  for (const auto& n : nodes) {
    if (n.nodeIdentity.empty()) {
      problems.push_back("node " + n.nodeName +
                         " is published but its node id carries no NVMe host NQN, so its access "
                         "cannot be checked");
      continue;
    }
    expected.insert(n.nodeIdentity);
  }
  for (const auto& nqn : expected)
    if (!onExport.count(nqn))
      problems.push_back(nodeOf(nodes, nqn) +
                         " is published but missing from the allow-list: it cannot connect");
  for (const auto& nqn : onExport)
    if (!expected.count(nqn))
      problems.push_back("host NQN " + nqn +
                         " is on the allow-list but no node is published: that host can reach "
                         "the data; remove it from nvme-tcp-server-allow-host-name on the RDS");
  if (problems.empty()) return {false, ""};
  std::string message = "disk " + disk.slot + ": ";
  for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
  return {true, message};
}

}  // namespace

std::vector<VolumeCondition> RdsBackend::controllerVolumeConditions(
    const ControllerConditionRequest& req) {
  RdsClient& rds = client();
  const std::string rdsName = "the RDS at " + (settings_.address ? settings_.address->str() : "?") +
                              ":" + settings_.port.str();
  // The slots asked for; a volume id that is no slot of this backend is answered without a look.
  std::vector<std::optional<SlotName>> slots;
  bool allUnderPrefix = true;
  for (const auto& q : req.volumes) {
    std::optional<SlotName> slot;
    if (SlotName::isValid(q.volumeId)) slot = SlotName::parse(q.volumeId, "volume id");
    allUnderPrefix = allUnderPrefix && slot && isVolumeSlot(*slot, settings_.volumePrefix);
    slots.push_back(slot);
  }
  // One `/disk print detail` for the whole request: a ListVolumes page of many volumes costs
  // one round trip, the single volume of ControllerGetVolume one look at its slot.
  std::map<std::string, RdsDisk> disks;
  try {
    if (req.volumes.size() > 1 && allUnderPrefix) {
      for (auto& d : rds.listDisks(settings_.volumePrefix, req.call)) disks[d.slot] = std::move(d);
    } else {
      for (const auto& slot : slots)
        if (slot)
          if (auto d = rds.findDisk(*slot, req.call)) disks[d->slot] = std::move(*d);
    }
  } catch (const Error& e) {
    // Cancellation is the caller's; an RDS that does not answer is every volume's condition.
    if (e.code() != Code::kUnavailable && e.code() != Code::kDeadlineExceeded) throw;
    return std::vector<VolumeCondition>(
        req.volumes.size(), VolumeCondition{true, rdsName + " is unreachable: " + e.what()});
  }

  std::vector<VolumeCondition> out;
  out.reserve(req.volumes.size());
  for (size_t i = 0; i < req.volumes.size(); ++i) {
    const ConditionQuery& q = req.volumes[i];
    if (!slots[i]) {
      out.push_back({true, "volume id '" + q.volumeId + "' is not an RDS slot name"});
      continue;
    }
    auto found = disks.find(slots[i]->str());
    if (found == disks.end()) {
      out.push_back({true, "disk " + slots[i]->str() + " does not exist on " + rdsName +
                               " (removed behind the driver's back?)"});
      continue;
    }
    const RdsDisk& disk = found->second;
    if (disk.nvmeTcpExport != true) {
      out.push_back({true, "disk " + disk.slot + " on " + rdsName +
                               " is not exported over NVMe/TCP (nvme-tcp-export=" +
                               (disk.nvmeTcpExport ? "no" : "not printed") +
                               "): nodes cannot connect; set nvme-tcp-export=yes on the RDS"});
      continue;
    }
    const std::string exported = "disk " + disk.slot + " exported over NVMe/TCP on port " +
                                 disk.nvmeTcpServerPort.value_or("?") + " as " +
                                 disk.nvmeTcpServerNqn;
    if (!settings_.fencing) {
      out.push_back({false, exported + " (fencing off: the allow-list is not checked)"});
      continue;
    }
    VolumeCondition fenced = compareAllowList(disk, q.publishedNodes);
    if (fenced.abnormal) {
      out.push_back(std::move(fenced));
      continue;
    }
    std::vector<std::string> names;
    for (const auto& n : q.publishedNodes) names.push_back(n.nodeName);
    out.push_back({false, exported + "; its allow-list holds exactly the published nodes [" +
                              listed(names) + "]"});
  }
  return out;
}

}  // namespace polycsi::rds_nvme
