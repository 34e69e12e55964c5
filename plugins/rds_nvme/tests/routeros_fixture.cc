#include "routeros_fixture.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace polycsi::rds_nvme::corpus {
namespace {

const std::filesystem::path kFixtureDir = POLYCSI_ROUTEROS_FIXTURES;
constexpr char kEndOfHeader[] = "#---\n";

}  // namespace

std::vector<std::string> routerOsFixtureNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtureDir))
    if (entry.is_regular_file() && entry.path().extension() == ".txt")
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

RouterOsFixture loadRouterOsFixture(const std::string& name) {
  std::ifstream in(kFixtureDir / name, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read RouterOS fixture " + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const size_t end = text.find(kEndOfHeader);
  if (end == std::string::npos) throw std::runtime_error(name + ": no `#---` line");
  RouterOsFixture fixture;
  fixture.name = name;
  fixture.output = text.substr(end + sizeof(kEndOfHeader) - 1);
  std::istringstream header(text.substr(0, end));
  std::string line;
  std::string* last = nullptr;  // the field a `#   ...` line continues
  bool haveExitStatus = false;
  while (std::getline(header, line)) {
    if (line.rfind("# ", 0) != 0) throw std::runtime_error(name + ": header line " + line);
    const std::string body = line.substr(2);
    if (body.rfind("command: ", 0) == 0) {
      fixture.command = body.substr(9);
      last = &fixture.command;
    } else if (body.rfind("source: ", 0) == 0) {
      fixture.source = body.substr(8);
      last = &fixture.source;
    } else if (body.rfind("exit-status: ", 0) == 0) {
      fixture.exitStatus = std::stoi(body.substr(13));
      haveExitStatus = true;
      last = nullptr;
    } else if (body.rfind("  ", 0) == 0 && last != nullptr) {
      *last += " " + body.substr(2);
    } else {
      throw std::runtime_error(name + ": unknown header line " + line);
    }
  }
  if (fixture.source.empty() || !haveExitStatus)
    throw std::runtime_error(name + ": `# source:` and `# exit-status:` are required");
  return fixture;
}

}  // namespace polycsi::rds_nvme::corpus
