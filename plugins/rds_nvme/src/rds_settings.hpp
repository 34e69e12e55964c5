// The rds_nvme backend's configuration: the `settings` of its entry in the driver config
// (secrets such as the private key and password come from there too, typically from a
// Kubernetes Secret the config references). See README.md for every key.
//
// THREADING: plain value, parsed once at init.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "polycsi/types.hpp"
#include "routeros_values.hpp"
#include "ssh_session.hpp"

namespace polycsi::rds_nvme {

struct RdsSettings {
  // SSH connection (required for the controller role; a node-only instance needs none).
  std::optional<HostAddress> address;
  PortNumber port = PortNumber::of(22, "port");
  std::string user;
  std::string privateKey;
  std::string privateKeyFile;
  std::string password;
  std::string hostKeyFingerprint;
  std::string hostPublicKey;
  bool insecureIgnoreHostKey = false;
  // Storage layout.
  std::optional<DiskPath> basePath;
  std::optional<MountPoint> pool;  // explicit `pool`; otherwise derived from the base path
  // NVMe/TCP export.
  std::optional<HostAddress> nvmeAddress;  // one path; default: address
  std::vector<HostAddress> nvmeAddresses;  // several paths (multipath); excludes nvmeAddress
  PortNumber nvmePort = PortNumber::of(4420, "nvme_port");
  Nqn nqnPrefix = Nqn::parsePrefix("nqn.2000-02.com.mikrotik", "nqn_prefix");
  SlotPrefix volumePrefix = SlotPrefix::parse("pvc-", "volume_prefix");
  // Behaviour.
  std::chrono::seconds commandTimeout{30};
  // Of one copy-from command, run by a background job (copy_jobs.hpp).
  std::chrono::seconds copyTimeout{3600};
  int poolSize = 8;
  std::chrono::seconds keepaliveInterval{30};
  bool fencing = true;
  bool deleteOrphans = false;
  std::chrono::seconds orphanScanInterval{600};
  // Node side (NVMe/TCP initiator).
  std::string hostNqnFile = "/etc/nvme/hostnqn";
  // How long the kernel keeps reconnecting a lost controller (I/O waits meanwhile) before it
  // removes the controller and fails I/O: nvme-cli's --ctrl-loss-tmo.
  std::chrono::seconds ctrlLossTmo{600};
  std::chrono::seconds reconnectDelay{10};  // between reconnect attempts (--reconnect-delay)
  std::chrono::seconds keepAliveTmo{5};     // NVMe keep-alive timeout (--keep-alive-tmo)
  std::chrono::seconds deviceTimeout{30};   // wait for the namespace's block device

  // Parses and checks `settings`; throws INVALID_ARGUMENT naming the offending key. With
  // `controller` true the SSH and storage settings are required, and the SSH keys are read (which
  // loads the SSH library). Keys outside rdsSettingSpecs()
  // are ignored: the core refuses them against the descriptor before any plugin code runs.
  static RdsSettings parse(const StringMap& settings, bool controller);
  // parse() for a process serving `role`, the result dropped: the plugin's check_settings.
  static void check(const StringMap& settings, Role role);

  // The NVMe/TCP paths nodes connect: nvme_addresses, else nvme_address, else address; empty
  // on a node-only instance without any of them.
  std::vector<HostAddress> nvmePaths() const;

  // The SSH options for the connection pool (controller only).
  SshOptions sshOptions() const;
};

// The setting specs the descriptor declares (kept next to the parser so they cannot drift).
std::vector<SettingSpec> rdsSettingSpecs();

}  // namespace polycsi::rds_nvme
