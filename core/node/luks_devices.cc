// LuksDevices: cryptsetup's isLuks, luksFormat, open, status, resize and close, and blkid's
// probe before a format. Exit codes follow cryptsetup(8), "RETURN CODES".
#include "node/luks_devices.hpp"

#include <sys/stat.h>

#include <cstdint>
#include <string_view>

#include "node/filesystem_tools.hpp"
#include "node/input_validation.hpp"

namespace polycsi::node {
namespace {

using process::CommandResult;

// cryptsetup(8): 1 wrong parameters, 2 no permission (bad passphrase), 4 wrong device
// specified (also: a mapping that is not active), 5 device already exists or is busy.
constexpr int kCryptsetupNotLuks = 1;
constexpr int kCryptsetupBadPassphrase = 2;
constexpr int kCryptsetupNoDevice = 4;
constexpr int kCryptsetupBusy = 5;

constexpr char kMappingPrefix[] = "polycsi-";
constexpr size_t kHashSuffixLength = 17;  // '-' and 16 hex digits

// The argon2id memory cost of a new key slot, in KiB. cryptsetup's default is up to 1 GiB
// (bounded by half the RAM) per open; a node opens many volumes at once, inside the node
// plugin's memory limit. The passphrase comes from a Kubernetes Secret meant to hold a random
// key (docs/encryption.md), which the key derivation need not make up for.
constexpr char kPbkdfMemoryKiB[] = "65536";

std::string trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string describe(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

Status failed(const std::vector<std::string>& argv, const CommandResult& result) {
  return Status(Code::kInternal, "'" + describe(argv) + "' failed with exit code " +
                                     std::to_string(result.exitCode) + ": " +
                                     trimmed(result.output));
}

// FNV-1a, 64 bits: a stable hash (std::hash may differ between builds), for names only.
uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

bool isIdCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == ':';
}

bool sameDevice(const std::string& a, const std::string& b) {
  if (a == b) return true;
  struct stat infoA {};
  struct stat infoB {};
  return ::stat(a.c_str(), &infoA) == 0 && ::stat(b.c_str(), &infoB) == 0 &&
         S_ISBLK(infoA.st_mode) && S_ISBLK(infoB.st_mode) && infoA.st_rdev == infoB.st_rdev;
}

// The "device:" line of `cryptsetup status`.
std::string deviceOfStatus(const std::string& output) {
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = trimmed(std::string_view(output).substr(start, end - start));
    start = end + 1;
    if (line.rfind("device:", 0) == 0) return trimmed(std::string_view(line).substr(7));
  }
  return "";
}

}  // namespace

LuksDevices::LuksDevices(std::chrono::milliseconds commandTimeout, ProgramRunner runner)
    : commandTimeout_(commandTimeout), runner_(std::move(runner)) {
  if (!runner_) runner_ = process::runCommandWithInput;
}

StatusOr<std::string> LuksDevices::mappingNameFor(const std::string& volumeId) {
  if (volumeId.empty())
    return Status(Code::kInvalidArgument, "cannot name the encryption mapping of an empty id");
  std::string name = kMappingPrefix;
  for (char c : volumeId) {
    if (!isIdCharacter(c))
      return Status(Code::kInvalidArgument, "cannot name the encryption mapping of volume id '" +
                                                volumeId +
                                                "': it has a character outside [A-Za-z0-9._:-]");
    name += c == ':' ? '+' : c;
  }
  if (name.size() <= kMaxMappingNameLength) return name;
  static const char kHex[] = "0123456789abcdef";
  uint64_t hash = fnv1a(volumeId);
  std::string suffix = "-";
  for (int shift = 60; shift >= 0; shift -= 4) suffix += kHex[(hash >> shift) & 0xf];
  return name.substr(0, kMaxMappingNameLength - kHashSuffixLength) + suffix;
}

std::string LuksDevices::mappingPath(const std::string& name) { return "/dev/mapper/" + name; }

StatusOr<CommandResult> LuksDevices::run(const std::vector<std::string>& argv,
                                         std::string_view input) const {
  return runner_(argv, input, commandTimeout_);
}

StatusOr<std::optional<std::string>> LuksDevices::backingDevice(const std::string& name) const {
  const std::vector<std::string> argv = {"cryptsetup", "status", name};
  auto result = run(argv);
  if (!result.isOk()) return result.status();
  if (result->exitCode == kCryptsetupNoDevice) return std::optional<std::string>();
  if (result->exitCode != 0) return failed(argv, *result);
  std::string device = deviceOfStatus(result->output);
  if (device.empty())
    return Status(Code::kInternal,
                  "'" + describe(argv) + "' names no device: " + trimmed(result->output));
  return std::optional<std::string>(device);
}

