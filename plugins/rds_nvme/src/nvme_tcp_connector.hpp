// Connecting an NVMe/TCP controller with libnvme (nvmf_add_ctrl), which writes the connect
// string to /dev/nvme-fabrics and reads back the new controller's instance ("instance=3,..."
// → "nvme3"). libnvme is called through libpolycsi_rds_nvme_nvme.so, loaded on the first
// connect (nvme_module.hpp): the plugin itself does not link libnvme.
//
// The kernel's write blocks until the connection is made or refused (bounded by the TCP
// connect and the NVMe admin command timeouts, up to a few minutes for an unreachable target),
// so connect() runs it on a worker thread and waits only as long as the caller may: when that
// time is up it returns DEADLINE_EXCEEDED and the worker finishes on its own, the controller it
// may still create being found by the next attempt.
//
// THREADING: safe from several threads; each connect uses its own libnvme tree.
// IDEMPOTENCY: none by itself: a second connect to a connected subsystem is refused by the
// kernel ("already connected"). Callers look for an existing controller first.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

// The path libnvme writes to; fixed inside libnvme (not configurable).
inline constexpr char kFabricsDevice[] = "/dev/nvme-fabrics";

struct NvmeTcpTarget {
  std::string nqn;      // subsystem NQN (validated: no ',' or '=')
  std::string address;  // traddr (validated IP address or host name)
  std::string port;     // trsvcid
};

struct NvmeConnectOptions {
  std::string hostNqn;
  std::optional<std::string> hostId;
  int ctrlLossTmoSeconds = 600;
  int reconnectDelaySeconds = 10;
  int keepAliveTmoSeconds = 5;
};

// Throws FAILED_PRECONDITION naming the kernel module when /dev/nvme-fabrics is missing.
void requireFabricsDevice();

// Connects `target` with `options` and returns the new controller's name ("nvme3"). Errors:
// FAILED_PRECONDITION without /dev/nvme-fabrics or without the NVMe library (naming its path);
// UNAVAILABLE for a refused or failed connect, with libnvme's reason (also when the kernel still
// has a controller for the same target, e.g. one being deleted: retrying later helps);
// DEADLINE_EXCEEDED / CANCELLED per `call`.
std::string connectNvmeTcp(const NvmeTcpTarget& target, const NvmeConnectOptions& options,
                           const Call& call);

// A way to connect one path: connectNvmeTcp on a node; tests pass one that plays the kernel.
using NvmeConnector =
    std::function<std::string(const NvmeTcpTarget&, const NvmeConnectOptions&, const Call&)>;

}  // namespace polycsi::rds_nvme
