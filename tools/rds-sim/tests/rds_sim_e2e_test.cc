// Starts the real rds-sim binary and talks to it over real SSH.
#include <gtest/gtest.h>
#include <libssh/libssh.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "announced_child.hpp"
#include "child_process.hpp"
#include "ssh_test_client.hpp"
#include "temp_directory.hpp"

namespace rds_sim::testing {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::AnnouncedChild;
using polycsi::testing::runProgram;
using polycsi::testing::TempDir;

constexpr const char* kUser = "admin";
constexpr const char* kPassword = "s3cret";

// Writes a fresh ed25519 key pair: `<dir>/id_ed25519` and an authorized_keys file.
fs::path makeClientKey(const fs::path& dir, const std::string& name, bool authorize) {
  ssh_key key = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) throw std::runtime_error("keygen");
  const fs::path private_key = dir / name;
  ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, private_key.c_str());
  fs::permissions(private_key, fs::perms::owner_read | fs::perms::owner_write);
  if (authorize) {
    char* base64 = nullptr;
    ssh_pki_export_pubkey_base64(key, &base64);
    std::ofstream(dir / "authorized_keys", std::ios::app)
        << "ssh-ed25519 " << base64 << " test@rds-sim\n";
    ssh_string_free_char(base64);
  }
  ssh_key_free(key);
  return private_key;
}

