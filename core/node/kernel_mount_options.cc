#include "node/kernel_mount_options.hpp"

#include <sys/mount.h>

#include <array>
#include <string_view>

#include "node/mount_option_list.hpp"

namespace polycsi::node {
namespace {

struct FlagOption {
  std::string_view name;
  unsigned long set;    // flags this option turns on
  unsigned long clear;  // flags this option turns off
};

constexpr std::array<FlagOption, 21> kFlagOptions = {{
    {"defaults", 0, 0},
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"lazytime", MS_LAZYTIME, 0},
    {"nolazytime", 0, MS_LAZYTIME},
}};

constexpr std::array<std::string_view, 14> kForbiddenOptions = {
    "bind",   "rbind",   "remount",  "move",       "shared",      "rshared", "slave",
    "rslave", "private", "rprivate", "unbindable", "runbindable", "loop",    "helper"};

}  // namespace

StatusOr<KernelMountArguments> toKernelMountArguments(const std::vector<std::string>& options,
                                                      bool readonly) {
  KernelMountArguments arguments;
  for (const std::string& option : options) {
    for (std::string_view single : splitMountOptionList(option)) {
      if (single.empty()) continue;
      // mount(8) acts on "x-"/"X-" options itself (mkdir, owner, ...), as it does on these.
      bool userspaceOption = single.substr(0, 2) == "x-" || single.substr(0, 2) == "X-";
      for (std::string_view forbidden : kForbiddenOptions) {
        if (userspaceOption || single == forbidden ||
            single.substr(0, single.find('=')) == forbidden) {
          return Status(Code::kInvalidArgument,
                        "mount option \"" + std::string(single) +
                            "\" is not allowed: the kind of mount is chosen by the driver");
        }
      }
      bool isFlag = false;
      for (const FlagOption& flag : kFlagOptions) {
        if (single == flag.name) {
          arguments.flags = (arguments.flags & ~flag.clear) | flag.set;
          isFlag = true;
          break;
        }
      }
      if (!isFlag) {
        if (!arguments.data.empty()) arguments.data += ',';
        arguments.data += single;
      }
    }
  }
  if (readonly) arguments.flags |= MS_RDONLY;
  return arguments;
}

std::string joinMountOptions(const std::vector<std::string>& options, bool readonly) {
  std::string joined;
  for (const std::string& option : options) {
    if (!joined.empty()) joined += ',';
    joined += option;
  }
  if (readonly) joined += joined.empty() ? "ro" : ",ro";
  return joined;
}

}  // namespace polycsi::node
