#include "process_memory.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace polycsi::bench {

MemoryStatus readMemoryStatus(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + " (has the process exited?)");
  MemoryStatus status;
  bool rss = false, hwm = false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    double kib = 0;
    fields >> key >> kib;
    if (key == "VmRSS:") {
      status.rss_mib = kib / 1024.0;
      rss = true;
    } else if (key == "VmHWM:") {
      status.hwm_mib = kib / 1024.0;
      hwm = true;
    } else if (key == "RssAnon:") {
      status.anon_mib = kib / 1024.0;
    } else if (key == "RssFile:") {
      status.file_mib = kib / 1024.0;
    }
  }
  if (!rss || !hwm) throw std::runtime_error(path + " has no VmRSS/VmHWM");
  return status;
}

std::vector<MappingRss> readRssByMapping(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/smaps";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::map<std::string, double> kib_by_name;
  std::string current = "[anon]";
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // A mapping header starts with "start-end perms offset dev inode [name]"; field lines
    // start with a capitalised key and a colon.
    const std::size_t colon = line.find(':');
    const std::size_t space = line.find(' ');
    const bool field = colon != std::string::npos && colon < space;
    if (!field) {
      std::istringstream header(line);
      std::string range, perms, offset, device, inode, name;
      header >> range >> perms >> offset >> device >> inode;
      std::getline(header >> std::ws, name);
      current = name.empty() ? "[anon]" : name;
      continue;
    }
    if (line.compare(0, 4, "Rss:") == 0) {
      std::istringstream value(line.substr(4));
      double kib = 0;
      value >> kib;
      kib_by_name[current] += kib;
    }
  }
  std::vector<MappingRss> result;
  for (const auto& [name, kib] : kib_by_name) result.push_back({name, kib / 1024.0});
  std::sort(result.begin(), result.end(),
            [](const MappingRss& a, const MappingRss& b) { return a.rss_mib > b.rss_mib; });
  return result;
}

}  // namespace polycsi::bench