class RdsSimE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    good_key_ = makeClientKey(dir_.path(), "id_good", true);
    bad_key_ = makeClientKey(dir_.path(), "id_bad", false);
    startSim();
  }

  void startSim(std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {"--state-dir",
                                          (dir_.path() / "state").string(),
                                          "--user",
                                          kUser,
                                          "--password",
                                          kPassword,
                                          "--authorized-keys",
                                          (dir_.path() / "authorized_keys").string(),
                                          "--pool-capacity",
                                          "100G",
                                          "--no-nvmet",
                                          "--log-level",
                                          "warn"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    sim_.reset();
    std::vector<std::string> argv = {RDS_SIM_BINARY, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    sim_ =
        std::make_unique<AnnouncedChild>(argv, "rds-sim listening on ", std::chrono::seconds(20));
  }

  std::unique_ptr<SshTestClient> login() {
    auto client = std::make_unique<SshTestClient>(sim_->port());
    EXPECT_TRUE(client->loginWithPassword(kUser, kPassword)) << client->lastError();
    return client;
  }

  TempDir dir_;
  fs::path good_key_;
  fs::path bad_key_;
  std::unique_ptr<AnnouncedChild> sim_;
};

TEST_F(RdsSimE2eTest, AcceptsThePasswordAndTheAuthorizedKeyOnly) {
  SshTestClient by_password(sim_->port());
  EXPECT_TRUE(by_password.loginWithPassword(kUser, kPassword)) << by_password.lastError();
  EXPECT_EQ(by_password.exec("/disk print count-only").exit_status, 0);

  SshTestClient by_key(sim_->port());
  EXPECT_TRUE(by_key.loginWithKey(kUser, good_key_)) << by_key.lastError();
  EXPECT_EQ(by_key.exec("/disk print count-only").output, "1\r\n");

  SshTestClient wrong_password(sim_->port());
  EXPECT_FALSE(wrong_password.loginWithPassword(kUser, "wrong"));
  SshTestClient wrong_user(sim_->port());
  EXPECT_FALSE(wrong_user.loginWithPassword("root", kPassword));
  SshTestClient unknown_key(sim_->port());
  EXPECT_FALSE(unknown_key.loginWithKey(kUser, bad_key_));
}

TEST_F(RdsSimE2eTest, GeneratesAPrivateHostKey) {
  const fs::path host_key = dir_.path() / "state" / "ssh_host_ed25519_key";
  ASSERT_TRUE(fs::exists(host_key));
  EXPECT_EQ(fs::status(host_key).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
}

TEST_F(RdsSimE2eTest, AnswersBadCommandsWithRouterOsErrors) {
  auto client = login();
  const ExecResult unknown = client->exec("/disk frobnicate");
  EXPECT_EQ(unknown.output, "bad command name frobnicate (line 1 column 7)\r\n");
  EXPECT_EQ(unknown.exit_status, 1);
  const ExecResult extra = client->exec("/disk print detail bogus");
  EXPECT_EQ(extra.output, "expected end of command (line 1 column 20)\r\n");
  EXPECT_EQ(extra.exit_status, 1);
  EXPECT_EQ(client->exec("/disk remove 42").output, "no such item\r\n");
}

TEST_F(RdsSimE2eTest, ManagesADiskOverOnePooledConnection) {
  auto client = login();
  const ExecResult add = client->exec(
      "/disk add type=file file-path=/storage-pool/pvc-1.img file-size=10G slot=pvc-1 "
      "nvme-tcp-export=yes nvme-tcp-server-port=4420 "
      "nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:pvc-1 comment=\"made by e2e\"");
  EXPECT_EQ(add.exit_status, 0) << add.output;
  EXPECT_EQ(add.output, "");
  EXPECT_EQ(fs::file_size(dir_.path() / "state" / "storage-pool" / "pvc-1.img"), 10ull << 30);

  const ExecResult print = client->exec("/disk print detail where slot=pvc-1");
  EXPECT_EQ(print.exit_status, 0);
  EXPECT_EQ(print.output.rfind(
                "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT\r\n 1 Bt ;;; made by e2e\r\n", 0),
            0u)
      << print.output;
  EXPECT_NE(print.output.find("size=10 737 418 240"), std::string::npos) << print.output;
  EXPECT_NE(print.output.find("file-size=10.0GiB"), std::string::npos) << print.output;

  EXPECT_EQ(client->exec("/disk set [find slot=pvc-1] file-size=20G").exit_status, 0);
  EXPECT_EQ(client->exec("/disk set [find slot=pvc-1] nvme-tcp-server-allow-host-name=nqn.h1")
                .exit_status,
            0);
  const std::string after = client->exec("/disk print detail where slot~\"^pvc-\"").output;
  EXPECT_NE(after.find("file-size=20.0GiB"), std::string::npos) << after;
  EXPECT_NE(after.find("nvme-tcp-server-allow-host-name=\"nqn.h1\""), std::string::npos) << after;

  const std::string pool =
      client->exec("/disk print detail where mount-point=\"storage-pool\"").output;
  EXPECT_NE(pool.find("free=85 899 345 920"), std::string::npos) << pool;
  EXPECT_NE(pool.find("use=20%"), std::string::npos) << pool;

  const ExecResult duplicate =
      client->exec("/disk add type=file file-path=/storage-pool/other.img file-size=1G slot=pvc-1");
  EXPECT_EQ(duplicate.output, "failure: slot already exists\r\n");
  EXPECT_EQ(duplicate.exit_status, 1);

  EXPECT_EQ(client->exec("/disk remove [find slot=pvc-1]").exit_status, 0);
  EXPECT_EQ(client->exec("/disk remove [find slot=pvc-1]").exit_status, 0);  // idempotent
  EXPECT_EQ(client->exec("/disk print detail where slot=pvc-1").output, "");
  EXPECT_EQ(client->exec("/file remove [find name=\"storage-pool/pvc-1.img\"]").exit_status, 0);
  EXPECT_FALSE(fs::exists(dir_.path() / "state" / "storage-pool" / "pvc-1.img"));
  EXPECT_TRUE(client->keepalive());
  EXPECT_EQ(client->exec("/disk print count-only").output, "1\r\n");
}

TEST_F(RdsSimE2eTest, CopiesADiskForSnapshots) {
  auto client = login();
  ASSERT_EQ(client
                ->exec("/disk add type=file file-path=storage-pool/src.img file-size=1G "
                       "slot=src")
                .exit_status,
            0);
  {
    std::fstream image(dir_.path() / "state" / "storage-pool" / "src.img",
                       std::ios::in | std::ios::out | std::ios::binary);
    image.seekp(4096);
    image << "snapshot-me";
  }
  const ExecResult copy = client->exec(
      "/disk add type=file copy-from=[find slot=src] file-path=/storage-pool/snap.img slot=snap");
  ASSERT_EQ(copy.exit_status, 0) << copy.output;
  std::ifstream snapshot(dir_.path() / "state" / "storage-pool" / "snap.img", std::ios::binary);
  snapshot.seekg(4096);
  std::string word(11, '\0');
  snapshot.read(word.data(), 11);
  EXPECT_EQ(word, "snapshot-me");
  EXPECT_NE(client->exec("/disk print detail where slot=snap").output.find("file-size=1024.0MiB"),
            std::string::npos);
}

TEST_F(RdsSimE2eTest, InjectsFaults) {
  auto client = login();
  EXPECT_EQ(client->exec("/polycsi-sim fault delay-ms=200").exit_status, 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client->exec("/disk print count-only").exit_status, 0);
  // A lower bound only: the command waited at least the injected delay.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));

  EXPECT_EQ(client->exec("/polycsi-sim fault reset fail-next=yes").exit_status, 0);
  const ExecResult failed = client->exec("/disk print");
  EXPECT_EQ(failed.output, "failure: simulated failure\r\n");
  EXPECT_EQ(failed.exit_status, 1);
  EXPECT_EQ(client->exec("/disk print count-only").exit_status, 0);

  EXPECT_EQ(client->exec("/polycsi-sim fault disk-full=yes").exit_status, 0);
  EXPECT_EQ(
      client->exec("/disk add type=file file-path=/storage-pool/x.img file-size=1M slot=x").output,
      "failure: not enough space\r\n");

  EXPECT_EQ(client->exec("/polycsi-sim fault reset drop-after=2").exit_status, 0);
  EXPECT_EQ(client->exec("/disk print count-only").exit_status, 0);
  EXPECT_EQ(client->exec("/disk print count-only").exit_status, 0);
  EXPECT_TRUE(client->exec("/disk print count-only").connection_lost);
  // The fault was one shot: a new connection works.
  auto again = login();
  EXPECT_EQ(again->exec("/disk add type=file file-path=/storage-pool/x.img file-size=1M slot=x")
                .exit_status,
            0);
}

TEST_F(RdsSimE2eTest, LosesTheReplyOfACommandThatRan) {
  auto client = login();
  EXPECT_EQ(client->exec("/polycsi-sim fault drop-reply-after=1").exit_status, 0);
  const ExecResult lost =
      client->exec("/disk add type=file file-path=/storage-pool/lost.img file-size=1M slot=lost");
  EXPECT_TRUE(lost.connection_lost);
  EXPECT_EQ(lost.output, "");
  auto again = login();
  EXPECT_EQ(again->exec("/disk print count-only where slot=lost").output, "1\r\n");
}

TEST_F(RdsSimE2eTest, KeepsStateAcrossRestarts) {
  {
    auto client = login();
    ASSERT_EQ(client
                  ->exec("/disk add type=file file-path=/storage-pool/keep.img file-size=2G "
                         "slot=keep nvme-tcp-export=yes "
                         "nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:keep")
                  .exit_status,
              0);
  }
  EXPECT_EQ(sim_->stop(), 0);  // SIGTERM is a clean shutdown
  startSim();
  auto client = login();
  const std::string out = client->exec("/disk print detail where slot=keep").output;
  EXPECT_NE(out.find("nvme-tcp-server-nqn=\"nqn.2000-02.com.mikrotik:keep\""), std::string::npos)
      << out;
  EXPECT_NE(out.find("file-size=2048.0MiB"), std::string::npos) << out;
}

TEST_F(RdsSimE2eTest, WrapsPrintAtThePtyWidth) {
  auto client = login();
  ASSERT_EQ(client->exec("/disk add type=file file-path=/storage-pool/w.img file-size=1G slot=w")
                .exit_status,
            0);
  const std::string narrow = client->exec("/disk print detail where slot=w").output;
  const std::string wide = client->execWithPty("/disk print detail where slot=w", 240).output;
  const auto lines = [](const std::string& text) {
    return std::count(text.begin(), text.end(), '\n');
  };
  EXPECT_GT(lines(narrow), lines(wide));
  EXPECT_EQ(lines(wide), 3);  // the Flags header and two lines at 240 columns
}

TEST_F(RdsSimE2eTest, ServesConcurrentConnections) {
  std::vector<std::thread> threads;
  std::atomic<int> successes{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      SshTestClient client(sim_->port());
      if (!client.loginWithPassword(kUser, kPassword)) return;
      const std::string slot = "c" + std::to_string(t);
      const ExecResult add = client.exec("/disk add type=file file-path=/storage-pool/" + slot +
                                         ".img file-size=1G slot=" + slot);
      if (add.exit_status == 0 &&
          client.exec("/disk print count-only where slot=" + slot).output == "1\r\n") {
        ++successes;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), 6);
  EXPECT_EQ(login()->exec("/disk print count-only").output, "7\r\n");
}

TEST_F(RdsSimE2eTest, RefusesACommandLatencyOutOfRange) {
  for (const char* bad : {"-1", "10001", "20ms", "", "1e3"}) {
    auto result = runProgram(RDS_SIM_BINARY,
                             {"--state-dir", (dir_.path() / "bad").string(), "--password", "x",
                              "--no-nvmet", "--command-latency-ms", bad},
                             {.timeout = std::chrono::seconds(20), .mergeStderr = true});
    EXPECT_NE(result.exitStatus, 0) << "--command-latency-ms '" << bad << "'";
    EXPECT_NE(result.output.find("--command-latency-ms"), std::string::npos)
        << "'" << bad << "': " << result.output;
  }
}

TEST_F(RdsSimE2eTest, AcceptsACommandLatencyInRange) {
  for (const char* good : {"0", "20"}) {
    startSim({"--command-latency-ms", good});
    EXPECT_EQ(login()->exec("/disk print count-only").output, "1\r\n") << good;
  }
}

}  // namespace
}  // namespace rds_sim::testing
