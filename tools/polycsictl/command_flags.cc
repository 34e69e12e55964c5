#include "command_flags.hpp"

#include <algorithm>
#include <stdexcept>

#include "byte_size.hpp"
#include "key_value.hpp"

namespace polycsi::csictl {

CLI::Option* addKeyValueOption(CLI::App& command, const std::string& name,
                               std::vector<std::string>& values, const std::string& description) {
  return command.add_option(name, values, description + " (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
}

void putKeyValues(const std::string& flag_name, const std::vector<std::string>& items,
                  google::protobuf::Map<std::string, std::string>* target) {
  for (const auto& [key, value] : parseKeyValues(flag_name, items)) (*target)[key] = value;
}

std::int64_t parseSizeFlag(const std::string& flag_name, const std::string& text) {
  try {
    return parseSize(text);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(flag_name + ": " + error.what());
  }
}

void setCapacityRange(const std::string& size_text, const std::string& limit_text,
                      csi::v1::CapacityRange* range) {
  const std::int64_t required = parseSizeFlag("--size", size_text);
  range->set_required_bytes(required);
  if (limit_text.empty()) return;
  const std::int64_t limit = parseSizeFlag("--limit", limit_text);
  if (limit < required) {
    throw std::invalid_argument("--limit " + limit_text + " is smaller than --size " + size_text);
  }
  range->set_limit_bytes(limit);
}

void requireNonNegative(const std::string& flag_name, int value) {
  if (value < 0) {
    throw std::invalid_argument(flag_name + " must not be negative, got " + std::to_string(value));
  }
}

void CapabilityFlags::addTo(CLI::App& command) {
  options_.push_back(command.add_option(
      "--access-mode", spec_.access_mode,
      "rwo|rwop|rox|rwx|single-node-reader|multi-node-single-writer|single-node-multi-writer "
      "(default rwo)"));
  CLI::Option* block = command.add_flag("--block", spec_.block, "raw block volume");
  CLI::Option* fs_type =
      command.add_option("--fs-type", spec_.fs_type, "filesystem type of a mount volume");
  CLI::Option* mount_flags =
      command.add_option("--mount-flag", spec_.mount_flags, "mount option (repeatable)")
          ->allow_extra_args(false);
  CLI::Option* mount_group = command.add_option("--mount-group", spec_.volume_mount_group,
                                                "group that should own the mounted volume");
  block->excludes(fs_type)->excludes(mount_flags)->excludes(mount_group);
  options_.insert(options_.end(), {block, fs_type, mount_flags, mount_group});
}

bool CapabilityFlags::given() const {
  return std::any_of(options_.begin(), options_.end(),
                     [](const CLI::Option* option) { return option->count() > 0; });
}

}  // namespace polycsi::csictl
