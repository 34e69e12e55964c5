#include "kube/event_recorder.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <ctime>

#include "attach/messages.hpp"

namespace polycsi::kube {
namespace {

constexpr const char* kNormal = "Normal";
constexpr const char* kWarning = "Warning";
constexpr const char* kMigrationAction = "LiveMigration";
constexpr const char* kAttachAction = "Attach";

// DNS-1123 names as Kubernetes requires them for namespaces (label, 63) and PVCs (subdomain,
// 253). Checked because both end up in the request path.
bool isDnsName(const std::string& name, size_t maxLength, bool allowDots) {
  if (name.empty() || name.size() > maxLength) return false;
  auto alnum = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c));
  };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '-' && !(allowDots && c == '.')) return false;
  }
  return true;
}

// RFC 3339 in UTC; `micros` adds the six fractional digits of a MicroTime (eventTime).
std::string rfc3339(std::chrono::system_clock::time_point when, bool micros) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out = text;
  if (micros) {
    const auto fraction =
        std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()) %
        std::chrono::seconds(1);
    char digits[32];
    std::snprintf(digits, sizeof(digits), ".%06lld",
                  static_cast<long long>((fraction.count() + 1000000) % 1000000));
    out += digits;
  }
  return out + "Z";
}

std::string hostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

}  // namespace

StatusOr<std::unique_ptr<EventRecorder>> EventRecorder::create(KubeClient& client,
                                                               std::string component) {
  return create(client, std::move(component), Options{});
}

StatusOr<std::unique_ptr<EventRecorder>> EventRecorder::create(KubeClient& client,
                                                               std::string component,
                                                               Options options) {
  if (component.empty())
    return Status(Code::kInvalidArgument, "event reporting component is empty");
  if (options.queueCapacity == 0)
    return Status(Code::kInvalidArgument, "event queue capacity is 0");
  return std::unique_ptr<EventRecorder>(new EventRecorder(client, std::move(component), options));
}

EventRecorder::EventRecorder(KubeClient& client, std::string component, Options options)
    : client_(client), component_(std::move(component)), instance_(hostName()), options_(options) {
  worker_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::migrationStarted(const attach::VolumeAttachmentState& state,
                                     const std::string& source, const std::string& target) {
  enqueue(
      state, kNormal, "MigrationStarted", kMigrationAction,
      attach::migrationStartedEventMessage(state.pvc.name, source, target, state.migrationTimeout));
}

void EventRecorder::migrationCompleted(const attach::VolumeAttachmentState& state,
                                       const std::string& source, const std::string& target,
                                       std::chrono::milliseconds duration) {
  enqueue(state, kNormal, "MigrationCompleted", kMigrationAction,
          attach::migrationCompletedEventMessage(state.pvc.name, source, target, duration));
}

void EventRecorder::migrationFailed(const attach::VolumeAttachmentState& state,
                                    const std::string& source, const std::string& target,
                                    const std::string& reason, std::chrono::milliseconds elapsed) {
  enqueue(state, kWarning, "MigrationFailed", kMigrationAction,
          attach::migrationFailedEventMessage(state.pvc.name, source, target, reason, elapsed));
}

void EventRecorder::attachmentConflict(const attach::VolumeAttachmentState& state,
                                       const std::string& /*node*/, const std::string& message) {
  enqueue(state, kWarning, "AttachmentConflict", kAttachAction,
          "[" + state.pvc.name + "]: " + message);
}

void EventRecorder::attachmentsChanged(const attach::VolumeAttachmentState& /*state*/) {}

void EventRecorder::volumeWarning(const attach::PvcRef& pvc, const std::string& volumeId,
                                  const char* reason, const std::string& message) {
  attach::VolumeAttachmentState subject;
  subject.volumeId = volumeId;
  subject.pvc = pvc;
  enqueue(subject, "Warning", reason, "Reconcile", message);
}

void EventRecorder::volumeNormal(const attach::PvcRef& pvc, const std::string& volumeId,
                                 const char* reason, const std::string& message) {
  attach::VolumeAttachmentState subject;
  subject.volumeId = volumeId;
  subject.pvc = pvc;
  enqueue(subject, "Normal", reason, "Modify", message);
}

void EventRecorder::enqueue(const attach::VolumeAttachmentState& state, const char* type,
                            const char* reason, const char* action, const std::string& message) {
  const attach::PvcRef& pvc = state.pvc;
  if (pvc.name.empty() || pvc.namespace_.empty()) {
    spdlog::debug("no PVC known for volume {}: event {} not posted", state.volumeId, reason);
    return;
  }
  if (!isDnsName(pvc.namespace_, 63, false) || !isDnsName(pvc.name, 253, true)) {
    spdlog::warn("volume {} records an invalid PVC {}/{}: event {} not posted", state.volumeId,
                 pvc.namespace_, pvc.name, reason);
    return;
  }
  const auto now = std::chrono::system_clock::now();
  nlohmann::json body = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"generateName", pvc.name + "."}, {"namespace", pvc.namespace_}}},
      {"involvedObject",
       {{"apiVersion", "v1"},
        {"kind", "PersistentVolumeClaim"},
        {"name", pvc.name},
        {"namespace", pvc.namespace_}}},
      {"type", type},
      {"reason", reason},
      {"message", message},
      {"action", action},
      {"source", {{"component", component_}}},
      {"reportingComponent", component_},
      {"reportingInstance", instance_},
      {"firstTimestamp", rfc3339(now, false)},
      {"lastTimestamp", rfc3339(now, false)},
      {"eventTime", rfc3339(now, true)},
      {"count", 1},
  };
  std::lock_guard lock(mu_);
  if (stopping_) {
    spdlog::debug("event recorder stopped: event {} for {}/{} dropped", reason, pvc.namespace_,
                  pvc.name);
    return;
  }
  if (queue_.size() >= options_.queueCapacity) {
    const PendingEvent& oldest = queue_.front();
    spdlog::warn("event queue full ({} events): dropping {} event for {}/{}",
                 options_.queueCapacity, oldest.body.value("reason", ""), oldest.namespace_,
                 oldest.body["involvedObject"].value("name", ""));
    queue_.pop_front();
  }
  queue_.push_back(PendingEvent{pvc.namespace_, std::move(body)});
  wake_.notify_one();
}

