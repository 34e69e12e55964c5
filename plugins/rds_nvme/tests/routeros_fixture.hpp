// The corpus of published RouterOS output (fixtures/routeros/*.txt): each file is one reply as a
// public transcript shows it, after a header of `# key: value` lines naming the command it
// answers, its source and the exit status, ended by a `#---` line. Everything after that line is
// the reply byte for byte.
//
// THREADING: plain functions reading files; no shared state.
#pragma once

#include <string>
#include <vector>

namespace polycsi::rds_nvme::corpus {

struct RouterOsFixture {
  std::string name;     // file name, e.g. "disk_where_slot_rds2216.txt"
  std::string command;  // the `# command:` line
  std::string source;   // the `# source:` line and the lines that continue it
  int exitStatus = 0;   // the `# exit-status:` line
  std::string output;   // the reply, exactly
};

// Names of every fixture file, sorted.
std::vector<std::string> routerOsFixtureNames();

// Reads one fixture; throws std::runtime_error naming the file when it is missing or lacks
// its header (`# source:`, `# exit-status:` and the `#---` line are required).
RouterOsFixture loadRouterOsFixture(const std::string& name);

}  // namespace polycsi::rds_nvme::corpus
