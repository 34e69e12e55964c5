// The iscsi_powerstore plugin through polycsi's gRPC interface: a real `polycsi serve`
// (controller mode) talks HTTPS to a real powerstore-sim, whose volumes are iSCSI LUNs of a
// real tgtd. The publish context the driver returns is used for real iSCSI logins (libiscsi):
// the mapped initiator reads and writes, others are refused; CHAP right and wrong; a wrong CA
// is refused; an expired session is renewed.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "csi_calls.hpp"  // ASSERT_OK
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "group_snapshot_calls.hpp"
#include "powerstore_sim_process.hpp"
#include "sidecar_metadata.hpp"
#include "temp_directory.hpp"
#include "test_initiator.hpp"
#include "test_pki.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr char kIqnA[] = "iqn.1994-05.com.redhat:node-a";
constexpr char kIqnB[] = "iqn.1994-05.com.redhat:node-b";

class IscsiPowerStoreGrpcTest : public ::testing::Test {
 protected:
  void startSim(const std::vector<std::string>& extra = {}) {
    pki_ = polycsi::testing::makeTestPki(work_.str());
    std::vector<std::string> args = {"--cert",      pki_.server_cert.string(),
                                     "--key",       pki_.server_key.string(),
                                     "--state-dir", work_.str() + "/sim",
                                     "--password",  "secret",
                                     "--global-id", kGlobalId};
    args.insert(args.end(), extra.begin(), extra.end());
    sim_ = std::make_unique<SimProcess>(POWERSTORE_SIM_BINARY, args);
  }
  // Dell's arrays list as an operator writes it, pointing at the simulator.
  void startDriver(const std::string& ca) {
    const std::string config = powerstoreBackendConfig(
        *sim_, ca, "secret",
        "          skipCertificateValidation: false\n"
        "          blockProtocol: \"ISCSI\"\n"
        "          nasName: \"nas1\"\n"
        "          nfsAcls: \"0777\"\n"
        // Keys of Dell's driver for features this plugin lacks: noted, not refused.
        "          metroTopology: Uniform\n"
        "          labels:\n"
        "            topology.kubernetes.io/zone: zone-a\n");
    driver_ = std::make_unique<DriverProcess>(work_.str(), config, "controller-0",
                                              std::vector<std::string>{"--mode", "controller"});
    driver_->start();
  }
  void TearDown() override {
    if (sim_ != nullptr) {
      EXPECT_EQ(callsTheReferenceDoesNotList(*sim_, "polycsi-iscsi_powerstore"),
                std::vector<std::string>{})
          << "calls the driver made that docs/fidelity.md does not list";
    }
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
    driver_.reset();
    sim_.reset();
  }

