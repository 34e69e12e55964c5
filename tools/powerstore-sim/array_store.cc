#include "array_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <random>
#include <set>
#include <system_error>
#include <tuple>

#include "api_error.hpp"

namespace powerstore_sim {
namespace {

// Volume sizes as dell/csi-powerstore pkg/controller/base.go states the array's rules
// (MinVolumeSizeBytes, VolumeSizeMultiple, MaxVolumeSizeBytes): at least 1 MiB, a multiple
// of 8192 bytes, at most 256 TiB.
constexpr std::uint64_t kMinVolumeSize = 1ull << 20;
constexpr std::uint64_t kSizeMultiple = 8192;
constexpr std::uint64_t kMaxVolumeSize = 256ull << 40;

[[noreturn]] void throwErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Copies `source` into the new file `target`, leaving runs of zeros as holes.
void copySparse(const std::filesystem::path& source, const std::filesystem::path& target) {
  const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throwErrno("open " + source.string());
  const int out = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    const int error = errno;
    ::close(in);
    throw std::system_error(error, std::generic_category(), "create " + target.string());
  }
  std::array<char, 65536> buffer{};
  off_t offset = 0;
  bool ok = true;
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) break;
    const bool zeros =
        std::all_of(buffer.begin(), buffer.begin() + n, [](char c) { return c == 0; });
    if (!zeros && ::pwrite(out, buffer.data(), static_cast<std::size_t>(n), offset) != n) {
      ok = false;
      break;
    }
    offset += n;
  }
  if (ok && ::ftruncate(out, offset) != 0) ok = false;
  const int error = errno;
  ::close(in);
  ::close(out);
  if (!ok) {
    std::filesystem::remove(target);
    throw std::system_error(error, std::generic_category(), "copy to " + target.string());
  }
}

void checkSize(std::uint64_t size) {
  if (size < kMinVolumeSize || size % kSizeMultiple != 0 || size > kMaxVolumeSize) {
    throw ApiError(400, kCodeBadRequest,
                   "Invalid size " + std::to_string(size) +
                       ": must be a multiple of 8192 bytes from 1 MiB to 256 TiB.",
                   {std::to_string(size)});
  }
}

// Policies are referenced by id ("x-ref": "policy" in the OpenAPI); the simulator does not
// implement the API's "name:<name>" form of a reference.
void checkPerformancePolicy(const std::string& id) {
  const auto& known = predefinedPerformancePolicies();
  if (std::find(known.begin(), known.end(), id) == known.end())
    throw ApiError(400, kCodeBadRequest, "The performance policy " + id + " does not exist.", {id});
}

void checkName(const std::string& name) {
  if (name.empty() || name.size() > 128) {
    throw ApiError(400, kCodeBadRequest, "Name must be 1 to 128 characters.", {name});
  }
}

// CHAP values as dell/gopowerstore host_types.go states the array's bounds (InstanceInitiator,
// InitiatorCreateModify, UpdateInitiatorInHost): a user name of 1 to 64 printable UTF-8
// characters, a password of 12 to 64.
void checkChapValue(const std::string& value, const std::string& field, std::size_t min) {
  std::size_t characters = 0;
  bool printable = true;
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xc0) != 0x80) ++characters;
    if (byte < 0x20 || byte == 0x7f) printable = false;
  }
  if (characters < min || characters > 64 || !printable) {
    // Never the value: it may be a password.
    throw ApiError(400, kCodeBadRequest,
                   "Invalid " + field + ": must be " + std::to_string(min) +
                       " to 64 printable UTF-8 characters.",
                   {field});
  }
}

// An initiator's CHAP pairs: each set whole or not at all, within the array's bounds.
void checkInitiatorChap(const SimInitiator& i) {
  for (const auto& [kind, user, password] :
       {std::tuple<const char*, const std::string&, const std::string&>{
            "single", i.chap_single_username, i.chap_single_password},
        {"mutual", i.chap_mutual_username, i.chap_mutual_password}}) {
    const std::string prefix = std::string("chap_") + kind;
    if (user.empty() && password.empty()) continue;
    if (user.empty() || password.empty()) {
      throw ApiError(400, kCodeBadRequest,
                     "Initiator " + i.port_name + ": " + prefix + "_username and " + prefix +
                         "_password go together.",
                     {i.port_name});
    }
    checkChapValue(user, prefix + "_username", 1);
    checkChapValue(password, prefix + "_password", 12);
  }
}

std::string nowTimestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S.000+00:00", &utc);
  return text;
}

// Volume group names are unique ignoring case (volume_group_create `name`: "uniqueness check is
// case-insensitive").
bool sameNameIgnoringCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string newUuid() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_int_distribution<unsigned> nibble(0, 15);
  std::string text = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
  static const char kHex[] = "0123456789abcdef";
  for (char& c : text) {
    if (c == 'x') c = kHex[nibble(generator)];
    if (c == 'y') c = kHex[8 + nibble(generator) % 4];
  }
  return text;
}

