#include "disk_commands.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "size_units.hpp"
#include "sparse_file.hpp"

namespace rds_sim {
namespace {

const std::vector<FlagLegend>& diskFlags() {
  static const std::vector<FlagLegend> flags = {
      {'B', "BLOCK-DEVICE"}, {'M', "MOUNTED"}, {'t', "NVME-TCP-EXPORT"}};
  return flags;
}

const std::string kDefaultNqnPrefix = "nqn.2000-02.com.mikrotik:";
// The longest a `hold-after` fault keeps a command before dropping its connection anyway.
constexpr std::chrono::milliseconds kMaxHold{120000};

[[noreturn]] void fail(const std::string& message) { throw RouterOsError(message); }

[[noreturn]] void expectedEnd(int column) {
  fail("expected end of command" + routerOsPosition(column));
}

std::string yesNo(bool value) { return value ? "yes" : "no"; }

// A hex identifier in groups (`40437dbc-2318-...`), the same for the same name and salt on
// every run: FNV-1a over both, extended by rehashing.
std::string stableId(const std::string& name, const std::string& salt,
                     const std::vector<int>& groups) {
  std::uint64_t hash = 1469598103934665603ULL;
  auto mix = [&hash](const std::string& text) {
    for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
  };
  mix(salt);
  mix(name);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g != 0) out += '-';
    for (int i = 0; i < groups[g]; ++i) {
      if (i % 16 == 0) mix(std::to_string(g * 100 + static_cast<std::size_t>(i)));
      out += kHex[(hash >> ((i % 16) * 4)) & 0xF];
    }
  }
  return out;
}

bool parseBool(const Argument& argument) {
  const std::string& text = argument.value.text;
  if (text == "yes" || text == "true") return true;
  if (text == "no" || text == "false") return false;
  fail("input does not match any value of " + argument.name);
}

std::uint64_t parseNumber(const Argument& argument, std::uint64_t min, std::uint64_t max) {
  const std::string& text = argument.value.text;
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail("invalid value for argument " + argument.name);
  }
  const std::uint64_t value = std::stoull(text);
  if (value < min || value > max) {
    fail("value of " + argument.name + " out of range (" + std::to_string(min) + ".." +
         std::to_string(max) + ")");
  }
  return value;
}

std::uint64_t parseSize(const Argument& argument) {
  const std::optional<std::uint64_t> size = parseRouterOsSize(argument.value.text);
  if (!size) fail("invalid value for argument " + argument.name);
  return *size;
}

// A named argument must carry a plain value (not `[find ...]`, not a bare word).
const Argument& requireValue(const Argument& argument) {
  if (!argument.has_value) expectedEnd(argument.column);
  if (argument.value.find) fail("invalid value for argument " + argument.name);
  return argument;
}

const PrintProperty* findProperty(const PrintEntry& entry, std::string_view name) {
  for (const PrintProperty& property : entry.properties) {
    if (property.name == name) return &property;
  }
  return nullptr;
}

bool conditionHolds(const PrintEntry& entry, const Condition& condition) {
  const PrintProperty* property = findProperty(entry, condition.property);
  std::string actual;
  if (condition.property == "comment") {
    actual = entry.comment;
  } else if (property != nullptr) {
    actual = property->match_value.empty() ? property->value : property->match_value;
  } else {
    // RouterOS compares an absent property as empty: `where mount-point=""` matches it.
    actual.clear();
  }
  switch (condition.op) {
    case ConditionOp::kEquals:
      return actual == condition.value;
    case ConditionOp::kNotEquals:
      return actual != condition.value;
    case ConditionOp::kMatches:
      try {
        return std::regex_search(actual, std::regex(condition.value, std::regex::extended));
      } catch (const std::regex_error&) {
        fail("syntax error" + routerOsPosition(condition.value_column));
      }
    case ConditionOp::kIsSet:
      return actual == "yes";
    case ConditionOp::kIsNotSet:
      return actual != "yes";
  }
  return false;
}

void checkKnownProperties(const std::vector<Condition>& conditions,
                          const std::set<std::string>& known) {
  for (const Condition& condition : conditions) {
    if (known.count(condition.property) == 0) expectedEnd(condition.column);
  }
}

std::vector<std::size_t> filterEntries(const std::vector<PrintEntry>& entries,
                                       const std::vector<Condition>& conditions) {
  std::vector<std::size_t> selected;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (std::all_of(conditions.begin(), conditions.end(),
                    [&](const Condition& c) { return conditionHolds(entries[i], c); })) {
      selected.push_back(i);
    }
  }
  return selected;
}