  grpc::Status create(const std::string& name, int64_t bytes, csi::v1::Volume* out,
                      const std::string& snapshotSource = "") {
    auto req = createRequest(name, bytes, blockCapability(Mode::SINGLE_NODE_WRITER));
    (*req.mutable_parameters())["arrayID"] = kGlobalId;
    addProvisionerMetadata(req, name);  // as the external-provisioner sends it
    if (!snapshotSource.empty())
      req.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(snapshotSource);
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().CreateVolume(ctx.get(), req, &resp);
    if (out) *out = resp.volume();
    return s;
  }
  grpc::Status publish(const csi::v1::Volume& v, const std::string& node,
                       csi::v1::ControllerPublishVolumeResponse* out = nullptr) {
    return CsiCalls(*driver_).controllerPublish(
        v.volume_id(), node, blockCapability(Mode::SINGLE_NODE_WRITER), contextOf(v), out);
  }
  grpc::Status unpublish(const csi::v1::Volume& v, const std::string& node) {
    return CsiCalls(*driver_).controllerUnpublish(v.volume_id(), node);
  }
  grpc::Status deleteVolume(const std::string& id) { return CsiCalls(*driver_).deleteVolume(id); }
  void expireSessions() {
    CURL* curl = curl_easy_init();
    const std::string url =
        "https://127.0.0.1:" + std::to_string(sim_->port()) + "/sim/expire_sessions";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_CAINFO, pki_.ca_cert.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, "admin:secret");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    const CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    ASSERT_EQ(code, CURLE_OK);
    ASSERT_EQ(status, 204);
  }

  // A request to the simulator as an operator's curl (not the driver: the fidelity check
  // looks only at the driver's own calls); returns {HTTP status, body}.
  std::pair<long, std::string> simRequest(const std::string& method, const std::string& path,
                                          const std::string& body = "") {
    CURL* curl = curl_easy_init();
    const std::string url = "https://127.0.0.1:" + std::to_string(sim_->port()) + path;
    std::string answer;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_CAINFO, pki_.ca_cert.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, "admin:secret");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION,
        +[](char* data, size_t size, size_t count, void* out) -> size_t {
          static_cast<std::string*>(out)->append(data, size * count);
          return size * count;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    const CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    EXPECT_EQ(code, CURLE_OK);
    return {status, answer};
  }
  // How many of the driver's requests are "METHOD /api/rest/<path>" with a path (query left
  // out) that matches `pathPattern` whole.
  size_t requestsOf(const std::string& method, const std::string& pathPattern) const {
    const std::regex pattern(method + " /api/rest/" + pathPattern);
    size_t n = 0;
    for (const std::string& r : sim_->requestsServed("polycsi-iscsi_powerstore"))
      if (std::regex_match(r.substr(0, r.find('?')), pattern)) ++n;
    return n;
  }
  // The array's volume groups (snapshot sets included), as JSON text.
  std::string arrayVolumeGroups() {
    auto [status, body] = simRequest("GET", "/api/rest/volume_group?select=id,name");
    EXPECT_EQ(status, 200) << body;
    return body;
  }
  // The volume groups the array has the volume with CSI id `volumeId` in, as JSON text.
  std::string arrayGroupsOf(const std::string& volumeId) {
    const std::string uuid = volumeId.substr(volumeId.rfind('.') + 1);
    auto [status, body] =
        simRequest("GET", "/api/rest/volume/" + uuid + "?select=volume_groups(id)");
    EXPECT_EQ(status, 200) << body;
    return nlohmann::json::parse(body, nullptr, false)
        .value("volume_groups", nlohmann::json())
        .dump();
  }
  // The array's policies of the volume with CSI id `volumeId` ("ps:<globalID>.<uuid>").
  nlohmann::json arrayPolicies(const std::string& volumeId) {
    const std::string uuid = volumeId.substr(volumeId.rfind('.') + 1);
    auto [status, body] = simRequest(
        "GET", "/api/rest/volume/" + uuid + "?select=performance_policy_id,protection_policy_id");
    EXPECT_EQ(status, 200) << body;
    return nlohmann::json::parse(body, nullptr, false);
  }
  grpc::Status modify(const std::string& volumeId,
                      const std::map<std::string, std::string>& parameters) {
    csi::v1::ControllerModifyVolumeRequest req;
    req.set_volume_id(volumeId);
    for (const auto& [key, value] : parameters) (*req.mutable_mutable_parameters())[key] = value;
    csi::v1::ControllerModifyVolumeResponse resp;
    auto ctx = rpcContext();
    return driver_->controller().ControllerModifyVolume(ctx.get(), req, &resp);
  }
  // One REST call to the simulator as an administrator makes it by hand: a session of its own
  // (GET login_session for the cookie and DELL-EMC-TOKEN), then `method path` with JSON `body`.
  // Returns the HTTP status and the body. Not the driver's User-Agent, so not one of its calls.
  std::pair<long, std::string> adminRest(const std::string& method, const std::string& path,
                                         const std::string& body = "") {
    struct Exchange {
      std::string token;
      std::string body;
    } exchange;
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_COOKIEFILE, "");  // keeps the session cookie
    curl_easy_setopt(curl, CURLOPT_CAINFO, pki_.ca_cert.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, "admin:secret");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
    curl_easy_setopt(
        curl, CURLOPT_HEADERFUNCTION, +[](char* data, size_t size, size_t n, void* user) {
          std::string line(data, size * n);
          const std::string name = "dell-emc-token:";
          std::string lower = line.substr(0, name.size());
          for (auto& ch : lower)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          if (lower == name) {
            std::string value = line.substr(name.size());
            value.erase(0, value.find_first_not_of(' '));
            value.erase(value.find_last_not_of("\r\n ") + 1);
            static_cast<Exchange*>(user)->token = value;
          }
          return size * n;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange.body);
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) {
          static_cast<std::string*>(user)->append(data, size * n);
          return size * n;
        });
    const std::string base = "https://127.0.0.1:" + std::to_string(sim_->port()) + "/api/rest/";
    curl_easy_setopt(curl, CURLOPT_URL, (base + "login_session").c_str());
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    EXPECT_EQ(status, 200) << exchange.body;
    exchange.body.clear();
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, ("DELL-EMC-TOKEN: " + exchange.token).c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_URL, (base + path).c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method != "GET") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return {status, exchange.body};
  }
  // ControllerGetVolume's condition of `id`.
  csi::v1::VolumeCondition condition(const std::string& id) {
    csi::v1::ControllerGetVolumeRequest req;
    req.set_volume_id(id);
    csi::v1::ControllerGetVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().ControllerGetVolume(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(resp.status().has_volume_condition());
    return resp.status().volume_condition();
  }

  TempDir work_;
  polycsi::testing::TestPki pki_;
  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(IscsiPowerStoreGrpcTest, ControllerLifecycleWithRealIscsiLogins) {
  startSim();
  startDriver(pki_.ca_cert.string());
  const std::string nodeA = std::string("node-a|iscsi_powerstore=") + kIqnA;
  const std::string nodeB = std::string("node-b|iscsi_powerstore=") + kIqnB;

  csi::v1::Volume vol;
  ASSERT_OK(create("pvc-1", 4 * kMiB, &vol));
  EXPECT_EQ(vol.volume_id().rfind(std::string("ps:") + kGlobalId + ".", 0), 0u) << vol.volume_id();
  EXPECT_EQ(vol.capacity_bytes(), 4 * kMiB);
  csi::v1::Volume again;
  ASSERT_OK(create("pvc-1", 4 * kMiB, &again));
  EXPECT_EQ(again.volume_id(), vol.volume_id());

  {
    csi::v1::ControllerExpandVolumeRequest req;
    req.set_volume_id(vol.volume_id());
    req.mutable_capacity_range()->set_required_bytes(8 * kMiB);
    csi::v1::ControllerExpandVolumeResponse resp;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().ControllerExpandVolume(ctx.get(), req, &resp));
    EXPECT_EQ(resp.capacity_bytes(), 8 * kMiB);
  }

  csi::v1::ControllerPublishVolumeResponse published;
  ASSERT_OK(publish(vol, nodeA, &published));
  const auto& context = published.publish_context();
  ASSERT_EQ(context.count("portal"), 1u);
  ASSERT_EQ(context.count("targetIqn"), 1u);
  EXPECT_EQ(context.at("portal"), sim_->iscsiPortal());
  std::vector<std::uint8_t> block(512);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<std::uint8_t>(i ^ 0xa5);
  {
    TestInitiator initiator(context.at("portal"), context.at("targetIqn"), kIqnA, {},
                            std::stoi(context.at("lun")));
    EXPECT_EQ(initiator.capacity(), static_cast<std::uint64_t>(8 * kMiB));
    initiator.writeBlock(7, block);
    EXPECT_EQ(initiator.readBlock(7), block);
  }
  EXPECT_THROW(TestInitiator(context.at("portal"), context.at("targetIqn"), kIqnB, {},
                             std::stoi(context.at("lun"))),
               std::runtime_error);
  grpc::Status other = publish(vol, nodeB);
  EXPECT_EQ(other.error_code(), StatusCode::FAILED_PRECONDITION) << other.error_message();

  // Snapshot and restore carry the block written over iSCSI.
  csi::v1::CreateSnapshotRequest snapReq;
  snapReq.set_name("snap-1");
  snapReq.set_source_volume_id(vol.volume_id());
  addSnapshotterMetadata(snapReq, "snap-of-pvc-1");  // as the external-snapshotter sends it
  csi::v1::CreateSnapshotResponse snap;
  {
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().CreateSnapshot(ctx.get(), snapReq, &snap));
  }
  csi::v1::Volume restored;
  ASSERT_OK(create("pvc-2", 8 * kMiB, &restored, snap.snapshot().snapshot_id()));
  csi::v1::ControllerPublishVolumeResponse restoredPublished;
  ASSERT_OK(publish(restored, nodeB, &restoredPublished));
  {
    const auto& c = restoredPublished.publish_context();
    TestInitiator initiator(c.at("portal"), c.at("targetIqn"), kIqnB, {}, std::stoi(c.at("lun")));
    EXPECT_EQ(initiator.readBlock(7), block);
  }

  // An expired session is renewed without the caller noticing.
  expireSessions();
  ASSERT_OK(unpublish(vol, nodeA));
  ASSERT_OK(unpublish(vol, nodeA));
  EXPECT_THROW(TestInitiator(context.at("portal"), context.at("targetIqn"), kIqnA, {},
                             std::stoi(context.at("lun"))),
               std::runtime_error);
  ASSERT_OK(unpublish(restored, nodeB));

  {
    csi::v1::DeleteSnapshotRequest req;
    req.set_snapshot_id(snap.snapshot().snapshot_id());
    csi::v1::DeleteSnapshotResponse resp;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().DeleteSnapshot(ctx.get(), req, &resp));
  }
  ASSERT_OK(deleteVolume(vol.volume_id()));
  ASSERT_OK(deleteVolume(vol.volume_id()));
  ASSERT_OK(deleteVolume(restored.volume_id()));
}

