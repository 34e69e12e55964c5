// The backend through polycsi_plugin_entry() and the SDK's FakeHost against a real
// powerstore-sim: HTTPS with the test CA, sessions, the controller lifecycle, and the publish
// context used for a real iSCSI login (libiscsi) to tgtd.
#include "powerstore_backend.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>

#include "polycsi/testing/fake_host.hpp"
#include "powerstore_sim_process.hpp"
#include "temp_directory.hpp"
#include "test_initiator.hpp"
#include "test_pki.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::iscsi_powerstore {
namespace {

using polycsi::testing::callsTheReferenceDoesNotList;
using polycsi::testing::SimProcess;
using polycsi::testing::TempDir;
using polycsi::testing::TestInitiator;
using polycsi::testing::TestPki;

constexpr int64_t kMiB = 1 << 20;
constexpr const char* kIqnA = "iqn.1994-05.com.redhat:node-a";
constexpr const char* kIqnB = "iqn.1994-05.com.redhat:node-b";

class PowerStoreBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = polycsi::testing::makeTestPki(dir_.path());
    std::filesystem::create_directories(dir_.path() / "plugin");
  }
  // Every call the plugin made is one that docs/fidelity.md lists with its public source.
  void TearDown() override {
    if (sim_ == nullptr) return;
    EXPECT_EQ(callsTheReferenceDoesNotList(*sim_, "polycsi-iscsi_powerstore"),
              std::vector<std::string>{})
        << "calls the plugin made that docs/fidelity.md does not list";
  }

  // The simulator; the paging tests need no iSCSI and skip tgtd.
  void startSim(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--cert",      pki_.server_cert.string(),
                                     "--key",       pki_.server_key.string(),
                                     "--state-dir", (dir_.path() / "sim").string(),
                                     "--password",  "secret",
                                     "--global-id", "PSSIM01"};
    args.insert(args.end(), extra.begin(), extra.end());
    sim_ = std::make_unique<SimProcess>(POWERSTORE_SIM_BINARY, args);
  }

  std::string settingsJson(const std::string& password = "secret", const std::string& ca = "",
                           const nlohmann::json& extraKeys = nlohmann::json::object()) {
    nlohmann::json array = {{"endpoint", sim_->endpoint()},
                            {"globalID", "PSSIM01"},
                            {"username", "admin"},
                            {"password", password},
                            {"isDefault", true},
                            {"blockProtocol", "ISCSI"},
                            {"caFile", ca.empty() ? pki_.ca_cert.string() : ca}};
    array.update(extraKeys);
    return nlohmann::json{{"arrays", {array}}}.dump();
  }

  // The simulator's iSCSI port, which the REST API does not report (arrays use 3260).
  StringMap iscsiSettings() const {
    const std::string& portal = sim_->iscsiPortal();
    if (portal.empty()) return {};
    return {{"iscsi_port", portal.substr(portal.rfind(':') + 1)}};
  }

  std::unique_ptr<PluginInstance> start(const std::string& json, Role role = Role::kController,
                                        StringMap settings = {}) {
    InstanceConfig config;
    config.instanceName = "ps";
    config.role = role;
    config.settings = iscsiSettings();
    for (const auto& [key, value] : settings) config.settings[key] = value;
    config.settingsJson = json;
    config.stateDir = (dir_.path() / "plugin").string();
    auto instance = host_.start(polycsi_plugin_entry(), config);
    EXPECT_TRUE(instance.isOk()) << instance.status().toString();
    return instance.isOk() ? std::move(*instance) : nullptr;
  }

  // Expires every session on the simulator (its test hook), with Basic auth.
  void expireSessions() {
    CURL* curl = curl_easy_init();
    const std::string url =
        "https://127.0.0.1:" + std::to_string(sim_->port()) + "/sim/expire_sessions";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(curl, CURLOPT_CAINFO, pki_.ca_cert.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, "admin:secret");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    ASSERT_EQ(status, 204);
  }

  // A REST session on the simulator for what an administrator does by hand.
  std::unique_ptr<httplib::SSLClient> admin() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", sim_->port());
    c->set_ca_cert_path(pki_.ca_cert.c_str());
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(60, 0);
    c->set_basic_auth("admin", "secret");
    auto res = c->Get("/api/rest/login_session");
    EXPECT_TRUE(res && res->status == 200);
    if (!res) return c;
    const std::string cookie = res->get_header_value("Set-Cookie");
    c->set_default_headers({{"DELL-EMC-TOKEN", res->get_header_value("DELL-EMC-TOKEN")},
                            {"Cookie", cookie.substr(0, cookie.find(';'))}});
    return c;
  }

  nlohmann::json restGet(const std::string& path) {
    auto res = admin()->Get(("/api/rest/" + path).c_str());
    EXPECT_TRUE(res && res->status >= 200 && res->status < 300) << path;
    return res ? nlohmann::json::parse(res->body) : nlohmann::json();
  }

  void restPost(const std::string& path, const nlohmann::json& body, int expected) {
    auto res = admin()->Post(path.c_str(), body.dump(), "application/json");
    ASSERT_TRUE(res) << path;
    ASSERT_EQ(res->status, expected) << path << ": " << res->body;
  }

  TempDir dir_;
  TestPki pki_;
  std::unique_ptr<SimProcess> sim_;
  testing::FakeHost host_;
};

