#include "kube/event_recorder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_kube_api.hpp"

namespace polycsi::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeKubeApi;
using ::testing::MatchesRegex;

constexpr const char* kToken = "event-token";

attach::VolumeAttachmentState migratingVolume() {
  attach::VolumeAttachmentState state;
  state.volumeId = "pvc-a1b2c3d4";
  state.backend = "rds";
  state.metricsPrefix = "rds_csi";
  state.semantics = AttachSemantics::kMigrationWindow;
  state.nodes = {"node1", "node2"};
  state.migrationStartedAt = attach::Clock::now();
  state.migrationTimeout = 300s;
  state.pvc = {"pvc-a1b2c3d4", "vms"};
  return state;
}

class EventRecorderTest : public ::testing::Test {
 protected:
  EventRecorderTest() : api_(kToken), client_(KubeClient::create(config()).value()) {}
  // Every request the recorder made is one docs/fidelity.md lists with its public source.
  void TearDown() override {
    EXPECT_EQ(api_.callsTheReferenceDoesNotList(), std::vector<std::string>{});
    EXPECT_EQ(api_.refusedEvents(), std::vector<std::string>{}) << "Events the API refuses";
  }

  KubeConfig config() {
    KubeConfig config;
    config.baseUrl = api_.baseUrl();
    config.token = kToken;
    config.timeout = 5000ms;
    return config;
  }

  // Drains the recorder and returns what the API received.
  std::vector<FakeKubeApi::PostedEvent> posted(EventRecorder& recorder) {
    EXPECT_TRUE(recorder.waitIdle(10s));
    return api_.events();
  }

  FakeKubeApi api_;
  std::unique_ptr<KubeClient> client_;
};

TEST_F(EventRecorderTest, EventsCarryTheClaimsUidWhenTheClaimCanBeRead) {
  // kubectl describe pvc lists the events whose involvedObject.uid is the claim's.
  api_.setPersistentVolumeClaim("vms", "pvc-a1b2c3d4", "6f1c2d3e-0000-4000-8000-00000000abcd");
  auto created = EventRecorder::create(*client_, "polycsi-controller");
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  recorder.migrationStarted(migratingVolume(), "node1", "node2");
  auto events = posted(recorder);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["involvedObject"]["uid"], "6f1c2d3e-0000-4000-8000-00000000abcd");
  EXPECT_THAT(
      api_.requests(),
      ::testing::Contains("GET /api/v1/namespaces/vms/persistentvolumeclaims/pvc-a1b2c3d4"));

  // A claim that cannot be read does not cost the event.
  auto other = migratingVolume();
  other.pvc = {"gone", "vms"};
  recorder.migrationStarted(other, "node1", "node2");
  events = posted(recorder);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[1].body["involvedObject"].contains("uid"));
}

