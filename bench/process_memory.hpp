// Resident memory of a process, from /proc: the kernel's VmRSS/VmHWM and a per-mapping
// breakdown (smaps) that tells the shared libraries apart from the heap.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace polycsi::bench {

struct MemoryStatus {
  double rss_mib = 0;   // VmRSS: resident now
  double hwm_mib = 0;   // VmHWM: the peak resident set since exec
  double anon_mib = 0;  // RssAnon: heap, stacks and other private anonymous memory
  double file_mib = 0;  // RssFile: pages of the executable and shared libraries
};

// Reads /proc/<pid>/status. Throws std::runtime_error when the process is gone or the fields
// are missing.
MemoryStatus readMemoryStatus(pid_t pid);

// Resident KiB per mapping name ("/usr/lib/x86_64-linux-gnu/libgrpc.so.29", "[heap]",
// "[anon]" for nameless mappings), largest first.
struct MappingRss {
  std::string name;
  double rss_mib = 0;
};

// Reads /proc/<pid>/smaps and sums Rss per mapping name. Throws std::runtime_error when the
// file cannot be read.
std::vector<MappingRss> readRssByMapping(pid_t pid);

}  // namespace polycsi::bench