TEST_F(PowerStoreBackendTest, DescriptorIsRwoOnlyWithReasons) {
  const Descriptor d = testing::FakeHost::describe(polycsi_plugin_entry());
  EXPECT_EQ(d.name, "iscsi_powerstore");
  EXPECT_EQ(d.metricsPrefix, "powerstore_csi");
  for (VolumeMode mode : {VolumeMode::kBlock, VolumeMode::kFilesystem}) {
    EXPECT_EQ(d.semanticsFor(AccessMode::kSingleNodeWriter, mode), AttachSemantics::kExclusive);
    EXPECT_EQ(d.semanticsFor(AccessMode::kMultiNodeMultiWriter, mode),
              AttachSemantics::kUnsupported);
    EXPECT_NE(d.unsupportedReason(AccessMode::kMultiNodeMultiWriter, mode).find("live-migrate"),
              std::string::npos);
  }
}

TEST_F(PowerStoreBackendTest, ControllerLifecycleAndIscsiLoginWithThePublishContext) {
  startSim();
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  auto vol = ps->createVolume({.name = "pvc-1", .requiredBytes = 3 * kMiB + 1});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  EXPECT_EQ(vol->capacityBytes, 4 * kMiB);
  EXPECT_EQ(vol->id.rfind("PSSIM01.", 0), 0u);
  EXPECT_EQ(vol->context.at("arrayID"), "PSSIM01");
  auto again = ps->createVolume({.name = "pvc-1", .requiredBytes = 3 * kMiB});
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->id, vol->id);
  EXPECT_EQ(ps->createVolume({.name = "pvc-1", .requiredBytes = 64 * kMiB}).status().code(),
            Code::kAlreadyExists);
  EXPECT_EQ(ps->createVolume(
                  {.name = "pvc-x", .requiredBytes = kMiB, .parameters = {{"arrayID", "NOPE"}}})
                .status()
                .code(),
            Code::kInvalidArgument);

  auto expanded = ps->expandVolume({.volumeId = vol->id, .requiredBytes = 8 * kMiB});
  ASSERT_TRUE(expanded.isOk()) << expanded.status().toString();
  EXPECT_EQ(expanded->capacityBytes, 8 * kMiB);
  EXPECT_EQ(ps->getVolume({.volumeId = vol->id})->capacityBytes, 8 * kMiB);

  // Publish to node-a: a real iSCSI login as node-a's IQN works, node-b's is refused.
  auto context = ps->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA});
  ASSERT_TRUE(context.isOk()) << context.status().toString();
  EXPECT_EQ(context->at("portal"), sim_->iscsiPortal());
  // Every IP port is a path: the targets come from the ports, the LUN from the mapping.
  const std::string port = sim_->iscsiPortal().substr(sim_->iscsiPortal().rfind(':'));
  EXPECT_EQ(context->at("portals"), "127.0.0.1" + port + ",127.0.0.2" + port);
  const std::string targets = context->at("targetIqns");
  EXPECT_EQ(targets.find(context->at("targetIqn")), 0u);
  EXPECT_NE(targets.find(','), std::string::npos);
  const int lun = std::stoi(context->at("lun"));
  EXPECT_TRUE(
      ps->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA}).isOk());
  std::vector<std::uint8_t> block(512, 0x5a);
  {
    TestInitiator initiator(context->at("portal"), context->at("targetIqn"), kIqnA, {}, lun);
    EXPECT_EQ(initiator.capacity(), static_cast<std::uint64_t>(8 * kMiB));
    initiator.writeBlock(0, block);
    EXPECT_EQ(initiator.readBlock(0), block);
  }
  {
    // The second path reaches the same LUN.
    const LunAddress both = parseLunAddress(*context);
    ASSERT_EQ(both.paths.size(), 2u);
    TestInitiator initiator(both.paths[1].portal, both.paths[1].targetIqn, kIqnA, {}, lun);
    EXPECT_EQ(initiator.readBlock(0), block);
  }
  EXPECT_THROW(TestInitiator(context->at("portal"), context->at("targetIqn"), kIqnB, {}, lun),
               std::runtime_error);
  EXPECT_EQ(ps->publish({.volumeId = vol->id, .nodeName = "node-b", .nodeIdentity = kIqnB})
                .status()
                .code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(ps->deleteVolume({.volumeId = vol->id}).code(), Code::kFailedPrecondition);

  // Snapshot, restore and clone carry the data written over iSCSI. The creation time is the
  // array's creation_timestamp (whole seconds in the simulator), the same in every answer.
  const auto wallClockNs = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t beforeNs = wallClockNs() - 1000000000;
  auto snap = ps->createSnapshot({.name = "snap-1", .sourceVolumeId = vol->id});
  const int64_t afterNs = wallClockNs();
  ASSERT_TRUE(snap.isOk()) << snap.status().toString();
  EXPECT_GE(snap->creationTimeUnixNs, beforeNs);
  EXPECT_LE(snap->creationTimeUnixNs, afterNs);
  EXPECT_EQ(ps->createSnapshot({.name = "snap-1", .sourceVolumeId = vol->id})->id, snap->id);
  auto listed = ps->listSnapshots({.sourceVolumeId = vol->id});
  ASSERT_TRUE(listed.isOk());
  ASSERT_EQ(listed->snapshots.size(), 1u);
  EXPECT_EQ(listed->snapshots[0].id, snap->id);
  EXPECT_EQ(listed->snapshots[0].creationTimeUnixNs, snap->creationTimeUnixNs);
  auto restored = ps->createVolumeFromSnapshot(
      {.name = "pvc-2", .requiredBytes = 16 * kMiB, .sourceId = snap->id});
  ASSERT_TRUE(restored.isOk()) << restored.status().toString();
  EXPECT_EQ(restored->capacityBytes, 16 * kMiB);
  auto cloned = ps->cloneVolume({.name = "pvc-3", .requiredBytes = 8 * kMiB, .sourceId = vol->id});
  ASSERT_TRUE(cloned.isOk()) << cloned.status().toString();
  auto restoredContext =
      ps->publish({.volumeId = restored->id, .nodeName = "node-b", .nodeIdentity = kIqnB});
  ASSERT_TRUE(restoredContext.isOk()) << restoredContext.status().toString();
  {
    TestInitiator initiator(restoredContext->at("portal"), restoredContext->at("targetIqn"), kIqnB,
                            {}, std::stoi(restoredContext->at("lun")));
    EXPECT_EQ(initiator.readBlock(0), block);
  }

  // Unpublish twice (idempotent), then node-b may take the first volume.
  ASSERT_TRUE(ps->unpublish({.volumeId = vol->id, .nodeName = "node-a"}).isOk());
  ASSERT_TRUE(ps->unpublish({.volumeId = vol->id, .nodeName = "node-a"}).isOk());
  auto moved = ps->publish({.volumeId = vol->id, .nodeName = "node-b", .nodeIdentity = kIqnB});
  EXPECT_TRUE(moved.isOk()) << moved.status().toString();
  ASSERT_TRUE(ps->unpublish({.volumeId = vol->id, .nodeName = "node-b"}).isOk());
  ASSERT_TRUE(ps->unpublish({.volumeId = restored->id, .nodeName = "node-b"}).isOk());

  for (const auto& id : {vol->id, restored->id, cloned->id}) {
    ASSERT_TRUE(ps->deleteVolume({.volumeId = id}).isOk());
    ASSERT_TRUE(ps->deleteVolume({.volumeId = id}).isOk());
    EXPECT_EQ(ps->getVolume({.volumeId = id}).status().code(), Code::kNotFound);
  }
  ASSERT_TRUE(ps->deleteSnapshot({.snapshotId = snap->id}).isOk());
  EXPECT_TRUE(ps->listSnapshots({})->snapshots.empty());
  EXPECT_EQ(ps->getVolume({.volumeId = "PSSIM01.not a uuid"}).status().code(),
            Code::kInvalidArgument);
}