TEST_F(EventRecorderTest, MigrationStartedHasTheSeedMessage) {
  auto created = EventRecorder::create(*client_, "polycsi-controller");
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  recorder.migrationStarted(migratingVolume(), "node1", "node2");
  auto events = posted(recorder);
  ASSERT_EQ(events.size(), 1u);
  const nlohmann::json& event = events[0].body;
  EXPECT_EQ(events[0].namespace_, "vms");
  EXPECT_EQ(event["type"], "Normal");
  EXPECT_EQ(event["reason"], "MigrationStarted");
  EXPECT_EQ(event["message"],
            "[pvc-a1b2c3d4]: KubeVirt live migration started - source: node1, target: node2, "
            "timeout: 5m0s");
  EXPECT_EQ(event["involvedObject"]["kind"], "PersistentVolumeClaim");
  EXPECT_EQ(event["involvedObject"]["apiVersion"], "v1");
  EXPECT_EQ(event["involvedObject"]["name"], "pvc-a1b2c3d4");
  EXPECT_EQ(event["involvedObject"]["namespace"], "vms");
  EXPECT_EQ(event["metadata"]["generateName"], "pvc-a1b2c3d4.");
  EXPECT_EQ(event["metadata"]["namespace"], "vms");
  EXPECT_EQ(event["source"]["component"], "polycsi-controller");
  EXPECT_EQ(event["reportingComponent"], "polycsi-controller");
  EXPECT_FALSE(event["reportingInstance"].get<std::string>().empty());
  EXPECT_FALSE(event["action"].get<std::string>().empty());
  EXPECT_EQ(event["count"], 1);
  EXPECT_THAT(event["firstTimestamp"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
  EXPECT_EQ(event["lastTimestamp"], event["firstTimestamp"]);
  EXPECT_THAT(event["eventTime"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"));
}

TEST_F(EventRecorderTest, CompletedFailedAndConflictHaveTheSeedMessages) {
  auto created = EventRecorder::create(*client_, "rds-csi-controller");
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  auto state = migratingVolume();
  recorder.migrationCompleted(state, "node1", "node2", 45s);
  recorder.migrationFailed(state, "node1", "node2", "timeout", 300s);
  recorder.migrationFailed(state, "node1", "node2", "target detached", 20500ms);
  recorder.attachmentConflict(
      state, "node3",
      "Volume pvc-a1b2c3d4 already attached to 2 nodes (migration limit). Attached nodes: "
      "[node1, node2]");
  recorder.attachmentsChanged(state);  // not an event
  auto events = posted(recorder);
  ASSERT_EQ(events.size(), 4u);

  EXPECT_EQ(events[0].body["type"], "Normal");
  EXPECT_EQ(events[0].body["reason"], "MigrationCompleted");
  EXPECT_EQ(events[0].body["message"],
            "[pvc-a1b2c3d4]: KubeVirt live migration completed - source: node1 → target: node2 "
            "(duration: 45s)");

  EXPECT_EQ(events[1].body["type"], "Warning");
  EXPECT_EQ(events[1].body["reason"], "MigrationFailed");
  EXPECT_EQ(events[1].body["message"],
            "[pvc-a1b2c3d4]: KubeVirt live migration failed - source: node1, attempted target: "
            "node2, reason: timeout, elapsed: 5m0s");

  EXPECT_EQ(events[2].body["reason"], "MigrationFailed");
  EXPECT_EQ(events[2].body["message"],
            "[pvc-a1b2c3d4]: KubeVirt live migration failed - source: node1, attempted target: "
            "node2, reason: target detached, elapsed: 20s");

  EXPECT_EQ(events[3].body["type"], "Warning");
  EXPECT_EQ(events[3].body["reason"], "AttachmentConflict");
  EXPECT_EQ(events[3].body["message"],
            "[pvc-a1b2c3d4]: Volume pvc-a1b2c3d4 already attached to 2 nodes (migration "
            "limit). Attached nodes: [node1, node2]");
  for (const auto& event : events) {
    EXPECT_EQ(event.body["source"]["component"], "rds-csi-controller");
    EXPECT_EQ(event.body["involvedObject"]["name"], "pvc-a1b2c3d4");
  }
}

TEST_F(EventRecorderTest, BracketsHoldThePvcNameNotTheVolumeId) {
  auto created = EventRecorder::create(*client_, "polycsi-controller");
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  auto state = migratingVolume();
  state.volumeId = "rds:pvc-0000-internal";
  state.pvc = {"vm-disk", "default"};
  recorder.migrationStarted(state, "node1", "node2");
  auto events = posted(recorder);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["message"],
            "[vm-disk]: KubeVirt live migration started - source: node1, target: node2, "
            "timeout: 5m0s");
  EXPECT_EQ(events[0].namespace_, "default");
}

TEST_F(EventRecorderTest, NoPvcOrAnInvalidOneMeansNoEvent) {
  auto created = EventRecorder::create(*client_, "polycsi-controller");
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  auto state = migratingVolume();
  state.pvc = {};
  recorder.migrationStarted(state, "node1", "node2");
  state.pvc = {"bad/name", "vms"};
  recorder.migrationStarted(state, "node1", "node2");
  state.pvc = {"ok", "Bad_Namespace"};
  recorder.migrationStarted(state, "node1", "node2");
  EXPECT_TRUE(posted(recorder).empty());
  EXPECT_TRUE(api_.requests().empty());
}

TEST_F(EventRecorderTest, StopDrainsTheQueueAndLaterEventsAreDropped) {
  auto created = EventRecorder::create(*client_, "polycsi-controller");
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  for (int i = 0; i < 5; ++i) recorder.migrationStarted(migratingVolume(), "node1", "node2");
  recorder.stop();
  EXPECT_EQ(api_.events().size(), 5u);
  recorder.migrationStarted(migratingVolume(), "node1", "node2");
  recorder.stop();
  EXPECT_EQ(api_.events().size(), 5u);
}

TEST_F(EventRecorderTest, FullQueueDropsTheOldestEvents) {
  EventRecorder::Options options;
  options.queueCapacity = 2;
  auto created = EventRecorder::create(*client_, "polycsi-controller", options);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  api_.holdEvents(true);
  recorder.migrationStarted(migratingVolume(), "node1", "target-1");
  ASSERT_TRUE(api_.waitForRequests(1));  // the worker is now busy posting target-1
  for (const char* target : {"target-2", "target-3", "target-4"}) {
    recorder.migrationStarted(migratingVolume(), "node1", target);
  }
  api_.holdEvents(false);
  auto events = posted(recorder);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_THAT(events[0].body["message"].get<std::string>(), ::testing::HasSubstr("target-1"));
  EXPECT_THAT(events[1].body["message"].get<std::string>(), ::testing::HasSubstr("target-3"));
  EXPECT_THAT(events[2].body["message"].get<std::string>(), ::testing::HasSubstr("target-4"));
}

TEST_F(EventRecorderTest, StopGivesUpAfterTheDrainDeadline) {
  // target-1's post hangs until the client's timeout; stop() meanwhile asks for a drain with
  // no time left, so target-2 is dropped instead of posted.
  KubeConfig slow = config();
  slow.timeout = 2000ms;
  const auto slowClient = KubeClient::create(slow).value();
  EventRecorder::Options options;
  options.drainTimeout = 0ms;
  auto created = EventRecorder::create(*slowClient, "polycsi-controller", options);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  api_.holdEvents(true);
  recorder.migrationStarted(migratingVolume(), "node1", "target-1");
  ASSERT_TRUE(api_.waitForRequests(2));  // the claim's uid, then the held post
  recorder.migrationStarted(migratingVolume(), "node1", "target-2");
  recorder.stop();
  EXPECT_EQ(api_.requests().size(), 2u) << "nothing more asked or posted for target-2";
  api_.holdEvents(false);
}

TEST_F(EventRecorderTest, FailedPostsAreLoggedAndTheRecorderCarriesOn) {
  auto created = EventRecorder::create(*client_, "polycsi-controller");
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EventRecorder& recorder = **created;
  api_.failWith(500);
  recorder.migrationStarted(migratingVolume(), "node1", "node2");
  EXPECT_TRUE(recorder.waitIdle(10s));
  api_.failWith(0);
  recorder.migrationCompleted(migratingVolume(), "node1", "node2", 45s);
  auto events = posted(recorder);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["reason"], "MigrationCompleted");
}

TEST_F(EventRecorderTest, CreateRefusesAnEmptyComponentOrQueue) {
  const auto noComponent = EventRecorder::create(*client_, "");
  ASSERT_FALSE(noComponent.isOk());
  EXPECT_EQ(noComponent.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(noComponent.status().message(), "event reporting component is empty");
  EventRecorder::Options options;
  options.queueCapacity = 0;
  const auto noQueue = EventRecorder::create(*client_, "polycsi-controller", options);
  ASSERT_FALSE(noQueue.isOk());
  EXPECT_EQ(noQueue.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(noQueue.status().message(), "event queue capacity is 0");
}

}  // namespace
}  // namespace polycsi::kube
