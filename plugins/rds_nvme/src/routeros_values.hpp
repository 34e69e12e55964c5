// Validated values that may appear in a RouterOS command, and RouterOS size formats.
//
// Every value the plugin puts into a command is one of these types. Each has a private
// constructor and a static parse() that checks the text against a strict allow-list and throws
// Error(kInvalidArgument) naming what is wrong; so a RouterOsCommand (routeros_command.hpp),
// which accepts only these types, can never carry a quote, a bracket, a `$`, a `;`, whitespace,
// a control character or a non-ASCII byte into the CLI.
//
// THREADING: plain immutable values.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

// Common base: holds the checked text. `Tag` keeps the types distinct.
template <typename Tag>
class CheckedText {
 public:
  const std::string& str() const { return value_; }
  friend bool operator==(const CheckedText&, const CheckedText&) = default;
  friend auto operator<=>(const CheckedText&, const CheckedText&) = default;

 protected:
  explicit CheckedText(std::string value) : value_(std::move(value)) {}

 private:
  std::string value_;
};

// A /disk slot: [A-Za-z0-9][A-Za-z0-9-]{0,62}. Volume and snapshot ids are slots.
class SlotName : public CheckedText<SlotName> {
 public:
  // `what` names the source of the text in the error, e.g. "volume id".
  static SlotName parse(std::string_view text, std::string_view what);
  static bool isValid(std::string_view text);

 private:
  using CheckedText::CheckedText;
};

// The start of a slot name, used to list the driver's disks: [a-z0-9][a-z0-9-]{0,31}.
class SlotPrefix : public CheckedText<SlotPrefix> {
 public:
  static SlotPrefix parse(std::string_view text, std::string_view what);

 private:
  using CheckedText::CheckedText;
};

// An absolute path on the RDS, as /disk file-path shows it: "/" followed by 1..16 segments of
// [A-Za-z0-9._-]{1,128}, no "." or ".." segment, no empty segment, at most 255 characters.
class DiskPath : public CheckedText<DiskPath> {
 public:
  static DiskPath parse(std::string_view text, std::string_view what);
  // this + "/" + leaf; leaf must be a valid segment (INVALID_ARGUMENT otherwise).
  DiskPath child(std::string_view leaf) const;
  // The first segment, e.g. "storage-pool" for /storage-pool/kubernetes-volumes.
  std::string firstSegment() const;
  // The path without its last segment; the path itself when it has one segment.
  DiskPath parent() const;
  // The last segment.
  std::string leaf() const;
  // The name /file uses for this path: the same without the leading slash.
  std::string fileName() const { return str().substr(1); }

 private:
  using CheckedText::CheckedText;
};

// A /file name: a DiskPath without its leading slash (RouterOS lists files that way).
class FileName : public CheckedText<FileName> {
 public:
  static FileName of(const DiskPath& path) { return FileName(path.fileName()); }

 private:
  using CheckedText::CheckedText;
};

// A mount point name as /disk prints it (`mount-point=storage-pool`): [A-Za-z0-9._-]{1,64}.
class MountPoint : public CheckedText<MountPoint> {
 public:
  static MountPoint parse(std::string_view text, std::string_view what);

 private:
  using CheckedText::CheckedText;
};

// An NVMe Qualified Name: "nqn.YYYY-MM.<reverse domain>" optionally followed by ":" and
// [A-Za-z0-9._:-] (starting with a letter or digit, no ".."); at most 223 bytes (NVMe limit). Used
// for subsystem and host NQNs.
class Nqn : public CheckedText<Nqn> {
 public:
  static Nqn parse(std::string_view text, std::string_view what);
  // The part before any ':' ("nqn.2000-02.com.mikrotik"): a valid NQN prefix on its own.
  static Nqn parsePrefix(std::string_view text, std::string_view what);
  // prefix + ":" + slot.
  static Nqn forSlot(const Nqn& prefix, const SlotName& slot);

 private:
  using CheckedText::CheckedText;
};

// A set of host NQNs as /disk nvme-tcp-server-allow-host-name holds it: comma-separated,
// sorted, without duplicates. NQNs cannot contain commas, so the join is unambiguous.
class NqnList {
 public:
  NqnList() = default;
  // Parses RouterOS's value (comma-separated, empty = none); INVALID_ARGUMENT for a bad entry.
  static NqnList parse(std::string_view text, std::string_view what);
  bool contains(const Nqn& nqn) const;
  // Adds/removes one NQN; idempotent.
  void add(const Nqn& nqn);
  void remove(const Nqn& nqn);
  bool empty() const { return items_.empty(); }
  const std::vector<Nqn>& items() const { return items_; }
  // "a,b" (empty string for no entries).
  std::string joined() const;
  friend bool operator==(const NqnList&, const NqnList&) = default;

 private:
  std::vector<Nqn> items_;
};

// A TCP port, 1..65535.
class PortNumber {
 public:
  static PortNumber parse(std::string_view text, std::string_view what);
  static PortNumber of(int port, std::string_view what);
  int value() const { return value_; }
  std::string str() const { return std::to_string(value_); }
  friend bool operator==(const PortNumber&, const PortNumber&) = default;

 private:
  explicit PortNumber(int value) : value_(value) {}
  int value_;
};

// A host name or IP address for the volume context and the SSH connection:
// IPv4, IPv6 (hex digits, ':' and '.'), or a DNS name of [A-Za-z0-9.-] labels; 1..253 chars.
class HostAddress : public CheckedText<HostAddress> {
 public:
  static HostAddress parse(std::string_view text, std::string_view what);

 private:
  using CheckedText::CheckedText;
};

// A disk size for a command: a whole number of MiB, written with the largest binary unit that
// represents it exactly ("50G", "1025M"). RouterOS reads G as GiB (a disk added with
// file-size=50G prints file-size=50.0GiB and size=53 687 091 200).
class DiskSize {
 public:
  static constexpr int64_t kMiB = int64_t{1} << 20;
  static constexpr int64_t kGiB = int64_t{1} << 30;
  // The largest size accepted: 1 PiB.
  static constexpr int64_t kMaxBytes = int64_t{1} << 50;

  // The smallest whole-MiB size >= bytes (1 byte -> 1M): never smaller than asked.
  // OUT_OF_RANGE when bytes is negative or above kMaxBytes.
  static DiskSize roundUp(int64_t bytes);
  int64_t bytes() const { return bytes_; }
  // "50G" or "1025M".
  std::string str() const;

 private:
  explicit DiskSize(int64_t bytes) : bytes_(bytes) {}
  int64_t bytes_;
};

// Parses a size as RouterOS prints it: spaced digit groups ("53 687 091 200"), plain digits,
// or a decimal number with a unit ("50.0GiB", "1.5TiB", "512MiB", "100KiB", "10G", "0B").
// A decimal with a unit is rounded UP to whole bytes. nullopt when the text is none of these.
std::optional<int64_t> parseRouterOsSize(std::string_view text);

// True when every byte of text is printable ASCII other than the characters RouterOS treats
// specially in commands (" \ $ [ ] { } ; ` ' ? and whitespace).
bool isCommandSafe(std::string_view text);

}  // namespace polycsi::rds_nvme