// Resolves the item list of `set`/`remove`/`copy-from`: `[find ...]`, or a comma-separated
// list of print numbers, `*<hex>` ids and names (`name_property` of the entries).
std::vector<std::size_t> selectItems(const ArgumentValue& value,
                                     const std::vector<PrintEntry>& entries,
                                     const std::vector<std::uint32_t>& ids,
                                     std::string_view name_property,
                                     const std::set<std::string>& known) {
  if (value.find) {
    checkKnownProperties(value.find->conditions, known);
    return filterEntries(entries, value.find->conditions);
  }
  std::vector<std::size_t> selected;
  std::size_t start = 0;
  const std::string& text = value.text;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string token = text.substr(start, comma - start);
    start = comma + 1;
    std::optional<std::size_t> found;
    if (!token.empty() &&
        std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const std::size_t index = token.size() > 9 ? entries.size() : std::stoul(token);
      if (index < entries.size()) found = index;
    } else if (token.size() > 1 && token[0] == '*') {
      const std::string hex = token.substr(1);
      if (hex.size() <= 8 && std::all_of(hex.begin(), hex.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c));
          })) {
        const auto id = static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
        for (std::size_t i = 0; i < ids.size(); ++i) {
          if (ids[i] == id) found = i;
        }
      }
    } else {
      for (std::size_t i = 0; i < entries.size(); ++i) {
        const PrintProperty* name = findProperty(entries[i], name_property);
        if (name != nullptr && name->value == token) found = i;
      }
    }
    if (!found) fail("no such item");
    if (std::find(selected.begin(), selected.end(), *found) == selected.end()) {
      selected.push_back(*found);
    }
  }
  return selected;
}

std::string formatTime(std::time_t when) {
  std::tm local{};
  localtime_r(&when, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &local);
  return buffer;
}

// How `print` was asked to lay out its output.
struct PrintRequest {
  enum class Layout { kTable, kDetail, kTerse } layout = Layout::kTable;
  bool count_only = false;
  std::vector<Condition> where;
};

PrintRequest parsePrintArguments(const CliCommand& command) {
  PrintRequest request;
  for (const Argument& argument : command.arguments) {
    if (argument.has_value || argument.name.empty()) expectedEnd(argument.column);
    if (argument.name == "detail") {
      request.layout = PrintRequest::Layout::kDetail;
    } else if (argument.name == "terse") {
      request.layout = PrintRequest::Layout::kTerse;
    } else if (argument.name == "count-only") {
      request.count_only = true;
    } else if (argument.name != "without-paging" && argument.name != "brief") {
      expectedEnd(argument.column);
    }
  }
  if (command.where) request.where = *command.where;
  return request;
}

std::string renderPrint(const PrintRequest& request, std::vector<PrintEntry> entries,
                        const std::vector<FlagLegend>& legend,
                        const std::vector<std::string>& table_columns, int width,
                        const std::string& line_ending) {
  const std::vector<std::size_t> selected = filterEntries(entries, request.where);
  if (request.count_only) return std::to_string(selected.size()) + line_ending;
  std::vector<PrintEntry> shown;
  for (const std::size_t i : selected) shown.push_back(std::move(entries[i]));
  switch (request.layout) {
    case PrintRequest::Layout::kDetail:
      return formatPrintDetail(shown, legend, width, line_ending);
    case PrintRequest::Layout::kTerse:
      return formatPrintTerse(shown, legend, line_ending);
    case PrintRequest::Layout::kTable:
      return formatPrintTable(shown, legend, table_columns, line_ending);
  }
  return "";
}

const std::set<std::string>& diskProperties() {
  static const std::set<std::string> names = {"type",
                                              "slot",
                                              "slot-default",
                                              "parent",
                                              "fs-label",
                                              "fs",
                                              "model",
                                              "size",
                                              "free",
                                              "use",
                                              "mount-point",
                                              "mount-filesystem",
                                              "mount-read-only",
                                              "compress",
                                              "sector-size",
                                              "raid-type",
                                              "raid-device-count",
                                              "raid-master",
                                              "state",
                                              "nvme-tcp-export",
                                              "nvme-tcp-server-port",
                                              "nvme-tcp-server-nqn",
                                              "nvme-tcp-server-allow-host-name",
                                              "iscsi-export",
                                              "nfs-sharing",
                                              "smb-sharing",
                                              "media-sharing",
                                              "media-interface",
                                              "swap",
                                              "file-path",
                                              "file-size",
                                              "file-offset",
                                              "comment",
                                              "disabled"};
  return names;
}

const std::set<std::string>& fileProperties() {
  static const std::set<std::string> names = {"name", "type", "size", "last-modified", "comment"};
  return names;
}

}  // namespace

const std::vector<MenuSpec>& CommandProcessor::menus() {
  static const std::vector<MenuSpec> specs = {
      {{"disk"}, {"add", "set", "remove", "print"}},
      {{"file"}, {"print", "remove"}},
      {{"polycsi-sim"}, {"fault"}},
  };
  return specs;
}

CommandProcessor::CommandProcessor(DiskStore& store, FaultInjector& faults, NvmetExporter* exporter,
                                   CommandProcessorOptions options)
    : store_(store), faults_(faults), exporter_(exporter), options_(std::move(options)) {}

