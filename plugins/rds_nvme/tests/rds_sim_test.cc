// Integration: the plugin against tools/rds-sim, a libssh server that implements /disk and /file
// in RouterOS's format, over real SSH on loopback. rds-sim is built with the tests; a missing
// binary fails the tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "announced_child.hpp"
#include "polycsi/testing/fake_host.hpp"
#include "rds_backend.hpp"
#include "ssh_session.hpp"
#include "temp_directory.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::rds_nvme {
namespace {

constexpr char kSimPath[] = POLYCSI_RDS_SIM_PATH;
constexpr int64_t kGiB = int64_t{1} << 30;

// One rds-sim child process on 127.0.0.1 with password login; stopped by pid.
class RdsSim {
 public:
  explicit RdsSim(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir / "pool");
    std::vector<std::string> argv = {kSimPath,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--state-dir",
                                     dir.string(),
                                     "--user",
                                     "admin",
                                     "--password",
                                     "pw",
                                     "--pool",
                                     "storage-pool=" + (dir / "pool").string() + ":20G",
                                     "--no-nvmet",
                                     "--log-level",
                                     "warn"};
    // "rds-sim listening on 127.0.0.1:<port>", within 20 s; a failure leaves port() at 0.
    try {
      child_ = std::make_unique<polycsi::testing::AnnouncedChild>(argv, "rds-sim listening on ",
                                                                  std::chrono::seconds(20));
      port_ = child_->port();
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<polycsi::testing::AnnouncedChild> child_;
  int port_ = 0;
};

class RdsSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kSimPath))
        << "rds-sim is missing at " << kSimPath << ": build the rds-sim target";
    sim_ = std::make_unique<RdsSim>(dir_.path() / "sim");
    ASSERT_GT(sim_->port(), 0) << "rds-sim did not start";
  }
  void TearDown() override {
    backend_.reset();
    sim_.reset();
  }
  SshOptions ssh() const {
    SshOptions o;
    o.host = "127.0.0.1";
    o.port = sim_->port();
    o.user = "admin";
    o.password = "pw";
    return o;
  }
  // The simulator's real fingerprint, learnt once without pinning (as an operator would with
  // ssh-keygen -lf on the RDS's key).
  std::string fingerprint() const {
    SshOptions o = ssh();
    o.insecureIgnoreHostKey = true;
    return SshSession::connect(o, std::chrono::seconds(10))->serverFingerprint();
  }

  polycsi::testing::TempDir dir_{"polycsi-rds-sim"};
  std::unique_ptr<RdsSim> sim_;
  polycsi::testing::FakeHost host_;
  std::unique_ptr<PluginInstance> backend_;
};

TEST_F(RdsSimTest, HostKeyPinning) {
  std::string real = fingerprint();
  ASSERT_EQ(real.rfind("SHA256:", 0), 0u) << real;
  SshOptions pinned = ssh();
  pinned.hostKeyFingerprint = real;
  auto session = SshSession::connect(pinned, std::chrono::seconds(10));
  CommandReply reply = session->exec("/disk print detail", std::chrono::seconds(10));
  EXPECT_EQ(reply.exitStatus, 0);
  EXPECT_NE(reply.output.find("storage-pool"), std::string::npos) << reply.output;

  SshOptions wrong = ssh();
  wrong.hostKeyFingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  try {
    SshSession::connect(wrong, std::chrono::seconds(10));
    ADD_FAILURE() << "a changed host key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("does not match the pinned fingerprint"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(real), std::string::npos) << e.what();
  }
  SshOptions unpinned = ssh();
  EXPECT_THROW(SshSession::connect(unpinned, std::chrono::seconds(10)), Error);
  SshOptions badPassword = ssh();
  badPassword.hostKeyFingerprint = real;
  badPassword.password = "nope";
  try {
    SshSession::connect(badPassword, std::chrono::seconds(10));
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied) << e.what();
  }
}

