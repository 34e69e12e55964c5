#include "iscsi_node.hpp"

extern "C" {
#include <iscsi/iscsi.h>
}

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "host_iscsiadm.hpp"
#include "multipath_map.hpp"
#include "node_record.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

// iscsiadm exit codes that mean "already so" (open-iscsi include/iscsi_err.h).
constexpr int kIscsiadmSessionExists = 15;
constexpr int kIscsiadmNoSession = 21;
// ISCSI_ERR_LOGIN_AUTH_FAILED: the target refused the node's CHAP.
constexpr int kIscsiadmLoginAuthFailed = 24;
// ISCSI_ERR_FATAL_LOGIN: a login that must not be retried: the target refused it for another
// reason (initiator not admitted, target unknown) or the node refused the target, which is
// how open-iscsi reports a target that fails mutual CHAP (usr/initiator.c,
// __login_response_status).
constexpr int kIscsiadmFatalLogin = 19;

bool validIqn(const std::string& iqn) {
  if (iqn.rfind("iqn.", 0) != 0 || iqn.size() > 223) return false;
  for (char c : iqn) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool validPortal(const std::string& portal) {
  const std::size_t colon = portal.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == portal.size()) return false;
  for (std::size_t i = 0; i < portal.size(); ++i) {
    const char c = portal[i];
    if (i > colon) {
      if (c < '0' || c > '9') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) {
      return false;
    }
  }
  const int port = std::stoi(portal.substr(colon + 1));
  return port > 0 && port < 65536;
}

}  // namespace

void probePortal(const std::string& portal, const std::string& target, const std::string& initiator,
                 const std::optional<ChapSecret>& chap, std::chrono::milliseconds timeout) {
  iscsi_context* iscsi = iscsi_create_context(initiator.c_str());
  if (iscsi == nullptr) throw Error(Code::kResourceExhausted, "iscsi_create_context failed");
  const int seconds = static_cast<int>(std::max<long long>(1, timeout.count() / 1000));
  iscsi_set_timeout(iscsi, seconds);
  iscsi_set_targetname(iscsi, target.c_str());
  iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
  if (chap) iscsi_set_initiator_username_pwd(iscsi, chap->user.c_str(), chap->password.c_str());
  // libiscsi then challenges the target and checks its answer (target CHAP needs the
  // initiator's CHAP first: iscsi_set_target_username_pwd in iscsi/iscsi.h).
  if (chap && chap->mutual())
    iscsi_set_target_username_pwd(iscsi, chap->mutualUser.c_str(), chap->mutualPassword.c_str());
  if (iscsi_connect_sync(iscsi, portal.c_str()) != 0) {
    const std::string error = iscsi_get_error(iscsi);
    iscsi_destroy_context(iscsi);
    throw Error(Code::kUnavailable, "iSCSI portal " + portal + " is unreachable: " + error);
  }
  if (iscsi_login_sync(iscsi) != 0) {
    const std::string error = iscsi_get_error(iscsi);
    iscsi_destroy_context(iscsi);
    const std::string login = "iSCSI login to " + target + " at " + portal + " as " + initiator;
    // libiscsi's words when the target fails the node's challenge (lib/login.c,
    // iscsi_process_login_reply: a wrong CHAP_R, another CHAP_N, or none).
    if (chap && chap->mutual() &&
        (error.find("CHAP_R") != std::string::npos || error.find("CHAP_N") != std::string::npos ||
         error.find("CHAP targetname") != std::string::npos)) {
      throw Error(Code::kPermissionDenied,
                  login +
                      ": the target failed mutual CHAP authentication: its answer is not "
                      "chap_mutual_user '" +
                      chap->mutualUser +
                      "' with chap_mutual_password; check them against the mutual CHAP of the "
                      "node's initiator on the array (" +
                      error + ")");
    }
    // The target's login status tells a wrong secret from an initiator it does not admit.
    if (error.find("Authentication fail") != std::string::npos ||
        error.find("CHAP") != std::string::npos) {
      throw Error(Code::kPermissionDenied,
                  login + " failed CHAP authentication" +
                      (chap ? " as user '" + chap->user +
                                  "': check chap_user and chap_password against the array's "
                                  "CHAP settings" +
                                  (chap->mutual() ? std::string(" (and that the array's CHAP mode "
                                                                "is Mutual, as "
                                                                "chap_mutual_user asks)")
                                                  : std::string())
                            : ": the target requires CHAP; set chap_user and chap_password") +
                      " (" + error + ")");
    }
    throw Error(
        Code::kPermissionDenied,
        login + " was refused (is the volume attached to this host? is CHAP right?): " + error);
  }
  iscsi_logout_sync(iscsi);
  iscsi_destroy_context(iscsi);
}

