#include "kube/volume_attachment_reconciler.hpp"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "attach/messages.hpp"
#include "attach/recorded_window.hpp"

namespace polycsi::kube {
namespace {

constexpr const char* kVolumeAttachmentsPath = "/apis/storage.k8s.io/v1/volumeattachments";
constexpr int kPageSize = 500;

// A Kubernetes creationTimestamp ("2026-12-06T06:30:00Z", RFC 3339 in UTC, whole seconds as
// the API server writes metadata times); nullopt for anything else.
std::optional<attach::Clock::time_point> parseCreationTimestamp(const std::string& text) {
  std::tm parts{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const time_t seconds = ::timegm(&parts);
  if (seconds == static_cast<time_t>(-1)) return std::nullopt;
  return attach::Clock::from_time_t(seconds);
}

std::string stringAt(const nlohmann::json& object, const nlohmann::json::json_pointer& pointer) {
  if (!object.contains(pointer)) return "";
  const nlohmann::json& value = object.at(pointer);
  return value.is_string() ? value.get<std::string>() : "";
}

}  // namespace

// One VolumeAttachment of our driver, mapped to its volume.
struct VolumeAttachmentReconciler::ClusterAttachment {
  std::string name;
  std::string volumeHandle;
  std::string node;  // spec.nodeName while mapping; the driver's CSI node id once mapped
  std::string creationTimestamp;  // RFC 3339 UTC: orders as text
  bool attached = false;
  bool deleting = false;
  nlohmann::json pv;  // the PersistentVolume, or {"spec": inlineVolumeSpec}
  // The window length the publish that attached it recorded (attach/recorded_window.hpp).
  std::optional<std::chrono::seconds> recordedWindow;
};

// What the cluster says, whether the picture is complete enough to forget anything, and the
// pass's first problem.
struct VolumeAttachmentReconciler::ClusterView {
  std::vector<ClusterAttachment> attachments;               // oldest first once mapped
  std::set<std::pair<std::string, std::string>> inCluster;  // (volume handle, node id)
  bool complete = true;
  Status firstError;
  // Kubernetes nodes without a CSINode entry for the driver, with how many VolumeAttachments
  // name them, and the volumes those VolumeAttachments lead to: left alone this pass.
  std::map<std::string, int> unknownNodes;
  std::set<std::string> deferredVolumes;

