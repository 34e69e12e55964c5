// The node's connections of a volume with several NVMe/TCP paths, on a fake sysfs where the
// test's connector plays the kernel: each connect makes a controller under the subsystem, whose
// namespace is one multipath head (nvme_core multipath=Y) or one device per path (=N).
#include "nvme_volume_connections.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fake_sysfs.hpp"
#include "polycsi/testing/fake_host.hpp"
#include "temp_directory.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

constexpr char kVolume[] = "pvc-a";
constexpr char kNqn[] = "nqn.2000-02.com.mikrotik:pvc-a";
constexpr char kForeignNqn[] = "nqn.2014-08.org.example:array-7";
constexpr char kPathA[] = "10.42.68.1";
constexpr char kPathB[] = "10.42.69.1";
constexpr char kHostNqn[] = "nqn.2014-08.org.nvmexpress:uuid:5e1f0000-1111-2222-3333-444455556666";

// What a connect to an address does: make the controller, refuse, or run out of its time.
enum class PathBehaviour { kConnects, kRefused, kTimesOut };

struct ConnectCall {
  std::string address;
  std::string hostNqn;
  std::chrono::milliseconds timeout;
};

class NvmeVolumeConnectionsTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_.setMultipath(true); }

  // The kernel as the test plays it: controller nvme<N> per connect, the subsystem's head
  // nvme0n1 with multipath, else a namespace nvme<N>n1 under the controller.
  std::string kernelConnect(const NvmeTcpTarget& target, const NvmeConnectOptions& options,
                            const Call& call) {
    calls_.push_back({target.address, options.hostNqn, call.timeout});
    switch (behaviour_[target.address]) {
      case PathBehaviour::kRefused:
        throw Error(Code::kUnavailable, "NVMe/TCP connect to " + target.nqn + " at " +
                                            target.address + ":" + target.port +
                                            " failed: Connection refused");
      case PathBehaviour::kTimesOut:
        throw Error(Code::kDeadlineExceeded,
                    "connecting NVMe/TCP " + target.address + " did not finish in time");
      case PathBehaviour::kConnects:
        break;
    }
    return addPath(target.address);
  }
  std::string addPath(const std::string& address) {
    std::string name = "nvme" + std::to_string(++lastController_);
    fake_.addController(name, kNqn, "tcp", address, "4420");
    subsystemControllers_.push_back(name);
    if (multipath_) {
      fake_.addSubsystem("nvme-subsys0", kNqn, subsystemControllers_, {"nvme0n1"});
      fake_.addDevice("nvme0n1");
    } else {
      fake_.addControllerNamespace(name, name + "n1");
      fake_.addDevice(name + "n1");
    }
    return name;
  }
  void setMultipath(bool on) {
    multipath_ = on;
    fake_.setMultipath(on);
  }

  std::unique_ptr<NvmeVolumeConnections> connections() {
    record_ = std::make_unique<ConnectionRecord>(state_.path());
    return std::make_unique<NvmeVolumeConnections>(
        NvmeSysfs(fake_.sysRoot()), fake_.devDir(), *record_, Host(host_.hostApi()),
        [this](const NvmeTcpTarget& t, const NvmeConnectOptions& o, const Call& c) {
          return kernelConnect(t, o, c);
        });
  }
  static NvmeTcpPaths paths(std::vector<std::string> addresses = {kPathA, kPathB}) {
    return NvmeTcpPaths{kNqn, "4420", std::move(addresses)};
  }
  static NvmeConnectOptions options() {
    NvmeConnectOptions o;
    o.hostNqn = kHostNqn;
    return o;
  }
  static Call call() {
    Call c;
    c.timeout = std::chrono::seconds(20);
    return c;
  }
  std::string attach(NvmeVolumeConnections& nodeSide, const std::string& stagingPath = "/stage") {
    return nodeSide.attach(kVolume, paths(), stagingPath, options(), std::chrono::seconds(1),
                           call());
  }
  std::optional<SubsystemRecord> recorded() const {
    return ConnectionRecord(state_.path()).find(kNqn);
  }
  std::string device(const std::string& name) const { return (fake_.devDir() / name).string(); }

  FakeSysfs fake_;
  polycsi::testing::TempDir state_{"polycsi-connections"};
  polycsi::testing::FakeHost host_;
  std::unique_ptr<ConnectionRecord> record_;
  std::map<std::string, PathBehaviour> behaviour_;
  std::vector<ConnectCall> calls_;
  std::vector<std::string> subsystemControllers_;
  int lastController_ = 0;
  bool multipath_ = true;
};

