// The plugin's settings: Dell csi-powerstore's `arrays` list (so users can switch drivers
// without rewriting it) plus a few polycsi-specific settings.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::iscsi_powerstore {

// One array, in Dell's shape. nasName and nfsAcls are accepted (they belong to Dell's NFS
// support, which is not this plugin) and kept only so a config round-trips.
struct ArrayConfig {
  std::string endpoint;  // https://HOST[:PORT]/api/rest
  std::string globalID;
  std::string username;
  std::string password;
  bool skipCertificateValidation = false;  // explicit opt-in; verification is on by default
  bool isDefault = false;
  std::string blockProtocol = "ISCSI";
  std::string nasName;
  std::string nfsAcls;
  std::string caFile;  // PEM CA bundle for this array; default: the `ca_file` setting
  // Keys of the entry this plugin does not use (Dell's labels, metroTopology,
  // hostConnectivity, or anything newer): accepted so a Dell config works as is, and logged.
  std::vector<std::string> ignoredKeys;
};

struct PluginConfig {
  std::vector<ArrayConfig> arrays;
  std::chrono::milliseconds requestTimeout{30000};
  std::string initiatorNameFile = "/etc/iscsi/initiatorname.iscsi";
  std::string chapUser;  // node side: CHAP towards the portal, when set
  std::string chapPassword;
  // Mutual CHAP, on top of the pair above: what the target must answer with when the node
  // asks it to authenticate itself (the array initiator's chap_mutual_* pair). Empty: one-way.
  std::string chapMutualUser;
  std::string chapMutualPassword;
  std::string iscsiNodeDbDir = "/etc/iscsi/nodes";  // open-iscsi's node records, on the host
  // The host's root as the node plugin sees it (host_iscsiadm.hpp): iscsiadm runs chrooted
  // into it and the two paths above are resolved under it. "/" = the plugin runs on the host.
  std::string iscsiHostRoot = "/";
  std::chrono::milliseconds deviceWaitTimeout{30000};
  // TCP port of the arrays' iSCSI portals. The REST API names only their addresses
  // (ip_pool_address has no port attribute); arrays listen on 3260.
  int iscsiPort = 3260;
  // open-iscsi's node.session.timeo.replacement_timeout for this backend's sessions: how long
  // I/O waits for a lost session to come back before it fails (-1: until it does, 0: at
  // once). Unset: the host's iscsid.conf decides (open-iscsi's default is 120 s).
  std::optional<int> replacementTimeoutSeconds;
  // Node: dm-multipath over every portal (multipath_map.hpp): stage the map, not a path's
  // disk. Needs the host's multipathd (plugins/iscsi_powerstore/README.md).
  bool multipath = false;

  // The array named by a StorageClass's `arrayID`, or the default one when `arrayID` is
  // empty. INVALID_ARGUMENT when none matches (naming the known ids).
  const ArrayConfig& array(const std::string& arrayID) const;
  // The array with this globalID; NOT_FOUND when unknown.
  const ArrayConfig& arrayById(const std::string& globalID) const;
};

// Parses the settings (`settings` holds the scalar ones, `settingsJson` the whole map with the
// structured `arrays` list) for a process serving `role`: only a controller needs `arrays` (a
// node attaches from the publish context), though a node given them checks them too. Throws
// Error(INVALID_ARGUMENT) naming the bad field and array. Connects nowhere: it is also the
// plugin's check_settings.
PluginConfig parsePluginConfig(const StringMap& settings, const std::string& settingsJson,
                               Role role = Role::kAll);

// The setting specs for the descriptor.
std::vector<SettingSpec> pluginSettingSpecs();

}  // namespace polycsi::iscsi_powerstore
