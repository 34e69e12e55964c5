// The node side with a recording iscsiadm, a fake portal probe and a fake by-path tree.
#include "iscsi_node.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "node_record.hpp"
#include "temp_directory.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

using polycsi::testing::TempDir;

class IscsiNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "sys" / "module" / "iscsi_tcp");
    std::filesystem::create_directories(dir_.path() / "by-path");
    std::filesystem::create_directories(dir_.path() / "state");
    // The host's root as a pod sees it: open-iscsi's iscsiadm and /etc/iscsi are there.
    std::filesystem::create_directories(host() / "usr" / "sbin");
    std::filesystem::create_directories(host() / "etc" / "iscsi");
    std::ofstream(host() / "usr" / "sbin" / "iscsiadm") << "";
    ::chmod((host() / "usr" / "sbin" / "iscsiadm").c_str(), 0755);
    std::ofstream(host() / "etc" / "iscsi" / "initiatorname.iscsi")
        << "## comment\nInitiatorName=iqn.1994-05.com.redhat:node-a\n";
    std::ofstream(dir_.path() / "sdb") << "";
    options_.hostRoot = host();
    options_.initiatorNameFile = "/etc/iscsi/initiatorname.iscsi";
    options_.sysfsRoot = dir_.path() / "sys";
    options_.byPathDir = dir_.path() / "by-path";
    options_.stateDir = dir_.path() / "state";
    options_.nodeDbDir = "/etc/iscsi/nodes";
    options_.deviceWaitTimeout = std::chrono::milliseconds(300);
    options_.runner = [this](const std::vector<std::string>& argv, std::chrono::milliseconds) {
      std::string line;
      for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
      commands_.push_back(line);
      argvs_.push_back(argv);
      const auto flag = std::find(argv.begin(), argv.end(), "-T");
      if (flag == argv.end() || flag + 3 >= argv.end()) return CommandOutcome{0, ""};
      const std::string& targetIqn = *(flag + 1);
      const std::string& portal = *(flag + 3);
      // `-o new` creates the node record as open-iscsi 2.1 does, in the host's database:
      // <nodes>/<target>/<host>,<port>.
      if (line.find("-o new") != std::string::npos) {
        const auto target = hostNodes() / targetIqn;
        std::filesystem::create_directories(target);
        std::string record = portal;
        record[record.rfind(':')] = ',';
        std::ofstream(target / record)
            << "# BEGIN RECORD 2.1.8\nnode.name = " << targetIqn
            << "\nnode.session.auth.authmethod = None\nnode.session.auth.username = <empty>\n"
               "node.session.auth.password = <empty>\nnode.conn[0].port = 3260\n# END RECORD\n";
        ::chmod((target / record).c_str(), 0600);
      }
      // Logging in makes the LUN's device appear, as udev would.
      if (line.find("--login") != std::string::npos) {
        for (int lun : {1, 2}) {
          const auto link =
              dir_.path() / "by-path" /
              ("ip-127.0.0.1:3260-iscsi-" + targetIqn + "-lun-" + std::to_string(lun));
          std::error_code ec;
          std::filesystem::create_symlink(dir_.path() / "sdb", link, ec);
        }
      }
      return CommandOutcome{0, ""};
    };
    options_.probe = [this](const std::string&, const std::string& target,
                            const std::string& initiator, const std::optional<ChapSecret>&,
                            std::chrono::milliseconds) {
      probed_.push_back(initiator + "@" + target);
    };
  }

  std::filesystem::path host() const { return dir_.path() / "host"; }
  std::filesystem::path hostNodes() const { return host() / "etc" / "iscsi" / "nodes"; }

  int count(const std::string& needle) const {
    int n = 0;
    for (const auto& c : commands_) n += c.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

  TempDir dir_;
  IscsiNodeOptions options_;
  std::vector<std::string> commands_;
  std::vector<std::vector<std::string>> argvs_;
  std::vector<std::string> probed_;
  Call call_;
};