nlohmann::json toJson(const SimVolume& v) {
  nlohmann::json json = {{"id", v.id},
                         {"name", v.name},
                         {"description", v.description},
                         {"size", v.size},
                         {"type", v.type},
                         {"state", "Ready"},
                         {"creation_timestamp", v.creation_timestamp},
                         {"wwn", "naa." + naaOf(v.id)}};
  json["protection_data"] = {
      {"source_id", v.source_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.source_id)}};
  json["performance_policy_id"] = v.performance_policy_id;
  json["protection_policy_id"] = v.protection_policy_id.empty()
                                     ? nlohmann::json(nullptr)
                                     : nlohmann::json(v.protection_policy_id);
  return json;
}

nlohmann::json toJson(const SimVolumeGroup& g) {
  return {{"id", g.id},
          {"name", g.name},
          {"description", g.description},
          {"type", g.type},
          {"is_write_order_consistent", g.is_write_order_consistent},
          {"creation_timestamp", g.creation_timestamp},
          {"protection_data",
           {{"source_id",
             g.source_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(g.source_id)}}}};
}

nlohmann::json toJson(const SimHost& h) {
  nlohmann::json initiators = nlohmann::json::array();
  for (const SimInitiator& i : h.initiators) {
    initiators.push_back({{"port_name", i.port_name},
                          {"port_type", i.port_type},
                          {"chap_single_username", i.chap_single_username},
                          {"chap_mutual_username", i.chap_mutual_username}});
  }
  return {{"id", h.id}, {"name", h.name}, {"os_type", h.os_type}, {"initiators", initiators}};
}

std::string naaOf(const std::string& volume_id) {
  std::string hex;
  for (char c : volume_id)
    if (std::isxdigit(static_cast<unsigned char>(c)))
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  hex.resize(24, '0');
  return "68ccf098" + hex;
}

std::vector<SimIpPort> simIpPorts(const std::string& iqn_prefix,
                                  const std::vector<std::string>& addresses) {
  std::vector<SimIpPort> ports;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const std::string letter(1, static_cast<char>('a' + i % 26));
    const std::string n = std::to_string(i);
    // Two nodes per appliance, ports alternating between them.
    ports.push_back({"IP_PORT" + n, "IP" + n, addresses[i], iqn_prefix + "-" + letter,
                     i % 2 == 0 ? "N1" : "N2", static_cast<int>(i) + 1});
  }
  return ports;
}

nlohmann::json toJson(const SimMapping& m) {
  return {{"id", m.id},
          {"host_id", m.host_id},
          {"host_group_id", nullptr},
          {"volume_id", m.volume_id},
          {"logical_unit_number", m.logical_unit_number}};
}

ArrayStore::ArrayStore(std::filesystem::path state_dir, std::vector<SimIpPort> ports,
                       TgtdController* tgtd, const std::optional<std::string>& chap_mode)
    : state_dir_(std::move(state_dir)),
      ports_(std::move(ports)),
      tgtd_(tgtd),
      sealed_{"powerstore-sim-sealed", newUuid()} {
  std::filesystem::create_directories(state_dir_ / "volumes");
  load();
  if (chap_mode) {
    if (*chap_mode != kChapDisabled && *chap_mode != kChapSingle && *chap_mode != kChapMutual)
      throw ApiError(400, kCodeBadRequest,
                     "Invalid CHAP mode " + *chap_mode + ": Disabled, Single or Mutual.",
                     {*chap_mode});
    chap_mode_ = *chap_mode;
  }
}

std::filesystem::path ArrayStore::fileOf(const std::string& volume_id) const {
  return state_dir_ / "volumes" / (volume_id + ".img");
}

void ArrayStore::load() {
  const std::filesystem::path file = state_dir_ / "state.json";
  if (!std::filesystem::exists(file)) return;
  std::ifstream in(file);
  const nlohmann::json state = nlohmann::json::parse(in);
  for (const auto& v : state.at("volumes")) {
    SimVolume volume{v.at("id"),   v.at("name"),      v.at("description"),       v.at("size"),
                     v.at("type"), v.at("source_id"), v.at("creation_timestamp")};
    volume.performance_policy_id = v.value("performance_policy_id", volume.performance_policy_id);
    volume.protection_policy_id = v.value("protection_policy_id", std::string());
    volumes_[volume.id] = volume;
  }
  for (const auto& h : state.at("hosts")) {
    SimHost host{h.at("id"), h.at("name"), h.at("os_type"), {}};
    for (const auto& i : h.at("initiators"))
      host.initiators.push_back({i.at("port_name"), i.at("port_type"), i.at("chap_single_username"),
                                 i.at("chap_single_password"), i.value("chap_mutual_username", ""),
                                 i.value("chap_mutual_password", "")});
    hosts_[host.id] = host;
  }
  for (const auto& m : state.at("mappings")) {
    mappings_.push_back(
        {m.at("id"), m.at("host_id"), m.at("volume_id"), m.at("logical_unit_number")});
  }
  for (const auto& g : state.value("volume_groups", nlohmann::json::array())) {
    SimVolumeGroup group{g.at("id"),
                         g.at("name"),
                         g.at("description"),
                         g.at("type"),
                         g.at("is_write_order_consistent"),
                         g.at("source_id"),
                         g.at("creation_timestamp"),
                         g.at("volume_ids").get<std::vector<std::string>>()};
    groups_[group.id] = group;
  }
  chap_mode_ = state.value("chap_mode", std::string(kChapDisabled));
  if (state.contains("protection_policies"))
    protection_policies_ =
        state.at("protection_policies").get<std::map<std::string, std::string>>();
}