// A KubeVirt VM's three disks in one group snapshot: each member is a PowerStore snapshot that
// names the group in its description; each restores to a volume with the block its disk had,
// read over iSCSI; retries take nothing again, another set under the name is ALREADY_EXISTS,
// Delete removes every member.
TEST_F(IscsiPowerStoreGrpcTest, VmGroupSnapshotRestoresEveryDiskOverIscsi) {
  startSim();
  startDriver(pki_.ca_cert.string());
  const std::string nodeA = std::string("node-a|iscsi_powerstore=") + kIqnA;
  std::vector<std::string> disks;
  std::map<std::string, std::vector<std::uint8_t>> blocks;  // volume id -> its block 3
  auto writeBlock = [&](const csi::v1::Volume& v, const std::vector<std::uint8_t>& block) {
    csi::v1::ControllerPublishVolumeResponse published;
    ASSERT_OK(publish(v, nodeA, &published));
    const auto& c = published.publish_context();
    {
      TestInitiator initiator(c.at("portal"), c.at("targetIqn"), kIqnA, {}, std::stoi(c.at("lun")));
      initiator.writeBlock(3, block);
    }
    ASSERT_OK(unpublish(v, nodeA));
  };
  std::vector<csi::v1::Volume> volumes;
  for (int i = 0; i < 3; ++i) {
    csi::v1::Volume v;
    ASSERT_OK(create("vm1-disk-" + std::to_string(i), 4 * kMiB, &v));
    std::vector<std::uint8_t> block(512, static_cast<std::uint8_t>(0x31 + i));
    writeBlock(v, block);
    blocks[v.volume_id()] = block;
    disks.push_back(v.volume_id());
    volumes.push_back(v);
  }
  csi::v1::CreateVolumeGroupSnapshotResponse created, retried;
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created));
  const auto& group = created.group_snapshot();
  ASSERT_EQ(group.snapshots_size(), 3);
  EXPECT_TRUE(group.ready_to_use());
  // One snapshot of a write-order consistent volume group cut all three at one instant; no
  // volume was snapshotted on its own, and no volume stays in a group.
  EXPECT_EQ(requestsOf("POST", "volume_group/[0-9a-f-]+/snapshot"), 1u);
  EXPECT_EQ(requestsOf("POST", "volume/[0-9a-f-]+/snapshot"), 0u);
  for (const auto& d : disks) EXPECT_EQ(arrayGroupsOf(d), "[]") << d;
  ASSERT_OK(
      createGroupSnapshot(*driver_, "groupsnapshot-vm1", {disks[2], disks[1], disks[0]}, &retried));
  EXPECT_EQ(memberIds(retried.group_snapshot()), memberIds(group));
  EXPECT_EQ(requestsOf("POST", "volume_group/[0-9a-f-]+/snapshot"), 1u);
  // A member goes only with its group; its volume only once the group is gone.
  {
    csi::v1::DeleteSnapshotRequest req;
    req.set_snapshot_id(group.snapshots(0).snapshot_id());
    csi::v1::DeleteSnapshotResponse resp;
    auto ctx = rpcContext();
    EXPECT_EQ(driver_->controller().DeleteSnapshot(ctx.get(), req, &resp).error_code(),
              StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(deleteVolume(disks[0]).error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(createGroupSnapshot(*driver_, "groupsnapshot-vm1", {disks[0]}, &retried).error_code(),
            StatusCode::ALREADY_EXISTS);
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_EQ(all.size(), 3u);
  for (const auto& s : all) EXPECT_EQ(s.group_snapshot_id(), group.group_snapshot_id());

  // The disks change after the snapshot; each member restores the block its disk had.
  for (const auto& v : volumes) writeBlock(v, std::vector<std::uint8_t>(512, 0xee));
  int n = 0;
  for (const auto& member : group.snapshots()) {
    csi::v1::Volume restored;
    ASSERT_OK(
        create("vm1-restored-" + std::to_string(n++), 4 * kMiB, &restored, member.snapshot_id()));
    csi::v1::ControllerPublishVolumeResponse published;
    ASSERT_OK(publish(restored, nodeA, &published));
    {
      const auto& c = published.publish_context();
      TestInitiator initiator(c.at("portal"), c.at("targetIqn"), kIqnA, {}, std::stoi(c.at("lun")));
      EXPECT_EQ(initiator.readBlock(3), blocks.at(member.source_volume_id()))
          << "restored from " << member.snapshot_id();
    }
    ASSERT_OK(unpublish(restored, nodeA));
    ASSERT_OK(deleteVolume(restored.volume_id()));
  }

  ASSERT_OK(deleteGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group)));
  ASSERT_OK(deleteGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group)));
  all.clear();
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_TRUE(all.empty()) << all.size() << " snapshots left";
  EXPECT_EQ(arrayVolumeGroups(), "[]");
  ASSERT_OK(deleteVolume(disks[0]));
  csi::v1::GetVolumeGroupSnapshotResponse fetched;
  EXPECT_EQ(getGroupSnapshot(*driver_, group.group_snapshot_id(), {}, &fetched).error_code(),
            StatusCode::NOT_FOUND);
}

