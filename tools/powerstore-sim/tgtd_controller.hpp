// Drives a private `tgtd` (the Linux SCSI target daemon) that exports the simulator's volumes
// as iSCSI LUNs: one target per simulated IP port, a LUN per host mapping, each target
// reachable only by the initiators bound to it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace powerstore_sim {

// A tgtd CHAP account: user name and secret.
struct ChapAccount {
  std::string user;
  std::string password;
  bool operator==(const ChapAccount& other) const {
    return user == other.user && password == other.password;
  }
};

struct TgtdOptions {
  std::string tgtd = "tgtd";  // program names or absolute paths
  std::string tgtadm = "tgtadm";
  std::string portal_address = "127.0.0.1";
  std::uint16_t portal_port = 3260;
  // tgtd's management socket number (`-C N`); distinct numbers let several daemons coexist.
  int control_port = 0;
  std::filesystem::path log_file;  // tgtd's stdout/stderr; /dev/null when empty
  // When set, every target requires this CHAP user/password from initiators (a test shortcut
  // that no array has; the array's CHAP is per initiator: setChapAccounts()).
  std::optional<std::string> chap_user;
  std::optional<std::string> chap_password;
  std::chrono::milliseconds command_timeout{10000};
};

// Owns one tgtd process. start() launches it and waits until it answers; the destructor
// removes every target and shuts it down the way tgtd requires (it ignores SIGTERM).
// All member functions are serialised by an internal mutex. Every tgtadm failure throws
// std::runtime_error carrying tgtadm's message.
class TgtdController {
 public:
  explicit TgtdController(TgtdOptions options);
  ~TgtdController();
  TgtdController(const TgtdController&) = delete;
  TgtdController& operator=(const TgtdController&) = delete;

  // Starts tgtd and waits (up to 10 s) until it accepts management commands; creates the
  // CHAP account when configured. Throws when tgtd exits or does not answer.
  void start();
  // Deletes every target, asks tgtd to exit and reaps it (SIGKILL after 10 s). Idempotent.
  void stop();

  // Creates target `tid` named `iqn` with no LUNs, bound to the CHAP accounts configured and
  // set. Idempotent: a target that already exists is replaced.
  void createTarget(int tid, const std::string& iqn);
  // Makes the CHAP accounts of every target exactly `incoming` (the initiators' secrets; any
  // bound incoming account makes tgtd require CHAP) and `outgoing` (the target's own account
  // for mutual CHAP; tgtd binds at most one per target), besides the chap_user of the options.
  // Unchanged accounts stay bound throughout, so no login slips through while it runs.
  // Account names must be unique (tgtd keeps one secret per user): the caller checks.
  void setChapAccounts(const std::vector<ChapAccount>& incoming,
                       const std::optional<ChapAccount>& outgoing);
  // Adds `backing_file` as LUN `lun` of target `tid`, replacing a LUN of that number. A
  // non-empty `naa` (32 hex digits) becomes the LUN's identity (tgtd's scsi_id, from which it
  // builds the 16-byte NAA designator of VPD page 0x83: update_vpd_83() in tgt's usr/spc.c), so
  // one volume shows the same WWID through every target, as an array's volume does; tgtd's
  // default identity holds the target id, which would make each path a different disk.
  void addLun(int tid, int lun, const std::filesystem::path& backing_file,
              const std::string& naa = "");
  // Makes tgtd read the size of LUN `lun` of target `tid` again after its backing file grew,
  // without removing the LUN: initiators keep their sessions and the LUN stays usable, as a
  // PowerStore volume does when it grows while mapped. tgtd re-opens the file within one
  // management request (`--params online=0,path=FILE`: tgt_device_path_update() in tgt's
  // usr/target.c); a removed and re-added LUN would be refused while I/O is queued on it.
  void refreshLunSize(int tid, int lun, const std::filesystem::path& backing_file);
  // Removes LUN `lun` of target `tid` even while initiators are logged in; a missing LUN is
  // success.
  void removeLun(int tid, int lun);
  // Makes tgtd listen on one more portal "address:port" too (every target is reachable on
  // every portal).
  void addPortal(const std::string& address, std::uint16_t port);
  // Allows (or, unbind, forbids again) initiator `initiator_iqn` on target `tid`.
  void bindInitiator(int tid, const std::string& initiator_iqn);
  void unbindInitiator(int tid, const std::string& initiator_iqn);

  const TgtdOptions& options() const { return options_; }

 private:
  // Runs tgtadm with `args` after the common `--lld iscsi -C N`; returns its output.
  std::string tgtadm(const std::vector<std::string>& args, bool allow_failure = false);
  bool targetExists(int tid);
  bool lunExists(int tid, int lun);
  void bindAccounts(int tid);

  TgtdOptions options_;
  std::mutex mutex_;
  pid_t pid_ = -1;
  std::set<int> targets_;
  std::vector<ChapAccount> incoming_;  // set by setChapAccounts(), bound to every target
  std::optional<ChapAccount> outgoing_;
};

}  // namespace powerstore_sim