TEST_F(IscsiNodeTest, ReadsInitiatorName) {
  EXPECT_EQ(IscsiNode(options_).initiatorName(), "iqn.1994-05.com.redhat:node-a");
  std::ofstream(host() / "etc" / "iscsi" / "initiatorname.iscsi") << "InitiatorName=not an iqn\n";
  EXPECT_THROW(IscsiNode(options_).initiatorName(), Error);
  options_.initiatorNameFile = (dir_.path() / "missing").string();
  try {
    IscsiNode(options_).initiatorName();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

TEST_F(IscsiNodeTest, AttachProbesLogsInAndReturnsTheDevice) {
  IscsiNode node(options_);
  const LunAddress lun{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}};
  const std::string device = node.attach(lun, "/stage/a", call_);
  EXPECT_EQ(device, std::filesystem::canonical(dir_.path() / "sdb").string());
  ASSERT_EQ(probed_.size(), 1u);
  EXPECT_EQ(probed_[0], "iqn.1994-05.com.redhat:node-a@iqn.2015-10.com.dell:t1");
  EXPECT_EQ(count("iscsiadm -m node -T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 --login"), 1);
}

// replacement_timeout_seconds reaches the node record before the login; without it the record
// stays as iscsiadm made it.
TEST_F(IscsiNodeTest, TheReplacementTimeoutIsSetOnTheRecordBeforeTheLogin) {
  const std::string update =
      "iscsiadm -m node -T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 -o update -n "
      "node.session.timeo.replacement_timeout -v 15";
  const LunAddress lun{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}};
  IscsiNode(options_).attach(lun, "/stage/a", call_);
  EXPECT_EQ(count(update), 0);

  options_.replacementTimeoutSeconds = 15;
  commands_.clear();
  IscsiNode(options_).attach(lun, "/stage/b", call_);
  ASSERT_EQ(count(update), 1);
  const auto at = [&](const std::string& what) {
    for (size_t i = 0; i < commands_.size(); ++i)
      if (commands_[i].find(what) != std::string::npos) return i;
    return commands_.size();
  };
  EXPECT_LT(at("-o new"), at("replacement_timeout"));
  EXPECT_LT(at("replacement_timeout"), at("--login"));
}

TEST_F(IscsiNodeTest, LogsOutOnlyWhenTheLastLunOfTheTargetIsDetached) {
  const LunAddress a{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}};
  const LunAddress b{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 2, {}};
  {
    IscsiNode node(options_);
    node.attach(a, "/stage/a", call_);
    node.attach(b, "/stage/b", call_);
  }
  IscsiNode restarted(options_);  // the record survives a restart
  restarted.detach("/stage/a", call_);
  EXPECT_EQ(count("--logout"), 0);
  restarted.detach("/stage/b", call_);
  EXPECT_EQ(count("--logout"), 1);
  restarted.detach("/stage/b", call_);
  EXPECT_EQ(count("--logout"), 1);
}

// Each IP port of the array is a path: attach logs in to every one, detach logs out of
// every one.
TEST_F(IscsiNodeTest, LogsInToEveryPathAndOutOfEveryPath) {
  const StringMap context = {{"portal", "127.0.0.1:3260"},
                             {"targetIqn", "iqn.2015-10.com.dell:t1"},
                             {"lun", "1"},
                             {"portals", "127.0.0.1:3260,127.0.0.2:3260"},
                             {"targetIqns", "iqn.2015-10.com.dell:t1,iqn.2015-10.com.dell:t2"}};
  {
    IscsiNode node(options_);
    node.attach(parseLunAddress(context), "/stage/a", call_);
  }
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 --login"), 1);
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t2 -p 127.0.0.2:3260 --login"), 1);
  IscsiNode restarted(options_);  // the record keeps every path
  restarted.detach("/stage/a", call_);
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 --logout"), 1);
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t2 -p 127.0.0.2:3260 --logout"), 1);
}