CommandOutcome CommandProcessor::execute(std::string_view line, int terminal_width) {
  std::optional<CliCommand> command;
  std::string parse_error;
  try {
    command = parseCliCommand(line, menus());
  } catch (const RouterOsError& error) {
    parse_error = error.what();
  }
  const bool control = command && command->menu == std::vector<std::string>{"polycsi-sim"};
  FaultDecision decision;
  if (!control) {
    bool copy = false;
    if (command && command->menu == std::vector<std::string>{"disk"} && command->verb == "add")
      for (const Argument& argument : command->arguments)
        copy = copy || argument.name == "copy-from";
    decision = faults_.nextCommand(copy);
    if (decision.hold_then_run) {
      // Outside mutex_: every other command runs meanwhile, as beside a long RouterOS copy.
      spdlog::info("fault injection: holding the copy `{}` until the faults change", line);
      if (!faults_.waitForChange(decision.hold_generation, kMaxHold))
        spdlog::warn("fault injection: running the held copy `{}` after {} s without a change",
                     line, std::chrono::duration_cast<std::chrono::seconds>(kMaxHold).count());
    }
    if (decision.hold) {
      spdlog::info("fault injection: holding `{}` until the faults change", line);
      // Bounded: a test that forgets to release does not leave a connection thread forever.
      if (!faults_.waitForChange(decision.hold_generation, kMaxHold))
        spdlog::warn("fault injection: released `{}` after {} s without a change", line,
                     std::chrono::duration_cast<std::chrono::seconds>(kMaxHold).count());
      return CommandOutcome{"", 0, true};
    }
    if (decision.drop_connection) return CommandOutcome{"", 0, true};
    if (decision.delay.count() > 0) std::this_thread::sleep_for(decision.delay);
    if (options_.command_latency.count() > 0) {
      if (options_.spend_latency)
        options_.spend_latency(options_.command_latency);
      else
        std::this_thread::sleep_for(options_.command_latency);
    }
  }
  CommandOutcome outcome = [&] {
    if (decision.fail) {
      spdlog::info("fault injection: failing `{}` with `{}`", line, decision.fail_message);
      return CommandOutcome{decision.fail_message + options_.line_ending, 1};
    }
    if (!command) return CommandOutcome{parse_error + options_.line_ending, 1};
    std::lock_guard lock(mutex_);
    try {
      return CommandOutcome{runLocked(*command, terminal_width), 0};
    } catch (const RouterOsError& error) {
      return CommandOutcome{std::string(error.what()) + options_.line_ending, 1};
    } catch (const std::exception& error) {
      // Environmental failures (disk I/O, configfs) surface as RouterOS failures.
      return CommandOutcome{"failure: " + std::string(error.what()) + options_.line_ending, 1};
    }
  }();
  if (decision.drop_reply) {
    outcome.drop_connection = true;
    outcome.ran_before_drop = true;
  }
  return outcome;
}

std::string CommandProcessor::runLocked(const CliCommand& command, int terminal_width) {
  if (command.verb.empty()) return "";
  const std::string& menu = command.menu.front();
  if (menu == "disk") {
    if (command.verb == "add") return diskAdd(command);
    if (command.verb == "set") return diskSet(command);
    if (command.verb == "remove") return diskRemove(command);
    return diskPrint(command, terminal_width);
  }
  if (menu == "file") return filePrintOrRemove(command, terminal_width);
  return fault(command);
}

void CommandProcessor::exportAll() {
  if (exporter_ == nullptr) return;
  std::lock_guard lock(mutex_);
  for (const Disk& disk : store_.disks()) {
    if (disk.nvme_tcp_export) applyExport(Disk{}, disk, false);
  }
}

// ---- /disk --------------------------------------------------------------------------------

std::vector<CommandProcessor::DiskItem> CommandProcessor::diskItems() const {
  std::vector<DiskItem> items;
  std::uint32_t pool_id = 1;
  for (const Pool& pool : store_.pools()) items.push_back(DiskItem{&pool, 0, pool_id++});
  for (const Disk& disk : store_.disks()) items.push_back(DiskItem{nullptr, disk.id, disk.id});
  return items;
}

