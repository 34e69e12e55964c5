#include "fake_rds.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace polycsi::rds_nvme::testing {
namespace {

using Action = RouterOsCommand::Action;
using Menu = RouterOsCommand::Menu;

std::string spacedDigits(int64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return out;
}

std::string withUnit(int64_t bytes) {
  char buffer[64];
  if (bytes >= (int64_t{1} << 30))
    std::snprintf(buffer, sizeof(buffer), "%.1fGiB", static_cast<double>(bytes) / (1 << 30));
  else
    std::snprintf(buffer, sizeof(buffer), "%.1fMiB", static_cast<double>(bytes) / (1 << 20));
  return buffer;
}

bool matches(const RouterOsCommand::Condition& c, const std::string& value) {
  if (c.match == RouterOsCommand::Match::kEquals) return value == c.value;
  return std::regex_search(value, std::regex(c.value));
}

CommandReply ok(std::string output = {}) { return CommandReply{0, std::move(output), {}}; }
CommandReply failure(std::string text) { return CommandReply{1, std::move(text) + "\n", {}}; }

// Property order as RouterOS prints /disk entries.
const std::vector<std::string> kOrder = {"type",
                                         "slot",
                                         "slot-default",
                                         "parent",
                                         "fs",
                                         "model",
                                         "size",
                                         "free",
                                         "use",
                                         "mount-point",
                                         "mount-filesystem",
                                         "nvme-tcp-export",
                                         "nvme-tcp-server-port",
                                         "nvme-tcp-server-nqn",
                                         "nvme-tcp-server-allow-host-name",
                                         "file-path",
                                         "file-size",
                                         "file-offset"};
const std::set<std::string> kQuoted = {
    "slot",  "slot-default",        "parent",
    "model", "nvme-tcp-server-nqn", "nvme-tcp-server-allow-host-name"};

}  // namespace

CommandReply FakeRds::run(const RouterOsCommand& command, const Call& call) {
  call.checkpoint("fake RDS command");
  std::unique_lock<std::mutex> lock(mu_);
  commands_.push_back(command.text());
  if (holdNextCopy_ && command.action() == Action::kAdd && command.arg("copy-from")) {
    holdNextCopy_ = false;
    files_[command.arg("file-path")->substr(1)] = 0;
    copyHeld_ = true;
    copyReleased_ = false;
    copyChanged_.notify_all();
    while (!copyReleased_) {
      if (call.isCancelled() || call.remaining().count() == 0) {
        // As a session whose command timed out: the copy may go on, its reply is lost.
        copyHeld_ = false;
        throw TransportError(Code::kDeadlineExceeded,
                             "fake RDS: the held copy's call ended before its reply", true);
      }
      copyChanged_.wait_for(lock, std::chrono::milliseconds(50));
    }
    copyHeld_ = false;
    if (copyFailure_) {
      std::string text = *copyFailure_;
      copyFailure_.reset();
      return failure(text);
    }
  }
  if (failNext_ && (!failAction_ || *failAction_ == command.action())) {
    std::string text = *failNext_;
    failNext_.reset();
    return failure(text);
  }
  CommandReply reply = apply(command);
  if (loseReply_ && *loseReply_ == command.action()) {
    loseReply_.reset();
    throw TransportError(Code::kUnavailable, "fake RDS: connection reset after the command", true);
  }
  return reply;
}

CommandReply FakeRds::apply(const RouterOsCommand& command) {
  const auto& condition = command.condition();
  if (command.menu() == Menu::kFile) {
    if (command.action() == Action::kPrintDetail) {
      std::vector<std::string> names;
      for (const auto& [name, size] : files_)
        if (!condition || matches(*condition, name)) names.push_back(name);
      return ok(renderFiles(names));
    }
    if (command.action() == Action::kRemove) {
      std::erase_if(files_, [&](const auto& f) { return matches(*condition, f.first); });
      return ok();
    }
    return failure("bad command name add (line 1 column 7)");
  }
  auto findDisk = [&](const RouterOsCommand::Condition& c) {
    return std::find_if(disks_.begin(), disks_.end(), [&](const auto& d) {
      auto it = d.second.props.find(c.key);
      return it != d.second.props.end() && matches(c, it->second);
    });
  };
  switch (command.action()) {
    case Action::kPrintDetail: {
      std::vector<const Disk*> shown;
      for (const auto& [slot, disk] : disks_) {
        if (condition) {
          auto it = disk.props.find(condition->key);
          if (it == disk.props.end() || !matches(*condition, it->second)) continue;
        }
        shown.push_back(&disk);
      }
      return ok(renderDisks(shown));
    }
    case Action::kAdd: {
      std::string slot = *command.arg("slot");
      for (const auto& d : disks_)
        if (d.first == slot) return failure("failure: disk with such slot already exists");
      Disk disk;
      int64_t bytes = 0;
      for (const auto& a : command.args())
        if (a.key == "copy-from") {
          auto source = findDisk(*a.selector);
          if (source == disks_.end()) return failure("no such item");
          bytes = source->second.bytes;
        }
      if (auto size = command.arg("file-size")) bytes = *parseRouterOsSize(*size);
      disk.bytes = bytes;
      disk.props = {{"type", "file"},
                    {"slot", slot},
                    {"slot-default", ""},
                    {"parent", ""},
                    {"fs", "-"},
                    {"model", *command.arg("file-path")},
                    {"mount-filesystem", "no"},
                    {"nvme-tcp-export", command.arg("nvme-tcp-export").value_or("no")},
                    {"nvme-tcp-server-port", command.arg("nvme-tcp-server-port").value_or("4420")},
                    {"nvme-tcp-server-nqn", command.arg("nvme-tcp-server-nqn").value_or("")},
                    {"nvme-tcp-server-allow-host-name", ""},
                    {"file-path", *command.arg("file-path")},
                    {"file-offset", "0"}};
      disks_.emplace_back(slot, disk);
      files_[command.arg("file-path")->substr(1)] = bytes;
      return ok();
    }
    case Action::kSet: {
      auto it = findDisk(*condition);
      if (it == disks_.end()) return ok();  // [find] matched nothing: RouterOS does nothing
      if (auto size = command.arg("file-size")) it->second.bytes = *parseRouterOsSize(*size);
      if (auto hosts = command.arg("nvme-tcp-server-allow-host-name"))
        it->second.props["nvme-tcp-server-allow-host-name"] = *hosts;
      return ok();
    }
    case Action::kRemove: {
      auto it = findDisk(*condition);
      if (it != disks_.end()) disks_.erase(it);  // the file stays, as on a real RDS
      return ok();
    }
  }
  return failure("syntax error");
}