TEST_F(NvmeVolumeConnectionsTest, EveryPathIsConnectedWithOneHostNqnAndTheHeadIsTheDevice) {
  fake_.addController("nvme9", kForeignNqn, "tcp", "192.168.5.5", "4420");
  auto nodeSide = connections();
  EXPECT_EQ(attach(*nodeSide), device("nvme0n1"));
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[0].address, kPathA);
  EXPECT_EQ(calls_[1].address, kPathB);
  EXPECT_EQ(calls_[0].hostNqn, kHostNqn);
  EXPECT_EQ(calls_[1].hostNqn, kHostNqn);
  // The first path may use at most half the call's time: the second must get its turn.
  EXPECT_LE(calls_[0].timeout, std::chrono::seconds(10));
  EXPECT_GT(calls_[1].timeout, std::chrono::milliseconds(0));
  ASSERT_TRUE(recorded().has_value());
  EXPECT_EQ(recorded()->addresses, (std::vector<std::string>{kPathA, kPathB}));
  EXPECT_EQ(recorded()->controllers,
            (std::vector<RecordedController>{{"nvme1", true, kPathA}, {"nvme2", true, kPathB}}));
  VolumeCondition healthy = nodeSide->condition(kVolume);
  EXPECT_FALSE(healthy.abnormal) << healthy.message;

  // Staged again: both paths are live, nothing is connected twice.
  EXPECT_EQ(attach(*nodeSide), device("nvme0n1"));
  EXPECT_EQ(calls_.size(), 2u);

  // After a restart (a new object, the record read from disk) unstage ends every path of ours
  // and nothing else.
  nodeSide = connections();
  nodeSide->detach(kVolume, "/stage", call());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "1");
  EXPECT_EQ(fake_.deleteRequests("nvme2"), "1");
  EXPECT_EQ(fake_.deleteRequests("nvme9"), "");
  EXPECT_FALSE(recorded().has_value());
  nodeSide->detach(kVolume, "/stage", call());  // detached already: success
}

TEST_F(NvmeVolumeConnectionsTest, APathThatCannotConnectIsReportedAndTheNextStageConnectsIt) {
  behaviour_[kPathA] = PathBehaviour::kRefused;
  auto nodeSide = connections();
  EXPECT_EQ(attach(*nodeSide), device("nvme0n1"));
  EXPECT_TRUE(host_.logged("staged over 1 of 2 NVMe/TCP paths to " + std::string(kNqn) +
                           "; not connected: 10.42.68.1: NVMe/TCP connect"))
      << "the warning names the missing path and why";
  EXPECT_EQ(recorded()->controllers, (std::vector<RecordedController>{{"nvme1", true, kPathB}}));
  VolumeCondition degraded = nodeSide->condition(kVolume);
  EXPECT_TRUE(degraded.abnormal);
  EXPECT_NE(degraded.message.find("degraded: 1 of 2"), std::string::npos) << degraded.message;
  EXPECT_NE(degraded.message.find("path 10.42.68.1 is not connected"), std::string::npos)
      << degraded.message;

  // The path works again: the next stage of the volume connects it, the other stays.
  behaviour_[kPathA] = PathBehaviour::kConnects;
  EXPECT_EQ(attach(*nodeSide, "/stage-2"), device("nvme0n1"));
  EXPECT_EQ(recorded()->controllers,
            (std::vector<RecordedController>{{"nvme1", true, kPathB}, {"nvme2", true, kPathA}}));
  EXPECT_FALSE(nodeSide->condition(kVolume).abnormal);

  // A path that goes down is reported, and unstage still ends both.
  fake_.setState("nvme2", "connecting");
  VolumeCondition down = nodeSide->condition(kVolume);
  EXPECT_TRUE(down.abnormal);
  EXPECT_NE(down.message.find("nvme2 is connecting (path 10.42.68.1)"), std::string::npos)
      << down.message;
  nodeSide->detach(kVolume, "", call());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "1");
  EXPECT_EQ(fake_.deleteRequests("nvme2"), "1");
}