// The node's condition comes from the kernel's iSCSI sessions in sysfs (a fake tree here, laid
// out as drivers/scsi/scsi_transport_iscsi.c makes it): every path logged in with its device is
// normal; a FAILED session, a missing one and a vanished device are each named.
TEST_F(IscsiNodeTest, ConditionNamesEachPathThatIsNotLoggedInOrHasLostItsDevice) {
  const StringMap context = {{"portal", "127.0.0.1:3260"},
                             {"targetIqn", "iqn.2015-10.com.dell:t1"},
                             {"lun", "1"},
                             {"portals", "127.0.0.1:3260,127.0.0.2:3260"},
                             {"targetIqns", "iqn.2015-10.com.dell:t1,iqn.2015-10.com.dell:t2"}};
  IscsiNode node(options_);
  node.attach(parseLunAddress(context), "/stage/a", call_);
  // The second path's device, as udev would link it (the fake iscsiadm links 127.0.0.1 only).
  std::filesystem::create_symlink(
      dir_.path() / "sdb",
      dir_.path() / "by-path" / "ip-127.0.0.2:3260-iscsi-iqn.2015-10.com.dell:t2-lun-1");
  const auto sys = dir_.path() / "sys" / "class";
  auto session = [&](int sid, const std::string& target, const std::string& address,
                     const std::string& state) {
    const auto dir = sys / "iscsi_session" / ("session" + std::to_string(sid));
    const auto connection = sys / "iscsi_connection" / ("connection" + std::to_string(sid) + ":0");
    std::filesystem::create_directories(dir);
    std::filesystem::create_directories(connection);
    std::ofstream(dir / "targetname") << target << "\n";
    std::ofstream(dir / "state") << state << "\n";
    std::ofstream(connection / "persistent_address") << address << "\n";
    std::ofstream(connection / "persistent_port") << "3260\n";
  };
  session(1, "iqn.2015-10.com.dell:t1", "127.0.0.1", "LOGGED_IN");
  session(2, "iqn.2015-10.com.dell:t2", "127.0.0.2", "LOGGED_IN");
  auto healthy = node.condition("/stage/a");
  EXPECT_FALSE(healthy.abnormal) << healthy.message;
  EXPECT_EQ(healthy.message, "2 iSCSI path(s) logged in with the LUN's device");

  session(2, "iqn.2015-10.com.dell:t2", "127.0.0.2", "FAILED");
  auto failed = node.condition("/stage/a");
  EXPECT_TRUE(failed.abnormal);
  EXPECT_EQ(failed.message,
            "1 of 2 iSCSI path(s) of LUN 1 down: the iSCSI session to iqn.2015-10.com.dell:t2 at "
            "127.0.0.2:3260 is FAILED, not LOGGED_IN");

  std::filesystem::remove_all(sys / "iscsi_session" / "session2");
  EXPECT_EQ(node.condition("/stage/a").message,
            "1 of 2 iSCSI path(s) of LUN 1 down: no iSCSI session to iqn.2015-10.com.dell:t2 at "
            "127.0.0.2:3260");

  session(2, "iqn.2015-10.com.dell:t2", "127.0.0.2", "LOGGED_IN");
  const auto link =
      dir_.path() / "by-path" / "ip-127.0.0.1:3260-iscsi-iqn.2015-10.com.dell:t1-lun-1";
  std::filesystem::remove(link);
  EXPECT_EQ(node.condition("/stage/a").message,
            "1 of 2 iSCSI path(s) of LUN 1 down: the LUN's device " + link.string() +
                " of iqn.2015-10.com.dell:t1 at 127.0.0.1:3260 is gone");

  auto unknown = node.condition("/stage/elsewhere");
  EXPECT_TRUE(unknown.abnormal);
  EXPECT_NE(unknown.message.find("no iSCSI LUN is staged at /stage/elsewhere"), std::string::npos)
      << unknown.message;
}