// The array refuses a step after the snapshot set is made (a member's name is taken on the
// array): the set, its snapshots and the source volume group go, no volume stays in a group;
// once the name is free, the same request succeeds.
TEST_F(IscsiPowerStoreGrpcTest, GroupSnapshotTheArrayRefusesPartWayLeavesNothing) {
  startSim();
  startDriver(pki_.ca_cert.string());
  std::vector<std::string> disks;
  for (int i = 0; i < 3; ++i) {
    csi::v1::Volume v;
    ASSERT_OK(create("vm1-disk-" + std::to_string(i), 4 * kMiB, &v));
    disks.push_back(v.volume_id());
  }
  // The group's id (and so its members' names) comes from the name and the volumes: learn it
  // from a first group, then take the name of its second member on the array.
  csi::v1::CreateVolumeGroupSnapshotResponse created;
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created));
  const std::string groupId = created.group_snapshot().group_snapshot_id();
  ASSERT_OK(deleteGroupSnapshot(*driver_, groupId, memberIds(created.group_snapshot())));
  const std::string memberName = groupId.substr(groupId.find(':') + 1) + "-m1";
  auto [status, body] =
      adminRest("POST", "volume", nlohmann::json{{"name", memberName}, {"size", kMiB}}.dump());
  ASSERT_EQ(status, 201) << body;

  auto refused = createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created);
  ASSERT_EQ(refused.error_code(), StatusCode::FAILED_PRECONDITION) << refused.error_message();
  EXPECT_NE(refused.error_message().find("rolled back"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(requestsOf("POST", "volume_group/[0-9a-f-]+/snapshot"), 2u);
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_TRUE(all.empty()) << all.size() << " snapshots left after the rollback";
  EXPECT_EQ(arrayVolumeGroups(), "[]");
  for (const auto& d : disks) EXPECT_EQ(arrayGroupsOf(d), "[]") << d;

  const std::string blocker = nlohmann::json::parse(body).at("id").get<std::string>();
  ASSERT_EQ(adminRest("DELETE", "volume/" + blocker).first, 204);
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created));
  EXPECT_EQ(created.group_snapshot().snapshots_size(), 3);
}