// Snapshot listing pages with an index token; CSI's rules hold: a negative max_entries is
// INVALID_ARGUMENT, a token that is no index or lies past the end ABORTED.
TEST_F(PowerStoreBackendTest, SnapshotListingPagesByTheCsiRules) {
  startSim({"--no-tgtd"});
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  auto vol = ps->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  for (const char* name : {"snap-b", "snap-a", "snap-c"})
    ASSERT_TRUE(ps->createSnapshot({.name = name, .sourceVolumeId = vol->id}).isOk());
  auto first = ps->listSnapshots({.maxEntries = 2});
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  ASSERT_EQ(first->snapshots.size(), 2u);
  EXPECT_LT(first->snapshots[0].id, first->snapshots[1].id);
  EXPECT_EQ(first->nextToken, "2");
  auto rest = ps->listSnapshots({.maxEntries = 2, .startingToken = first->nextToken});
  ASSERT_TRUE(rest.isOk()) << rest.status().toString();
  ASSERT_EQ(rest->snapshots.size(), 1u);
  EXPECT_LT(first->snapshots[1].id, rest->snapshots[0].id);
  EXPECT_EQ(rest->nextToken, "");
  EXPECT_EQ(ps->listSnapshots({.maxEntries = -1}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ps->listSnapshots({.startingToken = "x"}).status().code(), Code::kAborted);
  EXPECT_EQ(ps->listSnapshots({.startingToken = "4"}).status().code(), Code::kAborted);
}

TEST_F(PowerStoreBackendTest, ExpiredSessionIsRenewed) {
  startSim({"--no-tgtd"});
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  auto vol = ps->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  expireSessions();
  // DELETE is the first call after the expiry: refused (403), logged in again, resent once.
  ASSERT_TRUE(ps->deleteVolume({.volumeId = vol->id}).isOk());
  EXPECT_EQ(host_.counter("rest_requests_total{array=PSSIM01,method=DELETE,status=403}"), 1);
  EXPECT_EQ(host_.counter("rest_requests_total{array=PSSIM01,method=DELETE,status=204}"), 1);
  EXPECT_EQ(ps->getVolume({.volumeId = vol->id}).status().code(), Code::kNotFound);
  auto second = ps->createVolume({.name = "pvc-2", .requiredBytes = kMiB});
  EXPECT_TRUE(second.isOk()) << second.status().toString();
}

TEST_F(PowerStoreBackendTest, WrongCaAndWrongPasswordAreRefused) {
  startSim({"--no-tgtd"});
  auto wrongCa = start(settingsJson("secret", pki_.other_ca_cert.string()));
  ASSERT_TRUE(wrongCa);
  auto res = wrongCa->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  EXPECT_EQ(res.status().code(), Code::kUnavailable);
  EXPECT_NE(res.status().message().find("TLS"), std::string::npos) << res.status().message();

  auto wrongPassword = start(settingsJson("wrong"));
  ASSERT_TRUE(wrongPassword);
  const Status refused =
      wrongPassword->createVolume({.name = "pvc-1", .requiredBytes = kMiB}).status();
  EXPECT_EQ(refused.code(), Code::kPermissionDenied);
  EXPECT_NE(refused.message().find("refused the login"), std::string::npos) << refused.message();
  // 401 at login means bad credentials: no second try.
  EXPECT_EQ(host_.counter("rest_requests_total{array=PSSIM01,method=GET,status=401}"), 1);
}

// ---- group snapshots with the array's volume groups ----

constexpr const char* kGroup = "grp-vm1-0123456789abcdef-89abcdef";

// How many of the plugin's requests to the simulator are "METHOD /api/rest/<path>" with a path
// (its query left out) that matches `pathPattern` whole.
size_t countRequests(const SimProcess& sim, const std::string& method,
                     const std::string& pathPattern) {
  const std::regex pattern(method + " /api/rest/" + pathPattern);
  size_t n = 0;
  for (const std::string& r : sim.requestsServed("polycsi-iscsi_powerstore"))
    if (std::regex_match(r.substr(0, r.find('?')), pattern)) ++n;
  return n;
}

// Three volumes and the group request the core would send for them.
CreateGroupSnapshotRequest groupOf3(PluginInstance& ps, std::vector<std::string>* uuids) {
  CreateGroupSnapshotRequest req;
  req.groupSnapshotId = kGroup;
  for (int i = 0; i < 3; ++i) {
    auto v = ps.createVolume({.name = "vm1-disk-" + std::to_string(i), .requiredBytes = kMiB});
    EXPECT_TRUE(v.isOk()) << v.status().toString();
    if (!v.isOk()) continue;
    req.members.push_back({std::string(kGroup) + "-m" + std::to_string(i), v->id});
    if (uuids) uuids->push_back(v->id.substr(v->id.find('.') + 1));
  }
  std::sort(req.members.begin(), req.members.end(),
            [](const auto& x, const auto& y) { return x.sourceVolumeId < y.sourceVolumeId; });
  return req;
}

// Nothing of a group is on the array: no volume group, no snapshot, no volume in a group.
void expectNothingOfTheGroupLeft(const nlohmann::json& groups, const nlohmann::json& snapshots,
                                 const nlohmann::json& volumes) {
  EXPECT_TRUE(groups.empty()) << groups.dump();
  EXPECT_TRUE(snapshots.empty()) << snapshots.dump();
  for (const auto& v : volumes)
    EXPECT_TRUE(v.at("volume_groups").empty()) << "volume " << v.dump() << " left in a group";
}

// One POST volume_group/{id}/snapshot of a write-order consistent group of exactly the three
// volumes, no per-volume snapshot; the volumes leave the group; a retry makes nothing new; a
// member cannot be deleted alone, nor its volume; delete removes the set and its group.
TEST_F(PowerStoreBackendTest, GroupSnapshotIsOneSnapshotSetOfAWriteOrderConsistentGroup) {
  startSim({"--no-tgtd"});
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  EXPECT_TRUE(ps->features().groupSnapshotCall);
  EXPECT_EQ(testing::FakeHost::describe(polycsi_plugin_entry()).groupSnapshotConsistency,
            GroupConsistency::kCrashConsistent);
  std::vector<std::string> uuids;
  const CreateGroupSnapshotRequest req = groupOf3(*ps, &uuids);
  ASSERT_EQ(req.members.size(), 3u);

  auto taken = ps->createGroupSnapshot(req);
  ASSERT_TRUE(taken.isOk()) << taken.status().toString();
  ASSERT_EQ(taken->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*taken)[i].sourceVolumeId, req.members[i].sourceVolumeId);
    EXPECT_EQ((*taken)[i].groupSnapshotId, kGroup);
  }
  EXPECT_EQ(countRequests(*sim_, "POST", "volume_group"), 1u);
  EXPECT_EQ(countRequests(*sim_, "POST", "volume_group/[0-9a-f-]+/snapshot"), 1u);
  EXPECT_EQ(countRequests(*sim_, "POST", "volume/[0-9a-f-]+/snapshot"), 0u);

  const nlohmann::json groups = restGet(
      "volume_group?select=id,name,type,is_write_order_consistent,volumes(id,name)"
      "&order=name");
  ASSERT_EQ(groups.size(), 2u) << groups.dump();
  EXPECT_EQ(groups[0].at("name"), kGroup);
  EXPECT_EQ(groups[0].at("type"), "Snapshot");
  EXPECT_EQ(groups[0].at("volumes").size(), 3u);
  EXPECT_EQ(groups[1].at("name"), std::string(kGroup) + ".source");
  EXPECT_EQ(groups[1].at("is_write_order_consistent"), true);
  EXPECT_TRUE(groups[1].at("volumes").empty()) << "the volumes stay in the source group";

  auto retried = ps->createGroupSnapshot(req);
  ASSERT_TRUE(retried.isOk()) << retried.status().toString();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*retried)[i].id, (*taken)[i].id);
  EXPECT_EQ(countRequests(*sim_, "POST", "volume_group"), 1u);
  EXPECT_EQ(countRequests(*sim_, "POST", "volume_group/[0-9a-f-]+/snapshot"), 1u);

  auto listed = ps->listSnapshots({.groupSnapshotId = kGroup});
  ASSERT_TRUE(listed.isOk());
  EXPECT_EQ(listed->snapshots.size(), 3u);
  auto alone = ps->deleteSnapshot({.snapshotId = (*taken)[0].id});
  EXPECT_EQ(alone.code(), Code::kInvalidArgument);
  EXPECT_NE(alone.message().find("DeleteVolumeGroupSnapshot"), std::string::npos)
      << alone.message();
  EXPECT_EQ(ps->deleteVolume({.volumeId = req.members[0].sourceVolumeId}).code(),
            Code::kFailedPrecondition);
  auto restored = ps->createVolumeFromSnapshot(
      {.name = "restored", .requiredBytes = kMiB, .sourceId = (*taken)[1].id});
  ASSERT_TRUE(restored.isOk()) << restored.status().toString();
  ASSERT_TRUE(ps->deleteVolume({.volumeId = restored->id}).isOk());

  ASSERT_TRUE(ps->deleteGroupSnapshot({.groupSnapshotId = kGroup}).isOk());
  ASSERT_TRUE(ps->deleteGroupSnapshot({.groupSnapshotId = kGroup}).isOk());
  expectNothingOfTheGroupLeft(restGet("volume_group?select=id,name"),
                              restGet("volume?select=id&type=eq.Snapshot"),
                              restGet("volume?select=id,volume_groups(id)"));
  EXPECT_TRUE(ps->deleteVolume({.volumeId = req.members[0].sourceVolumeId}).isOk());
}