void ArrayStore::save() {
  nlohmann::json state = {{"volumes", nlohmann::json::array()},
                          {"hosts", nlohmann::json::array()},
                          {"mappings", nlohmann::json::array()}};
  for (const auto& [id, v] : volumes_) {
    state["volumes"].push_back({{"id", v.id},
                                {"name", v.name},
                                {"description", v.description},
                                {"size", v.size},
                                {"type", v.type},
                                {"source_id", v.source_id},
                                {"creation_timestamp", v.creation_timestamp},
                                {"performance_policy_id", v.performance_policy_id},
                                {"protection_policy_id", v.protection_policy_id}});
  }
  for (const auto& [id, h] : hosts_) {
    nlohmann::json host = toJson(h);
    for (std::size_t i = 0; i < h.initiators.size(); ++i) {
      host["initiators"][i]["chap_single_password"] = h.initiators[i].chap_single_password;
      host["initiators"][i]["chap_mutual_password"] = h.initiators[i].chap_mutual_password;
    }
    state["hosts"].push_back(host);
  }
  for (const SimMapping& m : mappings_) state["mappings"].push_back(toJson(m));
  state["volume_groups"] = nlohmann::json::array();
  for (const auto& [id, g] : groups_) {
    nlohmann::json group = toJson(g);
    group["source_id"] = g.source_id;
    group["volume_ids"] = g.volume_ids;
    group.erase("protection_data");
    state["volume_groups"].push_back(group);
  }
  state["chap_mode"] = chap_mode_;
  state["protection_policies"] = protection_policies_;
  const std::filesystem::path file = state_dir_ / "state.json";
  const std::filesystem::path temporary = state_dir_ / "state.json.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << state.dump(2);
    if (!out.flush()) throw std::runtime_error("cannot write " + temporary.string());
  }
  std::filesystem::rename(temporary, file);
}

void ArrayStore::exportAll() {
  std::lock_guard lock(mutex_);
  if (!tgtd_) return;
  for (const SimIpPort& port : ports_) tgtd_->createTarget(port.tid, port.target_iqn);
  applyChap(planChap(chap_mode_, hosts_, mappings_));
  for (const SimMapping& m : mappings_) exportLun(m, true);
  for (const auto& [id, host] : hosts_)
    if (hasMappings(id)) bindHost(host, true);
}

bool ArrayStore::hasMappings(const std::string& host_id) const {
  return std::any_of(mappings_.begin(), mappings_.end(),
                     [&](const SimMapping& m) { return m.host_id == host_id; });
}

void ArrayStore::exportLun(const SimMapping& mapping, bool add) {
  if (!tgtd_) return;
  for (const SimIpPort& port : ports_) {
    if (add) {
      tgtd_->addLun(port.tid, mapping.logical_unit_number, fileOf(mapping.volume_id),
                    naaOf(mapping.volume_id));
    } else {
      tgtd_->removeLun(port.tid, mapping.logical_unit_number);
    }
  }
}

SimVolume& ArrayStore::findVolume(const std::string& id) {
  auto it = volumes_.find(id);
  if (it == volumes_.end()) {
    throw ApiError(404, kCodeNotFound, "The volume " + id + " does not exist.", {id});
  }
  return it->second;
}

SimHost& ArrayStore::findHost(const std::string& id) {
  auto it = hosts_.find(id);
  if (it == hosts_.end()) {
    throw ApiError(404, kCodeNotFound, "The host " + id + " does not exist.", {id});
  }
  return it->second;
}

void ArrayStore::requireFreeName(const std::string& name) {
  checkName(name);
  for (const auto& [id, v] : volumes_) {
    if (v.name == name) {
      throw ApiError(422, kCodeNameInUse, "The name " + name + " is already in use.", {name});
    }
  }
}

SimVolume ArrayStore::createVolume(const std::string& name, std::uint64_t size,
                                   const std::string& description,
                                   const SimVolumeChange& policies) {
  std::lock_guard lock(mutex_);
  requireFreeName(name);
  checkSize(size);
  checkPolicies(policies);
  SimVolume volume{newUuid(), name, description, size, "Primary", "", nowTimestamp()};
  if (policies.performance_policy_id)
    volume.performance_policy_id = *policies.performance_policy_id;
  if (policies.protection_policy_id) volume.protection_policy_id = *policies.protection_policy_id;
  const std::filesystem::path file = fileOf(volume.id);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throwErrno("create " + file.string());
  const bool sized = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  ::close(fd);
  if (!sized) {
    std::filesystem::remove(file);
    throwErrno("size " + file.string());
  }
  volumes_[volume.id] = volume;
  save();
  return volume;
}

