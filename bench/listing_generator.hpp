// A RouterOS `/disk print detail` listing of N file disks, rendered by rds-sim's own command
// processor (tools/rds-sim) from a state file written directly, so the text has exactly the
// layout, wrapping and quoting the rds_nvme plugin reads from the simulator, without creating
// N disks one SSH command at a time.
#pragma once

#include <string>

namespace polycsi::bench {

// Disks are named like the plugin's volumes ("pvc-<uuid>"), every second one exported over
// NVMe/TCP with an allow list of two host NQNs, every fourth one with a comment. The listing
// also holds the pool (one RAID entry). `terminal_width` is the column the simulator wraps at
// (64 when no pty is requested, as the plugin does). Throws std::runtime_error when the
// temporary state directory cannot be written.
std::string generateDiskListing(int disks, int terminal_width = 64);

}  // namespace polycsi::bench