// The array refuses a step after the snapshot set is made (a member's name is taken): the set,
// its snapshots and the source group are deleted, and no volume stays in a group.
TEST_F(PowerStoreBackendTest, GroupSnapshotThatFailsAfterTheSetIsMadeLeavesNothing) {
  startSim({"--no-tgtd"});
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  const CreateGroupSnapshotRequest req = groupOf3(*ps, nullptr);
  ASSERT_EQ(req.members.size(), 3u);
  restPost("/api/rest/volume", {{"name", req.members[1].name}, {"size", kMiB}}, 201);

  auto taken = ps->createGroupSnapshot(req);
  ASSERT_FALSE(taken.isOk());
  EXPECT_EQ(taken.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(taken.status().message().find("rolled back"), std::string::npos)
      << taken.status().message();
  EXPECT_EQ(countRequests(*sim_, "POST", "volume_group/[0-9a-f-]+/snapshot"), 1u);
  expectNothingOfTheGroupLeft(restGet("volume_group?select=id,name"),
                              restGet("volume?select=id&type=eq.Snapshot"),
                              restGet("volume?select=id,volume_groups(id)"));
}

// A volume in a volume group of the user's cannot join another (volume_group_create: "should not
// be part of another volume group"): refused before anything is made, naming the group.
TEST_F(PowerStoreBackendTest, GroupSnapshotOfAVolumeInAUsersVolumeGroupIsRefused) {
  startSim({"--no-tgtd"});
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  std::vector<std::string> uuids;
  const CreateGroupSnapshotRequest req = groupOf3(*ps, &uuids);
  ASSERT_EQ(uuids.size(), 3u);
  restPost("/api/rest/volume_group", {{"name", "finance-vg"}, {"volume_ids", {uuids[2]}}}, 201);

  auto taken = ps->createGroupSnapshot(req);
  ASSERT_FALSE(taken.isOk());
  EXPECT_EQ(taken.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(taken.status().message().find("'finance-vg'"), std::string::npos)
      << taken.status().message();
  EXPECT_EQ(countRequests(*sim_, "POST", "volume_group"), 0u);
  const nlohmann::json groups = restGet("volume_group?select=name,volumes(id)");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].at("volumes").size(), 1u);
  EXPECT_TRUE(restGet("volume?select=id&type=eq.Snapshot").empty());
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore

namespace polycsi::iscsi_powerstore {
namespace {

// The node's production portal check (libiscsi) against the simulator's tgtd.
TEST_F(PowerStoreBackendTest, PortalProbeTellsMappedFromRefusedFromUnreachable) {
  startSim();
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  auto vol = ps->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  auto context = ps->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA});
  ASSERT_TRUE(context.isOk()) << context.status().toString();
  const auto timeout = std::chrono::seconds(10);
  EXPECT_NO_THROW(probePortal(context->at("portal"), context->at("targetIqn"), kIqnA, {}, timeout));
  try {
    probePortal(context->at("portal"), context->at("targetIqn"), kIqnB, {}, timeout);
    ADD_FAILURE() << "an unmapped initiator passed the probe";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied) << e.what();
  }
  // Nothing listens on port 1 of loopback.
  try {
    probePortal("127.0.0.1:1", context->at("targetIqn"), kIqnA, {}, timeout);
    ADD_FAILURE() << "a closed portal passed the probe";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable) << e.what();
  }
}

