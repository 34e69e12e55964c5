// How an open migration window outlives the controller replica that opened it.
//
// ControllerPublishVolume of a migration's target returns the window's length in its
// publish_context under kRecordedWindowKey; external-attacher keeps that map as the
// VolumeAttachment's status.attachmentMetadata (v4.7.0 pkg/controller/util.go, markAsAttached,
// with the publish context of the ControllerPublishVolume answer). A replica that rebuilds the
// migration from the cluster (kube/volume_attachment_reconciler.hpp), e.g. after a takeover,
// reopens the window with the length it opened with rather than what the volume's
// VolumeAttributesClass says now: a class changed during a migration applies to the next one
// (docs/kubevirt-migration.md). The start stays the target VolumeAttachment's creationTimestamp, a
// lower bound of the real start.
//
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "attach/attachment_state.hpp"
#include "polycsi/types.hpp"

namespace polycsi::attach {

// The core's key ("polycsi.io/" keys never reach a plugin: server/proto_maps.hpp).
inline constexpr char kRecordedWindowKey[] = "polycsi.io/migration-window-seconds";
// The longest window a StorageClass or VolumeAttributesClass may give
// (server/csi_validation.hpp kMigrationTimeoutMax, which checks it is the same).
inline constexpr int kRecordedWindowMaxSeconds = 3600;

// The value to put under kRecordedWindowKey in the publish context answered to `nodeId`: the
// window's length in whole seconds when `state` has an open window whose target is `nodeId`,
// else nullopt (the source, and every attachment outside a migration, carry none).
std::optional<std::string> recordedWindowFor(const VolumeAttachmentState& state,
                                             const std::string& nodeId);

// The window length a VolumeAttachment's status.attachmentMetadata (`metadata`, an object or
// null) records: nullopt when it records none; INVALID_ARGUMENT naming the key when the value
// is not a whole number of seconds from 1 to kRecordedWindowMaxSeconds.
StatusOr<std::optional<std::chrono::seconds>> parseRecordedWindow(const nlohmann::json& metadata);

}  // namespace polycsi::attach
