#include "volume_naming.hpp"

#include <charconv>

#include "message_text.hpp"
#include "polycsi/types.hpp"
#include "sha256.hpp"

namespace polycsi::rds_nvme {

void checkCsiName(std::string_view name, std::string_view what) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  bool valid = !name.empty() && name.size() <= 128 && ok(name[0]) && name[0] != '.' &&
               name[0] != '_' && name[0] != '-' && name.find("..") == std::string_view::npos;
  for (char c : name) valid = valid && ok(c);
  if (!valid)
    throw Error(Code::kInvalidArgument,
                std::string(what) + " " + printableForMessage(name) +
                    " is not allowed: the rds_nvme plugin accepts names of 1-128 characters of "
                    "[A-Za-z0-9._-] starting with a letter or digit, without '..'");
}

SlotName volumeSlotForName(std::string_view csiName, const SlotPrefix& prefix) {
  checkCsiName(csiName, "volume name");
  if (csiName.rfind(prefix.str(), 0) == 0 && SlotName::isValid(csiName) &&
      csiName.rfind(kSnapshotSlotPrefix, 0) != 0)
    return SlotName::parse(csiName, "volume name");
  std::string slot = prefix.str() + "h" + sha256Hex(csiName, 32);
  return SlotName::parse(slot.substr(0, 63), "derived volume slot");
}

SlotName snapshotSlotForName(std::string_view csiName) {
  checkCsiName(csiName, "snapshot name");
  return SlotName::parse(std::string(kSnapshotSlotPrefix) + sha256Hex(csiName, 32),
                         "derived snapshot slot");
}

bool isVolumeSlot(const SlotName& slot, const SlotPrefix& prefix) {
  return slot.str().rfind(prefix.str(), 0) == 0 && !isSnapshotSlot(slot);
}

bool isSnapshotSlot(const SlotName& slot) { return slot.str().rfind(kSnapshotSlotPrefix, 0) == 0; }

paging::TokenRule listingTokenRule() {
  return {[](const std::string& token) { return SlotName::isValid(token); },
          [](const std::string& token) {
            return "starting token " + printableForMessage(token) +
                   " is not one this plugin returned";
          }};
}

namespace {
constexpr std::string_view kGroupCommentPrefix = "polycsi-group=";
}  // namespace

std::string groupSnapshotComment(std::string_view groupId) {
  bool valid = !groupId.empty() && groupId.size() <= 96;
  for (char c : groupId)
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-');
  if (!valid)
    throw Error(Code::kInvalidArgument, "group snapshot id " + printableForMessage(groupId) +
                                            " is not 1-96 characters of [A-Za-z0-9._-]");
  return std::string(kGroupCommentPrefix) + std::string(groupId);
}

std::string groupOfSnapshotComment(std::string_view comment) {
  if (comment.substr(0, kGroupCommentPrefix.size()) != kGroupCommentPrefix) return {};
  return std::string(comment.substr(kGroupCommentPrefix.size()));
}

DiskPath volumeFilePath(const DiskPath& base, const SlotName& slot) {
  return base.child(slot.str() + ".img");
}

DiskPath snapshotFilePath(const DiskPath& directory, const SlotName& snapshot,
                          const SlotName& source, int64_t createdUnixSeconds) {
  return directory.child(snapshot.str() + ".from-" + source.str() + ".at-" +
                         std::to_string(createdUnixSeconds) + ".img");
}

std::optional<SnapshotFileInfo> parseSnapshotFilePath(std::string_view filePath,
                                                      const SlotName& snapshot) {
  size_t slash = filePath.rfind('/');
  std::string_view leaf = slash == std::string_view::npos ? filePath : filePath.substr(slash + 1);
  std::string head = snapshot.str() + ".from-";
  if (leaf.rfind(head, 0) != 0 || leaf.size() < head.size() + 4 ||
      leaf.substr(leaf.size() - 4) != ".img")
    return std::nullopt;
  std::string_view middle = leaf.substr(head.size(), leaf.size() - head.size() - 4);
  size_t at = middle.rfind(".at-");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view source = middle.substr(0, at);
  std::string_view seconds = middle.substr(at + 4);
  int64_t created = 0;
  auto [end, ec] = std::from_chars(seconds.data(), seconds.data() + seconds.size(), created);
  if (!SlotName::isValid(source) || seconds.empty() || ec != std::errc() ||
      end != seconds.data() + seconds.size() || created < 0)
    return std::nullopt;
  return SnapshotFileInfo{SlotName::parse(source, "snapshot source"), created};
}

}  // namespace polycsi::rds_nvme