// A path whose login is refused is left out while another works; with none left, the first
// refusal is the answer.
TEST_F(IscsiNodeTest, ARefusedPathIsSkippedWhileAnotherWorks) {
  std::string refused = "iqn.2015-10.com.dell:t1";
  options_.probe = [&](const std::string&, const std::string& target, const std::string&,
                       const std::optional<ChapSecret>&, std::chrono::milliseconds) {
    if (refused.empty() || target == refused)
      throw Error(Code::kPermissionDenied, "refused " + target);
  };
  const StringMap context = {{"portal", "127.0.0.1:3260"},
                             {"targetIqn", "iqn.2015-10.com.dell:t1"},
                             {"lun", "1"},
                             {"portals", "127.0.0.1:3260,127.0.0.1:3260"},
                             {"targetIqns", "iqn.2015-10.com.dell:t1,iqn.2015-10.com.dell:t2"}};
  IscsiNode node(options_);
  EXPECT_EQ(node.attach(parseLunAddress(context), "/stage/a", call_),
            std::filesystem::canonical(dir_.path() / "sdb").string());
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 --login"), 0);
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t2 -p 127.0.0.1:3260 --login"), 1);
  refused.clear();
  try {
    node.attach(parseLunAddress(context), "/stage/b", call_);
    FAIL() << "attached with every path refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied);
    EXPECT_NE(std::string(e.what()).find("t1"), std::string::npos) << e.what();
  }
}

TEST_F(IscsiNodeTest, MissingKernelSupportIsFailedPrecondition) {
  std::filesystem::remove_all(dir_.path() / "sys" / "module");
  IscsiNode node(options_);
  try {
    node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}}, "/stage/a", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("iscsi_tcp"), std::string::npos);
  }
  EXPECT_TRUE(commands_.empty());
}

// Regression: the node ran the image's iscsiadm, whose open-iscsi need not match the host's
// iscsid, and whose node records stayed in the container. Every iscsiadm is now the host's,
// chrooted into the host's root, and the records are the host's.
TEST_F(IscsiNodeTest, RunsTheHostsIscsiadmInTheHostsRoot) {
  options_.chap = ChapSecret{"chap-user-1", "secret-value-1"};
  IscsiNode node(options_);
  node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}}, "/stage/a", call_);
  node.detach("/stage/a", call_);
  ASSERT_EQ(argvs_.size(), 4u);  // -o new, --login, --logout, -o delete
  for (const auto& argv : argvs_) {
    ASSERT_GE(argv.size(), 4u);
    EXPECT_EQ(std::vector<std::string>(argv.begin(), argv.begin() + 4),
              (std::vector<std::string>{"chroot", host().string(), "/usr/sbin/iscsiadm", "-m"}));
  }
  EXPECT_TRUE(std::filesystem::exists(hostNodes() / "iqn.2015-10.com.dell:t1" / "127.0.0.1,3260"));
}

// A node without open-iscsi: the pod runs (other backends work), and staging an iSCSI volume
// says what the host lacks, before any probe or command.
TEST_F(IscsiNodeTest, AttachOnAHostWithoutIscsiadmIsFailedPreconditionNamingIt) {
  std::filesystem::remove(host() / "usr" / "sbin" / "iscsiadm");
  IscsiNode node(options_);
  try {
    node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}}, "/stage/a", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    const std::string text = e.what();
    EXPECT_NE(text.find("no iscsiadm"), std::string::npos) << text;
    EXPECT_NE(text.find("install open-iscsi"), std::string::npos) << text;
    EXPECT_NE(text.find(host().string()), std::string::npos) << text;
  }
  EXPECT_TRUE(commands_.empty());
  EXPECT_TRUE(probed_.empty());
}

