// libpolycsi_rds_nvme_nvme.so: the rds_nvme plugin's calls into libnvme, loaded by the plugin
// when a node first connects a volume or generates its host NQN (nvme_module.hpp says why).
// Nothing here throws out: the table's functions catch everything and report it in the result.
#include <syslog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

extern "C" {
#include <nvme/fabrics.h>
#include <nvme/tree.h>
#include <nvme/util.h>
}

#include "nvme_module.hpp"

namespace polycsi::rds_nvme {
namespace {

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

void connectController(const NvmeTcpTarget& target, const NvmeConnectOptions& options,
                       NvmeConnectResult& result) {
  LogBuffer log;
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
        result.controller = nvme_ctrl_get_name(ctrl);
      } else {
        error = errno != 0 ? errno : EIO;
        // Not linked into the tree when the connect failed: the tree would not free it.
        nvme_free_ctrl(ctrl);
      }
    }
    nvme_free_tree(root);
  }
  result.messages = log.text();
  if (!result.controller.empty()) return;
  result.reason =
      error >= ENVME_CONNECT_RESOLVE ? nvme_errno_to_string(error) : std::strerror(error);
  result.alreadyConnected = error == ENVME_CONNECT_ALREADY || error == EALREADY;
  result.fabricsOpenFailed = error == ENVME_CONNECT_OPEN;
}

void connect(const NvmeTcpTarget& target, const NvmeConnectOptions& options,
             NvmeConnectResult& result) {
  try {
    connectController(target, options, result);
  } catch (const std::exception& e) {
    result.controller.clear();
    result.reason = e.what();
  }
}

bool generateHostNqn(std::string& nqn) {
  try {
    std::unique_ptr<char, decltype(&std::free)> generated(nvmf_hostnqn_generate(), &std::free);
    if (!generated) return false;
    nqn = generated.get();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

constexpr NvmeModule kModule = {
    .size = sizeof(NvmeModule),
    .connect = &connect,
    .generateHostNqn = &generateHostNqn,
};

}  // namespace
}  // namespace polycsi::rds_nvme

extern "C" __attribute__((visibility("default"))) const polycsi::rds_nvme::NvmeModule*
polycsi_rds_nvme_nvme_module_v1() {
  return &polycsi::rds_nvme::kModule;
}