// More than 2000 hosts: the node's IQN is on a host of another name that sorts last, so
// only a client that reads every page (206 + Content-Range, up to 2000 per page) finds it;
// one that stops at the first page tries to create a second host with the same initiator,
// which the array refuses.
TEST_F(PowerStoreBackendTest, FindsTheNodesHostBeyondTheFirstPages) {
  startSim({"--no-tgtd"});
  restPost("/sim/seed_hosts", {{"prefix", "bulk-"}, {"count", 2100}}, 204);
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  auto vol = ps->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  // "bulk-999" is the last of the 2100 names in name order.
  const std::string iqn = "iqn.2000-01.com.example:bulk-999";
  auto context = ps->publish({.volumeId = vol->id, .nodeName = "node-z", .nodeIdentity = iqn});
  ASSERT_TRUE(context.isOk()) << context.status().toString();
  EXPECT_EQ(context->at("lun"), "1");
  const nlohmann::json hosts = restGet("host?select=id&name=eq.node-z");
  EXPECT_TRUE(hosts.empty()) << "no second host was made for the node";
  EXPECT_TRUE(host_.logged("which holds its initiator " + iqn));
  ASSERT_TRUE(
      ps->unpublish({.volumeId = vol->id, .nodeName = "node-z", .nodeIdentity = iqn}).isOk());
  EXPECT_TRUE(restGet("host_volume_mapping?select=id").empty());
}

