// Flags that several polycsictl commands share: repeated key=value flags and the volume
// capability flags. Objects here live as long as the CLI11 app that refers to them.
#pragma once

#include <google/protobuf/map.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "volume_capability.hpp"

namespace polycsi::csictl {

// Adds a repeatable "--name KEY=VALUE" flag collecting into `values`. Each occurrence takes
// exactly one argument, so it never swallows the positional arguments after it.
CLI::Option* addKeyValueOption(CLI::App& command, const std::string& name,
                               std::vector<std::string>& values, const std::string& description);

// Parses `items` (from a flag named `flag_name`) and inserts them into `target`. Throws
// std::invalid_argument for a malformed item or duplicated key.
void putKeyValues(const std::string& flag_name, const std::vector<std::string>& items,
                  google::protobuf::Map<std::string, std::string>* target);

// parseSize for the value of flag `flag_name`, which prefixes the error message. Throws
// std::invalid_argument.
std::int64_t parseSizeFlag(const std::string& flag_name, const std::string& text);

// Sets required_bytes from --size and, when `limit_text` is not empty, limit_bytes from
// --limit. Throws std::invalid_argument for a bad size or a limit below the size.
void setCapacityRange(const std::string& size_text, const std::string& limit_text,
                      csi::v1::CapacityRange* range);

// Throws std::invalid_argument unless `value` (from flag `flag_name`) is >= 0.
void requireNonNegative(const std::string& flag_name, int value);

// --access-mode, --block, --fs-type, --mount-flag and --mount-group on one command.
class CapabilityFlags {
 public:
  // Registers the flags on `command`; `this` must outlive the parse.
  void addTo(CLI::App& command);

  // True when at least one capability flag was given.
  bool given() const;

  // The capability the flags describe (defaults: mount, rwo). Throws std::invalid_argument for
  // contradictory or malformed flags.
  csi::v1::VolumeCapability build() const { return buildVolumeCapability(spec_); }

 private:
  VolumeCapabilitySpec spec_;
  std::vector<CLI::Option*> options_;
};

}  // namespace polycsi::csictl
