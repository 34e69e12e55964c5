// CSI request rules the core enforces for every plugin: required fields, volume capabilities,
// capacity ranges, paths and StorageClass parameters the core itself understands.
// Stateless functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "csi.pb.h"
#include "polycsi/types.hpp"

namespace polycsi::server {

// StorageClass parameter that selects the backend instance.
inline constexpr char kBackendParameter[] = "backend";
// StorageClass parameter naming several backend instances of one plugin, comma separated: the
// class spans them, CreateVolume picks one by topology and capacity (docs/topology.md).
inline constexpr char kBackendsParameter[] = "backends";
// StorageClass parameter bounding the dual-attach window of migration_window volumes.
inline constexpr char kMigrationTimeoutParameter[] = "migrationTimeoutSeconds";
inline constexpr int kMigrationTimeoutMin = 30;
inline constexpr int kMigrationTimeoutMax = 3600;
inline constexpr int kMigrationTimeoutDefault = 300;
// StorageClass parameter turning on LUKS2 encryption of the volume on the node: "true" or
// "false" (docs/encryption.md).
inline constexpr char kEncryptedParameter[] = "encrypted";
// The key, in the node-stage Secret (and the node-expand Secret), that holds the passphrase.
inline constexpr char kEncryptionPassphraseKey[] = "encryptionPassphrase";
// Prefix of the keys the external-provisioner adds with --extra-create-metadata.
inline constexpr char kProvisionerPrefix[] = "csi.storage.k8s.io/";
inline constexpr char kPvcNameParameter[] = "csi.storage.k8s.io/pvc/name";
inline constexpr char kPvcNamespaceParameter[] = "csi.storage.k8s.io/pvc/namespace";
inline constexpr char kPvNameParameter[] = "csi.storage.k8s.io/pv/name";
// Keys the core adds to a volume's context (and strips before handing it to a plugin).
inline constexpr char kContextPrefix[] = "polycsi.io/";
inline constexpr char kContextMigrationTimeout[] = "polycsi.io/migration-timeout-seconds";
inline constexpr char kContextPvcName[] = "polycsi.io/pvc-name";
inline constexpr char kContextEncrypted[] = "polycsi.io/encrypted";
inline constexpr char kContextPvcNamespace[] = "polycsi.io/pvc-namespace";
// The PersistentVolume's name, so ControllerPublishVolume can read its VolumeAttributesClass
// (server/volume_attributes_class.hpp).
inline constexpr char kContextPvName[] = "polycsi.io/pv-name";

// The access and volume mode of one CSI VolumeCapability.
struct CapabilityModes {
  AccessMode access = AccessMode::kUnknown;
  VolumeMode volume = VolumeMode::kFilesystem;
};

// INVALID_ARGUMENT when `value` is empty, naming `field`.
Status requireField(const std::string& value, const char* field);

// Checks one capability is complete (access type set, access mode known, fs type allowed).
StatusOr<CapabilityModes> checkCapability(const csi::v1::VolumeCapability& capability,
                                          const char* field);

// Filesystem types the core formats and mounts (ext4, ext3, xfs) or mounts from a plugin's
// mount source (nfs, nfs4).
bool isSupportedFsType(const std::string& fsType);

// INVALID_ARGUMENT unless 0 <= required, 0 <= limit and (limit == 0 or required <= limit).
Status checkCapacityRange(const csi::v1::CapacityRange& range);

// An absolute path without NUL, newline or ".." components; INVALID_ARGUMENT naming `field`.
Status checkPath(const std::string& path, const char* field);

// migrationTimeoutSeconds from StorageClass parameters: default when absent; INVALID_ARGUMENT
// when not an integer in [30, 3600].
StatusOr<int> migrationTimeoutSeconds(const google::protobuf::Map<std::string, std::string>& p);
// The same rule for one value (a StorageClass parameter, or the volume context key that
// CreateVolume recorded): INVALID_ARGUMENT naming the value unless an integer in [30, 3600].
StatusOr<int> parseMigrationTimeout(const std::string& text);

// Whether `key` of `map` (StorageClass parameters, or a volume context) asks for encryption:
// false when absent; INVALID_ARGUMENT naming `field` and the value unless "true" or "false".
StatusOr<bool> encryptionRequested(const google::protobuf::Map<std::string, std::string>& map,
                                   const char* key, const std::string& field);

}  // namespace polycsi::server