PrintEntry CommandProcessor::diskEntry(const DiskItem& item, int index) const {
  PrintEntry entry;
  entry.index = index;
  auto add = [&entry](std::string name, std::string value, ValueStyle style,
                      std::string match = "") {
    entry.properties.push_back(
        PrintProperty{std::move(name), std::move(value), style, std::move(match)});
  };
  if (item.pool != nullptr) {
    const Pool& pool = *item.pool;
    const std::uint64_t used = std::min(store_.usedBytes(pool), pool.capacity_bytes);
    const std::uint64_t free = pool.capacity_bytes - used;
    const std::uint64_t use =
        pool.capacity_bytes == 0 ? 0 : (used * 100 + pool.capacity_bytes / 2) / pool.capacity_bytes;
    entry.flags = "BM";
    // The properties, in order, of the one mounted RAID a published RDS transcript shows
    // (`/disk/print detail where slot~"raid10"` on an RDS2216, entry 26; the corpus file
    // plugins/rds_nvme/tests/fixtures/routeros/disk_where_slot_regex_raid_rds2216.txt):
    // a RAID0 of mirrors with xfs. Identifiers derive from the pool name so they are stable.
    const std::uint64_t total_inodes = pool.capacity_bytes / 10240;  // that box's bytes/inode
    std::uint64_t pool_files = 1;                                    // the root directory
    for (const Disk& disk : store_.disks()) {
      if (disk.file_path.rfind("/" + pool.name + "/", 0) == 0) ++pool_files;
    }
    const std::uint64_t free_inodes = total_inodes - std::min(total_inodes, pool_files);
    add("type", "raid", ValueStyle::kAuto);
    add("slot", pool.name, ValueStyle::kQuoted);
    add("slot-default", "", ValueStyle::kQuoted);
    add("parent", "", ValueStyle::kQuoted);
    add("fs-label", pool.name, ValueStyle::kQuoted);
    add("fs-uuid", stableId(pool.name, "fs-uuid", {8, 4, 4, 4, 12}), ValueStyle::kQuoted);
    add("fs", "xfs", ValueStyle::kAuto);
    add("model", "RAID0 striped", ValueStyle::kQuoted);
    add("size", formatSpacedDigits(pool.capacity_bytes), ValueStyle::kRaw,
        std::to_string(pool.capacity_bytes));
    add("free", formatSpacedDigits(free), ValueStyle::kRaw, std::to_string(free));
    add("total-inodes", formatSpacedDigits(total_inodes), ValueStyle::kRaw,
        std::to_string(total_inodes));
    add("free-inodes", formatSpacedDigits(free_inodes), ValueStyle::kRaw,
        std::to_string(free_inodes));
    add("use", std::to_string(use) + "%", ValueStyle::kAuto);
    add("mount-point", pool.name, ValueStyle::kQuoted);
    add("mount-filesystem", "yes", ValueStyle::kAuto);
    add("mount-read-only", "no", ValueStyle::kAuto);
    add("compress", "no", ValueStyle::kAuto);
    add("sector-size", "512", ValueStyle::kAuto);
    add("raid-type", "0", ValueStyle::kAuto);
    add("raid-device-count", "2", ValueStyle::kAuto);
    add("raid-max-component-size", "none", ValueStyle::kAuto);
    add("raid-chunk-size", "256K", ValueStyle::kAuto);
    add("raid-master", "none", ValueStyle::kAuto);
    add("state", "clean", ValueStyle::kQuoted);
    add("raid-uuid", stableId(pool.name, "raid-uuid", {8, 8, 8, 8}), ValueStyle::kQuoted);
    add("nvme-tcp-export", "no", ValueStyle::kAuto);
    add("iscsi-export", "no", ValueStyle::kAuto);
    add("nfs-sharing", "no", ValueStyle::kAuto);
    add("smb-sharing", "no", ValueStyle::kAuto);
    add("media-sharing", "no", ValueStyle::kAuto);
    add("media-interface", "none", ValueStyle::kAuto);
    add("swap", "no", ValueStyle::kAuto);
    return entry;
  }
  const Disk& disk = *store_.findById(item.disk_id);
  entry.flags = disk.nvme_tcp_export ? "Bt" : "B";
  entry.comment = disk.comment;
  add("type", "file", ValueStyle::kAuto);
  add("slot", disk.slot, ValueStyle::kQuoted);
  add("slot-default", "", ValueStyle::kQuoted);
  add("parent", "", ValueStyle::kQuoted);
  add("fs", "-", ValueStyle::kAuto);
  add("model", disk.file_path, ValueStyle::kQuoted);
  add("size", formatSpacedDigits(disk.file_size), ValueStyle::kRaw, std::to_string(disk.file_size));
  add("mount-filesystem", yesNo(disk.mount_filesystem), ValueStyle::kAuto);
  add("mount-read-only", yesNo(disk.mount_read_only), ValueStyle::kAuto);
  add("compress", yesNo(disk.compress), ValueStyle::kAuto);
  add("sector-size", "512", ValueStyle::kAuto);
  add("raid-master", "none", ValueStyle::kAuto);
  add("nvme-tcp-export", yesNo(disk.nvme_tcp_export), ValueStyle::kAuto);
  if (disk.nvme_tcp_export) {
    add("nvme-tcp-server-port", std::to_string(disk.nvme_tcp_server_port), ValueStyle::kAuto);
    add("nvme-tcp-server-nqn", disk.nvme_tcp_server_nqn, ValueStyle::kQuoted);
    add("nvme-tcp-server-allow-host-name", disk.nvme_tcp_server_allow_host_name,
        ValueStyle::kQuoted);
  }
  add("iscsi-export", "no", ValueStyle::kAuto);
  add("nfs-sharing", "no", ValueStyle::kAuto);
  add("smb-sharing", "no", ValueStyle::kAuto);
  add("media-sharing", "no", ValueStyle::kAuto);
  add("media-interface", "none", ValueStyle::kAuto);
  add("swap", "no", ValueStyle::kAuto);
  add("file-path", disk.file_path, ValueStyle::kAuto);
  add("file-size", formatBinarySize(disk.file_size), ValueStyle::kAuto,
      std::to_string(disk.file_size));
  add("file-offset", "0", ValueStyle::kAuto);
  return entry;
}