TEST_F(NvmeVolumeConnectionsTest, NoPathConnectingIsUnavailableNamingEveryAddress) {
  behaviour_[kPathA] = PathBehaviour::kRefused;
  behaviour_[kPathB] = PathBehaviour::kRefused;
  auto nodeSide = connections();
  try {
    attach(*nodeSide);
    FAIL() << "attached without a path";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
    const std::string message = e.what();
    EXPECT_NE(message.find("no NVMe/TCP path to " + std::string(kNqn) +
                           " at 10.42.68.1:4420, 10.42.69.1:4420 could be connected"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("10.42.68.1: NVMe/TCP connect"), std::string::npos) << message;
    EXPECT_NE(message.find("10.42.69.1: NVMe/TCP connect"), std::string::npos) << message;
  }
  EXPECT_FALSE(recorded().has_value()) << "nothing connected, nothing recorded";
}

TEST_F(NvmeVolumeConnectionsTest, WithoutMultipathOnePathIsConnectedAndItsNamespaceUsed) {
  setMultipath(false);
  behaviour_[kPathA] = PathBehaviour::kRefused;
  auto nodeSide = connections();
  EXPECT_EQ(attach(*nodeSide), device("nvme1n1"));
  ASSERT_EQ(calls_.size(), 2u) << "A refused, then B";
  EXPECT_EQ(recorded()->controllers, (std::vector<RecordedController>{{"nvme1", true, kPathB}}));
  EXPECT_FALSE(host_.logged("staged over")) << "one path is all the node uses without multipath";
  EXPECT_FALSE(nodeSide->condition(kVolume).abnormal);
  // Staged again with both paths working: still one path.
  behaviour_[kPathA] = PathBehaviour::kConnects;
  EXPECT_EQ(attach(*nodeSide, "/stage-2"), device("nvme1n1"));
  EXPECT_EQ(calls_.size(), 2u);
  nodeSide->detach(kVolume, "", call());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "1");
}

// A path's connect that outlives its share of the call: the kernel may still make the
// controller. The attach succeeds over the other path; the late controller is ours when it
// appears, so unstage ends it too.
TEST_F(NvmeVolumeConnectionsTest, AConnectThatOutlivesItsShareIsAdoptedWhenItAppears) {
  behaviour_[kPathA] = PathBehaviour::kTimesOut;
  auto nodeSide = connections();
  EXPECT_EQ(attach(*nodeSide), device("nvme0n1"));
  EXPECT_TRUE(recorded()->connecting);
  addPath(kPathA);  // nvme2: the kernel finished the connect after all
  nodeSide = connections();
  nodeSide->detach(kVolume, "/stage", call());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "1");
  EXPECT_EQ(fake_.deleteRequests("nvme2"), "1");
  EXPECT_FALSE(recorded().has_value());
}

TEST_F(NvmeVolumeConnectionsTest, AForeignPathIsUsedButNeverDisconnected) {
  addPath(kPathA);  // nvme1: someone connected path A by hand
  auto nodeSide = connections();
  EXPECT_EQ(attach(*nodeSide), device("nvme0n1"));
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].address, kPathB);
  EXPECT_EQ(recorded()->controllers,
            (std::vector<RecordedController>{{"nvme1", false, kPathA}, {"nvme2", true, kPathB}}));
  nodeSide->detach(kVolume, "/stage", call());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "");
  EXPECT_EQ(fake_.deleteRequests("nvme2"), "1");
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
