// Every controller operation of the nfs plugin through `polycsi serve`'s gRPC interface,
// against a real nfs-ganesha on loopback (NFSv4.0 through libnfs). What the plugin did is
// checked in the exported directory on this machine and, for content, through libnfs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "ganesha_server.hpp"
#include "nfs_client.hpp"

namespace polycsi::nfs::testing {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::DriverProcess;
using polycsi::testing::rpcContext;
using polycsi::testing::TempWorkDir;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr int kTimeoutSeconds = 3;

class NfsGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = GaneshaServer::unavailableReason();
    if (!reason.empty()) FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): " << reason;
    server_ = std::make_unique<GaneshaServer>();
    server_->start();
    driver_ = std::make_unique<DriverProcess>(
        work_.path(),
        "backends:\n  - name: nas\n    plugin: nfs\n    default: true\n    settings:\n"
        "      server: 127.0.0.1\n      share: " +
            std::string(GaneshaServer::share()) +
            "\n      nfs_port: " + std::to_string(server_->nfsPort()) +
            "\n      timeout_seconds: " + std::to_string(kTimeoutSeconds) +
            "\n      mount_options: hard\n");
    driver_->start();
  }
  void TearDown() override {
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
    if (HasFailure() && server_) std::cerr << "ganesha log (tail):\n" << tail(server_->log());
  }
  static std::string tail(const std::string& text) {
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  static csi::v1::VolumeCapability rwx() {
    return polycsi::testing::mountCapability(Mode::MULTI_NODE_MULTI_WRITER, "nfs");
  }
  grpc::Status create(const std::string& name, const std::map<std::string, std::string>& params,
                      csi::v1::CreateVolumeResponse* out,
                      const csi::v1::VolumeContentSource* source = nullptr) {
    auto req = polycsi::testing::createRequest(name, polycsi::testing::kMiB, rwx());
    for (const auto& [k, v] : params) (*req.mutable_parameters())[k] = v;
    if (source) *req.mutable_volume_content_source() = *source;
    auto ctx = rpcContext(30);
    return driver_->controller().CreateVolume(ctx.get(), req, out);
  }
  std::string createOk(const std::string& name,
                       const std::map<std::string, std::string>& params = {}) {
    csi::v1::CreateVolumeResponse resp;
    auto s = create(name, params, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.volume().volume_id();
  }
  grpc::Status remove(const std::string& id) {
    csi::v1::DeleteVolumeRequest req;
    req.set_volume_id(id);
    csi::v1::DeleteVolumeResponse resp;
    auto ctx = rpcContext(30);
    return driver_->controller().DeleteVolume(ctx.get(), req, &resp);
  }
  grpc::Status snapshot(const std::string& name, const std::string& volume,
                        csi::v1::CreateSnapshotResponse* out) {
    csi::v1::CreateSnapshotRequest req;
    req.set_name(name);
    req.set_source_volume_id(volume);
    auto ctx = rpcContext(30);
    return driver_->controller().CreateSnapshot(ctx.get(), req, out);
  }
  std::vector<std::string> listVolumeIds() {
    csi::v1::ListVolumesRequest req;
    csi::v1::ListVolumesResponse resp;
    auto ctx = rpcContext(30);
    auto s = driver_->controller().ListVolumes(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& e : resp.entries()) ids.push_back(e.volume().volume_id());
    return ids;
  }
  // Top-level entries of the export (what a path escape would have created is looked for).
  std::set<std::string> exportEntries() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(server_->exportDir()))
      out.insert(e.path().filename().string());
    return out;
  }
  std::unique_ptr<NfsSession> session() {
    return NfsSession::connect(NfsTarget{{"127.0.0.1", GaneshaServer::share()},
                                         4,
                                         server_->nfsPort(),
                                         std::nullopt,
                                         std::chrono::seconds(kTimeoutSeconds)},
                               Call{});
  }

  TempWorkDir work_;
  std::unique_ptr<GaneshaServer> server_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(NfsGrpcTest, CreateIsIdempotentAndAppliesPermissions) {
  csi::v1::CreateVolumeResponse first;
  ASSERT_TRUE(create("pvc-one", {{"mountPermissions", "0750"}}, &first).ok());
  csi::v1::CreateVolumeResponse second;
  auto again = create("pvc-one", {{"mountPermissions", "0750"}}, &second);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(first.volume().volume_id(), second.volume().volume_id());
  EXPECT_EQ(first.volume().volume_id(), "nas:pvc-one");
  EXPECT_GE(first.volume().capacity_bytes(), polycsi::testing::kMiB);
  const auto& context = first.volume().volume_context();
  EXPECT_EQ(context.at("server"), "127.0.0.1");
  EXPECT_EQ(context.at("share"), GaneshaServer::share());
  EXPECT_EQ(context.at("subDir"), "pvc-one");

  struct stat st {};
  ASSERT_EQ(::stat((server_->exportDir() + "/pvc-one").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  // The same, seen through libnfs.
  auto info = session()->stat("pvc-one");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->permissions, 0750);

  // Same name, different placement: ALREADY_EXISTS.
  csi::v1::CreateVolumeResponse conflict;
  auto s = create("pvc-one", {{"subDir", "elsewhere"}}, &conflict);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
}

TEST_F(NfsGrpcTest, SubDirTemplateUsesTheProvisionerMetadata) {
  std::string id =
      createOk("pvc-0001", {{"subDir", "${pvc.metadata.namespace}/${pvc.metadata.name}"},
                            {"csi.storage.k8s.io/pvc/name", "data"},
                            {"csi.storage.k8s.io/pvc/namespace", "team-a"},
                            {"csi.storage.k8s.io/pv/name", "pvc-0001"}});
  EXPECT_TRUE(fs::is_directory(server_->exportDir() + "/team-a/data"));
  // The core still records the PVC for events, beside passing the keys to the plugin.
  csi::v1::CreateVolumeResponse resp;
  ASSERT_TRUE(create("pvc-0001",
                     {{"subDir", "${pvc.metadata.namespace}/${pvc.metadata.name}"},
                      {"csi.storage.k8s.io/pvc/name", "data"},
                      {"csi.storage.k8s.io/pvc/namespace", "team-a"},
                      {"csi.storage.k8s.io/pv/name", "pvc-0001"}},
                     &resp)
                  .ok());
  EXPECT_EQ(resp.volume().volume_context().at("polycsi.io/pvc-name"), "data");
  EXPECT_EQ(resp.volume().volume_context().at("subDir"), "team-a/data");
  ASSERT_TRUE(remove(id).ok());
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/team-a/data"));
  EXPECT_TRUE(fs::is_directory(server_->exportDir() + "/team-a")) << "parents are shared";

  // Unknown non-provisioner keys are still refused by the core.
  csi::v1::CreateVolumeResponse bad;
  auto s = create("pvc-0002", {{"colour", "blue"}}, &bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(NfsGrpcTest, PathEscapesAreRefusedAndCreateNothing) {
  auto before = exportEntries();
  const std::vector<std::map<std::string, std::string>> attempts = {
      {{"subDir", "../escape"}},
      {{"subDir", "a/../../escape"}},
      {{"subDir", "/etc"}},
      {{"subDir", "ctl\x01name"}},
      {{"subDir", "${pvc.metadata.name}"}, {"csi.storage.k8s.io/pvc/name", ".."}},
      {{"subDir", "x/${pvc.metadata.namespace}"},
       {"csi.storage.k8s.io/pvc/namespace", "../../escape"}},
      {{"subDir", "${pvc.metadata.name}"}},  // no metadata: cannot expand
      {{"subDir", ".polycsi/volumes"}},
      {{"share", "/export/../etc"}},
  };
  int i = 0;
  for (const auto& params : attempts) {
    csi::v1::CreateVolumeResponse resp;
    auto s = create("pvc-escape-" + std::to_string(i++), params, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << (params.count("subDir") ? params.at("subDir") : "share") << ": " << s.error_message();
  }
  EXPECT_EQ(exportEntries(), before);
  EXPECT_FALSE(fs::exists(fs::path(server_->exportDir()).parent_path() / "escape"));
  EXPECT_TRUE(listVolumeIds().empty());
}

TEST_F(NfsGrpcTest, OnDeleteDeleteRetainArchive) {
  std::string deleted = createOk("pvc-del", {{"onDelete", "delete"}});
  std::string retained = createOk("pvc-ret", {{"onDelete", "retain"}});
  std::string archived = createOk("pvc-arc", {{"onDelete", "archive"}, {"subDir", "ns/arc"}});
  auto s = session();
  s->writeFileAtomically("pvc-del/file", "d");
  s->writeFileAtomically("pvc-ret/file", "r");
  s->writeFileAtomically("ns/arc/file", "a");

  for (const auto& id : {deleted, retained, archived}) {
    ASSERT_TRUE(remove(id).ok()) << id;
    ASSERT_TRUE(remove(id).ok()) << id << ": deleting what is gone must succeed";
  }
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-del"));
  EXPECT_TRUE(fs::exists(server_->exportDir() + "/pvc-ret/file"));
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/ns/arc"));
  int archives = 0;
  for (const auto& e : fs::directory_iterator(server_->exportDir())) {
    std::string name = e.path().filename().string();
    if (name.rfind("archived-ns-arc-", 0) == 0) {
      ++archives;
      EXPECT_TRUE(fs::exists(e.path() / "file"));
    }
  }
  EXPECT_EQ(archives, 1);
  EXPECT_TRUE(listVolumeIds().empty());

  csi::v1::ControllerGetVolumeRequest get;
  get.set_volume_id(deleted);
  csi::v1::ControllerGetVolumeResponse got;
  auto ctx = rpcContext(30);
  auto status = driver_->controller().ControllerGetVolume(ctx.get(), get, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
}

TEST_F(NfsGrpcTest, SnapshotRestoreAndCloneCopyTheContent) {
  std::string source = createOk("pvc-src", {{"mountPermissions", "0770"}});
  auto s = session();
  s->writeFileAtomically("pvc-src/disk.img", std::string(300000, 'x') + "end");
  s->makeDirectories("pvc-src/sub", 0755);
  s->writeFileAtomically("pvc-src/sub/nested", "nested content");

  csi::v1::CreateSnapshotResponse snap;
  auto st = snapshot("snap-1", source, &snap);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(snap.snapshot().ready_to_use());
  EXPECT_GE(snap.snapshot().size_bytes(), 300003);
  csi::v1::CreateSnapshotResponse again;
  ASSERT_TRUE(snapshot("snap-1", source, &again).ok());
  EXPECT_EQ(again.snapshot().snapshot_id(), snap.snapshot().snapshot_id());

  // Changing the source afterwards must not change the snapshot.
  s->writeFileAtomically("pvc-src/sub/nested", "changed");

  csi::v1::VolumeContentSource fromSnap;
  fromSnap.mutable_snapshot()->set_snapshot_id(snap.snapshot().snapshot_id());
  csi::v1::CreateVolumeResponse restored;
  auto rs = create("pvc-restored", {}, &restored, &fromSnap);
  ASSERT_TRUE(rs.ok()) << rs.error_message();
  EXPECT_EQ(s->readFile("pvc-restored/disk.img", 1 << 20), std::string(300000, 'x') + "end");
  EXPECT_EQ(s->readFile("pvc-restored/sub/nested", 1024), "nested content");

  csi::v1::VolumeContentSource fromVolume;
  fromVolume.mutable_volume()->set_volume_id(source);
  csi::v1::CreateVolumeResponse cloned;
  auto cs = create("pvc-clone", {}, &cloned, &fromVolume);
  ASSERT_TRUE(cs.ok()) << cs.error_message();
  EXPECT_EQ(s->readFile("pvc-clone/sub/nested", 1024), "changed");
  EXPECT_EQ(s->readFile("pvc-clone/disk.img", 1 << 20), std::string(300000, 'x') + "end");

  csi::v1::ListSnapshotsRequest list;
  list.set_source_volume_id(source);
  csi::v1::ListSnapshotsResponse listed;
  auto ctx = rpcContext(30);
  ASSERT_TRUE(driver_->controller().ListSnapshots(ctx.get(), list, &listed).ok());
  ASSERT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(listed.entries(0).snapshot().snapshot_id(), snap.snapshot().snapshot_id());

  csi::v1::DeleteSnapshotRequest del;
  del.set_snapshot_id(snap.snapshot().snapshot_id());
  csi::v1::DeleteSnapshotResponse delResp;
  auto ctx2 = rpcContext(30);
  ASSERT_TRUE(driver_->controller().DeleteSnapshot(ctx2.get(), del, &delResp).ok());
  EXPECT_TRUE(fs::is_empty(server_->exportDir() + "/.snapshots"));
  // The restored volume is independent of the deleted snapshot.
  EXPECT_EQ(s->readFile("pvc-restored/sub/nested", 1024), "nested content");
}

TEST_F(NfsGrpcTest, CapacityAndListing) {
  csi::v1::GetCapacityRequest req;
  *req.add_volume_capabilities() = rwx();
  csi::v1::GetCapacityResponse resp;
  auto ctx = rpcContext(30);
  auto s = driver_->controller().GetCapacity(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(resp.available_capacity(), 0);

  std::vector<std::string> ids;
  for (const char* name : {"pvc-b", "pvc-a", "pvc-c"}) ids.push_back(createOk(name));
  std::vector<std::string> listed = listVolumeIds();
  std::sort(ids.begin(), ids.end());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, ids);

  // Block volumes are refused with the plugin's reason.
  auto req2 = polycsi::testing::createRequest(
      "pvc-block", polycsi::testing::kMiB,
      polycsi::testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER));
  csi::v1::CreateVolumeResponse blockResp;
  auto ctx2 = rpcContext(30);
  auto bs = driver_->controller().CreateVolume(ctx2.get(), req2, &blockResp);
  EXPECT_EQ(bs.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bs.error_message().find("not block devices"), std::string::npos) << bs.error_message();
}

TEST_F(NfsGrpcTest, ServerRestartMidSequence) {
  std::string first = createOk("pvc-before");
  server_->stop();
  server_->start();
  std::string second = createOk("pvc-after");
  EXPECT_TRUE(fs::is_directory(server_->exportDir() + "/pvc-after"));
  csi::v1::CreateSnapshotResponse snap;
  auto s = snapshot("snap-after-restart", first, &snap);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(remove(first).ok());
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-before"));
  EXPECT_EQ(listVolumeIds(), std::vector<std::string>{second});
}

TEST_F(NfsGrpcTest, ServerGoneGivesATimelyClearError) {
  std::string id = createOk("pvc-kept");
  server_->stop();
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-unreachable", {}, &resp);
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
              s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_code() << ": " << s.error_message();
  // The plugin's answer (naming the export), not the client giving up at the RPC deadline.
  EXPECT_NE(s.error_message().find("127.0.0.1:/export"), std::string::npos) << s.error_message();
  auto d = remove(id);
  EXPECT_TRUE(d.error_code() == grpc::StatusCode::UNAVAILABLE ||
              d.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << d.error_message();
  // And it recovers.
  server_->start();
  EXPECT_TRUE(remove(id).ok());
}

}  // namespace
}  // namespace polycsi::nfs::testing