std::string CommandProcessor::diskPrint(const CliCommand& command, int terminal_width) {
  const PrintRequest request = parsePrintArguments(command);
  checkKnownProperties(request.where, diskProperties());
  std::vector<PrintEntry> entries;
  int index = 0;
  for (const DiskItem& item : diskItems()) entries.push_back(diskEntry(item, index++));
  return renderPrint(request, std::move(entries), diskFlags(),
                     {"slot", "model", "size", "free", "fs", "mount-point"}, terminal_width,
                     options_.line_ending);
}

void CommandProcessor::checkSpace(const Pool& pool, std::uint64_t extra_bytes) const {
  if (faults_.diskFull()) {
    spdlog::info("fault injection: disk-full refuses {} bytes in pool {}", extra_bytes, pool.name);
    fail("failure: not enough space");
  }
  const std::uint64_t used = store_.usedBytes(pool);
  const std::uint64_t free = used >= pool.capacity_bytes ? 0 : pool.capacity_bytes - used;
  if (extra_bytes > free) fail("failure: not enough space");
}

void CommandProcessor::applyExport(const Disk& before, const Disk& after, bool existed) {
  if (exporter_ == nullptr) return;
  const bool was_exported = existed && before.nvme_tcp_export;
  if (was_exported &&
      (!after.nvme_tcp_export || before.nvme_tcp_server_nqn != after.nvme_tcp_server_nqn)) {
    exporter_->remove(before.nvme_tcp_server_nqn);
  }
  if (!after.nvme_tcp_export) return;
  const std::optional<ResolvedPath> path = store_.resolve(after.file_path);
  if (!path) fail("failure: file-path is not on a mounted disk");
  NvmetExport spec;
  spec.nqn = after.nvme_tcp_server_nqn;
  spec.backing_file = std::filesystem::absolute(path->host_path);
  spec.address = options_.nvmet_address;
  spec.port = after.nvme_tcp_server_port;
  spec.allowed_hosts = NvmetExporter::parseAllowList(after.nvme_tcp_server_allow_host_name);
  exporter_->apply(spec);
  if (was_exported && before.file_size != after.file_size) {
    exporter_->refreshSize(after.nvme_tcp_server_nqn);
  }
}