std::string FakeRds::renderDisks(const std::vector<const Disk*>& disks) const {
  std::string out = "Flags: X - disabled, B - block-device, M - mounted; t - nvme-tcp-export\n";
  int index = 0;
  for (const Disk* disk : disks) {
    auto props = disk->props;
    props["size"] = spacedDigits(disk->bytes);
    if (props.count("file-path")) props["file-size"] = withUnit(disk->bytes);
    std::string flags = props["nvme-tcp-export"] == "yes" ? "t" : "";
    if (props.count("mount-point")) flags = "BM";
    char head[32];
    std::snprintf(head, sizeof(head), "%2d %-2s ", index++, flags.c_str());
    out += head;
    int onLine = 0;
    for (const auto& key : kOrder) {
      auto it = props.find(key);
      if (it == props.end()) continue;
      if (onLine == 4) {
        out += "\n      ";
        onLine = 0;
      }
      out += (onLine ? " " : "") + key + "=" +
             (kQuoted.count(key) ? "\"" + it->second + "\"" : it->second);
      ++onLine;
    }
    out += "\n\n";
  }
  return out;
}

std::string FakeRds::renderFiles(const std::vector<std::string>& names) const {
  std::string out;
  int index = 0;
  for (const auto& name : names)
    out += " " + std::to_string(index++) + " name=" + name +
           " type=file size=" + withUnit(files_.at(name)) +
           " last-modified=2025-01-02 03:04:05\n\n";
  return out;
}

void FakeRds::addPool(const std::string& mountPoint, int64_t size, int64_t free) {
  std::lock_guard<std::mutex> lock(mu_);
  Disk disk;
  disk.bytes = size;
  disk.props = {
      {"type", "hardware"},         {"slot", "nvme1"}, {"fs", "btrfs"}, {"mount-point", mountPoint},
      {"free", spacedDigits(free)}, {"use", "25%"}};
  disks_.emplace_back("nvme1", disk);
}

void FakeRds::addDisk(const std::string& slot, const std::string& filePath, int64_t bytes,
                      bool exported) {
  std::lock_guard<std::mutex> lock(mu_);
  Disk disk;
  disk.bytes = bytes;
  disk.props = {{"type", "file"},
                {"slot", slot},
                {"file-path", filePath},
                {"nvme-tcp-export", exported ? "yes" : "no"},
                {"nvme-tcp-server-port", "4420"},
                {"nvme-tcp-server-nqn", exported ? "nqn.2000-02.com.mikrotik:" + slot : ""},
                {"nvme-tcp-server-allow-host-name", ""}};
  disks_.emplace_back(slot, disk);
  files_[filePath.substr(1)] = bytes;
}

void FakeRds::addFile(const std::string& name, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[name] = bytes;
}

void FakeRds::loseReplyOfNext(RouterOsCommand::Action action) {
  std::lock_guard<std::mutex> lock(mu_);
  loseReply_ = action;
}

void FakeRds::failNextWith(const std::string& text, std::optional<RouterOsCommand::Action> action) {
  std::lock_guard<std::mutex> lock(mu_);
  failNext_ = text;
  failAction_ = action;
}

std::vector<std::string> FakeRds::commands() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commands_;
}

void FakeRds::holdNextCopy() {
  std::lock_guard<std::mutex> lock(mu_);
  holdNextCopy_ = true;
}

bool FakeRds::waitForHeldCopy(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mu_);
  return copyChanged_.wait_for(lock, limit, [this] { return copyHeld_; });
}

void FakeRds::releaseCopy(std::optional<std::string> failureText) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    copyReleased_ = true;
    copyFailure_ = std::move(failureText);
  }
  copyChanged_.notify_all();
}

void FakeRds::clearCommands() {
  std::lock_guard<std::mutex> lock(mu_);
  commands_.clear();
}

int FakeRds::count(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(std::count_if(commands_.begin(), commands_.end(),
                                        [&](const auto& c) { return c.rfind(prefix, 0) == 0; }));
}

std::optional<FakeRds::Disk> FakeRds::disk(const std::string& slot) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [s, d] : disks_)
    if (s == slot) return d;
  return std::nullopt;
}

bool FakeRds::hasFile(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.count(name) > 0;
}

size_t FakeRds::diskCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return disks_.size();
}

}  // namespace polycsi::rds_nvme::testing