SimVolume ArrayStore::volume(const std::string& id) {
  std::lock_guard lock(mutex_);
  return findVolume(id);
}

std::vector<SimVolume> ArrayStore::volumes() {
  std::lock_guard lock(mutex_);
  std::vector<SimVolume> all;
  for (const auto& [id, v] : volumes_) all.push_back(v);
  return all;
}

SimVolume ArrayStore::resizeVolume(const std::string& id, std::uint64_t size) {
  std::lock_guard lock(mutex_);
  SimVolume& volume = findVolume(id);
  checkSize(size);
  if (volume.type != "Primary") {
    throw ApiError(422, kCodeInUse, "A snapshot cannot be resized.", {id});
  }
  if (size < volume.size) {
    throw ApiError(422, kCodeBadRequest,
                   "The new size " + std::to_string(size) + " is smaller than the current size " +
                       std::to_string(volume.size) + ".",
                   {std::to_string(size)});
  }
  if (::truncate(fileOf(id).c_str(), static_cast<off_t>(size)) != 0) throwErrno("grow volume");
  volume.size = size;
  // A mapped volume grows in place: its LUNs stay, and an initiator that rescans sees the size.
  if (tgtd_) {
    for (const SimMapping& m : mappings_) {
      if (m.volume_id != id) continue;
      for (const SimIpPort& port : ports_)
        tgtd_->refreshLunSize(port.tid, m.logical_unit_number, fileOf(id));
    }
  }
  save();
  return volume;
}

void ArrayStore::checkPolicies(const SimVolumeChange& change) const {
  if (change.performance_policy_id) checkPerformancePolicy(*change.performance_policy_id);
  if (change.protection_policy_id && !change.protection_policy_id->empty() &&
      protection_policies_.count(*change.protection_policy_id) == 0)
    throw ApiError(400, kCodeBadRequest,
                   "The protection policy " + *change.protection_policy_id + " does not exist.",
                   {*change.protection_policy_id});
}

SimVolume ArrayStore::modifyVolume(const std::string& id, const SimVolumeChange& change) {
  {
    std::lock_guard lock(mutex_);
    const SimVolume& volume = findVolume(id);
    checkPolicies(change);
    if (change.name && *change.name != volume.name) requireFreeName(*change.name);
    if (change.description && change.description->size() > 128)
      throw ApiError(400, kCodeBadRequest, "The description must be at most 128 characters.",
                     {"description"});
    if (change.size) checkSize(*change.size);
    if (change.size && volume.type != "Primary")
      throw ApiError(422, kCodeInUse, "A snapshot cannot be resized.", {id});
    if (change.size && *change.size < volume.size)
      throw ApiError(422, kCodeBadRequest,
                     "The new size " + std::to_string(*change.size) +
                         " is smaller than the current size " + std::to_string(volume.size) + ".",
                     {std::to_string(*change.size)});
  }
  // Everything is checked: the size change (its own lock) cannot fail on a rule any more.
  if (change.size) resizeVolume(id, *change.size);
  std::lock_guard lock(mutex_);
  SimVolume& volume = findVolume(id);
  if (change.performance_policy_id) volume.performance_policy_id = *change.performance_policy_id;
  if (change.protection_policy_id) volume.protection_policy_id = *change.protection_policy_id;
  if (change.name) volume.name = *change.name;
  if (change.description) volume.description = *change.description;
  save();
  return volume;
}

void ArrayStore::addProtectionPolicy(const std::string& id, const std::string& name) {
  std::lock_guard lock(mutex_);
  protection_policies_[id] = name;
  save();
}

void ArrayStore::checkDeletable(const SimVolume& volume) const {
  for (const SimMapping& m : mappings_) {
    if (m.volume_id == volume.id) {
      throw ApiError(422, kCodeInUse,
                     "The volume " + volume.name + " is attached to host " +
                         hosts_.at(m.host_id).name + " and cannot be deleted.",
                     {volume.name});
    }
  }
  // DELETE /volume/{id} (OpenAPI 4.1): "A volume which is attached to a host or host group or
  // is a member of a volume group cannot be deleted", and "A volume which has snapshots that
  // are part of a snapset cannot be deleted". A snapshot in a snapshot set is a member too.
  if (const SimVolumeGroup* group = groupOfVolume(volume.id)) {
    throw ApiError(422, kCodeInUse,
                   "The volume " + volume.name + " is a member of volume group " + group->name +
                       " and cannot be deleted.",
                   {volume.name, group->name});
  }
  for (const auto& [id, other] : volumes_) {
    if (other.type != "Snapshot" || other.source_id != volume.id) continue;
    if (const SimVolumeGroup* set = groupOfVolume(id)) {
      throw ApiError(422, kCodeInUse,
                     "The volume " + volume.name + " has snapshot " + other.name +
                         " in snapshot set " + set->name + " and cannot be deleted.",
                     {volume.name, set->name});
    }
  }
}