std::string CommandProcessor::diskAdd(const CliCommand& command) {
  std::optional<std::string> type, file_path, slot, nqn, allow_hosts, comment;
  std::optional<std::uint64_t> file_size;
  std::optional<std::uint16_t> port;
  std::optional<bool> export_flag, mount_filesystem, mount_read_only, compress;
  const Argument* copy_from = nullptr;
  for (const Argument& argument : command.arguments) {
    if (argument.name.empty() || !argument.has_value) expectedEnd(argument.column);
    const std::string& name = argument.name;
    if (name == "copy-from") {
      copy_from = &argument;
      continue;
    }
    requireValue(argument);
    const std::string& text = argument.value.text;
    if (name == "type") {
      static const std::set<std::string> kTypes = {"file",  "raid", "partition", "nvme-tcp",
                                                   "iscsi", "nfs",  "smb",       "tmpfs"};
      if (kTypes.count(text) == 0) fail("input does not match any value of type");
      type = text;
    } else if (name == "file-path") {
      file_path = text;
    } else if (name == "file-size") {
      file_size = parseSize(argument);
    } else if (name == "slot") {
      slot = text;
    } else if (name == "nvme-tcp-export") {
      export_flag = parseBool(argument);
    } else if (name == "nvme-tcp-server-port") {
      port = static_cast<std::uint16_t>(parseNumber(argument, 1, 65535));
    } else if (name == "nvme-tcp-server-nqn") {
      nqn = text;
    } else if (name == "nvme-tcp-server-allow-host-name") {
      allow_hosts = text;
    } else if (name == "comment") {
      comment = text;
    } else if (name == "mount-filesystem") {
      mount_filesystem = parseBool(argument);
    } else if (name == "mount-read-only") {
      mount_read_only = parseBool(argument);
    } else if (name == "compress") {
      compress = parseBool(argument);
    } else {
      expectedEnd(argument.column);
    }
  }
  if (!type) fail("failure: type not specified");
  if (*type != "file") fail("failure: rds-sim only simulates type=file disks");

  const Disk* source = nullptr;
  if (copy_from != nullptr) {
    std::vector<PrintEntry> entries;
    std::vector<std::uint32_t> ids;
    const std::vector<DiskItem> items = diskItems();
    for (std::size_t i = 0; i < items.size(); ++i) {
      entries.push_back(diskEntry(items[i], static_cast<int>(i)));
      ids.push_back(items[i].id);
    }
    const std::vector<std::size_t> selected =
        selectItems(copy_from->value, entries, ids, "slot", diskProperties());
    if (selected.empty()) fail("no such item");
    if (selected.size() > 1) fail("failure: copy-from must name one disk");
    const DiskItem& item = items[selected.front()];
    if (item.pool != nullptr) fail("failure: copy-from must be a file disk");
    source = store_.findById(item.disk_id);
  }

  Disk disk;
  if (slot) {
    if (slot->empty()) fail("failure: slot can not be empty");
    disk.slot = *slot;
  } else {
    for (int n = 1;; ++n) {
      disk.slot = "file" + std::to_string(n);
      if (store_.findBySlot(disk.slot) == nullptr) break;
    }
  }
  if (store_.findBySlot(disk.slot) != nullptr) fail("failure: slot already exists");
  if (!file_path) fail("failure: file-path not specified");
  const std::optional<ResolvedPath> path = store_.resolve(*file_path);
  if (!path) fail("failure: file-path is not on a mounted disk");
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(path->host_path, ec))) {
    fail("failure: file already exists");
  }
  if (source == nullptr && !file_size) fail("failure: file-size not specified");
  const std::uint64_t source_size = source != nullptr ? source->file_size : 0;
  disk.file_size = file_size.value_or(source_size);
  if (source != nullptr && disk.file_size < source_size) {
    fail("failure: file-size is smaller than the copied disk");
  }
  if (disk.file_size == 0) fail("failure: file-size must be greater than 0");
  disk.file_path = path->routeros_path;
  disk.nvme_tcp_export = export_flag.value_or(false);
  disk.nvme_tcp_server_port = port.value_or(4420);
  disk.nvme_tcp_server_nqn = nqn.value_or(kDefaultNqnPrefix + disk.slot);
  disk.nvme_tcp_server_allow_host_name = allow_hosts.value_or("");
  disk.comment = comment.value_or("");
  disk.mount_filesystem = mount_filesystem.value_or(true);
  disk.mount_read_only = mount_read_only.value_or(false);
  disk.compress = compress.value_or(false);
  if (disk.nvme_tcp_export) {
    for (const Disk& other : store_.disks()) {
      if (other.nvme_tcp_export && other.nvme_tcp_server_nqn == disk.nvme_tcp_server_nqn) {
        fail("failure: nvme-tcp-server-nqn already in use");
      }
    }
  }
  checkSpace(*path->pool, disk.file_size);

  if (source != nullptr) {
    const std::optional<ResolvedPath> source_path = store_.resolve(source->file_path);
    if (!source_path) fail("failure: copy-from disk has no file");
    copySparseFile(source_path->host_path, path->host_path);
    if (disk.file_size > source_size) growSparseFile(path->host_path, disk.file_size);
  } else {
    createSparseFile(path->host_path, disk.file_size);
  }
  try {
    applyExport(Disk{}, disk, false);
    disk.id = store_.allocateId();
    store_.addDisk(disk);
  } catch (...) {
    if (exporter_ != nullptr && disk.nvme_tcp_export) {
      try {
        exporter_->remove(disk.nvme_tcp_server_nqn);
      } catch (const std::exception&) {
        // The original error is the one to report.
      }
    }
    std::filesystem::remove(path->host_path, ec);
    throw;
  }
  return "";
}