LunAddress parseLunAddress(const StringMap& context) {
  LunAddress lun;
  auto get = [&](const char* key) {
    auto it = context.find(key);
    if (it == context.end() || it->second.empty())
      throw Error(Code::kInvalidArgument, std::string("publish context lacks '") + key + "'");
    return it->second;
  };
  lun.portal = get("portal");
  lun.targetIqn = get("targetIqn");
  const std::string number = get("lun");
  if (!validPortal(lun.portal))
    throw Error(Code::kInvalidArgument,
                "publish context portal '" + lun.portal + "' is not HOST:PORT");
  if (!validIqn(lun.targetIqn))
    throw Error(Code::kInvalidArgument,
                "publish context targetIqn '" + lun.targetIqn + "' is not an iqn. name");
  if (number.size() > 5 || number.find_first_not_of("0123456789") != std::string::npos)
    throw Error(Code::kInvalidArgument, "publish context lun '" + number + "' is not a number");
  lun.lun = std::stoi(number);
  const auto portals = context.find("portals");
  const auto targets = context.find("targetIqns");
  if ((portals == context.end()) != (targets == context.end()))
    throw Error(Code::kInvalidArgument,
                "publish context has only one of 'portals' and 'targetIqns'; they go in pairs");
  if (portals == context.end()) {
    lun.paths = {{lun.portal, lun.targetIqn}};
    return lun;
  }
  auto split = [](const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = text.find(',', start);
      items.push_back(text.substr(start, comma - start));
      if (comma == std::string::npos) return items;
      start = comma + 1;
    }
  };
  const std::vector<std::string> p = split(portals->second);
  const std::vector<std::string> t = split(targets->second);
  if (p.size() != t.size() || p.size() > 32)
    throw Error(Code::kInvalidArgument,
                "publish context 'portals' and 'targetIqns' must pair up (" +
                    std::to_string(p.size()) + " portals, " + std::to_string(t.size()) +
                    " targets)");
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!validPortal(p[i]))
      throw Error(Code::kInvalidArgument,
                  "publish context portals entry '" + p[i] + "' is not HOST:PORT");
    if (!validIqn(t[i]))
      throw Error(Code::kInvalidArgument,
                  "publish context targetIqns entry '" + t[i] + "' is not an iqn. name");
    lun.paths.push_back({p[i], t[i]});
  }
  const IscsiPath first{lun.portal, lun.targetIqn};
  if (std::find(lun.paths.begin(), lun.paths.end(), first) == lun.paths.end())
    lun.paths.insert(lun.paths.begin(), first);
  return lun;
}

IscsiNode::IscsiNode(IscsiNodeOptions options) : options_(std::move(options)) {}

std::filesystem::path IscsiNode::initiatorNameFile() const {
  return resolveOnHost(options_.hostRoot, options_.initiatorNameFile);
}

std::string IscsiNode::initiatorName() const {
  const std::filesystem::path file = initiatorNameFile();
  std::ifstream in(file);
  if (!in) {
    throw Error(Code::kFailedPrecondition,
                "cannot read the iSCSI initiator name file " + file.string() +
                    " (install open-iscsi on the node, or set initiator_name_file, a host path "
                    "under iscsi_host_root)");
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("InitiatorName=", 0) != 0) continue;
    std::string iqn = line.substr(14);
    while (!iqn.empty() && (iqn.back() == '\r' || iqn.back() == ' ')) iqn.pop_back();
    if (!validIqn(iqn))
      throw Error(Code::kFailedPrecondition,
                  file.string() + " holds an invalid initiator name '" + iqn + "'");
    return iqn;
  }
  throw Error(Code::kFailedPrecondition, file.string() + " has no InitiatorName= line");
}

