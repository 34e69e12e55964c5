#include "rds_client.hpp"

#include "message_text.hpp"
#include "routeros_errors.hpp"

namespace polycsi::rds_nvme {
namespace {

constexpr int kMaxChangeAttempts = 3;

// The one entry whose `field` (RouterOS property `key`) is `value`; nullopt when none.
template <typename Entry>
std::optional<Entry> single(std::vector<Entry> entries, std::string Entry::*field,
                            const std::string& key, const std::string& value,
                            const std::string& what) {
  std::optional<Entry> found;
  for (auto& e : entries) {
    if (e.*field != value) continue;  // the filter is RouterOS's; check it anyway
    if (found)
      throw Error(Code::kInternal,
                  "RouterOS lists more than one " + what + " with " + key + "=" + value);
    found = std::move(e);
  }
  return found;
}

}  // namespace

std::string RdsClient::run(const RouterOsCommand& command, const Call& call) {
  return check(command, transport_.run(command, call));
}

std::string RdsClient::check(const RouterOsCommand& command, const CommandReply& reply) {
  if (auto failure = classifyReply(reply, command.text()))
    throw Error(failure->code(), failure->message());
  return reply.output;
}

std::optional<RdsDisk> RdsClient::findDisk(const SlotName& slot, const Call& call) {
  auto disks = parseRdsDisks(run(RouterOsCommand::printDiskBySlot(slot), call));
  return single(std::move(disks), &RdsDisk::slot, "slot", slot.str(), "disk");
}

void RdsClient::addDisk(const DiskSpec& spec, const Call& call) { run(addCommand(spec), call); }

RdsDisk RdsClient::addCopiedDisk(const DiskSpec& spec, const Call& call,
                                 std::chrono::milliseconds timeout) {
  if (!spec.copyFrom) throw Error(Code::kInternal, "addCopiedDisk needs a source to copy");
  RouterOsCommand command = addCommand(spec);
  check(command, transport_.runLong(command, call, timeout));
  auto disk = findDisk(spec.slot, call);
  if (!disk)
    throw Error(Code::kInternal,
                "RouterOS answered `" + command.text() + "` but lists no disk " + spec.slot.str());
  return *disk;
}

RouterOsCommand RdsClient::addCommand(const DiskSpec& spec) {
  RouterOsCommand command = RouterOsCommand::addDisk();
  if (spec.copyFrom) command.copyFrom(*spec.copyFrom);
  command.filePath(spec.filePath);
  if (spec.size) command.fileSize(*spec.size);
  if (!spec.size && !spec.copyFrom)
    throw Error(Code::kInternal, "a new disk needs a size or a source to copy");
  command.slot(spec.slot);
  if (!spec.comment.empty()) command.comment(spec.comment);
  if (spec.exported) {
    if (!spec.port || !spec.nqn)
      throw Error(Code::kInternal, "an exported disk needs a port and an NQN");
    command.nvmeTcpExport(true).nvmeTcpServerPort(*spec.port).nvmeTcpServerNqn(*spec.nqn);
  }
  return command;
}

void RdsClient::setFileSize(const SlotName& slot, const DiskSize& size, const Call& call) {
  run(RouterOsCommand::setDisk(slot).fileSize(size), call);
}

void RdsClient::setAllowedHosts(const SlotName& slot, const NqnList& hosts, const Call& call) {
  run(RouterOsCommand::setDisk(slot).nvmeTcpServerAllowHostName(hosts), call);
}

void RdsClient::removeDisk(const SlotName& slot, const Call& call) {
  run(RouterOsCommand::removeDisk(slot), call);
}

std::optional<RdsFile> RdsClient::findFile(const FileName& name, const Call& call) {
  auto files = parseRdsFiles(run(RouterOsCommand::printFileByName(name), call));
  return single(std::move(files), &RdsFile::name, "name", name.str(), "file");
}

void RdsClient::removeFile(const FileName& name, const Call& call) {
  run(RouterOsCommand::removeFile(name), call);
}

std::vector<RdsDisk> RdsClient::listDisks(const SlotPrefix& prefix, const Call& call) {
  std::vector<RdsDisk> out;
  for (auto& d : parseRdsDisks(run(RouterOsCommand::printDisksWithSlotPrefix(prefix), call)))
    if (d.slot.rfind(prefix.str(), 0) == 0) out.push_back(std::move(d));
  return out;
}

std::vector<RdsFile> RdsClient::findFilesForSlot(const SlotName& slot, const Call& call) {
  std::vector<RdsFile> out;
  auto endsWith = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (auto& f : parseRdsFiles(run(RouterOsCommand::printFilesNamedLike(slot), call))) {
    const std::string& name = f.name;
    std::string leaf = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
    bool volumeFile = leaf == slot.str() + ".img";
    bool snapshotFile = leaf.rfind(slot.str() + ".from-", 0) == 0 && endsWith(leaf, ".img");
    if (volumeFile || snapshotFile) out.push_back(std::move(f));
  }
  return out;
}

PoolSpace RdsClient::poolCapacity(const MountPoint& mountPoint, const Call& call) {
  auto disks = parseRdsDisks(run(RouterOsCommand::printDiskByMountPoint(mountPoint), call));
  auto disk =
      single(std::move(disks), &RdsDisk::mountPoint, "mount-point", mountPoint.str(), "disk");
  if (!disk)
    throw Error(Code::kFailedPrecondition,
                "no RDS disk is mounted at '" + mountPoint.str() +
                    "': check the 'pool' setting (or base_path's first component)");
  const auto& size = disk->sizeBytes;
  const auto& free = disk->freeBytes;
  if (!size || !free)
    throw Error(Code::kInternal,
                "RouterOS printed no size/free for the disk mounted at '" + mountPoint.str() + "'");
  return PoolSpace{*size, *free};
}

template <typename Check, typename Act>
RdsDisk RdsClient::converge(const std::string& what, const Call& call, Check check, Act act,
                            std::optional<std::optional<RdsDisk>> first) {
  for (int attempt = 1; attempt <= kMaxChangeAttempts; ++attempt) {
    call.checkpoint(what);
    std::optional<RdsDisk> state = attempt == 1 && first ? *first : check();
    if (state) return *state;
    try {
      act();
    } catch (const TransportError& e) {
      if (!e.mayHaveRun()) throw;
      host_.warn("reply to " + what + " was lost (" + e.what() +
                 "); checking the RDS state before trying again");
    } catch (const Error& e) {
      // Someone (or our own earlier, unanswered attempt) got there first: check again.
      if (e.code() != Code::kAlreadyExists) throw;
    }
  }
  if (auto state = check()) return *state;
  throw Error(Code::kUnavailable, what + " did not take effect after " +
                                      std::to_string(kMaxChangeAttempts) + " attempts");
}

RdsDisk RdsClient::ensureDisk(const DiskSpec& spec, const Call& call, bool seenAbsent) {
  std::optional<std::optional<RdsDisk>> first;
  if (seenAbsent) first.emplace(std::nullopt);
  return converge(
      "adding disk " + spec.slot.str(), call, [&] { return findDisk(spec.slot, call); },
      [&] { addDisk(spec, call); }, first);
}

RdsDisk RdsClient::ensureFileSizeAtLeast(const SlotName& slot, const DiskSize& size,
                                         const Call& call) {
  return converge(
      "growing disk " + slot.str() + " to " + size.str(), call,
      [&]() -> std::optional<RdsDisk> {
        auto disk = findDisk(slot, call);
        if (!disk) throw Error(Code::kNotFound, "volume " + slot.str() + " does not exist");
        if (diskBytes(*disk) >= size.bytes()) return disk;
        return std::nullopt;
      },
      [&] { setFileSize(slot, size, call); });
}

RdsDisk RdsClient::ensureAllowedHosts(const SlotName& slot, const NqnList& hosts, const Call& call,
                                      const std::optional<RdsDisk>& seen) {
  auto judge = [&](std::optional<RdsDisk> disk) -> std::optional<RdsDisk> {
    if (!disk) throw Error(Code::kNotFound, "volume " + slot.str() + " does not exist");
    if (allowedHosts(*disk) == hosts) return disk;
    return std::nullopt;
  };
  std::optional<std::optional<RdsDisk>> first;
  if (seen) first.emplace(judge(seen));
  return converge(
      "setting the NVMe/TCP allowed hosts of " + slot.str(), call,
      [&] { return judge(findDisk(slot, call)); }, [&] { setAllowedHosts(slot, hosts, call); },
      first);
}

std::optional<std::string> RdsClient::ensureDiskRemoved(const SlotName& slot, const Call& call) {
  std::optional<std::string> filePath;
  converge(
      "removing disk " + slot.str(), call,
      [&]() -> std::optional<RdsDisk> {
        auto disk = findDisk(slot, call);
        if (!disk) return RdsDisk{};
        if (!disk->filePath.empty()) filePath = disk->filePath;
        return std::nullopt;
      },
      [&] {
        try {
          removeDisk(slot, call);
        } catch (const Error& e) {
          if (e.code() != Code::kNotFound) throw;  // gone meanwhile: the check confirms
        }
      });
  return filePath;
}

void RdsClient::ensureFileRemoved(const FileName& name, const Call& call, bool seenPresent) {
  std::optional<std::optional<RdsDisk>> first;
  if (seenPresent) first.emplace(std::nullopt);
  converge(
      "removing file " + name.str(), call,
      [&]() -> std::optional<RdsDisk> {
        if (findFile(name, call)) return std::nullopt;
        return RdsDisk{};
      },
      [&] {
        try {
          removeFile(name, call);
        } catch (const Error& e) {
          if (e.code() != Code::kNotFound) throw;
        }
      },
      first);
}

int64_t RdsClient::diskBytes(const RdsDisk& disk) {
  if (disk.sizeBytes) return *disk.sizeBytes;
  if (disk.fileSizeBytes) return *disk.fileSizeBytes;
  throw Error(Code::kInternal, "RouterOS printed no size for disk " + disk.slot);
}

NqnList RdsClient::allowedHosts(const RdsDisk& disk) {
  try {
    return NqnList::parse(disk.allowedHostNames, "allowed host NQN printed by RouterOS");
  } catch (const Error& e) {
    throw Error(Code::kFailedPrecondition,
                "disk " + disk.slot +
                    " has an nvme-tcp-server-allow-host-name the plugin did not set (" + e.what() +
                    "); fix it on the RDS or turn fencing off");
  }
}

}  // namespace polycsi::rds_nvme
