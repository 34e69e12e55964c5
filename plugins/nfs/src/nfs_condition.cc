// The controller-side condition of nfs volumes: the volume's directory, looked at through
// libnfs (bounded by the configured timeout), as the node will mount it.
#include <map>
#include <set>
#include <tuple>

#include "nfs_backend.hpp"
#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

// A directory of an export: where the entries of several volumes are read at once.
using ParentKey = std::tuple<std::string, std::string, std::string>;  // server, share, dir

std::string parentOf(const std::string& subDir) {
  const auto slash = subDir.rfind('/');
  return slash == std::string::npos ? "" : subDir.substr(0, slash);
}

std::string baseOf(const std::string& subDir) {
  const auto slash = subDir.rfind('/');
  return slash == std::string::npos ? subDir : subDir.substr(slash + 1);
}

std::string pathOf(const NfsExport& where, const std::string& subDir) {
  return where.server + ":" + where.share + (subDir.empty() ? "" : "/" + subDir);
}

bool unreachable(const Error& e) {
  return e.code() == Code::kUnavailable || e.code() == Code::kDeadlineExceeded;
}

// What one READDIR of a parent directory said.
struct ParentListing {
  std::map<std::string, EntryType> entries;
  std::optional<std::string> failure;  // why the directory could not be read
};

}  // namespace

std::vector<VolumeCondition> NfsBackend::controllerVolumeConditions(
    const ControllerConditionRequest& req) {
  req.call.checkpoint("checking volumes");
  const std::string homeName =
      settings_.home ? settings_.home->server + ":" + settings_.home->share : std::string("?");
  std::unique_ptr<NfsSession> home;
  try {
    home = connectHome(req.call);
  } catch (const Error& e) {
    if (!unreachable(e)) throw;
    return std::vector<VolumeCondition>(
        req.volumes.size(),
        VolumeCondition{
            true, "NFS server " + homeName + " (the volume records) is unreachable: " + e.what()});
  }
  VolumeRecords records(*home);
  std::vector<std::optional<VolumeRecord>> found;
  for (const auto& q : req.volumes) {
    std::optional<VolumeRecord> r;
    if (isRecordId(q.volumeId)) r = records.findVolume(q.volumeId);
    found.push_back(r && r->complete ? r : std::nullopt);
  }

  // One listing per parent directory on one session per export.
  std::map<ParentKey, ParentListing> parents;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<NfsSession>> sessions;
  std::map<std::pair<std::string, std::string>, std::string> unreachableExports;
  for (const auto& r : found) {
    if (!r || r->subDir.empty()) continue;
    const auto exportKey = std::pair{r->where.server, r->where.share};
    const ParentKey key{r->where.server, r->where.share, parentOf(r->subDir)};
    if (parents.count(key) || unreachableExports.count(exportKey)) continue;
    try {
      auto& session = sessions[exportKey];
      if (!session) session = connect(r->where, req.call);
      ParentListing listing;
      try {
        for (const auto& e : session->list(parentOf(r->subDir)))
          listing.entries[e.name] = e.info.type;
      } catch (const Error& e) {
        if (e.code() != Code::kNotFound) throw;
        listing.failure = "its parent directory is missing";
      }
      parents[key] = std::move(listing);
    } catch (const Error& e) {
      if (!unreachable(e)) throw;
      sessions.erase(exportKey);
      unreachableExports[exportKey] = e.what();
    }
  }

  std::vector<VolumeCondition> out;
  out.reserve(req.volumes.size());
  for (size_t i = 0; i < req.volumes.size(); ++i) {
    const auto& r = found[i];
    if (!r) {
      out.push_back({true, "volume '" + printable(req.volumes[i].volumeId) + "' has no record on " +
                               homeName + " (deleted behind the driver's back?)"});
      continue;
    }
    const std::string path = pathOf(r->where, r->subDir);
    if (auto u = unreachableExports.find({r->where.server, r->where.share});
        u != unreachableExports.end()) {
      out.push_back({true, "NFS server " + r->where.server + " does not answer for " + path + ": " +
                               u->second});
      continue;
    }
    if (r->subDir.empty()) {
      out.push_back({false, "the whole export " + path + " answers"});
      continue;
    }
    const ParentListing& listing =
        parents.at(ParentKey{r->where.server, r->where.share, parentOf(r->subDir)});
    auto entry = listing.entries.find(baseOf(r->subDir));
    if (listing.failure || entry == listing.entries.end()) {
      out.push_back({true, "the directory " + path + " of volume '" + r->id +
                               "' does not exist on NFS server " + r->where.server +
                               (listing.failure ? " (" + *listing.failure + ")" : "") +
                               ": pods cannot mount it; restore it from a backup or delete "
                               "the volume"});
      continue;
    }
    if (entry->second != EntryType::kDirectory) {
      out.push_back({true, path + " of volume '" + r->id + "' on NFS server " + r->where.server +
                               " is not a directory: pods cannot mount it"});
      continue;
    }
    out.push_back({false, "the directory " + path + " answers on NFS server " + r->where.server});
  }
  return out;
}

}  // namespace polycsi::nfs
