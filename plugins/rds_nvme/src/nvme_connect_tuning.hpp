// Per-volume tuning of the node's NVMe/TCP connection, from StorageClass parameters, carried to
// the node in the volume context under the same keys: rds-csi's names and meanings
// (3whiskeywhiskey/rds-csi@9759724, pkg/driver/params.go and node.go), so its StorageClasses
// work unchanged and the PVs it created keep the values it gave them.
//
//   ctrlLossTmo     seconds the kernel keeps reconnecting a lost controller, I/O waiting,
//                   before it fails I/O and removes the controller; -1 forever, 0 the kernel's
//                   default (600), else 1-604800          nvme connect --ctrl-loss-tmo
//   reconnectDelay  seconds between two reconnect attempts, 1-3600     --reconnect-delay
//   keepAliveTmo    NVMe keep-alive timeout in seconds; 0 the kernel's default (5), else
//                   1-3600                                               --keep-alive-tmo
// A key that is absent leaves the node's backend setting (ctrl_loss_tmo_seconds,
// reconnect_delay_seconds, keep_alive_tmo_seconds) in force. libnvme passes 0 as "not given"
// (fabrics.c, add_int_argument), so the kernel's default applies then.
// THREADING: pure functions.
#pragma once

#include <optional>

#include "nvme_tcp_connector.hpp"
#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

inline constexpr char kCtrlLossTmo[] = "ctrlLossTmo";
inline constexpr char kReconnectDelay[] = "reconnectDelay";
inline constexpr char kKeepAliveTmo[] = "keepAliveTmo";

struct NvmeConnectTuning {
  std::optional<int> ctrlLossTmoSeconds;
  std::optional<int> reconnectDelaySeconds;
  std::optional<int> keepAliveTmoSeconds;
};

// Reads the three keys from `values` (StorageClass parameters or a volume context), ignoring
// every other key. INVALID_ARGUMENT naming `where`, the key and the accepted range when a value
// is not a whole number in range.
NvmeConnectTuning parseConnectTuning(const StringMap& values, const char* where);

// Writes the values that are set into `context`, as parseConnectTuning reads them.
void addToVolumeContext(const NvmeConnectTuning& tuning, StringMap& context);

// `options` with the values that are set replaced.
NvmeConnectOptions tuned(NvmeConnectOptions options, const NvmeConnectTuning& tuning);

}  // namespace polycsi::rds_nvme
