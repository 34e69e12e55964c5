#include "server/node_volume_records.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "node/luks_devices.hpp"

namespace polycsi::server {
namespace {

// File names are derived from volume ids, which the core already restricts to
// [a-z0-9-]:[A-Za-z0-9._-]; ':' is replaced to keep names portable.
std::string fileNameOf(const std::string& volumeId) {
  std::string name;
  for (char c : volumeId) {
    bool safe = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    name += safe ? c : '+';
  }
  return name + ".json";
}

Status writeAtomically(const std::string& path, const std::string& content) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kInternal, "cannot write " + temp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status(Code::kInternal, "cannot write " + temp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return Status(Code::kInternal, "cannot sync " + temp + ": " + std::strerror(errno));
  if (::rename(temp.c_str(), path.c_str()) != 0)
    return Status(Code::kInternal, "cannot rename " + temp + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace

std::string NodeVolumeRecord::dataDevicePath() const {
  return luksMapping.empty() ? attachment.devicePath : node::LuksDevices::mappingPath(luksMapping);
}

NodeVolumeRecords::NodeVolumeRecords(std::string directory) : directory_(std::move(directory)) {
  std::filesystem::create_directories(directory_);
}

std::string NodeVolumeRecords::pathFor(const std::string& volumeId) const {
  return directory_ + "/" + fileNameOf(volumeId);
}

Status NodeVolumeRecords::save(const NodeVolumeRecord& r) const {
  nlohmann::json j = {
      {"volume_id", r.volumeId},
      {"backend", r.backend},
      {"block", r.block},
      {"kind",
       r.attachment.kind == Attachment::Kind::kBlockDevice ? "block_device" : "mount_source"},
      {"device_path", r.attachment.devicePath},
      {"mount_source", r.attachment.mountSource},
      {"attachment_fs_type", r.attachment.fsType},
      {"mount_options", r.attachment.mountOptions},
      {"staging_path", r.stagingPath},
      {"fs_type", r.fsType},
      {"luks_mapping", r.luksMapping},
      {"publications", nlohmann::json::array()},
  };
  for (const NodePublication& p : r.publications)
    j["publications"].push_back({{"target_path", p.targetPath},
                                 {"access_mode", static_cast<int>(p.access)},
                                 {"capability", p.capability},
                                 {"arguments", p.arguments}});
  return writeAtomically(pathFor(r.volumeId), j.dump(2));
}

StatusOr<std::optional<NodeVolumeRecord>> NodeVolumeRecords::load(
    const std::string& volumeId) const {
  std::string path = pathFor(volumeId);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT || !std::filesystem::exists(path)) return std::optional<NodeVolumeRecord>{};
    return Status(Code::kInternal, "cannot read " + path + ": " + std::strerror(errno));
  }
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    NodeVolumeRecord r;
    r.volumeId = j.at("volume_id").get<std::string>();
    r.backend = j.at("backend").get<std::string>();
    r.block = j.at("block").get<bool>();
    r.attachment.kind = j.at("kind").get<std::string>() == "block_device"
                            ? Attachment::Kind::kBlockDevice
                            : Attachment::Kind::kMountSource;
    r.attachment.devicePath = j.at("device_path").get<std::string>();
    r.attachment.mountSource = j.at("mount_source").get<std::string>();
    r.attachment.fsType = j.at("attachment_fs_type").get<std::string>();
    r.attachment.mountOptions = j.at("mount_options").get<std::vector<std::string>>();
    r.stagingPath = j.at("staging_path").get<std::string>();
    r.fsType = j.at("fs_type").get<std::string>();
    r.luksMapping = j.value("luks_mapping", std::string());
    if (j.contains("publications")) {
      for (const auto& p : j.at("publications")) {
        int access = p.at("access_mode").get<int>();
        if (access < static_cast<int>(AccessMode::kUnknown) ||
            access > static_cast<int>(AccessMode::kSingleNodeMultiWriter))
          return Status(Code::kInternal, "corrupt node record " + path + ": access_mode " +
                                             std::to_string(access) + " is out of range");
        r.publications.push_back(NodePublication{
            p.at("target_path").get<std::string>(), static_cast<AccessMode>(access),
            p.at("capability").get<std::string>(), p.at("arguments").get<std::string>()});
      }
    }
    if (r.volumeId != volumeId)
      return Status(Code::kInternal, path + " belongs to volume " + r.volumeId);
    return std::optional<NodeVolumeRecord>(std::move(r));
  } catch (const std::exception& e) {
    return Status(Code::kInternal, "corrupt node record " + path + ": " + e.what());
  }
}

Status NodeVolumeRecords::remove(const std::string& volumeId) const {
  std::string path = pathFor(volumeId);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status(Code::kInternal, "cannot remove " + path + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace polycsi::server
