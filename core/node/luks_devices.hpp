// LUKS2 encryption of a volume's block device on the node, through cryptsetup
// (docs/encryption.md). The core puts it between what a plugin attached and what it formats,
// mounts or publishes, for every plugin alike: the plugin still attaches and detaches only.
//
// Safety rules kept here:
//   - a device is formatted only when blank: a LUKS header is opened, anything else blkid
//     recognizes (a filesystem, a partition table, LVM, ...) is refused, never overwritten;
//   - the passphrase reaches cryptsetup on its standard input (--key-file=-), never on a
//     command line, in the environment, on disk or in a message;
//   - a wrong passphrase changes nothing: the header stays, no mapping is left.
//
// THREADING: stateless apart from its configuration; safe to call concurrently for different
// volumes (the core serializes calls per volume).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polycsi/process/command_runner.hpp"
#include "polycsi/types.hpp"

namespace polycsi::node {

// Runs a program with the given standard input: process::runCommandWithInput in production, a
// scripted fake in tests. Same contract (a non-zero exit is a result, not an error).
using ProgramRunner = std::function<StatusOr<process::CommandResult>(
    const std::vector<std::string>& argv, std::string_view standardInput,
    std::chrono::milliseconds timeout)>;

// A passphrase and where it came from. `source` names it in messages ("node-stage secret key
// 'encryptionPassphrase'"); the value itself is never put in one. Does not own the value.
struct LuksPassphrase {
  std::string_view value;
  std::string source;
};

class LuksDevices {
 public:
  // The longest device-mapper name (DM_NAME_LEN 128, with its NUL).
  static constexpr size_t kMaxMappingNameLength = 127;

  explicit LuksDevices(std::chrono::milliseconds commandTimeout = std::chrono::seconds(120),
                       ProgramRunner runner = {});

  // The device-mapper name of a volume's mapping: "polycsi-" followed by the volume id with
  // every character outside [A-Za-z0-9._-] (the ':' of an id) replaced by '+', which no id
  // contains, so different ids give different names. An id too long for a dm name keeps its
  // start and ends in '-' and 16 hex digits of a hash of the whole id. INVALID_ARGUMENT for an
  // empty id or one with a character a volume id never has. Pure; the same on every node.
  static StatusOr<std::string> mappingNameFor(const std::string& volumeId);

  // "/dev/mapper/<name>": where the opened volume is.
  static std::string mappingPath(const std::string& name);

  // Opens `device` as mapping `name` with `passphrase` and returns the mapping's path.
  //   - `name` already open on `device`: nothing to do (a repeated stage).
  //   - `name` open on another device (the plugin attached the volume under a new name): that
  //     stale mapping is closed first; FAILED_PRECONDITION when it is still in use.
  //   - `device` holds a LUKS header: opened. A passphrase that opens no key slot is
  //     PERMISSION_DENIED naming passphrase.source and the volume; nothing is left open.
  //   - `device` is blank (blkid finds nothing): formatted as LUKS2, then opened. Not when
  //     `readonly`: FAILED_PRECONDITION (the first stage must be read-write).
  //   - anything else on `device`: FAILED_PRECONDITION naming what blkid found; never formatted.
  // `readonly` opens the mapping read-only. Idempotent.
  StatusOr<std::string> open(const std::string& volumeId, const std::string& device,
                             const std::string& name, const LuksPassphrase& passphrase,
                             bool readonly) const;

  // Closes mapping `name`. Not open is success; FAILED_PRECONDITION while it is in use (still
  // mounted or held open). Idempotent.
  Status close(const std::string& name) const;

  // Grows mapping `name` to the size of its (grown) device. LUKS2 keeps the volume key in the
  // kernel keyring by default, and then cryptsetup needs the passphrase to reload the mapping:
  // when it refuses, FAILED_PRECONDITION naming passphrase.source (which may be empty: no
  // secret was given).
  Status resize(const std::string& volumeId, const std::string& name,
                const LuksPassphrase& passphrase) const;

  // The device an open mapping `name` sits on, nullopt when `name` is not open.
  StatusOr<std::optional<std::string>> backingDevice(const std::string& name) const;

 private:
  StatusOr<process::CommandResult> run(const std::vector<std::string>& argv,
                                       std::string_view input = {}) const;
  // Formats a blank device, or says why it is not blank.
  Status formatIfBlank(const std::string& volumeId, const std::string& device,
                       const LuksPassphrase& passphrase, bool readonly) const;

  std::chrono::milliseconds commandTimeout_;
  ProgramRunner runner_;
};

}  // namespace polycsi::node
