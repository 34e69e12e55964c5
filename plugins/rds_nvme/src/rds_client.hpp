// RdsClient: typed RouterOS operations on /disk and /file over a CommandTransport.
//
// The one-shot operations (findDisk, addDisk, setFileSize, ...) run exactly one command and
// turn RouterOS error replies into Error with the matching code (routeros_errors.hpp).
// The ensure* operations are what the backend uses to change state: each one checks first
// (print), acts only if the state is not yet as wanted, and checks again; when the reply to a
// state-changing command is lost (TransportError) it does not blindly resend it but goes back
// to checking. So a retry after a lost reply never adds a disk twice. Attempts are bounded.
//
// THREADING: as thread-safe as the transport (the client itself holds no mutable state).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "command_transport.hpp"
#include "polycsi/plugin.hpp"
#include "print_detail_parser.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {

// What a new disk should be.
struct DiskSpec {
  SlotName slot;
  DiskPath filePath;
  std::optional<DiskSize> size;      // required unless copyFrom is set
  std::optional<SlotName> copyFrom;  // snapshot, restore and clone: copy this disk
  bool exported = true;              // NVMe/TCP export with `port` and `nqn`
  std::optional<PortNumber> port;
  std::optional<Nqn> nqn;
  std::string comment;  // the entry's comment; empty: none
};

// Free space of a mount point.
struct PoolSpace {
  int64_t sizeBytes = 0;
  int64_t freeBytes = 0;
};

class RdsClient {
 public:
  // `transport` must outlive the client.
  RdsClient(CommandTransport& transport, Host host) : transport_(transport), host_(host) {}

  // ---- one command each ----
  std::optional<RdsDisk> findDisk(const SlotName& slot, const Call& call);
  void addDisk(const DiskSpec& spec, const Call& call);
  // Sends the /disk add of a copy (spec.copyFrom set) once, allowing it `timeout` instead of
  // the command timeout, then returns the disk. Never sends it twice: a lost reply is a
  // TransportError (RouterOS may still be copying). INTERNAL when RouterOS answered but lists
  // no disk.
  RdsDisk addCopiedDisk(const DiskSpec& spec, const Call& call, std::chrono::milliseconds timeout);
  void setFileSize(const SlotName& slot, const DiskSize& size, const Call& call);
  void setAllowedHosts(const SlotName& slot, const NqnList& hosts, const Call& call);
  void removeDisk(const SlotName& slot, const Call& call);
  std::optional<RdsFile> findFile(const FileName& name, const Call& call);
  void removeFile(const FileName& name, const Call& call);
  // Disks whose slot starts with `prefix`, in RouterOS order.
  std::vector<RdsDisk> listDisks(const SlotPrefix& prefix, const Call& call);
  // Files named "<dir>/<slot>.img" (a volume's) or "<dir>/<slot>.from-*.img" (a snapshot's).
  std::vector<RdsFile> findFilesForSlot(const SlotName& slot, const Call& call);
  // size/free of the disk mounted at `mountPoint`; FAILED_PRECONDITION when there is none.
  PoolSpace poolCapacity(const MountPoint& mountPoint, const Call& call);

  // ---- check first, then act ----
  // Each takes what the caller's own print of the same call showed, when it has one, in place
  // of the first check: the state it acts on is then no older than that print, and one
  // command fewer crosses to the RDS. Every later attempt checks with a new print.

  // The disk with spec.slot, adding it when absent. Does not compare an existing disk with
  // the spec: callers decide what is compatible. `seenAbsent`: the caller's print found no
  // disk with the slot.
  RdsDisk ensureDisk(const DiskSpec& spec, const Call& call, bool seenAbsent = false);
  // Grows the disk's file to at least `size` (never shrinks). NOT_FOUND when the disk is gone.
  RdsDisk ensureFileSizeAtLeast(const SlotName& slot, const DiskSize& size, const Call& call);
  // Makes the export's allow-list exactly `hosts` (RouterOS value: comma-separated NQNs).
  // `seen`: the disk as the caller's print showed it.
  RdsDisk ensureAllowedHosts(const SlotName& slot, const NqnList& hosts, const Call& call,
                             const std::optional<RdsDisk>& seen = std::nullopt);
  // Removes the disk; absent already is success. Returns the file-path it had, if any.
  std::optional<std::string> ensureDiskRemoved(const SlotName& slot, const Call& call);
  // Removes the file; absent already is success. `seenPresent`: the caller knows the file is
  // there (a disk it just removed was printed with this file-path), so it is removed at once.
  void ensureFileRemoved(const FileName& name, const Call& call, bool seenPresent = false);

  // The bytes of a disk: its exact `size`, else its `file-size`; INTERNAL when neither.
  static int64_t diskBytes(const RdsDisk& disk);
  // The export's allow-list as printed (empty when the property is absent).
  static NqnList allowedHosts(const RdsDisk& disk);

 private:
  // Runs a command; throws Error with the RouterOS-derived code when the reply is an error.
  std::string run(const RouterOsCommand& command, const Call& call);
  std::string check(const RouterOsCommand& command, const CommandReply& reply);
  RouterOsCommand addCommand(const DiskSpec& spec);
  // Runs `act` until `check` returns a state, checking before every attempt (see the file
  // comment); `first` (when set) is the first check's answer, known from the caller's print.
  template <typename Check, typename Act>
  RdsDisk converge(const std::string& what, const Call& call, Check check, Act act,
                   std::optional<std::optional<RdsDisk>> first = std::nullopt);

  CommandTransport& transport_;
  Host host_;
};

}  // namespace polycsi::rds_nvme