void ArrayStore::eraseVolume(const std::string& id) {
  std::filesystem::remove(fileOf(id));
  volumes_.erase(id);
}

void ArrayStore::deleteVolume(const std::string& id) {
  std::lock_guard lock(mutex_);
  checkDeletable(findVolume(id));
  eraseVolume(id);
  save();
}

SimVolumeGroup& ArrayStore::findGroup(const std::string& id) {
  auto it = groups_.find(id);
  if (it == groups_.end())
    throw ApiError(404, kCodeNotFound, "The volume group " + id + " does not exist.", {id});
  return it->second;
}

const SimVolumeGroup* ArrayStore::groupOfVolume(const std::string& volume_id) const {
  for (const auto& [id, g] : groups_)
    if (std::find(g.volume_ids.begin(), g.volume_ids.end(), volume_id) != g.volume_ids.end())
      return &g;
  return nullptr;
}

SimVolumeGroup ArrayStore::createVolumeGroup(const std::string& name,
                                             const std::string& description,
                                             const std::vector<std::string>& volume_ids,
                                             bool is_write_order_consistent) {
  std::lock_guard lock(mutex_);
  checkName(name);
  if (description.size() > 256)
    throw ApiError(400, kCodeBadRequest, "The description must be at most 256 characters.",
                   {"description"});
  for (const auto& [id, g] : groups_)
    if (sameNameIgnoringCase(g.name, name))
      throw ApiError(422, kCodeNameInUse, "The name " + name + " is already in use.", {name});
  std::set<std::string> seen;
  for (const std::string& volume_id : volume_ids) {
    if (!seen.insert(volume_id).second)
      throw ApiError(400, kCodeBadRequest, "The volume " + volume_id + " is named twice.",
                     {volume_id});
    auto it = volumes_.find(volume_id);
    if (it == volumes_.end())
      throw ApiError(422, kCodeNotFound, "The volume " + volume_id + " does not exist.",
                     {volume_id});
    // add_members: "Snapshots cannot be added to a volume group".
    if (it->second.type != "Primary")
      throw ApiError(422, kCodeBadRequest,
                     "The volume " + it->second.name + " is a snapshot and cannot join a group.",
                     {volume_id});
    if (const SimVolumeGroup* other = groupOfVolume(volume_id))
      throw ApiError(422, kCodeInUse,
                     "The volume " + it->second.name + " is already a member of volume group " +
                         other->name + ".",
                     {it->second.name, other->name});
  }
  SimVolumeGroup group{newUuid(), name,           description, "Primary", is_write_order_consistent,
                       "",        nowTimestamp(), volume_ids};
  groups_[group.id] = group;
  save();
  return group;
}

SimVolumeGroup ArrayStore::volumeGroup(const std::string& id) {
  std::lock_guard lock(mutex_);
  return findGroup(id);
}

std::vector<SimVolumeGroup> ArrayStore::volumeGroups() {
  std::lock_guard lock(mutex_);
  std::vector<SimVolumeGroup> all;
  for (const auto& [id, g] : groups_) all.push_back(g);
  return all;
}

void ArrayStore::removeVolumeGroupMembers(const std::string& id,
                                          const std::vector<std::string>& volume_ids) {
  std::lock_guard lock(mutex_);
  SimVolumeGroup& group = findGroup(id);
  if (volume_ids.empty())
    throw ApiError(400, kCodeBadRequest, "volume_ids cannot be empty.", {"volume_ids"});
  if (group.type != "Primary")
    throw ApiError(422, kCodeBadRequest,
                   "Members cannot be removed from snapshot set " + group.name + ".", {group.name});
  for (const std::string& volume_id : volume_ids)
    if (std::find(group.volume_ids.begin(), group.volume_ids.end(), volume_id) ==
        group.volume_ids.end())
      // The array's words, as dell/gopowerstore inttests/volume_group_test.go matches them.
      throw ApiError(422, kCodeBadRequest,
                     "One or more volumes to be removed are not part of the volume group.",
                     {volume_id});
  std::vector<std::string> kept;
  for (const std::string& member : group.volume_ids)
    if (std::find(volume_ids.begin(), volume_ids.end(), member) == volume_ids.end())
      kept.push_back(member);
  group.volume_ids = std::move(kept);
  save();
}