// More than 100 mappings of one volume, the node's last: unpublish must read past the
// array's default page of 100 to find and remove it (a volume left mapped is not fenced).
TEST_F(PowerStoreBackendTest, UnpublishFindsItsMappingBeyondTheFirstHundred) {
  startSim({"--no-tgtd"});
  auto ps = start(settingsJson());
  ASSERT_TRUE(ps);
  auto vol = ps->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  auto other = ps->createVolume({.name = "pvc-2", .requiredBytes = kMiB});
  ASSERT_TRUE(other.isOk()) << other.status().toString();
  // node-a's host, made by the plugin.
  ASSERT_TRUE(
      ps->publish({.volumeId = other->id, .nodeName = "node-a", .nodeIdentity = kIqnA}).isOk());
  const std::string uuid = vol->id.substr(vol->id.rfind('.') + 1);
  restPost("/sim/seed_hosts", {{"prefix", "bulk-"}, {"count", 150}, {"volume_id", uuid}}, 204);
  const std::string hostId = restGet("host?select=id&name=eq.node-a").at(0).at("id");
  restPost("/api/rest/host/" + hostId + "/attach", {{"volume_id", uuid}}, 204);

  EXPECT_EQ(ps->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA})
                .status()
                .code(),
            Code::kFailedPrecondition);
  ASSERT_TRUE(
      ps->unpublish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA}).isOk());
  EXPECT_TRUE(
      restGet("host_volume_mapping?select=id&host_id=eq." + hostId + "&volume_id=eq." + uuid)
          .empty())
      << "node-a's mapping is still there";
  EXPECT_EQ(restGet("host_volume_mapping?select=id&limit=2000&volume_id=eq." + uuid).size(), 150u);
}

