#include "tgtd_controller.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "command_runner.hpp"

namespace powerstore_sim {
namespace {

// Reaps `pid` if it has exited; returns true when it is gone.
bool reaped(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

TgtdController::TgtdController(TgtdOptions options) : options_(std::move(options)) {
  if (options_.chap_user.has_value() != options_.chap_password.has_value()) {
    throw std::invalid_argument("CHAP needs both a user and a password");
  }
}

TgtdController::~TgtdController() {
  try {
    stop();
  } catch (...) {
    // Destructors do not throw; stop() already killed tgtd when it could not ask nicely.
  }
}

std::string TgtdController::tgtadm(const std::vector<std::string>& args, bool allow_failure) {
  std::vector<std::string> argv = {options_.tgtadm, "--lld", "iscsi", "-C",
                                   std::to_string(options_.control_port)};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult result = runCommand(argv, options_.command_timeout);
  if (result.exit_code != 0 && !allow_failure) {
    std::string command;
    for (const std::string& arg : args) command += " " + arg;
    throw std::runtime_error("tgtadm" + command + " failed (" + std::to_string(result.exit_code) +
                             "): " + result.output);
  }
  return result.exit_code == 0 ? result.output : std::string();
}

void TgtdController::start() {
  std::lock_guard lock(mutex_);
  if (pid_ > 0) return;
  const std::string portal =
      "portal=" + options_.portal_address + ":" + std::to_string(options_.portal_port);
  std::vector<std::string> args = {
      options_.tgtd, "-f", "-C", std::to_string(options_.control_port), "--iscsi", portal};
  std::vector<char*> raw;
  for (std::string& arg : args) raw.push_back(arg.data());
  raw.push_back(nullptr);
  const std::string log = options_.log_file.empty() ? "/dev/null" : options_.log_file.string();

  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork tgtd");
  if (pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    // A session leader of its own, so a terminal's signals meant for the simulator miss it.
    ::setsid();
    // tgtd must not outlive a simulator that dies without stop(): an orphaned tgtd keeps its
    // portal and LUNs. SIGKILL, because tgtd ignores SIGTERM while it has targets. start()
    // runs on the simulator's main thread, whose end is the process's end.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) ::_exit(1);  // the simulator is already gone
    ::execvp(raw[0], raw.data());
    ::_exit(127);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    if (reaped(pid_)) {
      pid_ = -1;
      throw std::runtime_error("tgtd exited at start; see " + log);
    }
    if (runCommand({options_.tgtadm, "--lld", "iscsi", "-C", std::to_string(options_.control_port),
                    "--op", "show", "--mode", "sys"},
                   options_.command_timeout)
            .exit_code == 0) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      throw std::runtime_error("tgtd did not answer within 10 s; see " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (options_.chap_user) {
    tgtadm({"--op", "new", "--mode", "account", "--user", *options_.chap_user, "--password",
            *options_.chap_password});
  }
}

void TgtdController::stop() {
  std::lock_guard lock(mutex_);
  if (pid_ <= 0) return;
  const std::string shown = tgtadm({"--op", "show", "--mode", "target"}, true);
  static const std::regex kTarget(R"(^Target (\d+):)", std::regex::multiline);
  for (auto it = std::sregex_iterator(shown.begin(), shown.end(), kTarget);
       it != std::sregex_iterator(); ++it) {
    tgtadm({"--op", "delete", "--mode", "target", "--force", "--tid", (*it)[1].str()}, true);
  }
  tgtadm({"--op", "delete", "--mode", "system"}, true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!reaped(pid_)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  pid_ = -1;
}

bool TgtdController::targetExists(int tid) {
  return !tgtadm({"--op", "show", "--mode", "target", "--tid", std::to_string(tid)}, true).empty();
}

bool TgtdController::lunExists(int tid, int lun) {
  // `show --tid` prints the target's parameters only; the full listing has a section
  // "Target N: IQN" per target with a line "        LUN: M" per LUN.
  std::istringstream shown(tgtadm({"--op", "show", "--mode", "target"}, true));
  const std::string section = "Target " + std::to_string(tid) + ":";
  const std::string wanted = "LUN: " + std::to_string(lun);
  bool inTarget = false;
  for (std::string line; std::getline(shown, line);) {
    if (line.rfind("Target ", 0) == 0) {
      inTarget = line.rfind(section, 0) == 0;
      continue;
    }
    const std::size_t start = line.find_first_not_of(' ');
    if (inTarget && start != std::string::npos &&
        line.compare(start, std::string::npos, wanted) == 0)
      return true;
  }
  return false;
}

void TgtdController::createTarget(int tid, const std::string& iqn) {
  std::lock_guard lock(mutex_);
  const std::string id = std::to_string(tid);
  if (targetExists(tid)) {
    tgtadm({"--op", "delete", "--mode", "target", "--force", "--tid", id});
  }
  tgtadm({"--op", "new", "--mode", "target", "--tid", id, "-T", iqn});
  try {
    if (options_.chap_user) {
      tgtadm({"--op", "bind", "--mode", "account", "--tid", id, "--user", *options_.chap_user});
    }
    bindAccounts(tid);
  } catch (...) {
    tgtadm({"--op", "delete", "--mode", "target", "--force", "--tid", id}, true);
    throw;
  }
  targets_.insert(tid);
}

void TgtdController::bindAccounts(int tid) {
  const std::string id = std::to_string(tid);
  for (const ChapAccount& account : incoming_)
    tgtadm({"--op", "bind", "--mode", "account", "--tid", id, "--user", account.user});
  if (outgoing_)
    tgtadm({"--op", "bind", "--mode", "account", "--tid", id, "--user", outgoing_->user,
            "--outgoing"});
}

void TgtdController::setChapAccounts(const std::vector<ChapAccount>& incoming,
                                     const std::optional<ChapAccount>& outgoing) {
  std::lock_guard lock(mutex_);
  auto contains = [](const std::vector<ChapAccount>& list, const ChapAccount& account) {
    return std::find(list.begin(), list.end(), account) != list.end();
  };
  // Deleting an account unbinds it from every target (account_del() in tgt's usr/target.c),
  // so an account that changes is deleted and made again.
  std::vector<ChapAccount> gone;
  for (const ChapAccount& account : incoming_)
    if (!contains(incoming, account)) gone.push_back(account);
  if (outgoing_ && outgoing_ != outgoing) gone.push_back(*outgoing_);
  for (const ChapAccount& account : gone)
    tgtadm({"--op", "delete", "--mode", "account", "--user", account.user}, true);
  std::vector<ChapAccount> kept;
  for (const ChapAccount& account : incoming_)
    if (contains(incoming, account)) kept.push_back(account);
  // The one account tgtd keeps for a user name may serve both directions.
  std::vector<std::string> made;
  auto make = [&](const ChapAccount& account) {
    if (std::find(made.begin(), made.end(), account.user) != made.end()) return;
    tgtadm({"--op", "new", "--mode", "account", "--user", account.user, "--password",
            account.password});
    made.push_back(account.user);
  };
  for (const ChapAccount& account : incoming) {
    if (contains(kept, account)) continue;
    make(account);
    for (int tid : targets_)
      tgtadm({"--op", "bind", "--mode", "account", "--tid", std::to_string(tid), "--user",
              account.user});
  }
  incoming_ = kept;
  for (const ChapAccount& account : incoming)
    if (!contains(kept, account)) incoming_.push_back(account);
  if (outgoing && outgoing_ != outgoing) {
    if (!contains(kept, *outgoing)) make(*outgoing);
    for (int tid : targets_)
      tgtadm({"--op", "bind", "--mode", "account", "--tid", std::to_string(tid), "--user",
              outgoing->user, "--outgoing"});
  }
  outgoing_ = outgoing;
}

void TgtdController::addLun(int tid, int lun, const std::filesystem::path& backing_file,
                            const std::string& naa) {
  std::lock_guard lock(mutex_);
  const std::string id = std::to_string(tid);
  const std::string number = std::to_string(lun);
  if (lunExists(tid, lun)) {
    tgtadm({"--op", "delete", "--mode", "logicalunit", "--tid", id, "--lun", number});
  }
  tgtadm({"--op", "new", "--mode", "logicalunit", "--tid", id, "--lun", number, "-b",
          backing_file.string()});
  if (!naa.empty()) {
    if (naa.size() != 32 || naa.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw std::invalid_argument("a LUN's NAA must be 32 lower-case hex digits: " + naa);
    tgtadm({"--op", "update", "--mode", "logicalunit", "--tid", id, "--lun", number, "--params",
            "scsi_id=" + naa + ",scsi_sn=" + naa.substr(8)});
  }
}

void TgtdController::refreshLunSize(int tid, int lun, const std::filesystem::path& backing_file) {
  // tgtadm splits --params at commas.
  if (backing_file.string().find(',') != std::string::npos)
    throw std::invalid_argument("tgtd cannot take a backing file path with a comma: " +
                                backing_file.string());
  std::lock_guard lock(mutex_);
  tgtadm({"--op", "update", "--mode", "logicalunit", "--tid", std::to_string(tid), "--lun",
          std::to_string(lun), "--params", "online=0,path=" + backing_file.string()});
}

void TgtdController::removeLun(int tid, int lun) {
  std::lock_guard lock(mutex_);
  if (!lunExists(tid, lun)) return;
  tgtadm({"--op", "delete", "--mode", "logicalunit", "--tid", std::to_string(tid), "--lun",
          std::to_string(lun)});
}

void TgtdController::addPortal(const std::string& address, std::uint16_t port) {
  std::lock_guard lock(mutex_);
  tgtadm({"--op", "new", "--mode", "portal", "--param",
          "portal=" + address + ":" + std::to_string(port)});
}

void TgtdController::bindInitiator(int tid, const std::string& initiator_iqn) {
  std::lock_guard lock(mutex_);
  tgtadm({"--op", "bind", "--mode", "target", "--tid", std::to_string(tid), "--initiator-name",
          initiator_iqn});
}

void TgtdController::unbindInitiator(int tid, const std::string& initiator_iqn) {
  std::lock_guard lock(mutex_);
  tgtadm({"--op", "unbind", "--mode", "target", "--tid", std::to_string(tid), "--initiator-name",
          initiator_iqn},
         true);
}

}  // namespace powerstore_sim
