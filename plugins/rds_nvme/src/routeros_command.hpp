// RouterOsCommand: one RouterOS CLI command, built only from validated values.
//
// A command is a menu (/disk, /file), an action (print detail, add, set, remove), an optional
// item selector ([find key="value"]) or print filter (where key="value" / key~"value"), and
// arguments key=value. Keys are fixed by the typed setters below; values are the checked types
// of routeros_values.hpp, so no caller can put free text into a command. text() renders the
// exact CLI line; as a last guard it re-checks every rendered value and throws INTERNAL if a
// value is not command-safe (an invariant that the value types already guarantee).
//
// The structure stays inspectable (menu(), action(), args()...) so a test transport can act on
// a command without parsing text.
//
// THREADING: plain value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "routeros_values.hpp"

namespace polycsi::rds_nvme {

class RouterOsCommand {
 public:
  enum class Menu { kDisk, kFile };
  enum class Action { kPrintDetail, kAdd, kSet, kRemove };
  enum class Match { kEquals, kRegex };

  // key="value" or key~"value" inside [find ...] or after `where`.
  struct Condition {
    std::string key;
    Match match = Match::kEquals;
    std::string value;
  };
  // One argument; `quoted` values are written in double quotes.
  struct Argument {
    std::string key;
    std::string value;
    bool quoted = false;
    // Set for copy-from=[find slot="x"]: the selector replaces `value`.
    std::optional<Condition> selector;
  };

  // ---- /disk ----
  static RouterOsCommand printDisks();                                        // every disk
  static RouterOsCommand printDiskBySlot(const SlotName& slot);               // where slot="x"
  static RouterOsCommand printDisksWithSlotPrefix(const SlotPrefix& prefix);  // slot~"^p"
  static RouterOsCommand printDiskByMountPoint(const MountPoint& mountPoint);
  static RouterOsCommand addDisk();                         // /disk add type=file
  static RouterOsCommand setDisk(const SlotName& slot);     // set [find slot="x"]
  static RouterOsCommand removeDisk(const SlotName& slot);  // remove [find slot="x"]
  // ---- /file ----
  static RouterOsCommand printFileByName(const FileName& name);  // where name="x"
  // where name~"<slot>": candidates whose exact name the caller then checks.
  static RouterOsCommand printFilesNamedLike(const SlotName& slot);
  static RouterOsCommand removeFile(const FileName& name);  // remove [find name="x"]

  // ---- arguments (each may be set once; INTERNAL when repeated) ----
  RouterOsCommand& filePath(const DiskPath& path);
  RouterOsCommand& fileSize(const DiskSize& size);
  RouterOsCommand& slot(const SlotName& slot);
  RouterOsCommand& copyFrom(const SlotName& source);
  // comment="<text>": RouterOS keeps it with the entry and prints it as ";;; <text>".
  RouterOsCommand& comment(const std::string& text);
  RouterOsCommand& nvmeTcpExport(bool enabled);
  RouterOsCommand& nvmeTcpServerPort(const PortNumber& port);
  RouterOsCommand& nvmeTcpServerNqn(const Nqn& nqn);
  RouterOsCommand& nvmeTcpServerAllowHostName(const NqnList& hosts);

  Menu menu() const { return menu_; }
  Action action() const { return action_; }
  // The [find ...] of set/remove, or the `where` of print.
  const std::optional<Condition>& condition() const { return condition_; }
  const std::vector<Argument>& args() const { return args_; }
  // The argument's value (unquoted), or nullopt.
  std::optional<std::string> arg(const std::string& key) const;
  // True for print: running it twice is harmless, so transports may retry it freely.
  bool isReadOnly() const { return action_ == Action::kPrintDetail; }

  // The exact CLI line, e.g. `/disk remove [find slot="pvc-1"]`.
  std::string text() const;

 private:
  RouterOsCommand(Menu menu, Action action) : menu_(menu), action_(action) {}
  RouterOsCommand& add(Argument argument);

  Menu menu_;
  Action action_;
  std::optional<Condition> condition_;
  std::vector<Argument> args_;
};

}  // namespace polycsi::rds_nvme
