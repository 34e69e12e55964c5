#include "listing_generator.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "disk_commands.hpp"
#include "disk_store.hpp"
#include "fault_injector.hpp"

namespace polycsi::bench {
namespace {

// Removes the state directory however the generator leaves.
class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/polycsi-bench-listing.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed under /tmp");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string uuidLike(int n) {
  char text[48];
  std::snprintf(text, sizeof(text), "%08x-%04x-4%03x-8%03x-%012x", 0x5eed0000u + n, n & 0xffff,
                n & 0xfff, (n * 7) & 0xfff, n * 2654435761u);
  return text;
}

}  // namespace

std::string generateDiskListing(int disks, int terminal_width) {
  const ScratchDir scratch;
  // The state file format of tools/rds-sim/disk_store.cc (version 1); pools take ids 1..N.
  nlohmann::json state = {{"version", 1}, {"next_id", disks + 2}};
  state["disks"] = nlohmann::json::array();
  for (int i = 0; i < disks; ++i) {
    const std::string slot = "pvc-" + uuidLike(i);
    const bool exported = i % 2 == 0;
    state["disks"].push_back({
        {"id", i + 2},
        {"slot", slot},
        {"file_path", "/storage-pool/polycsi/" + slot + ".img"},
        {"file_size", (std::uint64_t{1} + static_cast<std::uint64_t>(i % 50)) << 30},
        {"nvme_tcp_export", exported},
        {"nvme_tcp_server_port", 4420},
        {"nvme_tcp_server_nqn", exported ? "nqn.2000-02.com.mikrotik:" + slot : ""},
        {"nvme_tcp_server_allow_host_name",
         exported ? "nqn.2014-08.org.nvmexpress:uuid:" + uuidLike(i + 1) +
                        ",nqn.2014-08.org.nvmexpress:uuid:" + uuidLike(i + 2)
                  : ""},
        {"comment", i % 4 == 0 ? "polycsi volume " + slot : ""},
        {"mount_filesystem", true},
        {"mount_read_only", false},
        {"compress", false},
    });
  }
  {
    std::ofstream out(scratch.path() / "rds-sim-state.json");
    out << state.dump();
    if (!out) throw std::runtime_error("cannot write the generated rds-sim state file");
  }
  rds_sim::DiskStore store(
      scratch.path(),
      {rds_sim::Pool{"storage-pool", scratch.path() / "storage-pool", std::uint64_t{100} << 40}});
  rds_sim::FaultInjector faults;
  rds_sim::CommandProcessor processor(store, faults, nullptr);
  const rds_sim::CommandOutcome outcome = processor.execute("/disk print detail", terminal_width);
  if (outcome.exit_status != 0) {
    throw std::runtime_error("rds-sim refused /disk print detail: " + outcome.output);
  }
  return outcome.output;
}

}  // namespace polycsi::bench
