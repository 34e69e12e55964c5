#include "temp_directory.hpp"

#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "child_process.hpp"

namespace polycsi::testing {
namespace {

// Mount points below `dir`, deepest first.
std::vector<std::string> mountsBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mounts");
  std::string device, target, rest;
  while (in >> device >> target && std::getline(in, rest))
    if (target.rfind(dir + "/", 0) == 0) out.push_back(target);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

// Loop devices whose backing file lies below `dir`.
std::vector<std::string> loopsBackedBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/block", ec)) {
    std::string name = entry.path().filename();
    if (name.rfind("loop", 0) != 0) continue;
    std::ifstream in(entry.path() / "loop" / "backing_file");
    std::string backing;
    if (std::getline(in, backing) && backing.rfind(dir + "/", 0) == 0)
      out.push_back("/dev/" + name);
  }
  return out;
}

// Best effort: a destructor cannot report, and what is left is found by the next run's checks.
void runQuietly(const std::vector<std::string>& argv) {
  try {
    CommandOptions options;
    options.timeout = std::chrono::seconds(30);
    runCommand(argv, options);
  } catch (const std::exception&) {
  }
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
  path_ = pattern;
  text_ = pattern;
}

TempDir::~TempDir() {
  for (const auto& target : mountsBelow(text_)) runQuietly({"umount", target});
  for (const auto& loop : loopsBackedBelow(text_)) runQuietly({"losetup", "-d", loop});
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace polycsi::testing