// A volume in a volume group of the user's: PowerStore puts a volume in one group at most
// (volume_group_create "should not be part of another volume group"), so the group snapshot is
// refused, naming that group, and nothing is made.
TEST_F(IscsiPowerStoreGrpcTest, GroupSnapshotOfAVolumeInAUsersVolumeGroupIsFailedPrecondition) {
  startSim();
  startDriver(pki_.ca_cert.string());
  std::vector<std::string> disks;
  for (int i = 0; i < 3; ++i) {
    csi::v1::Volume v;
    ASSERT_OK(create("vm1-disk-" + std::to_string(i), 4 * kMiB, &v));
    disks.push_back(v.volume_id());
  }
  const std::string uuid = disks[1].substr(disks[1].rfind('.') + 1);
  auto [status, body] =
      adminRest("POST", "volume_group",
                nlohmann::json{{"name", "finance-vg"}, {"volume_ids", {uuid}}}.dump());
  ASSERT_EQ(status, 201) << body;
  csi::v1::CreateVolumeGroupSnapshotResponse created;
  auto refused = createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created);
  ASSERT_EQ(refused.error_code(), StatusCode::FAILED_PRECONDITION) << refused.error_message();
  EXPECT_NE(refused.error_message().find("'finance-vg'"), std::string::npos)
      << refused.error_message();
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_TRUE(all.empty());
  EXPECT_EQ(requestsOf("POST", "volume_group"), 0u);
}