TEST_F(IscsiNodeTest, DeviceThatNeverAppearsTimesOut) {
  options_.runner = [this](const std::vector<std::string>&, std::chrono::milliseconds) {
    commands_.push_back("x");
    return CommandOutcome{0, ""};
  };
  IscsiNode node(options_);
  try {
    node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}}, "/stage/a", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded);
  }
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Regression: the CHAP secret went to `iscsiadm -o update -v SECRET`, readable by every local
// user in /proc/<pid>/cmdline. It must be in no argv, and only in a record file of mode 0600.
TEST_F(IscsiNodeTest, ChapSecretIsInNoArgvAndOnlyInAnOwnerOnlyNodeRecord) {
  const std::string secret = "n0t-on-the-command-line";
  options_.chap = ChapSecret{"chap-user-1", secret};
  IscsiNode node(options_);
  node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}}, "/stage/a", call_);
  ASSERT_FALSE(argvs_.empty());
  for (const auto& argv : argvs_)
    for (const auto& arg : argv) EXPECT_EQ(arg.find(secret), std::string::npos) << arg;
  EXPECT_EQ(count("--login"), 1);

  const auto record = hostNodes() / "iqn.2015-10.com.dell:t1" / "127.0.0.1,3260";
  const std::string text = readFile(record);
  EXPECT_NE(text.find("node.session.auth.authmethod = CHAP\n"), std::string::npos) << text;
  EXPECT_NE(text.find("node.session.auth.username = chap-user-1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("node.session.auth.password = " + secret + "\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("authmethod = None"), std::string::npos) << text;
  EXPECT_NE(text.find("node.conn[0].port = 3260\n# END RECORD\n"), std::string::npos) << text;
  struct stat st {};
  ASSERT_EQ(::stat(record.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // No temporary copy of the secret is left beside it.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(record.parent_path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

// Mutual CHAP: the target's pair goes into the record as username_in/password_in (so the
// kernel initiator insists on authenticating the target), never onto a command line.
TEST_F(IscsiNodeTest, MutualChapSecretIsInNoArgvAndOnlyInTheNodeRecord) {
  const std::string secret = "mutual-n0t-on-argv";
  options_.chap = ChapSecret{"chap-user-1", "secret-value-1", "array-user", secret};
  IscsiNode node(options_);
  node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}}, "/stage/a", call_);
  for (const auto& argv : argvs_)
    for (const auto& arg : argv) EXPECT_EQ(arg.find(secret), std::string::npos) << arg;
  const std::string text = readFile(hostNodes() / "iqn.2015-10.com.dell:t1" / "127.0.0.1,3260");
  EXPECT_NE(text.find("node.session.auth.username_in = array-user\n"), std::string::npos) << text;
  EXPECT_NE(text.find("node.session.auth.password_in = " + secret + "\n"), std::string::npos)
      << text;
}

