// The node side of iscsi_powerstore: the initiator IQN, and logging the kernel initiator in to
// a LUN's target and out again.
//
// Every iscsiadm is the host's, run in the host's root (host_iscsiadm.hpp), and the files of
// open-iscsi (initiator name, node records) are read and written as the host sees them.
//
// attach: validates the publish context, checks that the host has iscsiadm and the kernel iSCSI
// initiator is present (FAILED_PRECONDITION otherwise), checks each portal/target pair (one per IP
// port of the array) with a libiscsi login (reachable, target known, this initiator allowed, CHAP
// accepted; always with a timeout), logs in with `iscsiadm` to every pair that passed (at
// least one must) and waits for /dev/disk/by-path/ip-PORTAL-iscsi-TARGET-lun-N of one of them. With
// CHAP, the credentials go into iscsiadm's node record file (node_record.hpp), never onto a command
// line. detach: forgets the staging path and logs out of the target only when no other staged LUN
// of this node uses it. Staged LUNs are kept in <stateDir>/iscsi_staged.json so a restarted
// plugin still counts them.
// THREADING: attach/detach are serialised by a mutex (the record and iscsiadm's node database
// are shared).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "polycsi/plugin.hpp"
#include "polycsi/process/command_runner.hpp"

namespace polycsi::iscsi_powerstore {
class MultipathMaps;
}

namespace polycsi::iscsi_powerstore {

// The node's CHAP: `user`/`password` authenticate the node to the target; a non-empty
// `mutualUser`/`mutualPassword` is what the target must answer the node's own challenge with
// (mutual CHAP; open-iscsi's node.session.auth.username_in/password_in).
struct ChapSecret {
  std::string user;
  std::string password;
  std::string mutualUser;
  std::string mutualPassword;
  bool mutual() const { return !mutualUser.empty(); }
};

// Output and exit status of a command run with an argument vector (never a shell).
using CommandOutcome = process::CommandResult;
// Runs argv for at most the timeout; throws Error when it cannot run it to its end.
using CommandRunner =
    std::function<CommandOutcome(const std::vector<std::string>& argv, std::chrono::milliseconds)>;
// Logs in to `target` at `portal` as `initiator` and out again; throws Error when it cannot.
using PortalProbe = std::function<void(
    const std::string& portal, const std::string& target, const std::string& initiator,
    const std::optional<ChapSecret>& chap, std::chrono::milliseconds timeout)>;

// The production probe, with libiscsi. UNAVAILABLE when the portal cannot be reached,
// PERMISSION_DENIED when the login is refused (initiator not mapped, or CHAP wrong) or, with
// mutual CHAP, when the target does not prove it knows the mutual secret.
void probePortal(const std::string& portal, const std::string& target, const std::string& initiator,
                 const std::optional<ChapSecret>& chap, std::chrono::milliseconds timeout);

struct IscsiNodeOptions {
  // The host's root as this process sees it: "/" when the plugin runs on the host, the
  // hostPath mount of the host's / (e.g. /host) in a pod. iscsiadm runs chrooted into it, and
  // initiatorNameFile and nodeDbDir are host paths resolved under it.
  std::filesystem::path hostRoot = "/";
  std::string initiatorNameFile = "/etc/iscsi/initiatorname.iscsi";
  std::filesystem::path sysfsRoot = "/sys";
  std::filesystem::path byPathDir = "/dev/disk/by-path";
  std::filesystem::path stateDir;
  // open-iscsi's node database (<DBROOT>/nodes) on the host, where the CHAP credentials are
  // written.
  std::filesystem::path nodeDbDir = "/etc/iscsi/nodes";
  std::optional<ChapSecret> chap;
  // Written into the node record (node.session.timeo.replacement_timeout) before each login;
  // unset leaves the record as iscsiadm made it from the host's iscsid.conf.
  std::optional<int> replacementTimeoutSeconds;
  std::chrono::milliseconds deviceWaitTimeout{30000};
  std::chrono::milliseconds commandTimeout{30000};
  // dm-multipath (multipath_map.hpp): attach waits for every path's disk and returns the map
  // that holds them (devDir/dm-N); detach flushes the map before logging out.
  bool multipath = false;
  std::filesystem::path devDir = "/dev";
  // The SDK's process runner (polycsi/process/command_runner.hpp), as the core's: a clean
  // environment, its own process group, the whole group SIGKILLed at the timeout.
  CommandRunner runner = process::runCommandOrThrow;
  PortalProbe probe = probePortal;
};

// One way to the LUN: an IP port's portal and its target.
struct IscsiPath {
  std::string portal;  // "host:port"
  std::string targetIqn;
  bool operator==(const IscsiPath& other) const {
    return portal == other.portal && targetIqn == other.targetIqn;
  }
};

// What publish hands the node.
struct LunAddress {
  std::string portal;  // the first path's
  std::string targetIqn;
  int lun = 0;
  std::vector<IscsiPath> paths;  // every path, the first one first
};

// Checks a publish context's portal, targetIqn, lun and the optional comma-separated
// portals/targetIqns pairs; INVALID_ARGUMENT naming what is wrong.
LunAddress parseLunAddress(const StringMap& publishContext);

class IscsiNode {
 public:
  explicit IscsiNode(IscsiNodeOptions options);

