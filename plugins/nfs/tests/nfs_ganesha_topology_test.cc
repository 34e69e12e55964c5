// Two NFS exports behind one StorageClass through `polycsi serve`'s gRPC interface: two nfs
// backends in different topology segments, one on each export of a real nfs-ganesha (NFSv4.0
// on loopback), each keeping its volume records on its own export. A CreateVolume retried
// after the first attempt landed returns the same volume from the same export, even when the
// retry prefers the other backend's segment: the core asks each backend for the name first
// (find_volume, docs/topology.md), which the nfs plugin answers from its records. What each
// export holds is read from the exported directories on this machine.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "ganesha_server.hpp"
#include "temp_directory.hpp"
#include "topology_requests.hpp"

namespace polycsi::nfs::testing {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::backendOf;
using polycsi::testing::CsiCalls;
using polycsi::testing::DriverProcess;
using polycsi::testing::GaneshaServer;
using polycsi::testing::kR1;
using polycsi::testing::kR2;
using polycsi::testing::kRack;
using polycsi::testing::rpcContext;
using polycsi::testing::Segments;
using polycsi::testing::TempDir;
using polycsi::testing::topology;
using Mode = csi::v1::VolumeCapability::AccessMode;

class NfsTopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string reason = GaneshaServer::unavailableReason();
    if (!reason.empty())
      FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): " << reason;
    server_.start();
    driver_ = std::make_unique<DriverProcess>(
        work_.str(),
        "backends:\n" + backend("nas-a", GaneshaServer::share(), "r1") +
            backend("nas-b", GaneshaServer::otherShare(), "r2"),
        "controller-0", std::vector<std::string>{"--mode", "controller"});
    driver_->start();
  }
  void TearDown() override {
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
    if (HasFailure()) std::cerr << "ganesha log:\n" << server_.log();
    driver_.reset();
  }

  std::string backend(const std::string& name, const std::string& share,
                      const std::string& rack) const {
    return "  - name: " + name + "\n    plugin: nfs\n    topology:\n      " + kRack + ": " + rack +
           "\n    settings:\n      server: 127.0.0.1\n      share: " + share +
           "\n      nfs_version: \"4\"\n      nfs_port: " + std::to_string(server_.nfsPort()) +
           "\n      timeout_seconds: 5\n";
  }

  grpc::Status create(const std::string& name, int64_t bytes, const Segments& preferred,
                      csi::v1::Volume* out) {
    auto req = polycsi::testing::createRequest(
        name, bytes, polycsi::testing::mountCapability(Mode::MULTI_NODE_MULTI_WRITER, "nfs"));
    (*req.mutable_parameters())["backends"] = "nas-a,nas-b";
    *req.mutable_accessibility_requirements()->add_preferred() = topology(preferred);
    *req.mutable_accessibility_requirements()->add_requisite() = topology(kR1);
    *req.mutable_accessibility_requirements()->add_requisite() = topology(kR2);
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext(60);
    grpc::Status s = driver_->controller().CreateVolume(ctx.get(), req, &resp);
    if (out) *out = resp.volume();
    return s;
  }
  // Whether export directory `dir` holds a volume directory `name` (the default subDir).
  static bool holds(const std::string& dir, const std::string& name) {
    return fs::is_directory(fs::path(dir) / name);
  }

  TempDir work_{"polycsi-nfs-topology"};
  GaneshaServer server_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(NfsTopologyTest, ARetriedCreateVolumeReturnsTheFirstExportsVolume) {
  const std::string name = "pvc-5d2c7a10-0000-4000-8000-0000000000a1";
  csi::v1::Volume first;
  grpc::Status s = create(name, polycsi::testing::kMiB, kR1, &first);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(backendOf(first.volume_id()), "nas-a");
  ASSERT_EQ(first.accessible_topology_size(), 1);
  EXPECT_EQ(first.accessible_topology(0).segments().at(kRack), "r1");
  EXPECT_TRUE(holds(server_.exportDir(), name));
  EXPECT_FALSE(holds(server_.otherExportDir(), name));

  // The provisioner's retry, now preferring the other export's rack, where a new volume would
  // go: it gets the first attempt's volume, and the other export holds neither a directory
  // nor a record of it.
  csi::v1::Volume retried;
  s = create(name, polycsi::testing::kMiB, kR2, &retried);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(retried.volume_id(), first.volume_id());
  EXPECT_EQ(retried.volume_context().at("share"), GaneshaServer::share());
  EXPECT_FALSE(holds(server_.otherExportDir(), name));
  EXPECT_FALSE(
      fs::exists(fs::path(server_.otherExportDir()) / ".polycsi/volumes" / (name + ".json")));

  // A retry asking for more than the volume holds goes to the same export, whose plugin
  // refuses it as it refuses any incompatible repeat: nothing is made on the other export.
  s = create(name, 4 * polycsi::testing::kMiB, kR2, nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_FALSE(holds(server_.otherExportDir(), name));

  // A new name preferring rack r2 lands on the other export, so the retry above was not placed
  // on the first only because the second was never a choice.
  const std::string otherName = "pvc-5d2c7a10-0000-4000-8000-0000000000b2";
  csi::v1::Volume other;
  s = create(otherName, polycsi::testing::kMiB, kR2, &other);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(backendOf(other.volume_id()), "nas-b");
  EXPECT_TRUE(holds(server_.otherExportDir(), otherName));
  EXPECT_FALSE(holds(server_.exportDir(), otherName));

  // Each id keeps routing to its export.
  EXPECT_TRUE(CsiCalls(*driver_).deleteVolume(first.volume_id()).ok());
  EXPECT_FALSE(holds(server_.exportDir(), name));
  EXPECT_TRUE(CsiCalls(*driver_).deleteVolume(other.volume_id()).ok());
  EXPECT_FALSE(holds(server_.otherExportDir(), otherName));
}

}  // namespace
}  // namespace polycsi::nfs::testing