// A login the kernel initiator refuses (iscsiadm's ISCSI_ERR_FATAL_LOGIN, 19, as open-iscsi
// reports a target that fails mutual CHAP) is PERMISSION_DENIED naming the settings, and the attach
// leaves no session and no record with the secrets behind: the path logged in before is logged out
// again.
TEST_F(IscsiNodeTest, RefusedChapLoginIsPermissionDeniedAndLeavesNothingLoggedIn) {
  options_.chap = ChapSecret{"chap-user-1", "secret-value-1", "array-user", "array-secret-2"};
  const CommandRunner logsIn = options_.runner;
  options_.runner = [&](const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    const CommandOutcome outcome = logsIn(argv, timeout);
    const bool second = std::find(argv.begin(), argv.end(), "127.0.0.2:3260") != argv.end();
    if (second && std::find(argv.begin(), argv.end(), "--login") != argv.end())
      return CommandOutcome{19, "iscsiadm: non-retryable iSCSI login failure"};
    return outcome;
  };
  IscsiNode node(options_);
  LunAddress lun{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}};
  lun.paths = {{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1"},
               {"127.0.0.2:3260", "iqn.2015-10.com.dell:t2"}};
  try {
    node.attach(lun, "/stage/a", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied) << e.what();
    EXPECT_NE(std::string(e.what()).find("failed mutual CHAP authentication"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("chap_mutual_password"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("array-secret-2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 --logout"), 1);
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 -o delete"), 1);
  EXPECT_EQ(count("-T iqn.2015-10.com.dell:t2 -p 127.0.0.2:3260 -o delete"), 1);
  // Nothing staged: a retry starts afresh, an unstage has nothing to undo.
  node.detach("/stage/a", call_);
  EXPECT_EQ(count("--logout"), 2);
}

TEST_F(IscsiNodeTest, MissingNodeRecordForChapIsFailedPreconditionBeforeLogin) {
  options_.chap = ChapSecret{"chap-user-1", "secret-value-1"};
  options_.nodeDbDir = "/var/lib/iscsi/nodes";
  IscsiNode node(options_);
  try {
    node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}}, "/stage/a", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("iscsi_node_db_dir"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret-value-1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count("--login"), 0);
}

class NodeRecordTest : public ::testing::Test {
 protected:
  std::filesystem::path makeRecord(const std::string& target, const std::string& relative) {
    const auto path = dir_.path() / "nodes" / target / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << "# BEGIN RECORD 2.1.8\nnode.name = " << target << "\n# END RECORD\n";
    return path;
  }
  TempDir dir_;
};

TEST_F(NodeRecordTest, FindsFlatAndPerIfaceRecordsOfThePortalOnly) {
  const auto flat = makeRecord("iqn.a:t", "10.0.0.1,3260");
  const auto iface = makeRecord("iqn.a:t", "10.0.0.1,3260,1/default");
  makeRecord("iqn.a:t", "10.0.0.11,3260");
  makeRecord("iqn.a:t", "10.0.0.1,32600");
  makeRecord("iqn.a:other", "10.0.0.1,3260");
  const auto v6 = makeRecord("iqn.a:t", "fd00::1,3260");
  EXPECT_EQ(findNodeRecords(dir_.path() / "nodes", "iqn.a:t", "10.0.0.1:3260"),
            (std::vector<std::filesystem::path>{flat, iface}));
  EXPECT_EQ(findNodeRecords(dir_.path() / "nodes", "iqn.a:t", "[fd00::1]:3260"),
            std::vector<std::filesystem::path>{v6});
  EXPECT_TRUE(findNodeRecords(dir_.path() / "nodes", "iqn.a:none", "10.0.0.1:3260").empty());
}

TEST_F(NodeRecordTest, AddsMissingLinesAndIsIdempotent) {
  const auto record = makeRecord("iqn.a:t", "10.0.0.1,3260");
  writeChapToNodeRecord(record, "u", "first-secret");
  writeChapToNodeRecord(record, "u", "second-secret");
  EXPECT_EQ(readFile(record),
            "# BEGIN RECORD 2.1.8\nnode.name = iqn.a:t\n"
            "node.session.auth.authmethod = CHAP\nnode.session.auth.username = u\n"
            "node.session.auth.password = second-secret\n# END RECORD\n");
}

TEST_F(NodeRecordTest, MutualChapAddsTheInboundLinesAndOneWayChapDropsThem) {
  const auto record = makeRecord("iqn.a:t", "10.0.0.1,3260");
  writeChapToNodeRecord(record, "u", "node-secret-1", "array", "array-secret-2");
  EXPECT_EQ(readFile(record),
            "# BEGIN RECORD 2.1.8\nnode.name = iqn.a:t\n"
            "node.session.auth.authmethod = CHAP\nnode.session.auth.username = u\n"
            "node.session.auth.password = node-secret-1\n"
            "node.session.auth.username_in = array\n"
            "node.session.auth.password_in = array-secret-2\n# END RECORD\n");
  writeChapToNodeRecord(record, "u", "node-secret-1");
  EXPECT_EQ(readFile(record),
            "# BEGIN RECORD 2.1.8\nnode.name = iqn.a:t\n"
            "node.session.auth.authmethod = CHAP\nnode.session.auth.username = u\n"
            "node.session.auth.password = node-secret-1\n# END RECORD\n");
  EXPECT_THROW(writeChapToNodeRecord(record, "u", "node-secret-1", "a", "pw\nnode.x = y"), Error);
}

TEST_F(NodeRecordTest, RefusesASymlinkAndLeavesItsTargetAlone) {
  const auto victim = dir_.path() / "victim";
  std::ofstream(victim) << "untouched\n";
  ::chmod(victim.c_str(), 0644);
  const auto link = dir_.path() / "nodes" / "iqn.a:t" / "10.0.0.1,3260";
  std::filesystem::create_directories(link.parent_path());
  std::filesystem::create_symlink(victim, link);
  EXPECT_TRUE(findNodeRecords(dir_.path() / "nodes", "iqn.a:t", "10.0.0.1:3260").empty());
  try {
    writeChapToNodeRecord(link, "u", "the-secret");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("symlink"), std::string::npos) << e.what();
  }
  EXPECT_EQ(readFile(victim), "untouched\n");
  EXPECT_TRUE(std::filesystem::is_symlink(link));
}

TEST_F(NodeRecordTest, RefusesValuesThatWouldAddLinesToTheRecord) {
  const auto record = makeRecord("iqn.a:t", "10.0.0.1,3260");
  const std::string before = readFile(record);
  EXPECT_THROW(writeChapToNodeRecord(record, "u", "pw\nnode.startup = automatic"), Error);
  EXPECT_THROW(writeChapToNodeRecord(record, "u\r", "pw-long-enough"), Error);
  EXPECT_EQ(readFile(record), before);
}

TEST(LunAddressTest, ValidatesPublishContext) {
  EXPECT_EQ(
      parseLunAddress({{"portal", "10.0.0.1:3260"}, {"targetIqn", "iqn.a:b"}, {"lun", "3"}}).lun,
      3);
  EXPECT_THROW(parseLunAddress({{"portal", "10.0.0.1"}, {"targetIqn", "iqn.a:b"}, {"lun", "3"}}),
               Error);
  EXPECT_THROW(
      parseLunAddress({{"portal", "1.2.3.4:3260"}, {"targetIqn", "iqn.a b"}, {"lun", "3"}}), Error);
  EXPECT_THROW(
      parseLunAddress({{"portal", "1.2.3.4:3260"}, {"targetIqn", "iqn.a:b"}, {"lun", "-1"}}),
      Error);
  EXPECT_THROW(
      parseLunAddress({{"portal", "1.2.3.4:3260;rm"}, {"targetIqn", "iqn.a:b"}, {"lun", "1"}}),
      Error);
  const StringMap one = {{"portal", "10.0.0.1:3260"}, {"targetIqn", "iqn.a:b"}, {"lun", "3"}};
  auto with = [&](StringMap extra) {
    StringMap context = one;
    context.insert(extra.begin(), extra.end());
    return context;
  };
  EXPECT_EQ(parseLunAddress(one).paths, (std::vector<IscsiPath>{{"10.0.0.1:3260", "iqn.a:b"}}));
  EXPECT_EQ(parseLunAddress(with({{"portals", "10.0.0.1:3260,10.0.0.2:3260"},
                                  {"targetIqns", "iqn.a:b,iqn.a:c"}}))
                .paths.size(),
            2u);
  EXPECT_THROW(parseLunAddress(
                   with({{"portals", "10.0.0.1:3260,10.0.0.2:3260"}, {"targetIqns", "iqn.a:b"}})),
               Error);
  EXPECT_THROW(parseLunAddress(with({{"portals", "10.0.0.1:3260"}})), Error);
  EXPECT_THROW(parseLunAddress(
                   with({{"portals", "10.0.0.1:3260,x;y:1"}, {"targetIqns", "iqn.a:b,iqn.a:c"}})),
               Error);
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