  // The IQN from the InitiatorName= line of the host's initiator name file; FAILED_PRECONDITION
  // when the file is missing or holds no valid IQN.
  std::string initiatorName() const;
  // Logs in (see above) and returns the LUN's block device. Idempotent per staging path.
  std::string attach(const LunAddress& lun, const std::string& stagingPath, const Call& call);
  // Idempotent: an unknown staging path is success.
  void detach(const std::string& stagingPath, const Call& call);
  // The health of the LUN staged at `stagingPath` (iscsi_condition.cc), from sysfs only (no
  // iscsiadm, no network): every recorded path has a session in state LOGGED_IN and its LUN's
  // by-path device. Abnormal names each path that is not, or says the path is not staged here.
  // Reads the staging record without the attach lock (it is replaced atomically).
  VolumeCondition condition(const std::string& stagingPath) const;

 private:
  struct Staged {
    LunAddress lun;
    std::string stagingPath;
    std::string multipathMap;  // the dm map's name when staged with multipath
  };
  // With multipath: every logged-in path's disk and the map holding them all.
  std::filesystem::path multipathDevice(const LunAddress& lun, const std::vector<IscsiPath>& paths,
                                        std::string& mapName, const Call& call);
  MultipathMaps multipathMaps() const;
  void requireKernelSupport() const;
  // The initiator name file as this process reaches it (under hostRoot).
  std::filesystem::path initiatorNameFile() const;
  std::filesystem::path devicePathOf(const IscsiPath& path, int lun) const;
  // Creates the node record (CHAP written into it) and logs in; PERMISSION_DENIED when CHAP
  // fails either way (iscsiadm's ISCSI_ERR_LOGIN_AUTH_FAILED).
  void login(const IscsiPath& path, const Call& call);
  // Logs out of each of `paths` that no LUN of `staged` uses and deletes its node record
  // (which holds the CHAP secrets). A path without a session is success.
  void logoutUnused(const std::vector<IscsiPath>& paths, const std::vector<Staged>& staged,
                    const Call& call);
  // Runs the host's iscsiadm with `args`; FAILED_PRECONDITION when the host has none.
  CommandOutcome iscsiadm(const std::vector<std::string>& args, const Call& call) const;
  std::vector<Staged> loadRecord() const;
  void saveRecord(const std::vector<Staged>& staged) const;

  IscsiNodeOptions options_;
  std::mutex mu_;
};

}  // namespace polycsi::iscsi_powerstore
