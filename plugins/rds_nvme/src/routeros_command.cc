#include "routeros_command.hpp"

#include "message_text.hpp"

namespace polycsi::rds_nvme {
namespace {

using Condition = RouterOsCommand::Condition;

// Keys are compile-time constants of this file; values come from the checked types. The guard
// below catches a broken invariant, never user input.
std::string guarded(const std::string& value) {
  if (!isCommandSafe(value))
    throw Error(Code::kInternal, "refusing to send a RouterOS command with the unsafe value " +
                                     printableForMessage(value));
  return value;
}

std::string renderCondition(const Condition& c) {
  return c.key + (c.match == RouterOsCommand::Match::kEquals ? "=" : "~") + "\"" +
         guarded(c.value) + "\"";
}

}  // namespace

RouterOsCommand RouterOsCommand::printDisks() { return {Menu::kDisk, Action::kPrintDetail}; }

RouterOsCommand RouterOsCommand::printDiskBySlot(const SlotName& slot) {
  RouterOsCommand c(Menu::kDisk, Action::kPrintDetail);
  c.condition_ = Condition{"slot", Match::kEquals, slot.str()};
  return c;
}

RouterOsCommand RouterOsCommand::printDisksWithSlotPrefix(const SlotPrefix& prefix) {
  RouterOsCommand c(Menu::kDisk, Action::kPrintDetail);
  c.condition_ = Condition{"slot", Match::kRegex, "^" + prefix.str()};
  return c;
}

RouterOsCommand RouterOsCommand::printDiskByMountPoint(const MountPoint& mountPoint) {
  RouterOsCommand c(Menu::kDisk, Action::kPrintDetail);
  c.condition_ = Condition{"mount-point", Match::kEquals, mountPoint.str()};
  return c;
}

RouterOsCommand RouterOsCommand::addDisk() {
  RouterOsCommand c(Menu::kDisk, Action::kAdd);
  c.add(Argument{"type", "file", false, std::nullopt});
  return c;
}

RouterOsCommand RouterOsCommand::setDisk(const SlotName& slot) {
  RouterOsCommand c(Menu::kDisk, Action::kSet);
  c.condition_ = Condition{"slot", Match::kEquals, slot.str()};
  return c;
}

RouterOsCommand RouterOsCommand::removeDisk(const SlotName& slot) {
  RouterOsCommand c(Menu::kDisk, Action::kRemove);
  c.condition_ = Condition{"slot", Match::kEquals, slot.str()};
  return c;
}

RouterOsCommand RouterOsCommand::printFileByName(const FileName& name) {
  RouterOsCommand c(Menu::kFile, Action::kPrintDetail);
  c.condition_ = Condition{"name", Match::kEquals, name.str()};
  return c;
}

RouterOsCommand RouterOsCommand::printFilesNamedLike(const SlotName& slot) {
  RouterOsCommand c(Menu::kFile, Action::kPrintDetail);
  // A regex on the slot alone (no metacharacters): callers compare the exact name afterwards.
  c.condition_ = Condition{"name", Match::kRegex, slot.str()};
  return c;
}

RouterOsCommand RouterOsCommand::removeFile(const FileName& name) {
  RouterOsCommand c(Menu::kFile, Action::kRemove);
  c.condition_ = Condition{"name", Match::kEquals, name.str()};
  return c;
}

RouterOsCommand& RouterOsCommand::add(Argument argument) {
  if (action_ != Action::kAdd && action_ != Action::kSet)
    throw Error(Code::kInternal, "RouterOS " + text() + " takes no arguments");
  for (const auto& a : args_)
    if (a.key == argument.key)
      throw Error(Code::kInternal, "RouterOS argument " + argument.key + " given twice");
  args_.push_back(std::move(argument));
  return *this;
}

RouterOsCommand& RouterOsCommand::filePath(const DiskPath& path) {
  return add({"file-path", path.str(), true, std::nullopt});
}
RouterOsCommand& RouterOsCommand::fileSize(const DiskSize& size) {
  return add({"file-size", size.str(), false, std::nullopt});
}
RouterOsCommand& RouterOsCommand::slot(const SlotName& slot) {
  return add({"slot", slot.str(), true, std::nullopt});
}
RouterOsCommand& RouterOsCommand::copyFrom(const SlotName& source) {
  return add({"copy-from", source.str(), false, Condition{"slot", Match::kEquals, source.str()}});
}
RouterOsCommand& RouterOsCommand::comment(const std::string& text) {
  return add({"comment", text, true, std::nullopt});
}
RouterOsCommand& RouterOsCommand::nvmeTcpExport(bool enabled) {
  return add({"nvme-tcp-export", enabled ? "yes" : "no", false, std::nullopt});
}
RouterOsCommand& RouterOsCommand::nvmeTcpServerPort(const PortNumber& port) {
  return add({"nvme-tcp-server-port", port.str(), false, std::nullopt});
}
RouterOsCommand& RouterOsCommand::nvmeTcpServerNqn(const Nqn& nqn) {
  return add({"nvme-tcp-server-nqn", nqn.str(), true, std::nullopt});
}
RouterOsCommand& RouterOsCommand::nvmeTcpServerAllowHostName(const NqnList& hosts) {
  return add({"nvme-tcp-server-allow-host-name", hosts.joined(), true, std::nullopt});
}

std::optional<std::string> RouterOsCommand::arg(const std::string& key) const {
  for (const auto& a : args_)
    if (a.key == key) return a.value;
  return std::nullopt;
}

std::string RouterOsCommand::text() const {
  std::string out = menu_ == Menu::kDisk ? "/disk" : "/file";
  switch (action_) {
    case Action::kPrintDetail:
      out += " print detail";
      if (condition_) out += " where " + renderCondition(*condition_);
      break;
    case Action::kAdd:
      out += " add";
      break;
    case Action::kSet:
      out += " set [find " + renderCondition(*condition_) + "]";
      break;
    case Action::kRemove:
      out += " remove [find " + renderCondition(*condition_) + "]";
      break;
  }
  for (const auto& a : args_) {
    out += " " + a.key + "=";
    if (a.selector) {
      out += "[find " + renderCondition(*a.selector) + "]";
    } else if (a.quoted) {
      // An empty value is legal only quoted (clears a list).
      out += "\"" + (a.value.empty() ? std::string() : guarded(a.value)) + "\"";
    } else {
      out += guarded(a.value);
    }
  }
  return out;
}

}  // namespace polycsi::rds_nvme