void IscsiNode::requireKernelSupport() const {
  std::error_code ec;
  if (!std::filesystem::exists(options_.sysfsRoot / "module" / "iscsi_tcp", ec) &&
      !std::filesystem::exists(options_.sysfsRoot / "class" / "iscsi_transport" / "tcp", ec)) {
    throw Error(Code::kFailedPrecondition,
                "this node has no kernel iSCSI initiator: the iscsi_tcp module is not loaded "
                "(modprobe iscsi_tcp; install open-iscsi)");
  }
}

std::filesystem::path IscsiNode::devicePathOf(const IscsiPath& path, int lun) const {
  return options_.byPathDir /
         ("ip-" + path.portal + "-iscsi-" + path.targetIqn + "-lun-" + std::to_string(lun));
}

CommandOutcome IscsiNode::iscsiadm(const std::vector<std::string>& args, const Call& call) const {
  const std::vector<std::string> argv =
      hostIscsiadmArgv(options_.hostRoot, findHostIscsiadm(options_.hostRoot), args);
  const auto timeout = std::min(options_.commandTimeout, call.remaining());
  if (timeout.count() == 0) throw Error(Code::kDeadlineExceeded, "iscsiadm: out of time");
  return options_.runner(argv, timeout);
}

std::vector<IscsiNode::Staged> IscsiNode::loadRecord() const {
  std::vector<Staged> staged;
  std::ifstream in(options_.stateDir / "iscsi_staged.json");
  if (!in) return staged;
  const nlohmann::json record = nlohmann::json::parse(in, nullptr, false);
  if (!record.is_array()) {
    throw Error(
        Code::kInternal,
        "the staging record " + (options_.stateDir / "iscsi_staged.json").string() + " is corrupt");
  }
  for (const auto& e : record) {
    Staged s{{e.at("portal"), e.at("targetIqn"), e.at("lun"), {}},
             e.at("stagingPath"),
             e.value("multipathMap", std::string())};
    if (e.contains("paths")) {
      for (const auto& p : e.at("paths")) s.lun.paths.push_back({p.at(0), p.at(1)});
    } else {
      s.lun.paths = {{s.lun.portal, s.lun.targetIqn}};  // a record from before paths
    }
    staged.push_back(std::move(s));
  }
  return staged;
}

void IscsiNode::saveRecord(const std::vector<Staged>& staged) const {
  nlohmann::json record = nlohmann::json::array();
  for (const Staged& s : staged) {
    nlohmann::json paths = nlohmann::json::array();
    for (const IscsiPath& p : s.lun.paths) paths.push_back({p.portal, p.targetIqn});
    record.push_back({{"portal", s.lun.portal},
                      {"targetIqn", s.lun.targetIqn},
                      {"lun", s.lun.lun},
                      {"paths", paths},
                      {"stagingPath", s.stagingPath},
                      {"multipathMap", s.multipathMap}});
  }
  const auto file = options_.stateDir / "iscsi_staged.json";
  const auto temporary = options_.stateDir / "iscsi_staged.json.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << record.dump();
    if (!out.flush()) throw Error(Code::kInternal, "cannot write " + temporary.string());
  }
  std::filesystem::rename(temporary, file);
}