std::string CommandProcessor::diskSet(const CliCommand& command) {
  const Argument* items_argument = nullptr;
  std::vector<const Argument*> changes;
  for (const Argument& argument : command.arguments) {
    const bool unnamed = argument.name.empty() || !argument.has_value;
    if (unnamed) {
      if (items_argument != nullptr) expectedEnd(argument.column);
      items_argument = &argument;
      continue;
    }
    static const std::set<std::string> kSettable = {"file-size",
                                                    "nvme-tcp-export",
                                                    "nvme-tcp-server-port",
                                                    "nvme-tcp-server-nqn",
                                                    "nvme-tcp-server-allow-host-name",
                                                    "comment",
                                                    "slot",
                                                    "mount-filesystem",
                                                    "mount-read-only",
                                                    "compress"};
    if (kSettable.count(argument.name) == 0) expectedEnd(argument.column);
    requireValue(argument);
    changes.push_back(&argument);
  }
  if (items_argument == nullptr) fail("no such item");
  ArgumentValue item_value = items_argument->value;
  if (!items_argument->name.empty()) item_value.text = items_argument->name;

  const std::vector<DiskItem> items = diskItems();
  std::vector<PrintEntry> entries;
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < items.size(); ++i) {
    entries.push_back(diskEntry(items[i], static_cast<int>(i)));
    ids.push_back(items[i].id);
  }
  const std::vector<std::size_t> selected =
      selectItems(item_value, entries, ids, "slot", diskProperties());
  // Values are checked before anything changes, so a bad value changes nothing.
  for (const Argument* change : changes) {
    const std::string& name = change->name;
    if (name == "file-size") parseSize(*change);
    if (name == "nvme-tcp-export" || name == "mount-filesystem" || name == "mount-read-only" ||
        name == "compress") {
      parseBool(*change);
    }
    if (name == "nvme-tcp-server-port") parseNumber(*change, 1, 65535);
  }
  for (const std::size_t index : selected) {
    const DiskItem& item = items[index];
    if (item.pool != nullptr) fail("failure: can not change a mounted RAID");
    const Disk before = *store_.findById(item.disk_id);
    Disk after = before;
    for (const Argument* change : changes) {
      const std::string& name = change->name;
      const std::string& text = change->value.text;
      if (name == "file-size") {
        after.file_size = parseSize(*change);
      } else if (name == "nvme-tcp-export") {
        after.nvme_tcp_export = parseBool(*change);
      } else if (name == "nvme-tcp-server-port") {
        after.nvme_tcp_server_port = static_cast<std::uint16_t>(parseNumber(*change, 1, 65535));
      } else if (name == "nvme-tcp-server-nqn") {
        after.nvme_tcp_server_nqn = text;
      } else if (name == "nvme-tcp-server-allow-host-name") {
        after.nvme_tcp_server_allow_host_name = text;
      } else if (name == "comment") {
        after.comment = text;
      } else if (name == "slot") {
        if (text.empty()) fail("failure: slot can not be empty");
        if (text != before.slot && store_.findBySlot(text) != nullptr) {
          fail("failure: slot already exists");
        }
        after.slot = text;
      } else if (name == "mount-filesystem") {
        after.mount_filesystem = parseBool(*change);
      } else if (name == "mount-read-only") {
        after.mount_read_only = parseBool(*change);
      } else if (name == "compress") {
        after.compress = parseBool(*change);
      }
    }
    if (after.nvme_tcp_export && after.nvme_tcp_server_nqn.empty()) {
      fail("failure: nvme-tcp-server-nqn not specified");
    }
    if (after.nvme_tcp_export) {
      for (const Disk& other : store_.disks()) {
        if (other.id != after.id && other.nvme_tcp_export &&
            other.nvme_tcp_server_nqn == after.nvme_tcp_server_nqn) {
          fail("failure: nvme-tcp-server-nqn already in use");
        }
      }
    }
    const std::optional<ResolvedPath> path = store_.resolve(after.file_path);
    if (!path) fail("failure: file-path is not on a mounted disk");
    if (after.file_size < before.file_size) fail("failure: file-size can not be decreased");
    if (after.file_size > before.file_size) {
      checkSpace(*path->pool, after.file_size - before.file_size);
      growSparseFile(path->host_path, after.file_size);
    }
    applyExport(before, after, true);
    store_.updateDisk(after);
  }
  return "";
}

std::string CommandProcessor::diskRemove(const CliCommand& command) {
  if (command.arguments.empty()) fail("no such item");
  const std::vector<DiskItem> items = diskItems();
  std::vector<PrintEntry> entries;
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < items.size(); ++i) {
    entries.push_back(diskEntry(items[i], static_cast<int>(i)));
    ids.push_back(items[i].id);
  }
  std::vector<std::size_t> selected;
  for (const Argument& argument : command.arguments) {
    if (argument.has_value) expectedEnd(argument.column);
    ArgumentValue value = argument.value;
    if (!argument.name.empty()) value.text = argument.name;
    for (const std::size_t index : selectItems(value, entries, ids, "slot", diskProperties())) {
      selected.push_back(index);
    }
  }
  for (const std::size_t index : selected) {
    if (items[index].pool != nullptr) fail("failure: can not remove a mounted RAID");
  }
  for (const std::size_t index : selected) {
    const Disk* disk = store_.findById(items[index].disk_id);
    if (disk == nullptr) continue;  // named twice
    if (disk->nvme_tcp_export && exporter_ != nullptr) {
      exporter_->remove(disk->nvme_tcp_server_nqn);
    }
    store_.removeDisk(disk->id);
  }
  return "";
}

// ---- /file --------------------------------------------------------------------------------

std::vector<CommandProcessor::FileItem> CommandProcessor::fileItems() const {
  std::vector<FileItem> items;
  for (const Pool& pool : store_.pools()) {
    items.push_back(FileItem{pool.directory, pool.name, true, true});
    std::vector<FileItem> below;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(pool.directory, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const std::optional<std::string> name = store_.routerOsName(it->path());
      if (!name) continue;
      std::error_code type_ec;
      below.push_back(FileItem{it->path(), *name, false, it->is_directory(type_ec)});
    }
    std::sort(below.begin(), below.end(),
              [](const FileItem& a, const FileItem& b) { return a.name < b.name; });
    items.insert(items.end(), below.begin(), below.end());
  }
  return items;
}

