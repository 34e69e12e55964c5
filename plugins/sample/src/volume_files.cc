#include "volume_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "file_io.hpp"
#include "local_ids.hpp"

namespace polycsi::sample {
namespace fs = std::filesystem;
namespace {

constexpr char kImageSuffix[] = ".img";
constexpr char kMetadataSuffix[] = ".json";
constexpr char kPartialSuffix[] = ".partial";

fs::path withSuffix(const fs::path& dir, const std::string& id, const char* suffix) {
  return dir / (id + suffix);
}

// The ids of every committed object in `dir` (those with a metadata file), sorted.
std::vector<std::string> committedIds(const fs::path& dir, const Call& call) {
  std::vector<std::string> ids;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw Error(Code::kInternal, "cannot list " + dir.string() + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw Error(Code::kInternal, "cannot list " + dir.string() + ": " + ec.message());
    call.checkpoint("listing " + dir.string());
    std::string file = it->path().filename().string();
    constexpr size_t kSuffixLen = sizeof(kMetadataSuffix) - 1;
    if (file.size() <= kSuffixLen ||
        file.compare(file.size() - kSuffixLen, kSuffixLen, kMetadataSuffix) != 0)
      continue;
    std::string id = file.substr(0, file.size() - kSuffixLen);
    if (isLegalLocalId(id)) ids.push_back(std::move(id));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

VolumeFiles::VolumeFiles(const fs::path& root) {
  if (!root.is_absolute())
    throw Error(Code::kInvalidArgument,
                "setting 'directory' must be an absolute path, got '" + root.string() + "'");
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    throw Error(Code::kInvalidArgument,
                "cannot create directory '" + root.string() + "': " + ec.message());
  root_ = fs::canonical(root, ec);
  if (ec || !fs::is_directory(root_))
    throw Error(Code::kInvalidArgument, "setting 'directory' ('" + root.string() +
                                            "') is not a usable directory" +
                                            (ec ? ": " + ec.message() : std::string()));
  volumes_ = root_ / "volumes";
  snapshots_ = root_ / "snapshots";
  for (const auto& dir : {volumes_, snapshots_}) {
    fs::create_directories(dir, ec);
    if (ec)
      throw Error(Code::kInvalidArgument,
                  "cannot create directory '" + dir.string() + "': " + ec.message());
  }
}

fs::path VolumeFiles::volumeImage(const std::string& id) const {
  return withSuffix(volumes_, id, kImageSuffix);
}

fs::path VolumeFiles::snapshotImage(const std::string& id) const {
  return withSuffix(snapshots_, id, kImageSuffix);
}

std::optional<VolumeRecord> VolumeFiles::findVolume(const std::string& id) const {
  requireLegalLocalId(id, "volume id");
  fs::path path = withSuffix(volumes_, id, kMetadataSuffix);
  auto text = readFileIfPresent(path);
  if (!text) return std::nullopt;
  return parseVolumeRecord(*text, path.string());
}

std::vector<VolumeRecord> VolumeFiles::allVolumes(const Call& call) const {
  std::vector<VolumeRecord> out;
  for (const auto& id : committedIds(volumes_, call)) {
    // Deleted between listing and reading: simply not there any more.
    if (auto record = findVolume(id)) out.push_back(std::move(*record));
  }
  return out;
}

std::vector<std::string> VolumeFiles::volumeIds(const Call& call) const {
  return committedIds(volumes_, call);
}

void VolumeFiles::createVolume(const VolumeRecord& record, const ImageFiller& fill,
                               const Call& call, const PublishStep& publish) {
  requireLegalLocalId(record.id, "volume id");
  createObject(volumes_, record.id, toJson(record), record.capacityBytes, fill, call, publish);
}

void VolumeFiles::growVolume(const VolumeRecord& record, const PublishStep& publish) {
  requireLegalLocalId(record.id, "volume id");
  fs::path image = volumeImage(record.id);
  {
    UniqueFd fd = openFile(image, O_WRONLY);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      throw errnoError(Code::kInternal, "cannot stat " + image.string(), errno);
    // Never shrink: the image may already be larger after an interrupted earlier attempt.
    if (st.st_size < record.capacityBytes && ::ftruncate(fd.get(), record.capacityBytes) != 0)
      throw errnoError(Code::kInternal, "cannot grow " + image.string(), errno);
    syncFd(fd.get(), image.string());
  }
  writeFileAtomically(withSuffix(volumes_, record.id, kMetadataSuffix), toJson(record), publish);
}

void VolumeFiles::updateVolumeRecord(const VolumeRecord& record) {
  requireLegalLocalId(record.id, "volume id");
  writeFileAtomically(withSuffix(volumes_, record.id, kMetadataSuffix), toJson(record), nullptr);
}

bool VolumeFiles::removeVolume(const std::string& id) {
  requireLegalLocalId(id, "volume id");
  return removeObject(volumes_, id);
}

std::optional<SnapshotRecord> VolumeFiles::findSnapshot(const std::string& id) const {
  requireLegalLocalId(id, "snapshot id");
  fs::path path = withSuffix(snapshots_, id, kMetadataSuffix);
  auto text = readFileIfPresent(path);
  if (!text) return std::nullopt;
  return parseSnapshotRecord(*text, path.string());
}

std::vector<SnapshotRecord> VolumeFiles::allSnapshots(const Call& call) const {
  std::vector<SnapshotRecord> out;
  for (const auto& id : committedIds(snapshots_, call)) {
    if (auto record = findSnapshot(id)) out.push_back(std::move(*record));
  }
  return out;
}

void VolumeFiles::createSnapshot(const SnapshotRecord& record, const ImageFiller& fill,
                                 const Call& call, const PublishStep& publish) {
  requireLegalLocalId(record.id, "snapshot id");
  createObject(snapshots_, record.id, toJson(record), record.sizeBytes, fill, call, publish);
}

bool VolumeFiles::removeSnapshot(const std::string& id) {
  requireLegalLocalId(id, "snapshot id");
  return removeObject(snapshots_, id);
}

int VolumeFiles::removeLeftovers() {
  int removed = 0;
  for (const auto& dir : {volumes_, snapshots_}) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string file = it->path().filename().string();
      constexpr size_t kLen = sizeof(kPartialSuffix) - 1;
      if (file.size() > kLen && file.compare(file.size() - kLen, kLen, kPartialSuffix) == 0 &&
          removeIfPresent(it->path()))
        ++removed;
    }
    if (ec) throw Error(Code::kInternal, "cannot list " + dir.string() + ": " + ec.message());
  }
  return removed;
}

void VolumeFiles::createObject(const fs::path& dir, const std::string& id,
                               const std::string& metadata, int64_t size, const ImageFiller& fill,
                               const Call& call, const PublishStep& publish) {
  fs::path image = withSuffix(dir, id, kImageSuffix);
  fs::path partial = image;
  partial += kPartialSuffix;
  try {
    UniqueFd fd = openFile(partial, O_RDWR | O_CREAT | O_TRUNC, 0600);
    fill(fd.get());
    if (::ftruncate(fd.get(), size) != 0)
      throw errnoError(Code::kInternal, "cannot size " + partial.string(), errno);
    syncFd(fd.get(), partial.string());
    call.checkpoint("committing " + id);
    if (::rename(partial.c_str(), image.c_str()) != 0)
      throw errnoError(Code::kInternal, "cannot rename " + partial.string(), errno);
  } catch (...) {
    // A failed or interrupted fill must not leave a large file behind.
    ::unlink(partial.c_str());
    throw;
  }
  writeFileAtomically(withSuffix(dir, id, kMetadataSuffix), metadata, publish);
}

bool VolumeFiles::removeObject(const fs::path& dir, const std::string& id) {
  // Metadata first: once it is gone the object no longer exists, whatever happens next.
  bool existed = removeIfPresent(withSuffix(dir, id, kMetadataSuffix));
  removeIfPresent(withSuffix(dir, id, kImageSuffix));
  fs::path partial = withSuffix(dir, id, kImageSuffix);
  partial += kPartialSuffix;
  removeIfPresent(partial);
  syncDirectory(dir);
  return existed;
}

}  // namespace polycsi::sample