// A copy that outlasts its call, on the simulator: rds-sim holds the copy-from command
// (hold-copy) while every other command runs, as RouterOS copies on one session while the
// others answer. The call answers "not ready", the copy goes on in the background, a retry
// joins it, and exactly one copy command reaches the RDS.
TEST_F(RdsSimTest, ASnapshotCopyOutlivesItsCallAndIsSentOnce) {
  InstanceConfig config;
  config.instanceName = "rds-sim";
  config.role = Role::kController;
  config.stateDir = dir_.str();
  const std::string pinned = fingerprint();
  config.settings = {{"address", "127.0.0.1"},
                     {"port", std::to_string(sim_->port())},
                     {"user", "admin"},
                     {"password", "pw"},
                     {"host_key_fingerprint", pinned},
                     {"base_path", "/storage-pool"},
                     {"orphan_scan_interval_seconds", "0"}};
  auto started = host_.start(polycsi_plugin_entry(), config);
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  backend_ = std::move(started).value();
  CreateVolumeRequest create;
  create.name = "pvc-src";
  create.requiredBytes = kGiB;
  create.volumeMode = VolumeMode::kBlock;
  ASSERT_TRUE(backend_->createVolume(create).isOk());

  SshOptions control = ssh();
  control.hostKeyFingerprint = pinned;
  auto session = SshSession::connect(control, std::chrono::seconds(10));
  auto fault = [&](const std::string& args) {
    return session->exec("/polycsi-sim fault " + args, std::chrono::seconds(10)).output;
  };
  // The simulator's count of /disk add copy-from commands received.
  auto copyCommands = [&] {
    std::string out = fault("print");
    auto at = out.find("copy-commands=");
    return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 14);
  };
  ASSERT_NE(fault("hold-copy=yes").find("hold-copy=yes"), std::string::npos);
  auto snapshot = [&](std::chrono::milliseconds timeout) {
    CreateSnapshotRequest r;
    r.name = "snapshot-slow";
    r.sourceVolumeId = "pvc-src";
    r.call.timeout = timeout;
    return backend_->createSnapshot(r);
  };
  auto first = snapshot(std::chrono::seconds(3));
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_FALSE(first->readyToUse);
  // The copy reached the RDS and is held there (bounded polling).
  bool held = false;
  for (int i = 0; i < 200 && !held; ++i) {
    held = copyCommands() == 1;
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(held) << fault("print");
  auto retry = snapshot(std::chrono::seconds(1));
  ASSERT_TRUE(retry.isOk()) << retry.status().toString();
  EXPECT_FALSE(retry->readyToUse);
  EXPECT_EQ(retry->id, first->id);
  fault("hold-copy=no");  // RouterOS finishes the copy
  StatusOr<Snapshot> ready = Status(Code::kInternal, "never ready");
  for (int i = 0; i < 100; ++i) {
    ready = snapshot(std::chrono::seconds(5));
    if (!ready.isOk() || ready->readyToUse) break;
  }
  ASSERT_TRUE(ready.isOk()) << ready.status().toString();
  EXPECT_TRUE(ready->readyToUse);
  EXPECT_EQ(ready->id, first->id);
  EXPECT_EQ(ready->creationTimeUnixNs, first->creationTimeUnixNs);
  EXPECT_EQ(copyCommands(), 1);
}

TEST_F(RdsSimTest, VolumeLifecycleOverSsh) {
  InstanceConfig config;
  config.instanceName = "rds-sim";
  config.role = Role::kController;
  config.stateDir = dir_.str();
  config.settings = {{"address", "127.0.0.1"},
                     {"port", std::to_string(sim_->port())},
                     {"user", "admin"},
                     {"password", "pw"},
                     {"host_key_fingerprint", fingerprint()},
                     {"base_path", "/storage-pool"},
                     {"orphan_scan_interval_seconds", "0"}};
  auto started = host_.start(polycsi_plugin_entry(), config);
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  backend_ = std::move(started).value();

  CreateVolumeRequest create;
  create.name = "pvc-0a1b2c3d-1111-2222-3333-444455556666";
  create.requiredBytes = kGiB + 1;
  create.volumeMode = VolumeMode::kBlock;
  auto v = backend_->createVolume(create);
  ASSERT_TRUE(v.isOk()) << v.status().toString();
  EXPECT_EQ(v->capacityBytes, kGiB + (int64_t{1} << 20));
  EXPECT_EQ(v->context.at("nqn"), "nqn.2000-02.com.mikrotik:" + create.name);
  auto again = backend_->createVolume(create);
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ(again->id, v->id);
  create.requiredBytes = 4 * kGiB;
  EXPECT_EQ(backend_->createVolume(create).status().code(), Code::kAlreadyExists);

  auto capacity = backend_->getCapacity(CapacityRequest{});
  ASSERT_TRUE(capacity.isOk()) << capacity.status().toString();
  EXPECT_GT(capacity->availableBytes, 0);

  ExpandRequest expand;
  expand.volumeId = v->id;
  expand.requiredBytes = 2 * kGiB;
  auto grown = backend_->expandVolume(expand);
  ASSERT_TRUE(grown.isOk()) << grown.status().toString();
  EXPECT_EQ(grown->capacityBytes, 2 * kGiB);

  PublishRequest publish;
  publish.volumeId = v->id;
  publish.nodeName = "node-a";
  publish.nodeIdentity = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000001";
  ASSERT_TRUE(backend_->publish(publish).isOk());
  ASSERT_TRUE(backend_->unpublish(publish).isOk());

  CreateSnapshotRequest snap;
  snap.name = "snapshot-1";
  snap.sourceVolumeId = v->id;
  auto s = backend_->createSnapshot(snap);
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  EXPECT_EQ(s->sizeBytes, 2 * kGiB);
  CreateVolumeRequest restore;
  restore.name = "pvc-restored";
  restore.requiredBytes = 3 * kGiB;
  restore.sourceId = s->id;
  auto restored = backend_->createVolumeFromSnapshot(restore);
  ASSERT_TRUE(restored.isOk()) << restored.status().toString();
  EXPECT_EQ(restored->capacityBytes, 3 * kGiB);

  ListRequest list;
  auto volumes = backend_->listVolumes(list);
  ASSERT_TRUE(volumes.isOk()) << volumes.status().toString();
  EXPECT_EQ(volumes->volumes.size(), 2u);

  for (const std::string& id : {v->id, restored->id}) {
    VolumeIdRequest del;
    del.volumeId = id;
    ASSERT_TRUE(backend_->deleteVolume(del).isOk()) << id;
    ASSERT_TRUE(backend_->deleteVolume(del).isOk()) << id;
  }
  SnapshotIdRequest delSnap;
  delSnap.snapshotId = s->id;
  ASSERT_TRUE(backend_->deleteSnapshot(delSnap).isOk());
  EXPECT_TRUE(backend_->listVolumes(list)->volumes.empty());
  // The files went with the disks.
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() / "sim" / "pool"))
    EXPECT_NE(entry.path().extension(), ".img") << entry.path();
}

}  // namespace
}  // namespace polycsi::rds_nvme