void IscsiNode::login(const IscsiPath& path, const Call& call) {
  const std::vector<std::string> node = {"-m", "node", "-T", path.targetIqn, "-p", path.portal};
  auto run = [&](std::vector<std::string> extra, std::initializer_list<int> okCodes) {
    std::vector<std::string> args = node;
    args.insert(args.end(), extra.begin(), extra.end());
    const CommandOutcome outcome = iscsiadm(args, call);
    for (int ok : okCodes)
      if (outcome.exitCode == ok) return;
    throw Error(Code::kInternal, "iscsiadm " + extra.front() + " " +
                                     (extra.size() > 1 ? extra[1] : "") + " for " + path.targetIqn +
                                     " failed (" + std::to_string(outcome.exitCode) +
                                     "): " + outcome.output);
  };
  run({"-o", "new"}, {0});
  // A number only, so it may go on the command line (unlike the CHAP secret below).
  if (options_.replacementTimeoutSeconds)
    run({"-o", "update", "-n", "node.session.timeo.replacement_timeout", "-v",
         std::to_string(*options_.replacementTimeoutSeconds)},
        {0});
  if (options_.chap) {
    // Not `iscsiadm -o update -v SECRET`: any local user could read the secret from its argv.
    const std::filesystem::path nodeDb =
        resolveOnHost(options_.hostRoot, options_.nodeDbDir.string());
    const auto records = findNodeRecords(nodeDb, path.targetIqn, path.portal);
    if (records.empty()) {
      throw Error(Code::kFailedPrecondition,
                  "iscsiadm -o new left no node record for " + path.targetIqn + " at " +
                      path.portal + " under " + nodeDb.string() +
                      " to write the CHAP credentials into (set iscsi_node_db_dir to where "
                      "this node's open-iscsi keeps its nodes)");
    }
    for (const auto& record : records)
      writeChapToNodeRecord(record, options_.chap->user, options_.chap->password,
                            options_.chap->mutualUser, options_.chap->mutualPassword);
  }
  const CommandOutcome outcome =
      iscsiadm({"-m", "node", "-T", path.targetIqn, "-p", path.portal, "--login"}, call);
  if (outcome.exitCode == 0 || outcome.exitCode == kIscsiadmSessionExists) return;
  const std::string what = "iscsiadm --login to " + path.targetIqn + " at " + path.portal;
  if (outcome.exitCode == kIscsiadmLoginAuthFailed) {
    throw Error(Code::kPermissionDenied, what +
                                             " failed CHAP authentication: the target refused "
                                             "chap_user and chap_password (" +
                                             outcome.output + ")");
  }
  if (outcome.exitCode == kIscsiadmFatalLogin) {
    throw Error(Code::kPermissionDenied,
                what + " was refused for good: the target does not admit this initiator" +
                    (options_.chap && options_.chap->mutual()
                         ? ", or failed mutual CHAP authentication (its answer is not "
                           "chap_mutual_user and chap_mutual_password)"
                         : "") +
                    " (" + outcome.output + ")");
  }
  throw Error(Code::kInternal,
              what + " failed (" + std::to_string(outcome.exitCode) + "): " + outcome.output);
}

void IscsiNode::logoutUnused(const std::vector<IscsiPath>& paths, const std::vector<Staged>& staged,
                             const Call& call) {
  for (const IscsiPath& path : paths) {
    bool stillUsed = false;
    for (const Staged& s : staged)
      stillUsed =
          stillUsed || std::find(s.lun.paths.begin(), s.lun.paths.end(), path) != s.lun.paths.end();
    if (stillUsed) continue;
    const CommandOutcome outcome =
        iscsiadm({"-m", "node", "-T", path.targetIqn, "-p", path.portal, "--logout"}, call);
    if (outcome.exitCode != 0 && outcome.exitCode != kIscsiadmNoSession) {
      throw Error(Code::kInternal, "iscsiadm --logout from " + path.targetIqn + " failed (" +
                                       std::to_string(outcome.exitCode) + "): " + outcome.output);
    }
    // The record holds the CHAP secrets: it goes with the session.
    iscsiadm({"-m", "node", "-T", path.targetIqn, "-p", path.portal, "-o", "delete"}, call);
  }
}