  // A VolumeAttachment that could not be mapped: nothing may be forgotten this pass.
  void problem(const Status& status) {
    complete = false;
    note(status);
  }
  // A failure the pass reports (the first one) after doing what it safely can.
  void note(const Status& status) {
    if (firstError.isOk()) firstError = status;
  }
};

// One GET per PersistentVolume and per CSINode in a pass.
struct VolumeAttachmentReconciler::Lookups {
  std::map<std::string, StatusOr<nlohmann::json>> persistentVolumes;
  std::map<std::string, StatusOr<std::optional<std::string>>> csiNodeIds;
};

StatusOr<std::unique_ptr<VolumeAttachmentReconciler>> VolumeAttachmentReconciler::create(
    KubeClient& client, attach::AttachmentManager& manager, std::string driverName,
    PolicyResolver resolver, Fencer fencer, volume::VolumeLocks* locks) {
  if (driverName.empty()) return Status(Code::kInvalidArgument, "reconciler: driver name is empty");
  if (!resolver) return Status(Code::kInvalidArgument, "reconciler: policy resolver is empty");
  if (!fencer) return Status(Code::kInvalidArgument, "reconciler: fencer is empty");
  return std::unique_ptr<VolumeAttachmentReconciler>(new VolumeAttachmentReconciler(
      client, manager, std::move(driverName), std::move(resolver), std::move(fencer), locks));
}

VolumeAttachmentReconciler::VolumeAttachmentReconciler(KubeClient& client,
                                                       attach::AttachmentManager& manager,
                                                       std::string driverName,
                                                       PolicyResolver resolver, Fencer fencer,
                                                       volume::VolumeLocks* locks)
    : client_(client),
      manager_(manager),
      driverName_(std::move(driverName)),
      resolver_(std::move(resolver)),
      fencer_(std::move(fencer)),
      locks_(locks) {}

VolumeAttachmentReconciler::~VolumeAttachmentReconciler() { stop(); }

Status VolumeAttachmentReconciler::reconcileOnce() {
  std::lock_guard pass(passMu_);
  const uint64_t passNumber = passesStarted_.fetch_add(1) + 1;

  // Taken before listing: an attachment committed after this point may belong to a
  // VolumeAttachment the list below does not show yet, so only these may be forgotten.
  const std::vector<attach::VolumeAttachmentState> before = manager_.all();

  StatusOr<std::vector<nlohmann::json>> items = listVolumeAttachments();
  if (!items.isOk()) return items.status();
  ClusterView view = mapToVolumes(*items);
  reportUnknownNodes(view);
  const bool rebuildDeferred = rebuild(view);

  if (!view.complete) {
    spdlog::warn(
        "VolumeAttachment reconciliation: not every VolumeAttachment could be mapped to its "
        "volume; no attachment forgotten this pass");
    return view.firstError;
  }
  // Every attachment the cluster has is now in the manager (or was refused as a conflict,
  // which is reported): publishes may be decided. Not while a volume waits for a busy lock or
  // for a node whose CSINode entry is missing: its attachments are not known yet.
  if (!rebuildDeferred && view.deferredVolumes.empty()) {
    lastCompletePass_ = passNumber;
    if (!synced_.exchange(true) && onFirstComplete_) onFirstComplete_();
  }
  if (mayFence_ && !mayFence_()) {
    spdlog::debug("VolumeAttachment reconciliation: standing by, nothing fenced or forgotten");
    return view.firstError;
  }
  forget(before, view);
  return view.firstError;
}

StatusOr<std::vector<nlohmann::json>> VolumeAttachmentReconciler::listVolumeAttachments() {
  std::vector<nlohmann::json> items;
  std::string continueToken;
  do {
    std::string path = std::string(kVolumeAttachmentsPath) + "?limit=" + std::to_string(kPageSize);
    if (!continueToken.empty()) path += "&continue=" + urlEncode(continueToken);
    StatusOr<nlohmann::json> page = client_.get(path);
    if (!page.isOk()) {
      spdlog::warn("VolumeAttachment reconciliation skipped: {}", page.status().toString());
      return Status(page.status().code(), "listing VolumeAttachments: " + page.status().message());
    }
    if (!page->contains("items") || !(*page)["items"].is_array()) {
      return Status(Code::kInternal, "listing VolumeAttachments: answer has no items list");
    }
    for (auto& item : (*page)["items"]) items.push_back(std::move(item));
    continueToken = stringAt(*page, "/metadata/continue"_json_pointer);
  } while (!continueToken.empty());
  return items;
}

VolumeAttachmentReconciler::ClusterView VolumeAttachmentReconciler::mapToVolumes(
    const std::vector<nlohmann::json>& items) {
  ClusterView view;
  Lookups lookups;
  for (const nlohmann::json& item : items) {
    if (stringAt(item, "/spec/attacher"_json_pointer) != driverName_) continue;
    std::optional<ClusterAttachment> entry = mapAttachment(item, lookups, view);
    if (entry) view.attachments.push_back(std::move(*entry));
  }
  // Replayed per volume, oldest VolumeAttachment first.
  std::sort(view.attachments.begin(), view.attachments.end(),
            [](const ClusterAttachment& a, const ClusterAttachment& b) {
              return std::tie(a.creationTimestamp, a.name) < std::tie(b.creationTimestamp, b.name);
            });
  for (const ClusterAttachment& entry : view.attachments)
    view.inCluster.emplace(entry.volumeHandle, entry.node);
  return view;
}

std::optional<VolumeAttachmentReconciler::ClusterAttachment>
VolumeAttachmentReconciler::mapAttachment(const nlohmann::json& item, Lookups& lookups,
                                          ClusterView& view) {
  ClusterAttachment entry;
  entry.name = stringAt(item, "/metadata/name"_json_pointer);
  entry.node = stringAt(item, "/spec/nodeName"_json_pointer);
  entry.creationTimestamp = stringAt(item, "/metadata/creationTimestamp"_json_pointer);
  entry.deleting = item.contains("/metadata/deletionTimestamp"_json_pointer) &&
                   !item.at("/metadata/deletionTimestamp"_json_pointer).is_null();
  const auto attachedPointer = "/status/attached"_json_pointer;
  entry.attached = item.contains(attachedPointer) && item.at(attachedPointer).is_boolean() &&
                   item.at(attachedPointer).get<bool>();
  const auto metadataPointer = "/status/attachmentMetadata"_json_pointer;
  auto recorded = attach::parseRecordedWindow(
      item.contains(metadataPointer) ? item.at(metadataPointer) : nlohmann::json());
  if (recorded.isOk()) {
    entry.recordedWindow = *recorded;
  } else {
    // Only the window's length is lost: a rebuild falls back to the volume's class.
    spdlog::warn(
        "VolumeAttachment {}: {}; a migration it opened is rebuilt with the volume's "
        "current window",
        entry.name, recorded.status().message());
  }
  if (entry.node.empty()) {
    view.problem(Status(Code::kInternal, "VolumeAttachment " + entry.name + " has no nodeName"));
    return std::nullopt;
  }
  const std::string pvName = stringAt(item, "/spec/source/persistentVolumeName"_json_pointer);
  if (!pvName.empty()) {
    auto cached = lookups.persistentVolumes.find(pvName);
    if (cached == lookups.persistentVolumes.end()) {
      cached = lookups.persistentVolumes
                   .emplace(pvName, client_.get("/api/v1/persistentvolumes/" + urlEncode(pvName)))
                   .first;
    }
    if (!cached->second.isOk()) {
      const Status& status = cached->second.status();
      spdlog::warn("VolumeAttachment {}: PersistentVolume {}: {}", entry.name, pvName,
                   status.toString());
      view.problem(Status(status.code(), "VolumeAttachment " + entry.name + ": PersistentVolume " +
                                             pvName + ": " + status.message()));
      return std::nullopt;
    }
    entry.pv = *cached->second;
  } else if (item.contains("/spec/source/inlineVolumeSpec"_json_pointer)) {
    entry.pv = {{"spec", item.at("/spec/source/inlineVolumeSpec"_json_pointer)}};
  }
  entry.volumeHandle = stringAt(entry.pv, "/spec/csi/volumeHandle"_json_pointer);
  if (entry.volumeHandle.empty()) {
    view.problem(Status(Code::kInternal,
                        "VolumeAttachment " + entry.name + " leads to no CSI volume handle"));
    return std::nullopt;
  }

  // The attachment manager knows nodes by the CSI node id the attacher passed.
  auto cachedNode = lookups.csiNodeIds.find(entry.node);
  if (cachedNode == lookups.csiNodeIds.end())
    cachedNode = lookups.csiNodeIds.emplace(entry.node, csiNodeIdOf(entry.node)).first;
  if (!cachedNode->second.isOk()) {
    view.problem(Status(cachedNode->second.status().code(),
                        "VolumeAttachment " + entry.name + ": CSINode " + entry.node + ": " +
                            cachedNode->second.status().message()));
    return std::nullopt;
  }
  if (!cachedNode->second->has_value()) {
    // Not the bare name: that would be another node to the manager, whose records would be
    // forgotten and rebuilt under it (conflicts, a migration out of nothing).
    ++view.unknownNodes[entry.node];
    view.deferredVolumes.insert(entry.volumeHandle);
    return std::nullopt;
  }
  entry.node = **cachedNode->second;
  return entry;
}

void VolumeAttachmentReconciler::reportUnknownNodes(ClusterView& view) const {
  for (const auto& [node, count] : view.unknownNodes) {
    const std::string message =
        "node " + node + " has no CSINode entry for driver " + driverName_ +
        " (its node plugin is not registered, e.g. restarting): its " + std::to_string(count) +
        " VolumeAttachment(s) wait for a later pass, no attachment on it is forgotten and no "
        "volume attached there is rebuilt";
    spdlog::warn("VolumeAttachment reconciliation: {}", message);
    view.note(Status(Code::kUnavailable, message));
  }
}

bool VolumeAttachmentReconciler::rebuild(ClusterView& view) {
  std::map<std::string, std::vector<const ClusterAttachment*>> byVolume;
  for (const ClusterAttachment& entry : view.attachments)
    if (entry.attached && !entry.deleting) byVolume[entry.volumeHandle].push_back(&entry);

  bool deferred = false;  // a busy volume's attachments wait for the next pass
  for (const auto& [volumeHandle, entries] : byVolume) {
    if (view.deferredVolumes.count(volumeHandle) != 0) {
      // Rebuilding without the unknown node's attachment could make the wrong node a
      // migration's source once it is back.
      spdlog::debug("volume {} has a VolumeAttachment on an unknown node: rebuild deferred",
                    volumeHandle);
      continue;
    }
    const std::optional<volume::VolumeLocks::Guard> guard =
        locks_ != nullptr ? locks_->tryLock(volumeHandle) : std::nullopt;
    if (locks_ != nullptr && !guard) {
      spdlog::debug("volume {} busy: reconciliation deferred", volumeHandle);
      deferred = true;
      continue;
    }
    rebuildVolume(volumeHandle, entries, view);
  }
  return deferred;
}

void VolumeAttachmentReconciler::rebuildVolume(const std::string& volumeHandle,
                                               const std::vector<const ClusterAttachment*>& entries,
                                               ClusterView& view) {
  const attach::VolumeAttachmentState current = manager_.state(volumeHandle);
  std::vector<const ClusterAttachment*> missing;
  for (const ClusterAttachment* entry : entries) {
    if (std::find(current.nodes.begin(), current.nodes.end(), entry->node) == current.nodes.end())
      missing.push_back(entry);
  }
  if (missing.empty()) return;

  StatusOr<ResolvedVolume> resolved = resolver_(volumeHandle, missing.front()->pv);
  if (!resolved.isOk()) {
    spdlog::warn("cannot rebuild attachments of volume {}: {}", volumeHandle,
                 resolved.status().toString());
    view.note(Status(resolved.status().code(),
                     "volume " + volumeHandle + ": " + resolved.status().message()));
    return;
  }
  for (const ClusterAttachment* entry : missing) {
    // A migration this entry opened keeps the length it opened with, whatever the volume's
    // class says now (a change during a migration applies to the next one).
    attach::VolumePolicy policy = resolved->policy;
    if (entry->recordedWindow) policy.migrationTimeout = *entry->recordedWindow;
    StatusOr<attach::PublishPlan> plan = manager_.planPublish(
        volumeHandle, entry->node, policy, resolved->backend, resolved->metricsPrefix,
        resolved->pvc, parseCreationTimestamp(entry->creationTimestamp));
    if (!plan.isOk()) {
      spdlog::warn("VolumeAttachment {}: cannot rebuild attachment of volume {} on node {}: {}",
                   entry->name, volumeHandle, entry->node, plan.status().toString());
      view.note(plan.status());
      continue;
    }
    if (plan->action == attach::PublishPlan::Action::kAlreadyAttached) continue;
    const Status committed = manager_.commitPublish(*plan);
    if (!committed.isOk()) {
      spdlog::error("VolumeAttachment {}: recording attachment of volume {} on node {}: {}",
                    entry->name, volumeHandle, entry->node, committed.toString());
      view.note(committed);
      continue;
    }
    spdlog::info("rebuilt attachment of volume {} on node {} from VolumeAttachment {}{}",
                 volumeHandle, entry->node, entry->name,
                 plan->action == attach::PublishPlan::Action::kStartMigration
                     ? " (migration window reopened)"
                     : "");
  }
}

void VolumeAttachmentReconciler::forget(const std::vector<attach::VolumeAttachmentState>& before,
                                        ClusterView& view) {
  for (const attach::VolumeAttachmentState& state : before) {
    std::vector<std::string> gone;
    for (const std::string& node : state.nodes) {
      if (view.inCluster.count({state.volumeId, node}) != 0) continue;
      // A record on a node whose VolumeAttachments could not be mapped may be one of them.
      if (view.unknownNodes.count(attach::nodeDisplayName(node)) != 0) continue;
      gone.push_back(node);
    }
    if (gone.empty()) continue;
    const std::optional<volume::VolumeLocks::Guard> guard =
        locks_ != nullptr ? locks_->tryLock(state.volumeId) : std::nullopt;
    if (locks_ != nullptr && !guard) {
      spdlog::debug("volume {} busy: reconciliation deferred", state.volumeId);
      continue;
    }
    for (const std::string& node : gone) forgetAttachment(state.volumeId, node, view);
  }
}

void VolumeAttachmentReconciler::forgetAttachment(const std::string& volumeId,
                                                  const std::string& node, ClusterView& view) {
  StatusOr<attach::UnpublishPlan> plan = manager_.planUnpublish(volumeId, node);
  if (!plan.isOk()) {
    view.note(plan.status());
    return;
  }
  if (plan->action == attach::UnpublishPlan::Action::kNotAttached) return;
  // The record goes only once the node can no longer reach the volume: a record dropped
  // with the fence open would leave a node nobody detaches, and let DeleteVolume proceed.
  const Status fenced = fencer_(volumeId, node);
  if (!fenced.isOk()) {
    spdlog::warn(
        "attachment of volume {} on node {} has no VolumeAttachment but stays recorded: "
        "closing its storage fence failed: {}; retried next pass",
        volumeId, node, fenced.toString());
    view.note(Status(fenced.code(), "volume " + volumeId + " on node " + node +
                                        ": closing the storage fence: " + fenced.message()));
    return;
  }
  const Status forgotten = manager_.commitForget(*plan);
  if (!forgotten.isOk()) {
    spdlog::error("forgetting attachment of volume {} on node {}: {}", volumeId, node,
                  forgotten.toString());
    view.note(forgotten);
    return;
  }
  const bool migrating = plan->action != attach::UnpublishPlan::Action::kDetach;
  spdlog::info(
      "forgot attachment of volume {} on node {}: no VolumeAttachment in the cluster, "
      "storage fence closed{}",
      volumeId, node,
      migrating ? "; its migration ended outside the driver (no outcome reported)" : "");
}

StatusOr<std::optional<std::string>> VolumeAttachmentReconciler::csiNodeIdOf(
    const std::string& nodeName) {
  StatusOr<nlohmann::json> csiNode =
      client_.get("/apis/storage.k8s.io/v1/csinodes/" + urlEncode(nodeName));
  if (!csiNode.isOk()) {
    if (csiNode.status().code() == Code::kNotFound) return std::optional<std::string>();
    return csiNode.status();
  }
  const auto driversPointer = "/spec/drivers"_json_pointer;
  if (csiNode->contains(driversPointer) && csiNode->at(driversPointer).is_array())
    for (const auto& driver : csiNode->at(driversPointer))
      if (driver.is_object() && driver.value("name", "") == driverName_ &&
          driver.contains("nodeID") && driver["nodeID"].is_string() &&
          !driver["nodeID"].get<std::string>().empty())
        return std::optional<std::string>(driver["nodeID"].get<std::string>());
  return std::optional<std::string>();
}

void VolumeAttachmentReconciler::onFirstCompletePass(std::function<void()> callback) {
  std::lock_guard pass(passMu_);
  onFirstComplete_ = std::move(callback);
}

Status VolumeAttachmentReconciler::start(std::chrono::seconds period) {
  if (period <= std::chrono::seconds::zero())
    return Status(Code::kInvalidArgument, "reconciliation period must be positive");
  std::lock_guard lock(mu_);
  if (thread_.joinable())
    return Status(Code::kFailedPrecondition, "VolumeAttachment reconciler already started");
  stopping_ = false;
  thread_ = std::thread([this, period] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      const Status status = reconcileOnce();
      if (!status.isOk()) {
        spdlog::warn("VolumeAttachment reconciliation incomplete: {}", status.toString());
      }
      lock.lock();
      const std::chrono::seconds wait = synced_ ? period : std::min(period, kUnsyncedRetry);
      wake_.wait_for(lock, wait, [this] { return stopping_ || passRequested_; });
      passRequested_ = false;
    }
  });
  return Status::ok();
}

void VolumeAttachmentReconciler::setFencingGate(std::function<bool()> mayFence) {
  mayFence_ = std::move(mayFence);
}

void VolumeAttachmentReconciler::requestPass() {
  {
    std::lock_guard lock(mu_);
    passRequested_ = true;
  }
  wake_.notify_all();
}

void VolumeAttachmentReconciler::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

}  // namespace polycsi::kube