Status LuksDevices::formatIfBlank(const std::string& volumeId, const std::string& device,
                                  const LuksPassphrase& passphrase, bool readonly) const {
  const std::vector<std::string> probe = {"blkid", "-p", "-o", "export", device};
  auto probed = run(probe);
  if (!probed.isOk()) return probed.status();
  if (probed->exitCode == kBlkidAmbivalent)
    return Status(Code::kFailedPrecondition,
                  "volume " + volumeId + " is to be encrypted, but its device " + device +
                      " carries conflicting signatures (blkid: ambivalent result) and no LUKS "
                      "header; refusing to format it: " +
                      trimmed(probed->output));
  if (probed->exitCode != kBlkidNothingFound) {
    if (probed->exitCode != 0) return failed(probe, *probed);
    BlockDeviceSignature found = parseBlkidExport(probed->output);
    std::string what = !found.filesystemType.empty() ? "a signature of type " + found.filesystemType
                       : !found.partitionTableType.empty()
                           ? "a " + found.partitionTableType + " partition table"
                           : "a signature";
    return Status(Code::kFailedPrecondition,
                  "volume " + volumeId + " is to be encrypted, but its device " + device +
                      " holds " + what +
                      " and no LUKS header; refusing to format it (that would destroy the data). "
                      "Encryption applies to new, blank volumes; to encrypt this data, copy it "
                      "to a new volume of an encrypted StorageClass");
  }
  if (readonly)
    return Status(Code::kFailedPrecondition,
                  "volume " + volumeId + " is to be encrypted but its device " + device +
                      " is blank, and it is staged read-only: the first stage must be "
                      "read-write to write the LUKS header");
  const std::vector<std::string> format = {
      "cryptsetup", "luksFormat",     "--batch-mode",  "--type",       "luks2", "--pbkdf",
      "argon2id",   "--pbkdf-memory", kPbkdfMemoryKiB, "--key-file=-", device};
  auto formatted = run(format, passphrase.value);
  if (!formatted.isOk()) return formatted.status();
  if (formatted->exitCode != 0) return failed(format, *formatted);
  return Status::ok();
}

StatusOr<std::string> LuksDevices::open(const std::string& volumeId, const std::string& device,
                                        const std::string& name, const LuksPassphrase& passphrase,
                                        bool readonly) const {
  if (Status s = validateDevicePath(device); !s.isOk()) return s;
  if (passphrase.value.empty())
    return Status(Code::kInvalidArgument, "volume " + volumeId + " is encrypted but " +
                                              passphrase.source + " is missing or empty");
  auto open = backingDevice(name);
  if (!open.isOk()) return open.status();
  if (open->has_value()) {
    if (sameDevice(**open, device)) return mappingPath(name);
    // The plugin attached the volume anew under another device name; the old mapping sits on
    // a device that is gone or about to go.
    if (Status s = close(name); !s.isOk()) return s;
  }

  const std::vector<std::string> isLuks = {"cryptsetup", "isLuks", device};
  auto header = run(isLuks);
  if (!header.isOk()) return header.status();
  if (header->exitCode == kCryptsetupNotLuks) {
    if (Status s = formatIfBlank(volumeId, device, passphrase, readonly); !s.isOk()) return s;
  } else if (header->exitCode != 0) {
    return failed(isLuks, *header);
  }

  std::vector<std::string> argv = {"cryptsetup", "open", "--type", "luks", "--key-file=-"};
  if (readonly) argv.push_back("--readonly");
  argv.push_back(device);
  argv.push_back(name);
  auto opened = run(argv, passphrase.value);
  if (!opened.isOk()) return opened.status();
  if (opened->exitCode == kCryptsetupBadPassphrase)
    return Status(Code::kPermissionDenied,
                  "the passphrase in " + passphrase.source + " does not open the LUKS header of " +
                      "volume " + volumeId + " (device " + device +
                      "); nothing was changed. Use the Secret the volume was first staged with");
  if (opened->exitCode != 0) return failed(argv, *opened);
  return mappingPath(name);
}

Status LuksDevices::close(const std::string& name) const {
  const std::vector<std::string> argv = {"cryptsetup", "close", name};
  auto closed = run(argv);
  if (!closed.isOk()) return closed.status();
  if (closed->exitCode == 0 || closed->exitCode == kCryptsetupNoDevice) return Status::ok();
  if (closed->exitCode == kCryptsetupBusy)
    return Status(Code::kFailedPrecondition,
                  "cannot close the encryption mapping " + mappingPath(name) +
                      ": it is still in use (mounted, or held open by a process): " +
                      trimmed(closed->output));
  return failed(argv, *closed);
}

Status LuksDevices::resize(const std::string& volumeId, const std::string& name,
                           const LuksPassphrase& passphrase) const {
  const std::vector<std::string> argv = {"cryptsetup", "resize", "--key-file=-", name};
  auto resized = run(argv, passphrase.value);
  if (!resized.isOk()) return resized.status();
  if (resized->exitCode == 0) return Status::ok();
  if (passphrase.value.empty())
    return Status(Code::kFailedPrecondition,
                  "cannot grow the encryption mapping of volume " + volumeId +
                      ": cryptsetup needs the passphrase to reload it (the LUKS2 volume key is in "
                      "the kernel keyring) and " +
                      passphrase.source +
                      " is missing; cryptsetup said: " + trimmed(resized->output));
  if (resized->exitCode == kCryptsetupBadPassphrase)
    return Status(Code::kPermissionDenied, "the passphrase in " + passphrase.source +
                                               " does not open the LUKS header of volume " +
                                               volumeId + "; its mapping was not grown");
  return failed(argv, *resized);
}

}  // namespace polycsi::node
