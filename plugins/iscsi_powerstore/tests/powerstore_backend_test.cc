// The backend through polycsi_plugin_entry() and the SDK's FakeHost against a real
// powerstore-sim: HTTPS with the test CA, sessions, the controller lifecycle, and the publish
// context used for a real iSCSI login (libiscsi) to tgtd.
#include "powerstore_backend.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "polycsi/testing/fake_host.hpp"
#include "sim_process.hpp"
#include "temp_dir.hpp"
#include "test_initiator.hpp"
#include "test_pki.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::iscsi_powerstore {
namespace {

using polycsi::testing::TestPki;
using powerstore_sim::testing::SimProcess;
using powerstore_sim::testing::TempDir;
using powerstore_sim::testing::TestInitiator;

constexpr int64_t kMiB = 1 << 20;
constexpr const char* kIqnA = "iqn.1994-05.com.redhat:node-a";
constexpr const char* kIqnB = "iqn.1994-05.com.redhat:node-b";

class PowerStoreBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = polycsi::testing::makeTestPki(dir_.path());
    sim_ = std::make_unique<SimProcess>(
        POWERSTORE_SIM_BINARY,
        std::vector<std::string>{
            "--cert", pki_.server_cert.string(), "--key", pki_.server_key.string(), "--state-dir",
            (dir_.path() / "sim").string(), "--password", "secret", "--global-id", "PSSIM01"});
    std::filesystem::create_directories(dir_.path() / "plugin");
  }

  std::string settingsJson(const std::string& password = "secret", const std::string& ca = "") {
    nlohmann::json array = {{"endpoint", sim_->endpoint()},
                            {"globalID", "PSSIM01"},
                            {"username", "admin"},
                            {"password", password},
                            {"isDefault", true},
                            {"blockProtocol", "ISCSI"},
                            {"caFile", ca.empty() ? pki_.ca_cert.string() : ca}};
    return nlohmann::json{{"arrays", {array}}}.dump();
  }

  std::unique_ptr<PluginInstance> start(const std::string& json, Role role = Role::kController) {
    InstanceConfig config;
    config.instanceName = "ps";
    config.role = role;
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
  EXPECT_TRUE(
      ps->publish({.volumeId = vol->id, .nodeName = "node-a", .nodeIdentity = kIqnA}).isOk());
  std::vector<std::uint8_t> block(512, 0x5a);
  {
    TestInitiator initiator(context->at("portal"), context->at("targetIqn"), kIqnA);
    EXPECT_EQ(initiator.capacity(), static_cast<std::uint64_t>(8 * kMiB));
    initiator.writeBlock(0, block);
    EXPECT_EQ(initiator.readBlock(0), block);
  }
  EXPECT_THROW(TestInitiator(context->at("portal"), context->at("targetIqn"), kIqnB),
               std::runtime_error);
  EXPECT_EQ(ps->publish({.volumeId = vol->id, .nodeName = "node-b", .nodeIdentity = kIqnB})
                .status()
                .code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(ps->deleteVolume({.volumeId = vol->id}).code(), Code::kFailedPrecondition);

  // Snapshot, restore and clone carry the data written over iSCSI.
  auto snap = ps->createSnapshot({.name = "snap-1", .sourceVolumeId = vol->id});
  ASSERT_TRUE(snap.isOk()) << snap.status().toString();
  EXPECT_EQ(ps->createSnapshot({.name = "snap-1", .sourceVolumeId = vol->id})->id, snap->id);
  auto listed = ps->listSnapshots({.sourceVolumeId = vol->id});
  ASSERT_TRUE(listed.isOk());
  ASSERT_EQ(listed->snapshots.size(), 1u);
  EXPECT_EQ(listed->snapshots[0].id, snap->id);
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
    TestInitiator initiator(restoredContext->at("portal"), restoredContext->at("targetIqn"), kIqnB);
    EXPECT_EQ(initiator.readBlock(0), block);
  }

  // Unpublish twice (idempotent), then node-b may take the first volume.
  ASSERT_TRUE(ps->unpublish({.volumeId = vol->id, .nodeName = "node-a"}).isOk());
  ASSERT_TRUE(ps->unpublish({.volumeId = vol->id, .nodeName = "node-a"}).isOk());
  EXPECT_TRUE(
      ps->publish({.volumeId = vol->id, .nodeName = "node-b", .nodeIdentity = kIqnB}).isOk());
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

TEST_F(PowerStoreBackendTest, ExpiredSessionIsRenewed) {
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
  auto wrongCa = start(settingsJson("secret", pki_.other_ca_cert.string()));
  ASSERT_TRUE(wrongCa);
  auto res = wrongCa->createVolume({.name = "pvc-1", .requiredBytes = kMiB});
  EXPECT_EQ(res.status().code(), Code::kUnavailable);
  EXPECT_NE(res.status().message().find("TLS"), std::string::npos) << res.status().message();

  auto wrongPassword = start(settingsJson("wrong"));
  ASSERT_TRUE(wrongPassword);
  EXPECT_EQ(wrongPassword->createVolume({.name = "pvc-1", .requiredBytes = kMiB}).status().code(),
            Code::kPermissionDenied);
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore

namespace polycsi::iscsi_powerstore {
namespace {

// The node's production portal check (libiscsi) against the simulator's tgtd.
TEST_F(PowerStoreBackendTest, PortalProbeTellsMappedFromRefusedFromUnreachable) {
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

}  // namespace
}  // namespace polycsi::iscsi_powerstore