// CHAP configured: the node's initiator on the array carries the CHAP user (set at creation,
// and added to a host that lacks it).
TEST_F(PowerStoreBackendTest, ChapIsSetOnTheHostsInitiator) {
  startSim({"--no-tgtd"});
  auto plain = start(settingsJson());
  ASSERT_TRUE(plain);
  auto vol = plain->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  ASSERT_TRUE(
      plain->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA}).isOk());
  auto initiatorOf = [&](const std::string& node) {
    return restGet("host?select=initiators&name=eq." + node).at(0).at("initiators").at(0);
  };
  EXPECT_EQ(initiatorOf("node-a").value("chap_single_username", ""), "");

  auto chap = start(settingsJson(), Role::kController,
                    {{"chap_user", "chapuser"}, {"chap_password", "chapsecret123"}});
  ASSERT_TRUE(chap);
  ASSERT_TRUE(
      chap->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA}).isOk());
  EXPECT_EQ(initiatorOf("node-a").value("chap_single_username", ""), "chapuser");
  auto second = chap->createVolume({.name = "pvc-2", .requiredBytes = kMiB});
  ASSERT_TRUE(second.isOk());
  ASSERT_TRUE(
      chap->publish({.volumeId = second->id, .nodeName = "node-b", .nodeIdentity = kIqnB}).isOk());
  EXPECT_EQ(initiatorOf("node-b").value("chap_single_username", ""), "chapuser");
}