SimVolumeGroup ArrayStore::snapshotVolumeGroup(const std::string& id, const std::string& name,
                                               const std::string& description) {
  std::lock_guard lock(mutex_);
  const SimVolumeGroup source = findGroup(id);
  checkName(name);
  if (source.type != "Primary")
    throw ApiError(422, kCodeBadRequest,
                   "powerstore-sim takes snapshot sets of primary volume groups only; " +
                       source.name + " is a snapshot set.",
                   {source.name});
  if (source.volume_ids.empty())
    throw ApiError(422, kCodeBadRequest, "The volume group " + source.name + " has no members.",
                   {source.name});
  for (const auto& [gid, g] : groups_)
    if (sameNameIgnoringCase(g.name, name))
      throw ApiError(422, kCodeNameInUse, "The name " + name + " is already in use.", {name});
  // Member names: the API does not say what the array calls them; "<set name>-<n>" (Dell's
  // driver limits group names to 27 characters "because we name snapshots with -<index>",
  // csi-powerstore pkg/controller/csi_extension_server.go validateCreateVGSreq).
  std::vector<SimVolume> members;
  for (std::size_t i = 0; i < source.volume_ids.size(); ++i) {
    const SimVolume& volume = findVolume(source.volume_ids[i]);
    const std::string member_name = name + "-" + std::to_string(i + 1);
    requireFreeName(member_name);
    members.push_back(
        {newUuid(), member_name, "", volume.size, "Snapshot", volume.id, nowTimestamp()});
  }
  // Every member copied before any is recorded: a failed copy leaves nothing.
  std::vector<std::string> copied;
  try {
    for (const SimVolume& member : members) {
      copySparse(fileOf(member.source_id), fileOf(member.id));
      copied.push_back(member.id);
    }
  } catch (...) {
    for (const std::string& file : copied) std::filesystem::remove(fileOf(file));
    throw;
  }
  SimVolumeGroup set{
      newUuid(), name,           description, "Snapshot", source.is_write_order_consistent,
      source.id, nowTimestamp(), {}};
  for (const SimVolume& member : members) {
    volumes_[member.id] = member;
    set.volume_ids.push_back(member.id);
  }
  groups_[set.id] = set;
  save();
  return set;
}

void ArrayStore::deleteVolumeGroup(const std::string& id, bool delete_members) {
  std::lock_guard lock(mutex_);
  const SimVolumeGroup group = findGroup(id);
  // "When a volume group or clone is deleted, all related snapshot sets will also be deleted."
  std::vector<SimVolumeGroup> sets;
  if (group.type == "Primary")
    for (const auto& [gid, g] : groups_)
      if (g.type == "Snapshot" && g.source_id == id) sets.push_back(g);
  if (group.type == "Primary" && delete_members) {
    // Checked before the first change, as the members will stand once out of the group and
    // without those snapshot sets: the delete happens whole or not at all.
    const std::map<std::string, SimVolumeGroup> saved = groups_;
    for (const SimVolumeGroup& set : sets) groups_.erase(set.id);
    groups_.erase(id);
    try {
      for (const std::string& member : group.volume_ids) checkDeletable(findVolume(member));
    } catch (...) {
      groups_ = saved;
      throw;
    }
    groups_ = saved;
  }
  for (const SimVolumeGroup& set : sets) {
    for (const std::string& member : set.volume_ids) eraseVolume(member);
    groups_.erase(set.id);
  }
  groups_.erase(id);
  // A snapshot set's snapshots go with it ("When a snapshot set is deleted, all of its
  // constituent snapshots will also be deleted"); a primary group's members only leave it
  // unless delete_members is set (`volume_group_delete`: "By default, the members of a volume
  // group being deleted are only removed").
  if (group.type == "Snapshot" || delete_members)
    for (const std::string& member : group.volume_ids) eraseVolume(member);
  save();
}

SimVolume ArrayStore::copyVolume(const std::string& source_id, const std::string& name,
                                 const std::string& description, const std::string& type) {
  std::lock_guard lock(mutex_);
  const SimVolume source = findVolume(source_id);
  requireFreeName(name);
  SimVolume copy{newUuid(), name, description, source.size, type, source_id, nowTimestamp()};
  copySparse(fileOf(source_id), fileOf(copy.id));
  volumes_[copy.id] = copy;
  save();
  return copy;
}

SimVolume ArrayStore::snapshot(const std::string& source_id, const std::string& name,
                               const std::string& description) {
  {
    std::lock_guard lock(mutex_);
    if (findVolume(source_id).type != "Primary") {
      throw ApiError(422, kCodeBadRequest, "Snapshots can only be taken of volumes.", {source_id});
    }
  }
  return copyVolume(source_id, name, description, "Snapshot");
}

SimVolume ArrayStore::clone(const std::string& source_id, const std::string& name,
                            const std::string& description) {
  return copyVolume(source_id, name, description, "Primary");
}