void EventRecorder::addClaimUid(PendingEvent& event) {
  nlohmann::json& object = event.body["involvedObject"];
  const std::string name = object.value("name", "");
  // `kubectl describe pvc` selects events by the claim's uid: without it they stay hidden.
  StatusOr<nlohmann::json> claim = client_.get("/api/v1/namespaces/" + event.namespace_ +
                                               "/persistentvolumeclaims/" + urlEncode(name));
  const auto uidPointer = "/metadata/uid"_json_pointer;
  if (claim.isOk() && claim->contains(uidPointer) && claim->at(uidPointer).is_string()) {
    object["uid"] = claim->at(uidPointer);
    return;
  }
  spdlog::info(
      "event {} for PVC {}/{} is posted without the claim's uid ({}): kubectl get "
      "events shows it, kubectl describe pvc does not",
      event.body.value("reason", ""), event.namespace_, name,
      claim.isOk() ? "the claim has no uid" : claim.status().toString());
}

void EventRecorder::run() {
  std::unique_lock lock(mu_);
  std::chrono::steady_clock::time_point drainDeadline{};
  bool draining = false;
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_ && !draining) {
      draining = true;
      drainDeadline = std::chrono::steady_clock::now() + options_.drainTimeout;
    }
    if (queue_.empty()) break;  // stopping with nothing left
    if (draining && std::chrono::steady_clock::now() >= drainDeadline) {
      spdlog::warn("event recorder stopping: {} queued events dropped", queue_.size());
      queue_.clear();
      break;
    }
    PendingEvent event = std::move(queue_.front());
    queue_.pop_front();
    posting_ = true;
    lock.unlock();
    addClaimUid(event);
    const std::string path = "/api/v1/namespaces/" + event.namespace_ + "/events";
    StatusOr<nlohmann::json> posted = client_.post(path, event.body);
    if (posted.isOk()) {
      spdlog::debug("event {} posted for PVC {}/{}", event.body.value("reason", ""),
                    event.namespace_, event.body["involvedObject"].value("name", ""));
    } else {
      spdlog::warn("event {} for PVC {}/{} not posted: {}", event.body.value("reason", ""),
                   event.namespace_, event.body["involvedObject"].value("name", ""),
                   posted.status().toString());
    }
    lock.lock();
    posting_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
  posting_ = false;
  idle_.notify_all();
}

bool EventRecorder::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !posting_; });
}

void EventRecorder::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  std::lock_guard joinLock(joinMu_);
  if (worker_.joinable()) worker_.join();
}

}  // namespace polycsi::kube