// An array in Mutual CHAP mode (chap_config/0 mode): publish gives the node's initiator both
// pairs (the array refuses an initiator without them), and the node's probe logs in only when
// the target proves the mutual secret; a wrong one is a CHAP failure naming the settings.
TEST_F(PowerStoreBackendTest, MutualChapIsSetOnTheInitiatorAndTheTargetMustProveIt) {
  startSim({"--chap-mode", "Mutual"});
  const StringMap single = {{"chap_user", "nodeuser"}, {"chap_password", "node-secret-1"}};
  auto oneWay = start(settingsJson(), Role::kController, single);
  ASSERT_TRUE(oneWay);
  auto vol = oneWay->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  auto refused =
      oneWay->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA});
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("chap_mutual_username"), std::string::npos)
      << refused.status().toString();

  StringMap mutual = single;
  mutual["chap_mutual_user"] = "arrayuser";
  mutual["chap_mutual_password"] = "array-secret-2";
  auto ps = start(settingsJson(), Role::kController, mutual);
  ASSERT_TRUE(ps);
  auto context = ps->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA});
  ASSERT_TRUE(context.isOk()) << context.status().toString();
  const nlohmann::json initiator =
      restGet("host?select=initiators&name=eq.node-a").at(0).at("initiators").at(0);
  EXPECT_EQ(initiator.value("chap_single_username", ""), "nodeuser");
  EXPECT_EQ(initiator.value("chap_mutual_username", ""), "arrayuser");

  const auto timeout = std::chrono::seconds(10);
  const ChapSecret right{"nodeuser", "node-secret-1", "arrayuser", "array-secret-2"};
  EXPECT_NO_THROW(
      probePortal(context->at("portal"), context->at("targetIqn"), kIqnA, right, timeout));
  ChapSecret wrong = right;
  wrong.mutualPassword = "not-the-array-2";
  try {
    probePortal(context->at("portal"), context->at("targetIqn"), kIqnA, wrong, timeout);
    ADD_FAILURE() << "a target that does not know the mutual secret passed the probe";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied) << e.what();
    EXPECT_NE(std::string(e.what()).find("chap_mutual_password"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("not-the-array-2"), std::string::npos) << e.what();
  }
}

// A Dell arrays entry with keys for features this plugin lacks starts, with a note per key.
TEST_F(PowerStoreBackendTest, DellKeysThePluginDoesNotUseAreLoggedNotRefused) {
  startSim({"--no-tgtd"});
  auto ps = start(settingsJson("secret", "",
                               {{"labels", {{"topology.kubernetes.io/zone", "z1"}}},
                                {"metroTopology", "Uniform"},
                                {"nasName", "nas-server"}}));
  ASSERT_TRUE(ps);
  EXPECT_TRUE(host_.logged("key 'labels'"));
  EXPECT_TRUE(host_.logged("key 'metroTopology'"));
  EXPECT_TRUE(host_.logged("nasName/nfsAcls are for NFS volumes"));
  EXPECT_TRUE(ps->createVolume({.name = "pvc-1", .requiredBytes = kMiB}).isOk());
}

// Filter values reach the URL percent-encoded: reserved characters, spaces and braces (the
// cs.{...} operand) cannot change the query.
TEST(RestClientTest, EncodesFilterValues) {
  EXPECT_EQ(RestClient::encode("node-a_1.x~"), "node-a_1.x~");
  EXPECT_EQ(RestClient::encode("a b&select=*#{c}/%"), "a%20b%26select%3D%2A%23%7Bc%7D%2F%25");
  EXPECT_EQ(RestClient::encode("\xc3\xa9"), "%C3%A9");
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
