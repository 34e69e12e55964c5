#include "nvme_tcp_connector.hpp"

#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

extern "C" {
#include <nvme/fabrics.h>
#include <nvme/tree.h>
#include <nvme/util.h>
}

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
  std::string controller;  // "nvme3" on success
  int error = 0;           // errno (or libnvme's ENVME_CONNECT_*) on failure
  std::string messages;    // what libnvme logged
};

// Captures libnvme's log of one tree in memory.
class LogBuffer {
 public:
  LogBuffer() : file_(open_memstream(&data_, &size_)) {}
  ~LogBuffer() {
    if (file_) std::fclose(file_);
    std::free(data_);
  }
  LogBuffer(const LogBuffer&) = delete;
  LogBuffer& operator=(const LogBuffer&) = delete;
  FILE* file() const { return file_; }
  std::string text() {
    if (!file_) return "";
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  FILE* file_;
};

void runConnect(const NvmeTcpTarget& target, const NvmeConnectOptions& options,
                ConnectOutcome& outcome) {
  LogBuffer log;
  std::string controller;
  int error = 0;
  nvme_root_t root = nvme_create_root(log.file() ? log.file() : stderr, LOG_ERR);
  if (root == nullptr) {
    error = errno != 0 ? errno : ENOMEM;
  } else {
    nvme_host_t host = nvme_lookup_host(root, options.hostNqn.c_str(),
                                        options.hostId ? options.hostId->c_str() : nullptr);
    nvme_ctrl_t ctrl =
        host == nullptr ? nullptr
                        : nvme_create_ctrl(root, target.nqn.c_str(), "tcp", target.address.c_str(),
                                           nullptr, nullptr, target.port.c_str());
    if (ctrl == nullptr) {
      error = errno != 0 ? errno : ENOMEM;
    } else {
      nvme_fabrics_config config;
      nvmf_default_config(&config);
      config.ctrl_loss_tmo = options.ctrlLossTmoSeconds;
      config.reconnect_delay = options.reconnectDelaySeconds;
      config.keep_alive_tmo = options.keepAliveTmoSeconds;
      errno = 0;
      if (nvmf_add_ctrl(host, ctrl, &config) == 0 && nvme_ctrl_get_name(ctrl) != nullptr) {
        controller = nvme_ctrl_get_name(ctrl);
      } else {
        error = errno != 0 ? errno : EIO;
        // Not linked into the tree when the connect failed: the tree would not free it.
        nvme_free_ctrl(ctrl);
      }
    }
    nvme_free_tree(root);
  }
  std::string messages = log.text();
  std::lock_guard<std::mutex> lock(outcome.mu);
  outcome.controller = std::move(controller);
  outcome.error = error;
  outcome.messages = std::move(messages);
  outcome.done = true;
  outcome.cv.notify_all();
}

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
  requireFabricsDevice();
  call.checkpoint("connecting NVMe/TCP " + describe(target));
  auto outcome = std::make_shared<ConnectOutcome>();
  std::thread([target, options, outcome] { runConnect(target, options, *outcome); }).detach();

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
  if (!outcome->controller.empty()) return outcome->controller;

  std::string reason = outcome->error >= ENVME_CONNECT_RESOLVE
                           ? nvme_errno_to_string(outcome->error)
                           : std::strerror(outcome->error);
  std::string detail = oneLine(outcome->messages);
  std::string message = "NVMe/TCP connect to " + describe(target) + " failed: " + reason +
                        (detail.empty() ? "" : " (libnvme: " + detail + ")");
  if (outcome->error == ENVME_CONNECT_ALREADY || outcome->error == EALREADY)
    message +=
        "; the kernel still has a controller for this target (being removed or "
        "reconnecting): retry later";
  if (outcome->error == ENVME_CONNECT_OPEN && ::access(kFabricsDevice, F_OK) != 0)
    requireFabricsDevice();
  throw Error(Code::kUnavailable, message);
}

}  // namespace polycsi::rds_nvme
