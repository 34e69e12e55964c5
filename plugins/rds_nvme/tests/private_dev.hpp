// Runs test code in a forked child inside a private mount namespace whose /dev is an empty
// tmpfs, so a test can control /dev/nvme-fabrics (missing, or a plain file that records the
// connect string libnvme writes) without touching the machine's real /dev.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace polycsi::rds_nvme::testing {

struct PrivateDevRun {
  bool ran = false;          // body ran and returned
  bool unavailable = false;  // namespaces or tmpfs mounts are not allowed here (`problem`)
  std::string output;        // what `body` returned, or "EXCEPTION: <what>"
  std::string problem;       // why it did not run, or how the child failed
};

// Forks; the child unshares its mount namespace, makes every mount private, mounts a tmpfs
// on /dev, runs `body` and sends its result back over a pipe. Waits at most 120 s for the
// child (then kills it, by its pid). Needs CAP_SYS_ADMIN.
PrivateDevRun runWithPrivateDev(const std::function<std::string()>& body);

}  // namespace polycsi::rds_nvme::testing
