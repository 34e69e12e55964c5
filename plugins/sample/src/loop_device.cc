#include "loop_device.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "file_io.hpp"

namespace polycsi::sample {
namespace fs = std::filesystem;
namespace {

constexpr char kSysBlock[] = "/sys/block";
constexpr char kLoopControl[] = "/dev/loop-control";
constexpr char kPartitions[] = "/proc/partitions";
constexpr std::string_view kDeletedSuffix = " (deleted)";
// Other programs may grab the free device between LOOP_CTL_GET_FREE and binding it; retrying a
// few times resolves that race without looping forever.
constexpr int kMaxBindAttempts = 16;
// How long to wait for /dev/loopN to appear before creating the node ourselves.
constexpr auto kDeviceNodeWait = std::chrono::seconds(2);
constexpr auto kDeviceNodePoll = std::chrono::milliseconds(10);

std::optional<int> loopIndex(const std::string& name) {
  if (name.size() <= 4 || name.compare(0, 4, "loop") != 0) return std::nullopt;
  int index = 0;
  auto [end, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), index);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return index;
}

// The attribute's text, or nullopt when it cannot be read: devices appear and vanish while they
// are scanned, and one that cannot be read is not one to touch.
std::optional<std::string> readSysfs(const fs::path& path) {
  std::optional<std::string> read;
  try {
    read = readFileIfPresent(path);  // an unbound loop device has no backing_file: no throw
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!read) return std::nullopt;
  std::string text = std::move(*read);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

// The device as sysfs describes it now, or nullopt when it is not bound to a file.
std::optional<LoopDevice> describeLoop(int index) {
  fs::path dir = fs::path(kSysBlock) / ("loop" + std::to_string(index));
  auto backing = readSysfs(dir / "loop" / "backing_file");
  if (!backing || backing->empty()) return std::nullopt;
  LoopDevice device;
  device.index = index;
  device.devicePath = "/dev/loop" + std::to_string(index);
  if (backing->size() > kDeletedSuffix.size() &&
      backing->compare(backing->size() - kDeletedSuffix.size(), kDeletedSuffix.size(),
                       kDeletedSuffix) == 0) {
    device.backingFileDeleted = true;
    backing->resize(backing->size() - kDeletedSuffix.size());
  }
  device.backingFile = *backing;
  device.readOnly = readSysfs(dir / "ro").value_or("0") == "1";
  return device;
}

// The loop devices that have a size, from /proc/partitions: the kernel lists a disk there only
// while its capacity is not zero, so the unbound loop devices that stay in /sys/block once created
// (dozens on a busy node) cost nothing, where reading each one's backing_file cost a failed open
// (about 11 us each; DeleteVolume scanned 56 of them in 0.6 ms, three Probe round trips).
// nullopt when the file cannot be read, and the caller falls back to listing /sys/block.
std::optional<std::vector<int>> loopsWithCapacity() {
  std::optional<std::string> text;
  try {
    text = readFileIfPresent(kPartitions);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  return loopIndexesInPartitions(*text);
}

// Every loop device in /sys/block, bound or not.
std::vector<int> allLoops() {
  std::vector<int> indexes;
  std::error_code ec;
  for (fs::directory_iterator it(kSysBlock, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto index = loopIndex(it->path().filename().string())) indexes.push_back(*index);
  }
  if (ec)
    throw Error(Code::kInternal, std::string("cannot list ") + kSysBlock + ": " + ec.message());
  return indexes;
}

std::vector<LoopDevice> findLoops(const std::function<bool(const std::string&)>& matches) {
  std::optional<std::vector<int>> withCapacity = loopsWithCapacity();
  const std::vector<int> candidates = withCapacity ? std::move(*withCapacity) : allLoops();
  std::vector<LoopDevice> out;
  for (int index : candidates) {
    auto device = describeLoop(index);
    if (device && matches(device->backingFile)) out.push_back(std::move(*device));
  }
  std::sort(out.begin(), out.end(),
            [](const LoopDevice& a, const LoopDevice& b) { return a.index < b.index; });
  return out;
}

// Creates /dev/loopN from its sysfs "major:minor" when the system did not (a container whose
// /dev is not devtmpfs).
void createDeviceNode(int index, const std::string& path) {
  auto dev = readSysfs(fs::path(kSysBlock) / ("loop" + std::to_string(index)) / "dev");
  unsigned major = 0;
  unsigned minor = 0;
  if (!dev || std::sscanf(dev->c_str(), "%u:%u", &major, &minor) != 2)
    throw Error(Code::kUnavailable, "loop device " + path + " has no device number in sysfs");
  if (::mknod(path.c_str(), S_IFBLK | 0660, makedev(major, minor)) != 0 && errno != EEXIST)
    throw errnoError(Code::kUnavailable, "cannot create device node " + path, errno);
}

UniqueFd openLoopNode(int index, const Call& call) {
  std::string path = "/dev/loop" + std::to_string(index);
  auto giveUp = std::chrono::steady_clock::now() + kDeviceNodeWait;
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT) throw errnoError(Code::kUnavailable, "cannot open " + path, errno);
    call.checkpoint("waiting for " + path);
    if (std::chrono::steady_clock::now() >= giveUp) {
      createDeviceNode(index, path);
      giveUp = std::chrono::steady_clock::time_point::max();
      continue;
    }
    std::this_thread::sleep_for(kDeviceNodePoll);
  }
}

loop_info64 loopInfo(const fs::path& image, bool readOnly) {
  loop_info64 info{};
  info.lo_flags = readOnly ? LO_FLAGS_READ_ONLY : 0;
  // Informational only (truncated by the kernel's field size); sysfs has the full path.
  std::strncpy(reinterpret_cast<char*>(info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
  return info;
}

enum class BindOutcome { kBound, kBusy };

// Binds with LOOP_CONFIGURE (one atomic step), or LOOP_SET_FD + LOOP_SET_STATUS64 where the
// kernel predates it (before 5.8).
BindOutcome bind(int loopFd, int fileFd, const fs::path& image, bool readOnly,
                 const std::string& devicePath) {
  loop_config config{};
  config.fd = static_cast<uint32_t>(fileFd);
  config.info = loopInfo(image, readOnly);
  if (::ioctl(loopFd, LOOP_CONFIGURE, &config) == 0) return BindOutcome::kBound;
  if (errno == EBUSY) return BindOutcome::kBusy;
  if (errno != EINVAL && errno != ENOTTY)
    throw errnoError(Code::kInternal, "LOOP_CONFIGURE on " + devicePath + " failed", errno);

  if (::ioctl(loopFd, LOOP_SET_FD, fileFd) != 0) {
    if (errno == EBUSY) return BindOutcome::kBusy;
    throw errnoError(Code::kInternal, "LOOP_SET_FD on " + devicePath + " failed", errno);
  }
  // Read-only comes from the read-only file descriptor here; LOOP_SET_STATUS64 cannot set it.
  loop_info64 info = loopInfo(image, false);
  if (::ioctl(loopFd, LOOP_SET_STATUS64, &info) != 0) {
    int err = errno;
    ::ioctl(loopFd, LOOP_CLR_FD, 0);
    throw errnoError(Code::kInternal, "LOOP_SET_STATUS64 on " + devicePath + " failed", err);
  }
  return BindOutcome::kBound;
}

}  // namespace

std::vector<int> loopIndexesInPartitions(std::string_view partitions) {
  std::vector<int> indexes;
  while (!partitions.empty()) {
    const size_t eol = partitions.find('\n');
    std::string_view line = partitions.substr(0, eol);
    partitions = eol == std::string_view::npos ? std::string_view() : partitions.substr(eol + 1);
    // "major minor #blocks name": the name is the last field.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    const size_t space = line.find_last_of(' ');
    if (space == std::string_view::npos) continue;
    if (auto index = loopIndex(std::string(line.substr(space + 1)))) indexes.push_back(*index);
  }
  return indexes;
}

std::vector<LoopDevice> findLoopDevices(const fs::path& image) {
  const std::string wanted = image.string();
  return findLoops([&](const std::string& backing) { return backing == wanted; });
}

std::vector<LoopDevice> findLoopDevicesUnder(const fs::path& dir) {
  std::string prefix = dir.string();
  if (!dir.is_absolute() || dir == dir.root_path())
    throw Error(Code::kInvalidArgument, "refusing to look for loop devices under '" + prefix +
                                            "': give the backend's own directory");
  if (prefix.back() != '/') prefix += '/';
  return findLoops([&](const std::string& backing) { return backing.starts_with(prefix); });
}

LoopDevice attachLoopDevice(const fs::path& image, bool readOnly, const Call& call) {
  int ctl = ::open(kLoopControl, O_RDWR | O_CLOEXEC);
  if (ctl < 0)
    throw errnoError(Code::kUnavailable,
                     std::string("the loop driver is not usable (") + kLoopControl + ")", errno);
  UniqueFd control(ctl);
  UniqueFd file = openFile(image, readOnly ? O_RDONLY : O_RDWR);
  // One of this process's threads at a time between asking for a free device and binding it:
  // 64 concurrent stages raced each other for the same free device until some gave up after
  // kMaxBindAttempts (bench/README.md). Other processes can still take a device first; that is
  // what the retries are for.
  static std::mutex bindMutex;
  std::lock_guard bindLock(bindMutex);
  for (int attempt = 0; attempt < kMaxBindAttempts; ++attempt) {
    call.checkpoint("attaching " + image.string());
    int index = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (index < 0)
      throw errnoError(Code::kUnavailable, "no free loop device (LOOP_CTL_GET_FREE)", errno);
    UniqueFd loop = openLoopNode(index, call);
    std::string devicePath = "/dev/loop" + std::to_string(index);
    if (bind(loop.get(), file.get(), image, readOnly, devicePath) == BindOutcome::kBusy) continue;
    LoopDevice device;
    device.index = index;
    device.devicePath = devicePath;
    device.backingFile = image.string();
    device.readOnly = readOnly;
    return device;
  }
  throw Error(Code::kUnavailable, "could not bind " + image.string() +
                                      " to a loop device: " + std::to_string(kMaxBindAttempts) +
                                      " free devices were taken by others first");
}

void detachLoopDevice(const LoopDevice& device) {
  int fd = ::open(device.devicePath.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENXIO) return;  // the device itself is gone
    throw errnoError(Code::kInternal, "cannot open " + device.devicePath, errno);
  }
  UniqueFd loop(fd);
  // Another program may have reused the device since it was found: only clear it while it
  // still serves the same file.
  auto now = describeLoop(device.index);
  if (!now || now->backingFile != device.backingFile) return;
  if (::ioctl(loop.get(), LOOP_CLR_FD, 0) != 0) {
    if (errno == ENXIO) return;  // unbound meanwhile
    if (errno == EBUSY)
      throw Error(Code::kFailedPrecondition,
                  device.devicePath + " is still in use and cannot be detached");
    throw errnoError(Code::kInternal, "LOOP_CLR_FD on " + device.devicePath + " failed", errno);
  }
}

void refreshLoopCapacity(const LoopDevice& device) {
  UniqueFd loop = openFile(device.devicePath, O_RDONLY);
  if (::ioctl(loop.get(), LOOP_SET_CAPACITY, 0) != 0)
    throw errnoError(Code::kInternal, "LOOP_SET_CAPACITY on " + device.devicePath + " failed",
                     errno);
}

int64_t blockDeviceBytes(const std::string& devicePath) {
  UniqueFd fd = openFile(devicePath, O_RDONLY);
  uint64_t bytes = 0;
  if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0)
    throw errnoError(Code::kInternal, "BLKGETSIZE64 on " + devicePath + " failed", errno);
  return static_cast<int64_t>(bytes);
}

}  // namespace polycsi::sample