PrintEntry CommandProcessor::fileEntry(const FileItem& item, int index) const {
  PrintEntry entry;
  entry.index = index;
  struct stat info {};
  const bool have_info = ::stat(item.host_path.c_str(), &info) == 0;
  entry.properties.push_back(PrintProperty{"name", item.name, ValueStyle::kAuto, ""});
  std::string type;
  if (item.is_pool_root) {
    type = "disk";
  } else if (item.is_directory) {
    type = "directory";
  } else {
    const std::string extension = item.host_path.extension().string();
    type = extension.empty() ? "file" : extension + " file";
  }
  entry.properties.push_back(PrintProperty{"type", type, ValueStyle::kRaw, ""});
  if (!item.is_directory && have_info) {
    const auto size = static_cast<std::uint64_t>(info.st_size);
    entry.properties.push_back(
        PrintProperty{"size", formatBinarySize(size), ValueStyle::kRaw, std::to_string(size)});
  }
  if (have_info) {
    entry.properties.push_back(
        PrintProperty{"last-modified", formatTime(info.st_mtime), ValueStyle::kRaw, ""});
  }
  return entry;
}

std::string CommandProcessor::filePrintOrRemove(const CliCommand& command, int terminal_width) {
  const std::vector<FileItem> items = fileItems();
  std::vector<PrintEntry> entries;
  for (std::size_t i = 0; i < items.size(); ++i) {
    entries.push_back(fileEntry(items[i], static_cast<int>(i)));
  }
  if (command.verb == "print") {
    const PrintRequest request = parsePrintArguments(command);
    checkKnownProperties(request.where, fileProperties());
    return renderPrint(request, std::move(entries), {}, {"name", "type", "size", "last-modified"},
                       terminal_width, options_.line_ending);
  }
  if (command.arguments.empty()) fail("no such item");
  std::vector<std::size_t> selected;
  for (const Argument& argument : command.arguments) {
    if (argument.has_value) expectedEnd(argument.column);
    ArgumentValue value = argument.value;
    if (!argument.name.empty()) value.text = argument.name;
    for (const std::size_t index : selectItems(value, entries, {}, "name", fileProperties())) {
      selected.push_back(index);
    }
  }
  for (const std::size_t index : selected) {
    const FileItem& item = items[index];
    if (item.is_pool_root) fail("failure: can not remove a disk");
    for (const Disk& disk : store_.disks()) {
      const std::optional<ResolvedPath> path = store_.resolve(disk.file_path);
      if (path && path->host_path == item.host_path) fail("failure: file is in use");
    }
    std::error_code ec;
    if (item.is_directory && !std::filesystem::is_empty(item.host_path, ec)) {
      fail("failure: directory is not empty");
    }
  }
  for (const std::size_t index : selected) {
    std::error_code ec;
    std::filesystem::remove(items[index].host_path, ec);
    if (ec) fail("failure: " + ec.message());
  }
  return "";
}

// ---- /polycsi-sim fault -------------------------------------------------------------------

std::string CommandProcessor::fault(const CliCommand& command) {
  FaultSettings settings = faults_.settings();
  bool changed = false;
  for (const Argument& argument : command.arguments) {
    if (!argument.has_value) {
      if (argument.name == "reset") {
        settings = FaultSettings{};
        changed = true;
        continue;
      }
      if (argument.name == "print") continue;
      expectedEnd(argument.column);
    }
    requireValue(argument);
    changed = true;
    if (argument.name == "fail-next") {
      settings.fail_next = parseBool(argument);
    } else if (argument.name == "fail-message") {
      if (argument.value.text.empty()) fail("failure: fail-message can not be empty");
      settings.fail_message = argument.value.text;
    } else if (argument.name == "disk-full") {
      settings.disk_full = parseBool(argument);
    } else if (argument.name == "delay-ms") {
      settings.delay_ms = static_cast<std::uint32_t>(parseNumber(argument, 0, 600000));
    } else if (argument.name == "drop-after") {
      settings.drop_after = static_cast<std::uint32_t>(parseNumber(argument, 0, 1000000));
    } else if (argument.name == "drop-reply-after") {
      settings.drop_reply_after = static_cast<std::uint32_t>(parseNumber(argument, 0, 1000000));
    } else if (argument.name == "hold-after") {
      settings.hold_after = static_cast<std::uint32_t>(parseNumber(argument, 0, 1000000));
    } else if (argument.name == "hold-copy") {
      settings.hold_copy = parseBool(argument);
    } else {
      expectedEnd(argument.column);
    }
  }
  if (changed) faults_.set(settings);
  const FaultSettings now = faults_.settings();
  return "delay-ms=" + std::to_string(now.delay_ms) +
         " drop-after=" + std::to_string(now.drop_after) +
         " drop-reply-after=" + std::to_string(now.drop_reply_after) +
         " fail-next=" + yesNo(now.fail_next) +
         " fail-message=" + quoteRouterOsString(now.fail_message) +
         " disk-full=" + yesNo(now.disk_full) + " hold-after=" + std::to_string(now.hold_after) +
         " hold-copy=" + yesNo(now.hold_copy) +
         " copy-commands=" + std::to_string(faults_.copyCommands()) + options_.line_ending;
}

}  // namespace rds_sim
