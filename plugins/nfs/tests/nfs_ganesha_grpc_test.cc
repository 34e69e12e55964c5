// Every controller operation of the nfs plugin through `polycsi serve`'s gRPC interface,
// against a real nfs-ganesha, once per protocol the controller's libnfs client speaks. ganesha,
// rpcbind, `polycsi serve` and the test's own libnfs sessions all run in a private network
// namespace (see network_namespace.hpp), where ganesha serves NFSv3 and NFSv4.0 on ports that
// are not the defaults:
// - NFSv4.0: the config names nfs_port; rpcbind is stopped once ganesha has started;
// - NFSv3 with the portmapper: the config names no port, so the client must ask rpcbind for
//   MOUNT and NFS;
// - NFSv3 with fixed ports: rpcbind is stopped once ganesha has registered, so only
//   nfs_port/mount_port can lead the client to the server.
// What the plugin did is checked in the exported directories on this machine and, for content,
// through libnfs with the same protocol.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "ganesha_server.hpp"
#include "group_snapshot_calls.hpp"
#include "network_namespace.hpp"
#include "nfs_client.hpp"
#include "rpcbind_server.hpp"
#include "temp_directory.hpp"

namespace polycsi::nfs::testing {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::CsiCalls;
using polycsi::testing::DriverProcess;
using polycsi::testing::GaneshaOptions;
using polycsi::testing::GaneshaServer;
using polycsi::testing::NetworkNamespace;
using polycsi::testing::RpcbindServer;
using polycsi::testing::rpcContext;
using polycsi::testing::TempDir;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr int kTimeoutSeconds = 3;

struct Protocol {
  const char* name;
  int version;      // the controller's nfs_version
  bool portmapper;  // NFSv3: find MOUNT and NFS through rpcbind, no ports in the config
};

constexpr Protocol kProtocols[] = {
    {"NFSv4_0", 4, false},
    {"NFSv3_portmapper", 3, true},
    {"NFSv3_fixed_ports", 3, false},
};

// Content that differs at every offset, so a piece copied to the wrong place shows.
std::string patterned(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  return out;
}

class NfsGrpcTest : public ::testing::TestWithParam<Protocol> {
 protected:
  void SetUp() override {
    std::string reason = GaneshaServer::unavailableReason();
    if (reason.empty()) reason = RpcbindServer::unavailableReason();
    if (!reason.empty())
      FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): " << reason;
    ns_ = std::make_unique<NetworkNamespace>();
    // From here on this thread, its libnfs sessions and the driver it forks are inside.
    inside_.emplace(ns_->enter());
    rpcbind_ = std::make_unique<RpcbindServer>(*ns_);
    server_ = std::make_unique<GaneshaServer>(GaneshaOptions{ns_.get(), rpcbind_.get()});
    startServer();
    std::string settings =
        "      server: 127.0.0.1\n      share: " + std::string(GaneshaServer::share()) +
        "\n      nfs_version: \"" + std::to_string(GetParam().version) +
        "\"\n      timeout_seconds: " + std::to_string(kTimeoutSeconds) +
        "\n      mount_options: hard\n";
    if (auto port = nfsPort()) settings += "      nfs_port: " + std::to_string(*port) + "\n";
    if (auto port = mountPort()) settings += "      mount_port: " + std::to_string(*port) + "\n";
    driver_ = std::make_unique<DriverProcess>(
        work_.str(),
        "backends:\n  - name: nas\n    plugin: nfs\n    default: true\n    settings:\n" + settings);
    driver_->start();
    calls_ = std::make_unique<CsiCalls>(*driver_);
  }
  void TearDown() override {
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << tail(driver_->log());
    if (HasFailure() && server_) std::cerr << "ganesha log (tail):\n" << tail(server_->log());
    if (HasFailure() && rpcbind_) std::cerr << "rpcbind output:\n" << rpcbind_->output();
  }
  static std::string tail(const std::string& text) {
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  // What a call answers while the server cannot be reached: UNAVAILABLE or DEADLINE_EXCEEDED.
  static bool unreachable(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
           s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  }
  bool v3() const { return GetParam().version == 3; }
  // The ports the controller is told: none over NFSv3 with the portmapper.
  std::optional<int> nfsPort() const {
    if (v3() && GetParam().portmapper) return std::nullopt;
    return server_->nfsPort();
  }
  std::optional<int> mountPort() const {
    if (!v3() || GetParam().portmapper) return std::nullopt;
    return server_->mountPort();
  }
  // Starts ganesha (after rpcbind, which its NFSv3 registration needs); without the
  // portmapper, rpcbind stops again once ganesha has registered, so nothing answers a lookup.
  void startServer() {
    rpcbind_->start();
    server_->start();
    if (!GetParam().portmapper) rpcbind_->stop();
  }

  static csi::v1::VolumeCapability rwx() {
    return polycsi::testing::mountCapability(Mode::MULTI_NODE_MULTI_WRITER, "nfs");
  }
  grpc::Status create(const std::string& name, const std::map<std::string, std::string>& params,
                      csi::v1::CreateVolumeResponse* out,
                      const csi::v1::VolumeContentSource* source = nullptr,
                      const csi::v1::VolumeCapability& capability = rwx()) {
    auto req = polycsi::testing::createRequest(name, polycsi::testing::kMiB, capability);
    for (const auto& [k, v] : params) (*req.mutable_parameters())[k] = v;
    if (source) *req.mutable_volume_content_source() = *source;
    auto ctx = rpcContext(60);
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
    // What external-snapshotter adds with --extra-create-metadata, as deploy/ runs it
    // (kubernetes-csi/external-snapshotter v8.1.0, pkg/utils/util.go: PrefixedVolumeSnapshot*).
    auto& params = *req.mutable_parameters();
    params["csi.storage.k8s.io/volumesnapshot/name"] = "snapshot-of-" + name;
    params["csi.storage.k8s.io/volumesnapshot/namespace"] = "vms";
    params["csi.storage.k8s.io/volumesnapshotcontent/name"] = "snapcontent-" + name;
    auto ctx = rpcContext(60);
    return driver_->controller().CreateSnapshot(ctx.get(), req, out);
  }
  grpc::Status capacity(const std::map<std::string, std::string>& params,
                        csi::v1::GetCapacityResponse* out) {
    csi::v1::GetCapacityRequest req;
    *req.add_volume_capabilities() = rwx();
    for (const auto& [k, v] : params) (*req.mutable_parameters())[k] = v;
    auto ctx = rpcContext(30);
    return driver_->controller().GetCapacity(ctx.get(), req, out);
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
  // Top-level entries of an export (what a path escape would have created is looked for).
  static std::set<std::string> entriesOf(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
  }
  std::set<std::string> exportEntries() const { return entriesOf(server_->exportDir()); }
  std::unique_ptr<NfsSession> session(const char* share = GaneshaServer::share()) {
    return NfsSession::connect(NfsTarget{{"127.0.0.1", share},
                                         GetParam().version,
                                         nfsPort(),
                                         mountPort(),
                                         std::chrono::seconds(kTimeoutSeconds)},
                               Call{});
  }
  // What an unprivileged writer may still use on the filesystem of `dir`, seen locally.
  static int64_t localAvailableBytes(const std::string& dir) {
    struct statvfs st {};
    EXPECT_EQ(::statvfs(dir.c_str(), &st), 0) << dir;
    return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
  }

  // Declaration order is teardown order, reversed: the driver and the servers stop before the
  // thread leaves the namespace and the namespace is deleted.
  std::unique_ptr<NetworkNamespace> ns_;
  std::optional<NetworkNamespace::Entered> inside_;
  std::unique_ptr<RpcbindServer> rpcbind_;
  std::unique_ptr<GaneshaServer> server_;
  TempDir work_;
  std::unique_ptr<DriverProcess> driver_;
  std::unique_ptr<CsiCalls> calls_;
};

TEST_P(NfsGrpcTest, CreateIsIdempotentAndAppliesPermissions) {
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

// An NFS export directory has nothing a VolumeAttributesClass could change on a live volume:
// nfs declares no mutable parameter and is not migration_window, so MODIFY_VOLUME is not
// advertised and a modify is refused naming the parameter and the backend.
TEST_P(NfsGrpcTest, ModifyIsRefusedNamingTheParameterAndTheBackend) {
  csi::v1::CreateVolumeResponse created;
  ASSERT_TRUE(create("pvc-modify", {{"mountPermissions", "0750"}}, &created).ok());
  csi::v1::ControllerModifyVolumeRequest req;
  req.set_volume_id(created.volume().volume_id());
  (*req.mutable_mutable_parameters())["mountPermissions"] = "0700";
  csi::v1::ControllerModifyVolumeResponse resp;
  auto ctx = rpcContext();
  auto s = driver_->controller().ControllerModifyVolume(ctx.get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("mutable_parameters.mountPermissions: backend '"),
            std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("(plugin nfs) cannot change this parameter on a live volume "
                                   "(mutable parameters: none)"),
            std::string::npos)
      << s.error_message();
  struct stat st {};
  ASSERT_EQ(::stat((server_->exportDir() + "/pvc-modify").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u) << "nothing changed";

  csi::v1::ControllerGetCapabilitiesResponse caps;
  auto capsCtx = rpcContext();
  ASSERT_TRUE(driver_->controller()
                  .ControllerGetCapabilities(capsCtx.get(),
                                             csi::v1::ControllerGetCapabilitiesRequest(), &caps)
                  .ok());
  for (const auto& c : caps.capabilities())
    EXPECT_NE(c.rpc().type(), csi::v1::ControllerServiceCapability::RPC::MODIFY_VOLUME);
}

TEST_P(NfsGrpcTest, SubDirTemplateUsesTheProvisionerMetadata) {
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

TEST_P(NfsGrpcTest, PathEscapesAreRefusedAndCreateNothing) {
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

TEST_P(NfsGrpcTest, OnDeleteDeleteRetainArchive) {
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

TEST_P(NfsGrpcTest, SnapshotRestoreAndCloneCopyTheContent) {
  std::string source = createOk("pvc-src", {{"mountPermissions", "0770"}});
  auto s = session();
  // Larger than one READ/WRITE of either protocol (NFSv3: 1 MiB here).
  const std::string disk = patterned(1536 * 1024 + 3);
  s->writeFileAtomically("pvc-src/disk.img", disk);
  s->makeDirectories("pvc-src/sub", 0755);
  s->writeFileAtomically("pvc-src/sub/nested", "nested content");

  csi::v1::CreateSnapshotResponse snap;
  auto st = snapshot("snap-1", source, &snap);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(snap.snapshot().ready_to_use());
  EXPECT_GE(snap.snapshot().size_bytes(), static_cast<int64_t>(disk.size()));
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
  EXPECT_EQ(s->readFile("pvc-restored/disk.img", 4 << 20), disk);
  EXPECT_EQ(s->readFile("pvc-restored/sub/nested", 1024), "nested content");

  csi::v1::VolumeContentSource fromVolume;
  fromVolume.mutable_volume()->set_volume_id(source);
  csi::v1::CreateVolumeResponse cloned;
  auto cs = create("pvc-clone", {}, &cloned, &fromVolume);
  ASSERT_TRUE(cs.ok()) << cs.error_message();
  EXPECT_EQ(s->readFile("pvc-clone/sub/nested", 1024), "changed");
  EXPECT_EQ(s->readFile("pvc-clone/disk.img", 4 << 20), disk);

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

// A KubeVirt VM's three disks (one directory each) in one group snapshot: the copies are taken
// in one pass, each member restores to its disk's content, Get and Delete find the members on
// the export alone, and a different set under the name is ALREADY_EXISTS.
TEST_P(NfsGrpcTest, VmGroupSnapshotRestoresEveryDiskWithItsContent) {
  auto s = session();
  std::vector<std::string> disks;
  std::map<std::string, std::string> contents;  // volume id -> its disk.img
  for (const char* name : {"vm1-rootdisk", "vm1-datadisk", "vm1-scratch"}) {
    std::string id = createOk(name);
    std::string content = patterned(64 * 1024 + disks.size()) + name;
    s->writeFileAtomically(std::string(name) + "/disk.img", content);
    contents[id] = content;
    disks.push_back(id);
  }
  csi::v1::CreateVolumeGroupSnapshotResponse created, retried;
  auto st = polycsi::testing::createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const auto& group = created.group_snapshot();
  ASSERT_EQ(group.snapshots_size(), 3);
  EXPECT_TRUE(group.ready_to_use());
  for (const auto& m : group.snapshots())
    EXPECT_EQ(m.group_snapshot_id(), group.group_snapshot_id());
  ASSERT_TRUE(polycsi::testing::createGroupSnapshot(*driver_, "groupsnapshot-vm1",
                                                    {disks[1], disks[2], disks[0]}, &retried)
                  .ok());
  EXPECT_EQ(polycsi::testing::memberIds(retried.group_snapshot()),
            polycsi::testing::memberIds(group));
  EXPECT_EQ(polycsi::testing::createGroupSnapshot(*driver_, "groupsnapshot-vm1",
                                                  {disks[0], disks[1]}, &retried)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  for (const char* name : {"vm1-rootdisk", "vm1-datadisk", "vm1-scratch"})
    s->writeFileAtomically(std::string(name) + "/disk.img", "changed after the snapshot");
  int restoredCount = 0;
  for (const auto& member : group.snapshots()) {
    csi::v1::VolumeContentSource from;
    from.mutable_snapshot()->set_snapshot_id(member.snapshot_id());
    csi::v1::CreateVolumeResponse restored;
    const std::string name = "restored-" + std::to_string(restoredCount++);
    auto rs = create(name, {}, &restored, &from);
    ASSERT_TRUE(rs.ok()) << rs.error_message();
    EXPECT_EQ(s->readFile(name + "/disk.img", 1 << 20), contents.at(member.source_volume_id()))
        << "restored from " << member.snapshot_id();
  }

  csi::v1::GetVolumeGroupSnapshotResponse fetched;
  ASSERT_TRUE(polycsi::testing::getGroupSnapshot(*driver_, group.group_snapshot_id(),
                                                 polycsi::testing::memberIds(group), &fetched)
                  .ok());
  EXPECT_EQ(fetched.group_snapshot().snapshots_size(), 3);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(polycsi::testing::deleteGroupSnapshot(*driver_, group.group_snapshot_id(),
                                                      polycsi::testing::memberIds(group))
                    .ok());
  EXPECT_TRUE(fs::is_empty(server_->exportDir() + "/.snapshots"));
  EXPECT_EQ(polycsi::testing::getGroupSnapshot(*driver_, group.group_snapshot_id(), {}, &fetched)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// The third member's copy fails on the server (its directory is gone from the export): the two
// copies already taken are deleted, the error names the volume, nothing is left on the export.
TEST_P(NfsGrpcTest, GroupSnapshotWhoseCopyFailsOnTheServerRollsBack) {
  std::map<std::string, std::string> nameOf;  // volume id -> directory
  std::vector<std::string> disks;
  for (const char* name : {"vm1-rootdisk", "vm1-datadisk", "vm1-scratch"}) {
    std::string id = createOk(name);
    session()->writeFileAtomically(std::string(name) + "/disk.img", patterned(4096));
    nameOf[id] = name;
    disks.push_back(id);
  }
  std::vector<std::string> sorted = disks;
  std::sort(sorted.begin(), sorted.end());
  fs::remove_all(server_->exportDir() + "/" + nameOf.at(sorted[2]));
  csi::v1::CreateVolumeGroupSnapshotResponse created;
  auto st = polycsi::testing::createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find("snapshot of volume " + sorted[2]), std::string::npos)
      << st.error_message();
  EXPECT_NE(st.error_message().find("deleted the 2 member snapshot(s)"), std::string::npos)
      << st.error_message();
  std::vector<csi::v1::Snapshot> all;
  ASSERT_TRUE(polycsi::testing::listAllSnapshots(*driver_, &all).ok());
  EXPECT_TRUE(all.empty()) << all.size() << " snapshots left";
  EXPECT_TRUE(!fs::exists(server_->exportDir() + "/.snapshots") ||
              fs::is_empty(server_->exportDir() + "/.snapshots"));
}

TEST_P(NfsGrpcTest, CapacityAndListing) {
  // GetCapacity is the export filesystem's own statistics: what statvfs says here, give or
  // take what other writers on this machine's disk did in between.
  const int64_t before = localAvailableBytes(server_->exportDir());
  csi::v1::GetCapacityResponse resp;
  auto s = capacity({}, &resp);
  const int64_t after = localAvailableBytes(server_->exportDir());
  ASSERT_TRUE(s.ok()) << s.error_message();
  constexpr int64_t kSlack = 256 * polycsi::testing::kMiB;
  EXPECT_GT(resp.available_capacity(), 0);
  EXPECT_GE(resp.available_capacity(), std::min(before, after) - kSlack);
  EXPECT_LE(resp.available_capacity(), std::max(before, after) + kSlack);
  // A class on another export asks that export; a bad override is refused.
  csi::v1::GetCapacityResponse other;
  ASSERT_TRUE(capacity({{"share", GaneshaServer::otherShare()}}, &other).ok());
  EXPECT_GT(other.available_capacity(), 0);
  csi::v1::GetCapacityResponse bad;
  EXPECT_EQ(capacity({{"share", "relative"}}, &bad).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  std::vector<std::string> ids;
  for (const char* name : {"pvc-b", "pvc-a", "pvc-c"}) ids.push_back(createOk(name));
  std::vector<std::string> listed = listVolumeIds();
  std::sort(ids.begin(), ids.end());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, ids);

  // Paging: two, then the rest, each volume once.
  csi::v1::ListVolumesRequest firstPage;
  firstPage.set_max_entries(2);
  csi::v1::ListVolumesResponse page1;
  auto ctx1 = rpcContext(30);
  ASSERT_TRUE(driver_->controller().ListVolumes(ctx1.get(), firstPage, &page1).ok());
  ASSERT_EQ(page1.entries_size(), 2);
  ASSERT_FALSE(page1.next_token().empty());
  csi::v1::ListVolumesRequest secondPage;
  secondPage.set_starting_token(page1.next_token());
  csi::v1::ListVolumesResponse page2;
  auto ctx2 = rpcContext(30);
  ASSERT_TRUE(driver_->controller().ListVolumes(ctx2.get(), secondPage, &page2).ok());
  std::vector<std::string> paged;
  for (const auto* page : {&page1, &page2})
    for (const auto& e : page->entries()) paged.push_back(e.volume().volume_id());
  std::sort(paged.begin(), paged.end());
  EXPECT_EQ(paged, ids);
  EXPECT_TRUE(page2.next_token().empty());

  // ControllerGetVolume and ValidateVolumeCapabilities of a listed volume.
  csi::v1::ControllerGetVolumeRequest get;
  get.set_volume_id(ids.front());
  csi::v1::ControllerGetVolumeResponse got;
  auto ctx3 = rpcContext(30);
  auto gs = driver_->controller().ControllerGetVolume(ctx3.get(), get, &got);
  ASSERT_TRUE(gs.ok()) << gs.error_message();
  EXPECT_EQ(got.volume().volume_context().at("subDir"), "pvc-a");
  csi::v1::ValidateVolumeCapabilitiesRequest validate;
  validate.set_volume_id(ids.front());
  *validate.add_volume_capabilities() = rwx();
  csi::v1::ValidateVolumeCapabilitiesResponse validated;
  auto ctx4 = rpcContext(30);
  ASSERT_TRUE(
      driver_->controller().ValidateVolumeCapabilities(ctx4.get(), validate, &validated).ok());
  EXPECT_TRUE(validated.has_confirmed()) << validated.message();
  *validate.mutable_volume_capabilities(0) =
      polycsi::testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER);
  csi::v1::ValidateVolumeCapabilitiesResponse refusedBlock;
  auto ctx5 = rpcContext(30);
  ASSERT_TRUE(
      driver_->controller().ValidateVolumeCapabilities(ctx5.get(), validate, &refusedBlock).ok());
  EXPECT_FALSE(refusedBlock.has_confirmed());
  EXPECT_NE(refusedBlock.message().find("not block devices"), std::string::npos)
      << refusedBlock.message();

  // Block volumes are refused with the plugin's reason.
  auto req2 = polycsi::testing::createRequest(
      "pvc-block", polycsi::testing::kMiB,
      polycsi::testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER));
  csi::v1::CreateVolumeResponse blockResp;
  auto ctx6 = rpcContext(30);
  auto bs = driver_->controller().CreateVolume(ctx6.get(), req2, &blockResp);
  EXPECT_EQ(bs.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bs.error_message().find("not block devices"), std::string::npos) << bs.error_message();
}

TEST_P(NfsGrpcTest, ServerRestartMidSequence) {
  std::string first = createOk("pvc-before");
  server_->stop();
  startServer();
  std::string second = createOk("pvc-after");
  EXPECT_TRUE(fs::is_directory(server_->exportDir() + "/pvc-after"));
  csi::v1::CreateSnapshotResponse snap;
  auto s = snapshot("snap-after-restart", first, &snap);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(remove(first).ok());
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-before"));
  EXPECT_EQ(listVolumeIds(), std::vector<std::string>{second});
}

// SIGKILL mid-sequence, as a crash would end it: what failed while it was gone creates nothing,
// and the same requests converge once a new server runs on the same export.
TEST_P(NfsGrpcTest, ServerKilledMidSequenceConverges) {
  std::string kept = createOk("pvc-before-kill");
  server_->kill();
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-during-outage", {}, &resp);
  EXPECT_TRUE(unreachable(s)) << s.error_code() << ": " << s.error_message();
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-during-outage"));
  startServer();
  std::string retried = createOk("pvc-during-outage");
  EXPECT_TRUE(fs::is_directory(server_->exportDir() + "/pvc-during-outage"));
  EXPECT_TRUE(remove(kept).ok());
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-before-kill"));
  EXPECT_EQ(listVolumeIds(), std::vector<std::string>{retried});
}

TEST_P(NfsGrpcTest, ServerGoneGivesATimelyClearError) {
  std::string id = createOk("pvc-kept");
  server_->stop();
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-unreachable", {}, &resp);
  EXPECT_TRUE(unreachable(s)) << s.error_code() << ": " << s.error_message();
  // The plugin's answer (naming the export), not the client giving up at the RPC deadline.
  EXPECT_NE(s.error_message().find("127.0.0.1:/export"), std::string::npos) << s.error_message();
  auto d = remove(id);
  EXPECT_TRUE(unreachable(d)) << d.error_message();
  // And it recovers.
  startServer();
  EXPECT_TRUE(remove(id).ok());
}

TEST_P(NfsGrpcTest, AHungServerAnswersWithinTimeoutSeconds) {
  std::string id = createOk("pvc-before-hang");
  server_->pause();
  // The plugin's own answer within timeout_seconds (3 s), well before the RPC's 60 s deadline:
  // a gRPC-side deadline would carry no export and no "no answer within".
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-during-hang", {}, &resp);
  server_->resume();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_NE(s.error_message().find("127.0.0.1:/export"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("no answer within 3 s"), std::string::npos) << s.error_message();
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-during-hang"));
  // Once it answers again, so does the plugin.
  EXPECT_EQ(listVolumeIds(), std::vector<std::string>{id});
  EXPECT_TRUE(remove(id).ok());
}

TEST_P(NfsGrpcTest, PerStorageClassExportOverride) {
  // A class whose share is another export of the server: the directory goes there, the
  // record stays on the configured export.
  const std::map<std::string, std::string> otherClass = {
      {"share", GaneshaServer::otherShare()}, {"mountPermissions", "0700"}, {"onDelete", "retain"}};
  csi::v1::CreateVolumeResponse made;
  auto cs = create("pvc-other", otherClass, &made);
  ASSERT_TRUE(cs.ok()) << cs.error_message();
  EXPECT_EQ(made.volume().volume_context().at("share"), GaneshaServer::otherShare());
  struct stat st {};
  ASSERT_EQ(::stat((server_->otherExportDir() + "/pvc-other").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-other"));
  EXPECT_TRUE(fs::exists(server_->exportDir() + "/.polycsi"));
  EXPECT_FALSE(fs::exists(server_->otherExportDir() + "/.polycsi"));
  session(GaneshaServer::otherShare())->writeFileAtomically("pvc-other/data", "other export");

  // Copies stay on the source's export: a clone into the default class is refused and
  // creates nothing; a clone in the same class works.
  csi::v1::VolumeContentSource fromVolume;
  fromVolume.mutable_volume()->set_volume_id(made.volume().volume_id());
  auto homeBefore = exportEntries();
  csi::v1::CreateVolumeResponse refused;
  auto rs = create("pvc-cross-clone", {}, &refused, &fromVolume);
  EXPECT_EQ(rs.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << rs.error_message();
  EXPECT_EQ(exportEntries(), homeBefore);
  csi::v1::CreateVolumeResponse cloned;
  auto cl = create("pvc-other-clone", otherClass, &cloned, &fromVolume);
  ASSERT_TRUE(cl.ok()) << cl.error_message();
  EXPECT_EQ(session(GaneshaServer::otherShare())->readFile("pvc-other-clone/data", 1024),
            "other export");

  // The volume's own onDelete (retain, from its class) holds on the other export.
  ASSERT_TRUE(remove(made.volume().volume_id()).ok());
  EXPECT_TRUE(fs::exists(server_->otherExportDir() + "/pvc-other/data"));
  ASSERT_TRUE(remove(cloned.volume().volume_id()).ok());
  EXPECT_TRUE(fs::exists(server_->otherExportDir() + "/pvc-other-clone"))
      << "the clone's class said retain too";
  EXPECT_TRUE(listVolumeIds().empty());
}

TEST_P(NfsGrpcTest, AccessModesFollowTheCapabilityMatrix) {
  // RWX and ROX are shared: any number of nodes at once.
  std::string shared = createOk("pvc-shared");
  for (const char* node : {"node-a", "node-b", "node-c"}) {
    auto s = calls_->controllerPublish(shared, node, rwx());
    EXPECT_TRUE(s.ok()) << node << ": " << s.error_message();
  }
  auto rox = polycsi::testing::mountCapability(Mode::MULTI_NODE_READER_ONLY, "nfs");
  csi::v1::CreateVolumeResponse roxVolume;
  ASSERT_TRUE(create("pvc-rox", {}, &roxVolume, nullptr, rox).ok());
  for (const char* node : {"node-a", "node-b"}) {
    auto s = calls_->controllerPublish(roxVolume.volume().volume_id(), node, rox);
    EXPECT_TRUE(s.ok()) << node << ": " << s.error_message();
  }
  // RWO is exclusive: a second node is refused until the first lets go.
  auto rwo = polycsi::testing::mountCapability(Mode::SINGLE_NODE_WRITER, "nfs");
  csi::v1::CreateVolumeResponse rwoVolume;
  ASSERT_TRUE(create("pvc-rwo", {}, &rwoVolume, nullptr, rwo).ok());
  const std::string& exclusive = rwoVolume.volume().volume_id();
  ASSERT_TRUE(calls_->controllerPublish(exclusive, "node-a", rwo).ok());
  auto second = calls_->controllerPublish(exclusive, "node-b", rwo);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << second.error_message();
  ASSERT_TRUE(calls_->controllerUnpublish(exclusive, "node-a").ok());
  EXPECT_TRUE(calls_->controllerPublish(exclusive, "node-b", rwo).ok());
  // A single writer across nodes cannot be promised, and is refused with the reason.
  csi::v1::CreateVolumeResponse refused;
  auto s = create("pvc-single-writer", {}, &refused, nullptr,
                  polycsi::testing::mountCapability(Mode::MULTI_NODE_SINGLE_WRITER, "nfs"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("cannot fence"), std::string::npos) << s.error_message();
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-single-writer"));
}

TEST_P(NfsGrpcTest, NoExpansionIsAdvertised) {
  csi::v1::ControllerGetCapabilitiesRequest req;
  csi::v1::ControllerGetCapabilitiesResponse resp;
  auto ctx = rpcContext(30);
  ASSERT_TRUE(driver_->controller().ControllerGetCapabilities(ctx.get(), req, &resp).ok());
  std::set<int> offered;
  for (const auto& c : resp.capabilities()) offered.insert(c.rpc().type());
  using Rpc = csi::v1::ControllerServiceCapability::RPC;
  EXPECT_EQ(offered.count(Rpc::EXPAND_VOLUME), 0u) << "NFS enforces no size to expand";
  for (auto expected : {Rpc::CREATE_DELETE_VOLUME, Rpc::CREATE_DELETE_SNAPSHOT, Rpc::CLONE_VOLUME,
                        Rpc::GET_CAPACITY, Rpc::LIST_VOLUMES, Rpc::LIST_SNAPSHOTS})
    EXPECT_EQ(offered.count(expected), 1u) << Rpc::Type_Name(expected);

  std::string id = createOk("pvc-fixed-size");
  csi::v1::ControllerExpandVolumeRequest expand;
  expand.set_volume_id(id);
  expand.mutable_capacity_range()->set_required_bytes(2 * polycsi::testing::kMiB);
  csi::v1::ControllerExpandVolumeResponse expanded;
  auto ctx2 = rpcContext(30);
  auto s = driver_->controller().ControllerExpandVolume(ctx2.get(), expand, &expanded);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
}

TEST_P(NfsGrpcTest, AServerThatDropsPacketsGivesATimelyClearError) {
  std::string id = createOk("pvc-before-firewall");
  // As a server that is down behind a router: connections are neither accepted nor refused.
  ns_->dropTcpTo({111, server_->nfsPort(), server_->mountPort()});
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-behind-firewall", {}, &resp);
  ns_->allowAllTcp();
  // The plugin's answer (naming the export) before the RPC's 60 s deadline, although the
  // kernel alone would try to connect for about two minutes.
  EXPECT_TRUE(unreachable(s)) << s.error_code() << ": " << s.error_message();
  EXPECT_NE(s.error_message().find("127.0.0.1:/export"), std::string::npos) << s.error_message();
  EXPECT_FALSE(fs::exists(server_->exportDir() + "/pvc-behind-firewall"));
  EXPECT_TRUE(remove(id).ok());
}

// The controller's volume condition looks at the volume's directory on the server: there, it
// answers; removed behind the driver's back (by another NFS client), the condition names the
// server and the path, in ControllerGetVolume and in that volume's ListVolumes entry only.
TEST_P(NfsGrpcTest, VolumeConditionNamesAMissingDirectory) {
  const std::string id = createOk("pvc-health");
  const std::string other = createOk("pvc-health-2");
  auto condition = [&](const std::string& volume) {
    csi::v1::ControllerGetVolumeRequest req;
    req.set_volume_id(volume);
    csi::v1::ControllerGetVolumeResponse resp;
    auto ctx = rpcContext(30);
    auto s = driver_->controller().ControllerGetVolume(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(resp.status().has_volume_condition());
    return resp.status().volume_condition();
  };
  const std::string path = "127.0.0.1:" + std::string(GaneshaServer::share()) + "/pvc-health";
  auto healthy = condition(id);
  EXPECT_FALSE(healthy.abnormal()) << healthy.message();
  EXPECT_EQ(healthy.message(), "the directory " + path + " answers on NFS server 127.0.0.1");

  ASSERT_TRUE(session()->removeTree("pvc-health", Call{}));
  auto gone = condition(id);
  EXPECT_TRUE(gone.abnormal());
  EXPECT_EQ(gone.message(), "the directory " + path +
                                " of volume 'pvc-health' does not exist on NFS server 127.0.0.1: "
                                "pods cannot mount it; restore it from a backup or delete the "
                                "volume");
  EXPECT_FALSE(condition(other).abnormal());

  csi::v1::ListVolumesResponse list;
  auto ctx = rpcContext(30);
  ASSERT_TRUE(
      driver_->controller().ListVolumes(ctx.get(), csi::v1::ListVolumesRequest(), &list).ok());
  ASSERT_EQ(list.entries_size(), 2);
  for (const auto& e : list.entries()) {
    ASSERT_TRUE(e.status().has_volume_condition()) << e.volume().volume_id();
    EXPECT_EQ(e.status().volume_condition().abnormal(), e.volume().volume_id() == id)
        << e.volume().volume_id() << ": " << e.status().volume_condition().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Protocols, NfsGrpcTest, ::testing::ValuesIn(kProtocols),
                         [](const ::testing::TestParamInfo<Protocol>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace polycsi::nfs::testing
