// The node-side condition of a staged iSCSI LUN, read from the kernel's iSCSI transport class in
// sysfs (Linux drivers/scsi/scsi_transport_iscsi.c): /sys/class/iscsi_session/session<sid>/
// `targetname` and `state` (iscsi_session_state_name: "LOGGED_IN", "FAILED", "FREE"), and
// /sys/class/iscsi_connection/connection<sid>:<cid>/`persistent_address`, `persistent_port`.
#include <fstream>

#include "iscsi_node.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

namespace fs = std::filesystem;

std::string readTrimmed(const fs::path& file) {
  std::ifstream in(file);
  std::string value;
  std::getline(in, value);
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return value;
}

// "host:port" of a session's first connection, "" when sysfs does not say.
std::string portalOf(const fs::path& sysfsRoot, const std::string& sessionName) {
  const std::string sid = sessionName.substr(std::string("session").size());
  std::error_code ec;
  for (const auto& c : fs::directory_iterator(sysfsRoot / "class" / "iscsi_connection", ec)) {
    const std::string name = c.path().filename().string();
    if (name.rfind("connection" + sid + ":", 0) != 0) continue;
    const std::string address = readTrimmed(c.path() / "persistent_address");
    const std::string port = readTrimmed(c.path() / "persistent_port");
    if (address.empty() || port.empty()) return "";
    return (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" + port;
  }
  return "";
}

}  // namespace

VolumeCondition IscsiNode::condition(const std::string& stagingPath) const {
  std::optional<Staged> found;
  for (const Staged& s : loadRecord())
    if (s.stagingPath == stagingPath) found = s;
  if (!found)
    return {true, "no iSCSI LUN is staged at " + stagingPath + " by this node (record " +
                      (options_.stateDir / "iscsi_staged.json").string() + ")"};
  std::vector<IscsiPath> paths = found->lun.paths;
  if (paths.empty()) paths = {{found->lun.portal, found->lun.targetIqn}};

  // The sessions the kernel holds: target, portal (when known) and state.
  struct Session {
    std::string target, portal, state;
  };
  std::vector<Session> sessions;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(options_.sysfsRoot / "class" / "iscsi_session", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("session", 0) != 0) continue;
    sessions.push_back({readTrimmed(e.path() / "targetname"), portalOf(options_.sysfsRoot, name),
                        readTrimmed(e.path() / "state")});
  }

  std::vector<std::string> problems;
  for (const IscsiPath& path : paths) {
    const Session* session = nullptr;
    for (const Session& s : sessions)
      if (s.target == path.targetIqn && (s.portal.empty() || s.portal == path.portal))
        if (session == nullptr || s.state == "LOGGED_IN") session = &s;
    const std::string at = path.targetIqn + " at " + path.portal;
    if (session == nullptr) {
      problems.push_back("no iSCSI session to " + at);
      continue;
    }
    if (session->state != "LOGGED_IN") {
      problems.push_back("the iSCSI session to " + at + " is " +
                         (session->state.empty() ? "in an unknown state" : session->state) +
                         ", not LOGGED_IN");
      continue;
    }
    const fs::path device = devicePathOf(path, found->lun.lun);
    if (!fs::exists(device, ec))
      problems.push_back("the LUN's device " + device.string() + " of " + at + " is gone");
  }
  if (problems.empty())
    return {false, std::to_string(paths.size()) + " iSCSI path(s) logged in with the LUN's device"};
  std::string message = std::to_string(problems.size()) + " of " + std::to_string(paths.size()) +
                        " iSCSI path(s) of LUN " + std::to_string(found->lun.lun) + " down: ";
  for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
  return {true, message};
}

}  // namespace polycsi::iscsi_powerstore