void ArrayStore::checkNewHost(const std::string& name,
                              const std::vector<SimInitiator>& initiators) {
  checkName(name);
  if (initiators.empty()) throw ApiError(400, kCodeBadRequest, "A host needs initiators.", {name});
  for (const SimInitiator& i : initiators) {
    if (i.port_type != "iSCSI" || i.port_name.rfind("iqn.", 0) != 0) {
      throw ApiError(400, kCodeBadRequest,
                     "Invalid initiator " + i.port_name + " of type " + i.port_type + ".",
                     {i.port_name});
    }
    checkInitiatorChap(i);
    // The single pair is required while the cluster's CHAP mode is Single or Mutual, the
    // mutual pair too in Mutual mode (dell/gopowerstore host_types.go, InitiatorCreateModify).
    if (chap_mode_ != kChapDisabled && i.chap_single_username.empty()) {
      throw ApiError(400, kCodeBadRequest,
                     "The cluster's CHAP mode is " + chap_mode_ + ": initiator " + i.port_name +
                         " needs chap_single_username and chap_single_password.",
                     {i.port_name});
    }
    if (chap_mode_ == kChapMutual && i.chap_mutual_username.empty()) {
      throw ApiError(400, kCodeBadRequest,
                     "The cluster's CHAP mode is Mutual: initiator " + i.port_name +
                         " needs chap_mutual_username and chap_mutual_password.",
                     {i.port_name});
    }
  }
  for (const auto& [id, h] : hosts_) {
    if (h.name == name) {
      throw ApiError(422, kCodeNameInUse, "The name " + name + " is already in use.", {name});
    }
    for (const SimInitiator& mine : h.initiators) {
      for (const SimInitiator& theirs : initiators) {
        if (mine.port_name == theirs.port_name) {
          throw ApiError(422, kCodeInUse,
                         "The initiator " + theirs.port_name + " belongs to host " + h.name + ".",
                         {theirs.port_name});
        }
      }
    }
  }
}

SimHost ArrayStore::createHost(const std::string& name, const std::string& os_type,
                               const std::vector<SimInitiator>& initiators) {
  std::lock_guard lock(mutex_);
  checkNewHost(name, initiators);
  SimHost host{newUuid(), name, os_type.empty() ? "Linux" : os_type, initiators};
  hosts_[host.id] = host;
  save();
  return host;
}

void ArrayStore::modifyInitiatorChap(const std::string& host_id,
                                     const std::vector<SimChapChange>& changes) {
  std::lock_guard lock(mutex_);
  std::map<std::string, SimHost> hosts = hosts_;
  SimHost& host = hosts.at(findHost(host_id).id);
  for (const SimChapChange& change : changes) {
    auto it = std::find_if(host.initiators.begin(), host.initiators.end(),
                           [&](const SimInitiator& i) { return i.port_name == change.port_name; });
    if (it == host.initiators.end()) {
      throw ApiError(404, kCodeNotFound,
                     "The host " + host.name + " has no initiator " + change.port_name + ".",
                     {change.port_name});
    }
    if (change.chap_single_username) it->chap_single_username = *change.chap_single_username;
    if (change.chap_single_password) it->chap_single_password = *change.chap_single_password;
    if (change.chap_mutual_username) it->chap_mutual_username = *change.chap_mutual_username;
    if (change.chap_mutual_password) it->chap_mutual_password = *change.chap_mutual_password;
    checkInitiatorChap(*it);
  }
  const ChapPlan plan = planChap(chap_mode_, hosts, mappings_);
  hosts_ = std::move(hosts);
  applyChap(plan);
  save();
}

std::string ArrayStore::chapMode() {
  std::lock_guard lock(mutex_);
  return chap_mode_;
}

void ArrayStore::setChapMode(const std::string& mode) {
  std::lock_guard lock(mutex_);
  if (mode != kChapDisabled && mode != kChapSingle && mode != kChapMutual) {
    throw ApiError(400, kCodeBadRequest,
                   "Invalid mode " + mode + ": must be Disabled, Single or Mutual.", {mode});
  }
  const ChapPlan plan = planChap(mode, hosts_, mappings_);
  chap_mode_ = mode;
  applyChap(plan);
  save();
}

ArrayStore::ChapPlan ArrayStore::planChap(const std::string& mode,
                                          const std::map<std::string, SimHost>& hosts,
                                          const std::vector<SimMapping>& mappings) const {
  ChapPlan plan;
  if (mode == kChapDisabled) return plan;
  plan.incoming.push_back(sealed_);
  // tgtd keeps one secret per account name and one outgoing account per target: what it
  // cannot hold is refused, never served wrongly (README.md, "What differs").
  auto refuse = [](const std::string& why) {
    throw ApiError(422, kCodeInUse, "powerstore-sim cannot serve this with one tgtd: " + why);
  };
  std::set<std::string> mapped;
  for (const SimMapping& m : mappings) mapped.insert(m.host_id);
  for (const std::string& id : mapped) {
    for (const SimInitiator& i : hosts.at(id).initiators) {
      if (!i.chap_single_username.empty()) {
        const ChapAccount account{i.chap_single_username, i.chap_single_password};
        bool known = false;
        for (const ChapAccount& other : plan.incoming) {
          if (other.user != account.user) continue;
          if (other.password != account.password)
            refuse("two initiators use the CHAP user name " + account.user +
                   " with different secrets");
          known = true;
        }
        if (!known) plan.incoming.push_back(account);
      }
      if (mode == kChapMutual && !i.chap_mutual_username.empty()) {
        const ChapAccount account{i.chap_mutual_username, i.chap_mutual_password};
        if (plan.outgoing && !(*plan.outgoing == account))
          refuse(
              "the targets' mutual CHAP account is one for all hosts, and mapped hosts "
              "have different chap_mutual credentials");
        plan.outgoing = account;
      }
    }
  }
  if (plan.outgoing) {
    for (const ChapAccount& account : plan.incoming)
      if (account.user == plan.outgoing->user)
        refuse("the CHAP user name " + account.user + " is used both ways");
  }
  return plan;
}

