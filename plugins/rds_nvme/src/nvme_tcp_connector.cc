// The plugin's side of connecting: waits for the connect that libpolycsi_rds_nvme_nvme.so runs
// (nvme_module.hpp), within the caller's deadline.
#include "nvme_tcp_connector.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "nvme_module.hpp"

namespace polycsi::rds_nvme {
namespace {

// libnvme's messages as one printable line, bounded.
std::string oneLine(const std::string& text) {
  constexpr size_t kMax = 600;
  std::string out;
  for (char c : text) {
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else {
      out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

// What one connect attempt came to; shared between the waiting caller and the worker, which
// may outlive the caller's wait.
struct ConnectOutcome {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  NvmeConnectResult result;
};

std::string describe(const NvmeTcpTarget& target) {
  return target.nqn + " at " + target.address + ":" + target.port;
}

}  // namespace

void requireFabricsDevice() {
  if (::access(kFabricsDevice, F_OK) == 0) return;
  throw Error(Code::kFailedPrecondition,
              "NVMe over Fabrics is not available on this node: /dev/nvme-fabrics is missing; "
              "load the nvme-tcp kernel module (modprobe nvme-tcp)");
}

std::string connectNvmeTcp(const NvmeTcpTarget& target, const NvmeConnectOptions& options,
                           const Call& call) {
  // Loaded here, in the caller's thread, so that a missing library is this call's error; and
  // first, since it is an installation fault that no kernel module fixes.
  const NvmeModule& nvme = nvmeModule();
  requireFabricsDevice();
  call.checkpoint("connecting NVMe/TCP " + describe(target));
  auto outcome = std::make_shared<ConnectOutcome>();
  std::thread([module = &nvme, target, options, outcome] {
    NvmeConnectResult result;
    module->connect(target, options, result);
    std::lock_guard<std::mutex> lock(outcome->mu);
    outcome->result = std::move(result);
    outcome->done = true;
    outcome->cv.notify_all();
  }).detach();

  std::unique_lock<std::mutex> lock(outcome->mu);
  while (!outcome->done) {
    if (call.isCancelled())
      throw Error(Code::kCancelled, "connecting NVMe/TCP " + describe(target) +
                                        ": cancelled; the kernel may still finish the connect, "
                                        "which the next attempt then finds");
    auto left = call.remaining();
    if (left.count() == 0)
      throw Error(Code::kDeadlineExceeded,
                  "connecting NVMe/TCP " + describe(target) +
                      " did not finish in time; the kernel may still finish the connect, which "
                      "the next attempt then finds");
    outcome->cv.wait_for(lock,
                         std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(100)));
  }
  const NvmeConnectResult& result = outcome->result;
  if (!result.controller.empty()) return result.controller;

  std::string detail = oneLine(result.messages);
  std::string message = "NVMe/TCP connect to " + describe(target) + " failed: " + result.reason +
                        (detail.empty() ? "" : " (libnvme: " + detail + ")");
  if (result.alreadyConnected)
    message +=
        "; the kernel still has a controller for this target (being removed or "
        "reconnecting): retry later";
  if (result.fabricsOpenFailed && ::access(kFabricsDevice, F_OK) != 0) requireFabricsDevice();
  throw Error(Code::kUnavailable, message);
}

}  // namespace polycsi::rds_nvme
