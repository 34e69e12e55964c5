// The fake API server refuses Events as the real one does (fake_event_validation.hpp names the
// sources): each rule with an Event that passes and one that it refuses.
#include "fake_event_validation.hpp"

#include <gtest/gtest.h>

namespace polycsi::kube::testing {
namespace {

// An Event as polycsi's recorder posts it: eventTime set, so the strict branch applies.
nlohmann::json recorderEvent() {
  return {{"metadata", {{"generateName", "vm-disk."}, {"namespace", "vms"}}},
          {"involvedObject",
           {{"kind", "PersistentVolumeClaim"}, {"name", "vm-disk"}, {"namespace", "vms"}}},
          {"type", "Normal"},
          {"reason", "MigrationStarted"},
          {"message", "started"},
          {"action", "Migrate"},
          {"reportingComponent", "polycsi-controller"},
          {"reportingInstance", "controller-0"},
          {"eventTime", "2026-12-06T08:00:00.000000Z"}};
}

TEST(FakeEventValidationTest, TheRecordersEventIsCreated) {
  EXPECT_EQ(refuseEventCreate(recorderEvent(), "vms"), std::nullopt);
}

TEST(FakeEventValidationTest, NamespaceAndNameAreCheckedBeforeTheFields) {
  auto refusal = refuseEventCreate(recorderEvent(), "other");
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->code, 400);
  EXPECT_EQ(refusal->message,
            "the namespace of the provided object does not match the namespace sent on the "
            "request");
  auto unnamed = recorderEvent();
  unnamed["metadata"].erase("generateName");
  refusal = refuseEventCreate(unnamed, "vms");
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->code, 400);
  EXPECT_EQ(refusal->message, "Name parameter required.");
}

TEST(FakeEventValidationTest, AnEventWithEventTimeNeedsItsReportingFields) {
  for (const char* field : {"reportingComponent", "reportingInstance", "action", "reason"}) {
    auto event = recorderEvent();
    event.erase(field);
    auto refusal = refuseEventCreate(event, "vms");
    ASSERT_TRUE(refusal) << field;
    EXPECT_EQ(refusal->code, 422);
    EXPECT_NE(refusal->message.find(std::string(field) + ": Required value"), std::string::npos)
        << refusal->message;
  }
  auto event = recorderEvent();
  event["reportingComponent"] = "polycsi controller";
  EXPECT_TRUE(refuseEventCreate(event, "vms")) << "not a qualified name";
  event = recorderEvent();
  event["message"] = std::string(1025, 'x');
  EXPECT_TRUE(refuseEventCreate(event, "vms"));
  event["message"] = std::string(1024, 'x');
  EXPECT_FALSE(refuseEventCreate(event, "vms"));
  event["reason"] = std::string(129, 'R');
  EXPECT_TRUE(refuseEventCreate(event, "vms"));
}

TEST(FakeEventValidationTest, TheInvolvedObjectsNamespaceMustBeTheEvents) {
  auto event = recorderEvent();
  event["involvedObject"]["namespace"] = "elsewhere";
  EXPECT_FALSE(refuseEventCreate(event, "vms"))
      << "with eventTime only an empty involvedObject namespace is checked";
  event.erase("eventTime");
  auto refusal = refuseEventCreate(event, "vms");
  ASSERT_TRUE(refusal) << "a legacy Event must name its own namespace";
  EXPECT_NE(refusal->message.find("does not match event.namespace"), std::string::npos);
  event = recorderEvent();
  event["involvedObject"].erase("namespace");
  EXPECT_TRUE(refuseEventCreate(event, "vms"));
  event["metadata"]["namespace"] = "kube-system";
  EXPECT_FALSE(refuseEventCreate(event, "kube-system"));
}

}  // namespace
}  // namespace polycsi::kube::testing