void ArrayStore::applyChap(const ChapPlan& plan) {
  if (tgtd_) tgtd_->setChapAccounts(plan.incoming, plan.outgoing);
}

void ArrayStore::seedHosts(const std::string& prefix, int count, const std::string& volume_id) {
  std::lock_guard lock(mutex_);
  const SimVolume* volume = volume_id.empty() ? nullptr : &findVolume(volume_id);
  for (int n = 0; n < count; ++n) {
    const std::string name = prefix + std::to_string(n);
    const std::vector<SimInitiator> initiators = {
        {"iqn.2000-01.com.example:" + name, "iSCSI", "", ""}};
    checkNewHost(name, initiators);
    SimHost host{newUuid(), name, "Linux", initiators};
    hosts_[host.id] = host;
    if (volume) addMapping(host, *volume);
  }
  save();
}

SimHost ArrayStore::host(const std::string& id) {
  std::lock_guard lock(mutex_);
  return findHost(id);
}

std::vector<SimHost> ArrayStore::hosts() {
  std::lock_guard lock(mutex_);
  std::vector<SimHost> all;
  for (const auto& [id, h] : hosts_) all.push_back(h);
  return all;
}

void ArrayStore::deleteHost(const std::string& id) {
  std::lock_guard lock(mutex_);
  const SimHost& host = findHost(id);
  for (const SimMapping& m : mappings_) {
    if (m.host_id == id) {
      throw ApiError(422, kCodeInUse, "The host " + host.name + " has attached volumes.",
                     {host.name});
    }
  }
  hosts_.erase(id);
  save();
}

void ArrayStore::bindHost(const SimHost& host, bool bind) {
  if (!tgtd_) return;
  for (const SimIpPort& port : ports_) {
    for (const SimInitiator& i : host.initiators) {
      if (bind) {
        tgtd_->bindInitiator(port.tid, i.port_name);
      } else {
        tgtd_->unbindInitiator(port.tid, i.port_name);
      }
    }
  }
}

SimMapping ArrayStore::addMapping(const SimHost& host, const SimVolume& volume) {
  if (volume.type != "Primary") {
    throw ApiError(422, kCodeBadRequest, "A snapshot cannot be attached to a host.", {volume.id});
  }
  std::set<int> used;
  for (const SimMapping& m : mappings_) {
    if (m.host_id == host.id && m.volume_id == volume.id) {
      throw ApiError(
          422, kCodeInUse,
          "The volume " + volume.name + " is already attached to host " + host.name + ".",
          {volume.name, host.name});
    }
    used.insert(m.logical_unit_number);
  }
  int lun = 1;
  while (used.count(lun)) ++lun;
  const SimMapping mapping{newUuid(), host.id, volume.id, lun};
  const bool first = !hasMappings(host.id);
  std::vector<SimMapping> after = mappings_;
  after.push_back(mapping);
  // The host's CHAP accounts are bound before its initiators are let in.
  if (first) applyChap(planChap(chap_mode_, hosts_, after));
  exportLun(mapping, true);
  if (first) bindHost(host, true);
  mappings_.push_back(mapping);
  return mapping;
}

SimMapping ArrayStore::attach(const std::string& host_id, const std::string& volume_id) {
  std::lock_guard lock(mutex_);
  const SimMapping mapping = addMapping(findHost(host_id), findVolume(volume_id));
  save();
  return mapping;
}

void ArrayStore::detach(const std::string& host_id, const std::string& volume_id) {
  std::lock_guard lock(mutex_);
  const SimHost& host = findHost(host_id);
  const SimVolume& volume = findVolume(volume_id);
  auto it = std::find_if(mappings_.begin(), mappings_.end(), [&](const SimMapping& m) {
    return m.host_id == host_id && m.volume_id == volume_id;
  });
  if (it == mappings_.end()) {
    throw ApiError(422, kCodeNotFound,
                   "The volume " + volume.name + " is not attached to host " + host.name + ".",
                   {volume.name, host.name});
  }
  // The host loses the LUN at once, and the targets' ACL when it has no LUN left.
  exportLun(*it, false);
  mappings_.erase(it);
  if (!hasMappings(host_id)) {
    bindHost(host, false);
    applyChap(planChap(chap_mode_, hosts_, mappings_));
  }
  save();
}

std::vector<SimMapping> ArrayStore::mappings() {
  std::lock_guard lock(mutex_);
  return mappings_;
}

}  // namespace powerstore_sim