// A node that cannot read its iSCSI initiator name (open-iscsi not installed, as on a node that
// only uses NVMe/TCP) still registers, with the identities it has; the log names the backend,
// the identity and the reason. Once the file is there, NodeGetInfo reports the IQN.
TEST_F(IscsiPowerStoreGrpcTest, ANodeWithoutAnInitiatorNameRegistersForItsOtherBackends) {
  pki_ = polycsi::testing::makeTestPki(work_.str());
  const std::string iqnFile = work_.str() + "/initiatorname.iscsi";  // not there yet
  const std::string config =
      "backends:\n"
      "  - name: local\n"
      "    plugin: sample\n"
      "    default: true\n"
      "    settings:\n"
      "      directory: " +
      work_.str() +
      "/volumes\n"
      "  - name: ps\n"
      "    plugin: iscsi_powerstore\n"
      "    settings:\n"
      "      ca_file: " +
      pki_.ca_cert.string() +
      "\n"
      "      initiator_name_file: " +
      iqnFile +
      "\n"
      "      arrays:\n"
      "        - endpoint: \"https://127.0.0.1:9/api/rest\"\n"
      "          globalID: \"" +
      kGlobalId +
      "\"\n"
      "          username: \"admin\"\n"
      "          password: \"secret\"\n";
  driver_ = std::make_unique<DriverProcess>(work_.str(), config, "node-a",
                                            std::vector<std::string>{"--mode", "node"});
  driver_->start();

  csi::v1::NodeGetInfoResponse info;
  auto c1 = rpcContext();
  ASSERT_OK(driver_->node().NodeGetInfo(c1.get(), {}, &info));
  EXPECT_EQ(info.node_id(), "node-a");
  const std::string log = driver_->log();
  EXPECT_NE(log.find("backend 'ps' (plugin iscsi_powerstore) could not report this node's iSCSI "
                     "initiator IQN"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("cannot read the iSCSI initiator name file " + iqnFile), std::string::npos)
      << log;

  { std::ofstream(iqnFile) << "InitiatorName=" << kIqnA << "\n"; }
  auto c2 = rpcContext();
  ASSERT_OK(driver_->node().NodeGetInfo(c2.get(), {}, &info));
  EXPECT_EQ(info.node_id(), std::string("node-a|iscsi_powerstore=") + kIqnA);
}

// A node id without an IQN names no node this backend can reach: CSI's "Node does not exist"
// is NOT_FOUND (csi-sanity publishes to "some-fake-node-id" and expects it). The array is not
// touched: no host is made for the node, and a publish with the IQN still works.
TEST_F(IscsiPowerStoreGrpcTest, PublishToANodeIdWithoutAnIqnIsNotFound) {
  startSim();
  startDriver(pki_.ca_cert.string());
  csi::v1::Volume vol;
  ASSERT_OK(create("pvc-1", kMiB, &vol));
  for (const std::string node : {"node-a", "node-a|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:x"}) {
    grpc::Status s = publish(vol, node);
    EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_EQ(s.error_message().rfind("node node-a registered no identity for plugin "
                                      "iscsi_powerstore (iSCSI initiator IQN): ",
                                      0),
              0u)
        << s.error_message();
  }
  ASSERT_OK(publish(vol, std::string("node-a|iscsi_powerstore=") + kIqnA));
}

TEST_F(IscsiPowerStoreGrpcTest, RwxIsRefusedWithTheReason) {
  startSim({"--no-tgtd"});
  startDriver(pki_.ca_cert.string());
  auto req = createRequest("pvc-rwx", kMiB, blockCapability(Mode::MULTI_NODE_MULTI_WRITER));
  csi::v1::CreateVolumeResponse resp;
  auto ctx = rpcContext();
  grpc::Status s = driver_->controller().CreateVolume(ctx.get(), req, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("live-migrate"), std::string::npos) << s.error_message();
}

// ControllerModifyVolume sets the volume's QoS performance policy and protection policy on the
// array (PATCH volume/{id}), and CreateVolume applies them from mutable_parameters; a policy
// the array lacks is its 400, INVALID_ARGUMENT; a parameter that is not mutable is refused by
// the core naming it and the backend.
TEST_F(IscsiPowerStoreGrpcTest, PerformanceAndProtectionPoliciesAreSetOnALiveVolume) {
  startSim({"--no-tgtd"});
  startDriver(pki_.ca_cert.string());
  ASSERT_EQ(simRequest("POST", "/sim/protection_policy", R"({"id":"pp-gold","name":"gold"})").first,
            204);
  csi::v1::Volume vol;
  ASSERT_OK(create("pvc-qos", kMiB, &vol));
  EXPECT_EQ(arrayPolicies(vol.volume_id()).value("performance_policy_id", ""), "default_medium");

  ASSERT_OK(modify(vol.volume_id(), {{"performancePolicy", "high"}}));
  EXPECT_EQ(arrayPolicies(vol.volume_id()).value("performance_policy_id", ""), "default_high");
  ASSERT_OK(modify(vol.volume_id(), {{"protectionPolicyID", "pp-gold"}}));
  nlohmann::json policies = arrayPolicies(vol.volume_id());
  EXPECT_EQ(policies.value("protection_policy_id", ""), "pp-gold");
  EXPECT_EQ(policies.value("performance_policy_id", ""), "default_high") << "left as it was";
  ASSERT_OK(modify(vol.volume_id(), {{"protectionPolicyID", ""}}));
  EXPECT_TRUE(arrayPolicies(vol.volume_id())["protection_policy_id"].is_null());

  grpc::Status unknown = modify(vol.volume_id(), {{"protectionPolicyID", "pp-missing"}});
  EXPECT_EQ(unknown.error_code(), StatusCode::INVALID_ARGUMENT) << unknown.error_message();
  EXPECT_NE(unknown.error_message().find("pp-missing"), std::string::npos)
      << unknown.error_message();
  grpc::Status level = modify(vol.volume_id(), {{"performancePolicy", "turbo"}});
  EXPECT_EQ(level.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(level.error_message().find("performancePolicy"), std::string::npos)
      << level.error_message();
  grpc::Status fixed = modify(vol.volume_id(), {{"arrayID", kGlobalId}});
  EXPECT_EQ(fixed.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(fixed.error_message().find("mutable_parameters.arrayID: backend '"), std::string::npos)
      << fixed.error_message();
  EXPECT_NE(fixed.error_message().find("(plugin iscsi_powerstore) cannot change this parameter"),
            std::string::npos)
      << fixed.error_message();

  // At creation, from a VolumeAttributesClass.
  auto req = createRequest("pvc-low", kMiB, blockCapability(Mode::SINGLE_NODE_WRITER));
  (*req.mutable_parameters())["arrayID"] = kGlobalId;
  addProvisionerMetadata(req, "pvc-low");
  (*req.mutable_mutable_parameters())["performancePolicy"] = "low";
  (*req.mutable_mutable_parameters())["protectionPolicyID"] = "pp-gold";
  csi::v1::CreateVolumeResponse created;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->controller().CreateVolume(ctx.get(), req, &created));
  policies = arrayPolicies(created.volume().volume_id());
  EXPECT_EQ(policies.value("performance_policy_id", ""), "default_low");
  EXPECT_EQ(policies.value("protection_policy_id", ""), "pp-gold");
}

TEST_F(IscsiPowerStoreGrpcTest, WrongCaIsRefused) {
  startSim({"--no-tgtd"});
  startDriver(pki_.other_ca_cert.string());
  csi::v1::Volume vol;
  grpc::Status s = create("pvc-1", kMiB, &vol);
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("TLS"), std::string::npos) << s.error_message();
}

TEST_F(IscsiPowerStoreGrpcTest, ChapRightIsAcceptedWrongIsRefused) {
  startSim({"--chap-user", "chapuser", "--chap-password", "chapsecret123"});
  startDriver(pki_.ca_cert.string());
  csi::v1::Volume vol;
  ASSERT_OK(create("pvc-1", kMiB, &vol));
  csi::v1::ControllerPublishVolumeResponse published;
  ASSERT_OK(publish(vol, std::string("node-a|iscsi_powerstore=") + kIqnA, &published));
  const auto& c = published.publish_context();
  EXPECT_NO_THROW(TestInitiator(c.at("portal"), c.at("targetIqn"), kIqnA,
                                ChapCredentials{"chapuser", "chapsecret123"},
                                std::stoi(c.at("lun"))));
  EXPECT_THROW(TestInitiator(c.at("portal"), c.at("targetIqn"), kIqnA,
                             ChapCredentials{"chapuser", "not-the-secret"}, std::stoi(c.at("lun"))),
               std::runtime_error);
}

// The controller's volume condition reads the array: Ready and mapped to the published node's
// host is normal; a host an administrator maps by hand (REST, as the array's own UI would) is
// named as extra; the published node's mapping removed by hand is named as missing.
TEST_F(IscsiPowerStoreGrpcTest, VolumeConditionNamesAHostMappedOrUnmappedBehindTheDriversBack) {
  startSim();
  startDriver(pki_.ca_cert.string());
  const std::string nodeA = std::string("node-a|iscsi_powerstore=") + kIqnA;
  csi::v1::Volume vol;
  ASSERT_OK(create("pvc-health", 4 * kMiB, &vol));
  ASSERT_OK(publish(vol, nodeA));
  const std::string uuid = vol.volume_id().substr(vol.volume_id().rfind('.') + 1);

  auto healthy = condition(vol.volume_id());
  EXPECT_FALSE(healthy.abnormal()) << healthy.message();
  EXPECT_NE(healthy.message().find("is Ready and mapped to exactly the published nodes' hosts"),
            std::string::npos)
      << healthy.message();

  auto [created, hostBody] =
      adminRest("POST", "host",
                R"({"name":"intruder","os_type":"Linux","initiators":[{"port_name":)"
                R"("iqn.2000-01.com.example:intruder","port_type":"iSCSI"}]})");
  ASSERT_EQ(created, 201) << hostBody;
  const std::string intruder = nlohmann::json::parse(hostBody).at("id");
  const std::string attachBody = nlohmann::json{{"volume_id", uuid}}.dump();
  ASSERT_EQ(adminRest("POST", "host/" + intruder + "/attach", attachBody).first, 204);
  auto extra = condition(vol.volume_id());
  EXPECT_TRUE(extra.abnormal());
  EXPECT_NE(extra.message().find("host intruder (id " + intruder +
                                 ") is mapped to the volume but no node is published"),
            std::string::npos)
      << extra.message();

  ASSERT_EQ(adminRest("POST", "host/" + intruder + "/detach", attachBody).first, 204);
  auto [found, hosts] = adminRest("GET", "host?select=id,name&name=eq.node-a");
  ASSERT_EQ(found, 200) << hosts;
  const std::string hostA = nlohmann::json::parse(hosts).at(0).at("id");
  ASSERT_EQ(adminRest("POST", "host/" + hostA + "/detach", attachBody).first, 204);
  auto missing = condition(vol.volume_id());
  EXPECT_TRUE(missing.abnormal());
  EXPECT_NE(missing.message().find("node node-a is published but host node-a (id " + hostA +
                                   ") is not mapped to the volume: it cannot reach the LUN"),
            std::string::npos)
      << missing.message();

  ASSERT_OK(unpublish(vol, nodeA));
  ASSERT_OK(deleteVolume(vol.volume_id()));
}

}  // namespace
}  // namespace polycsi::testing
