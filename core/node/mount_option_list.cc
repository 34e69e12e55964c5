#include "node/mount_option_list.hpp"

#include <array>
#include <string>

namespace polycsi::node {

std::vector<std::string_view> splitMountOptionList(std::string_view list) {
  std::vector<std::string_view> options;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == '"') quoted = !quoted;
    if (list[i] == ',' && !quoted) {
      options.push_back(list.substr(start, i - start));
      start = i + 1;
    }
  }
  options.push_back(list.substr(start));
  return options;
}

bool isSelinuxContextOption(std::string_view option) {
  static constexpr std::array<std::string_view, 4> kNames = {
      "context=", "fscontext=", "defcontext=", "rootcontext="};
  for (std::string_view name : kNames)
    if (option.substr(0, name.size()) == name) return true;
  return false;
}

std::vector<std::string> withNfsSelinuxSharing(std::vector<std::string> options) {
  bool labelled = false;
  bool unshared = false;
  for (const std::string& option : options)
    for (std::string_view single : splitMountOptionList(option)) {
      labelled = labelled || isSelinuxContextOption(single);
      unshared = unshared || single == "nosharecache";
    }
  if (labelled && !unshared) options.push_back("nosharecache");
  return options;
}

}  // namespace polycsi::node