std::string IscsiNode::attach(const LunAddress& lun, const std::string& stagingPath,
                              const Call& call) {
  std::lock_guard lock(mu_);
  // A node without open-iscsi: say so before anything else (its kernel module is likely
  // missing too, but installing open-iscsi is the fix for both).
  findHostIscsiadm(options_.hostRoot);
  requireKernelSupport();
  if (options_.multipath) multipathMaps().requireSupport();
  const std::string initiator = initiatorName();
  std::vector<IscsiPath> paths = lun.paths;
  if (paths.empty()) paths = {{lun.portal, lun.targetIqn}};
  // Every IP port is a path; one that refuses or cannot be reached is skipped, as long as
  // one path is left (its error is the answer when none is).
  std::vector<IscsiPath> usable;
  std::optional<Error> firstError;
  for (const IscsiPath& path : paths) {
    try {
      options_.probe(path.portal, path.targetIqn, initiator, options_.chap,
                     std::min(options_.commandTimeout, call.remaining()));
      usable.push_back(path);
    } catch (const Error& e) {
      if (!firstError) firstError = e;
    }
  }
  if (usable.empty()) throw *firstError;
  // A path that cannot be logged in to fails the attach (the probe admitted it, so something
  // is wrong that a user must see); the sessions this attach made are undone first, so a
  // refused login leaves nothing logged in.
  std::vector<IscsiPath> loggedIn;
  try {
    for (const IscsiPath& path : usable) {
      loggedIn.push_back(path);
      login(path, call);
    }
  } catch (const Error& e) {
    try {
      logoutUnused(loggedIn, loadRecord(), call);
    } catch (const Error& cleanup) {
      throw Error(e.code(), std::string(e.what()) +
                                "; undoing this attach's logins failed too: " + cleanup.what());
    }
    throw;
  }

  std::string mapName;
  std::filesystem::path device;
  if (options_.multipath) {
    device = multipathDevice(lun, loggedIn, mapName, call);
  } else {
    const auto deadline =
        std::chrono::steady_clock::now() + std::min(options_.deviceWaitTimeout, call.remaining());
    std::error_code ec;
    std::optional<std::filesystem::path> link;
    while (!link) {
      for (const IscsiPath& path : usable) {
        if (std::filesystem::exists(devicePathOf(path, lun.lun), ec)) {
          link = devicePathOf(path, lun.lun);
          break;
        }
      }
      if (link) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        throw Error(Code::kDeadlineExceeded, "logged in to " + usable.front().targetIqn + " but " +
                                                 devicePathOf(usable.front(), lun.lun).string() +
                                                 " did not appear in time");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    device = std::filesystem::canonical(*link);
  }

  std::vector<Staged> staged = loadRecord();
  bool known = false;
  for (const Staged& s : staged) known = known || s.stagingPath == stagingPath;
  if (!known) {
    LunAddress recorded = lun;
    recorded.paths = paths;
    staged.push_back({recorded, stagingPath, mapName});
    saveRecord(staged);
  }
  return device.string();
}

MultipathMaps IscsiNode::multipathMaps() const {
  return MultipathMaps({options_.hostRoot, options_.sysfsRoot, options_.runner,
                        options_.commandTimeout, std::chrono::milliseconds(100)});
}

std::filesystem::path IscsiNode::multipathDevice(const LunAddress& lun,
                                                 const std::vector<IscsiPath>& paths,
                                                 std::string& mapName, const Call& call) {
  // Every path logged in to must show the LUN: a path missing from the map is a path lost
  // before the first failure.
  const auto deadline =
      std::chrono::steady_clock::now() + std::min(options_.deviceWaitTimeout, call.remaining());
  std::vector<std::string> disks;
  for (const IscsiPath& path : paths) {
    const std::filesystem::path link = devicePathOf(path, lun.lun);
    std::error_code ec;
    while (!std::filesystem::exists(link, ec)) {
      if (std::chrono::steady_clock::now() >= deadline)
        throw Error(Code::kDeadlineExceeded, "logged in to " + path.targetIqn + " at " +
                                                 path.portal + " but " + link.string() +
                                                 " did not appear in time");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    disks.push_back(std::filesystem::canonical(link).filename().string());
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  const MultipathMap map =
      multipathMaps().waitForMap(disks, std::max(left, std::chrono::milliseconds(0)), call);
  mapName = map.name;
  return options_.devDir / map.kernelName;
}

void IscsiNode::detach(const std::string& stagingPath, const Call& call) {
  std::lock_guard lock(mu_);
  std::vector<Staged> staged = loadRecord();
  std::optional<LunAddress> lun;
  std::string mapName;
  std::vector<Staged> rest;
  for (Staged& s : staged) {
    if (s.stagingPath == stagingPath) {
      lun = s.lun;
      mapName = s.multipathMap;
    } else {
      rest.push_back(std::move(s));
    }
  }
  if (!lun) return;
  // The map goes first: once its paths are logged out, I/O on it would queue (or fail) forever.
  if (!mapName.empty()) multipathMaps().flush(mapName, call);
  // A target shared with another staged LUN (on the array all LUNs of a host share the IP
  // ports' targets) stays logged in.
  logoutUnused(lun->paths, rest, call);
  saveRecord(rest);
}

}  // namespace polycsi::iscsi_powerstore
