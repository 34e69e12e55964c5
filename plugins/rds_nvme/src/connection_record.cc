#include "connection_record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {
namespace {

nlohmann::json toJson(const SubsystemRecord& entry) {
  nlohmann::json controllers = nlohmann::json::array();
  for (const auto& c : entry.controllers)
    controllers.push_back({{"name", c.name}, {"owned", c.owned}, {"address", c.address}});
  // "address" (the first path) keeps the file readable by versions before multipath.
  return {{"nqn", entry.nqn},
          {"volume_id", entry.volumeId},
          {"address", entry.addresses.empty() ? std::string() : entry.addresses.front()},
          {"addresses", entry.addresses},
          {"port", entry.port},
          {"controllers", controllers},
          {"staging_paths", entry.stagingPaths},
          {"connecting", entry.connecting}};
}

SubsystemRecord fromJson(const nlohmann::json& json) {
  SubsystemRecord entry;
  entry.nqn = json.at("nqn").get<std::string>();
  entry.volumeId = json.at("volume_id").get<std::string>();
  if (json.contains("addresses"))
    entry.addresses = json.at("addresses").get<std::vector<std::string>>();
  else
    entry.addresses = {json.at("address").get<std::string>()};  // written before multipath
  if (entry.addresses.empty()) throw std::runtime_error("entry " + entry.nqn + " has no address");
  entry.port = json.at("port").get<std::string>();
  for (const auto& c : json.at("controllers"))
    entry.controllers.push_back({c.at("name").get<std::string>(), c.at("owned").get<bool>(),
                                 c.value("address", entry.addresses.front())});
  entry.stagingPaths = json.at("staging_paths").get<std::set<std::string>>();
  entry.connecting = json.value("connecting", false);
  return entry;
}

[[noreturn]] void writeFailed(const std::filesystem::path& file, const char* step) {
  throw Error(Code::kInternal,
              std::string("cannot ") + step + " " + file.string() + ": " + std::strerror(errno));
}

// Writes `text` to `file` so that a crash leaves either the old or the new content.
void replaceFile(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::path temp = file;
  temp += ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) writeFailed(temp, "create");
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      writeFailed(temp, "write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    writeFailed(temp, "sync");
  }
  ::close(fd);
  if (::rename(temp.c_str(), file.c_str()) != 0) writeFailed(file, "replace");
}

}  // namespace

ConnectionRecord::ConnectionRecord(std::filesystem::path directory)
    : file_(std::move(directory) / "nvme-connections.json") {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return;
  std::ifstream in(file_);
  try {
    auto json = nlohmann::json::parse(in);
    for (const auto& item : json.at("subsystems")) {
      SubsystemRecord entry = fromJson(item);
      entries_[entry.nqn] = std::move(entry);
    }
  } catch (const std::exception& e) {
    throw Error(Code::kInternal,
                "cannot read the NVMe connection record " + file_.string() + ": " + e.what() +
                    " (fix or remove it; without it this node disconnects nothing it made)");
  }
}

std::optional<SubsystemRecord> ConnectionRecord::find(const std::string& nqn) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(nqn);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<SubsystemRecord> ConnectionRecord::forVolume(const std::string& volumeId) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SubsystemRecord> out;
  for (const auto& [nqn, entry] : entries_)
    if (entry.volumeId == volumeId) out.push_back(entry);
  return out;
}

std::vector<SubsystemRecord> ConnectionRecord::all() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SubsystemRecord> out;
  for (const auto& [nqn, entry] : entries_) out.push_back(entry);
  return out;
}

void ConnectionRecord::put(const SubsystemRecord& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  auto previous = entries_.find(entry.nqn);
  std::optional<SubsystemRecord> old;
  if (previous != entries_.end()) old = previous->second;
  entries_[entry.nqn] = entry;
  try {
    save();
  } catch (...) {
    // Memory and file stay in agreement: a change that is not on disk did not happen.
    if (old)
      entries_[entry.nqn] = *old;
    else
      entries_.erase(entry.nqn);
    throw;
  }
}

void ConnectionRecord::erase(const std::string& nqn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(nqn);
  if (it == entries_.end()) return;
  SubsystemRecord old = it->second;
  entries_.erase(it);
  try {
    save();
  } catch (...) {
    entries_[nqn] = std::move(old);
    throw;
  }
}

void ConnectionRecord::save() const {
  nlohmann::json subsystems = nlohmann::json::array();
  for (const auto& [nqn, entry] : entries_) subsystems.push_back(toJson(entry));
  nlohmann::json json;
  json["subsystems"] = subsystems;
  replaceFile(file_, json.dump(1) + "\n");
}

}  // namespace polycsi::rds_nvme
