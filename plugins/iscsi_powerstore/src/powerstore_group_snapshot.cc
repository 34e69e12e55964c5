// Crash-consistent group snapshots of iscsi_powerstore with the array's own volume groups.
//
// The facts this follows (PowerStore REST API 4.1 OpenAPI, as in dell/terraform-provider-powerstore
// clientgen_utils/openapi_specs/spec_4_1.json; dell/gopowerstore volume_group.go and
// volume_group_types.go; docs/fidelity.md lists each call with its source):
// - POST volume_group {name, volume_ids, is_write_order_consistent} makes a Primary group; its
//   volumes "should not be part of another volume group" (a volume is in at most one).
// - POST volume_group/{id}/snapshot {name, description} cuts every member at one instant when the
//   group is write-order consistent, as a new group of type Snapshot, a "snapshot set", whose
//   members are Snapshot volumes with protection_data.source_id = their volume (answer: {id}).
// - "When a volume group or clone is deleted, all related snapshot sets will also be deleted";
//   "When a snapshot set is deleted, all of its constituent snapshots will also be deleted";
//   without delete_members a deleted group's members are only removed from it.
// - DELETE volume/{id}: "A volume which ... is a member of a volume group cannot be deleted",
//   "A volume which has snapshots that are part of a snapset cannot be deleted", and
//   remove_members "cannot be used to remove members from a snapshot set": a member snapshot
//   goes only with its whole set.
// So the group is made in a source group named "<group id>.source" holding exactly the requested
// volumes, snapshotted once into a set named "<group id>"; each member snapshot then gets the
// core's member name and the group tag (PATCH volume/{id} name, description: `volume_modify`), so
// listing, restoring and Get work as for snapshots taken one by one. The source group must outlive
// its set (deleting it deletes the set), so it stays, emptied of its volumes (remove_members),
// until the group snapshot is deleted. Dell's driver instead snapshots whatever group the first
// volume is in, and creates one named after the request otherwise, leaving the volumes in it
// (csi-powerstore pkg/controller/csi_extension_server.go CreateVolumeGroupSnapshot); a volume in
// a user's group is refused here, because snapshotting that group would take volumes the request
// did not name, and a volume cannot join a second group.
#include <algorithm>
#include <map>

#include "powerstore_backend.hpp"
#include "volume_attributes.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

// A set or source group with its members as the snapshot calls read volumes (kVolumeSelect's
// attributes), dell/gopowerstore volume_group_types.go VolumeGroup.Volumes.
constexpr const char* kGroupSelect =
    "select=id,name,type,volumes(id,name,description,type,size,protection_data,creation_timestamp)";
constexpr const char* kSourceVolumeSelect = "select=id,name,type,volume_groups(id,name)";

std::string sourceGroupName(const std::string& group) { return group + ".source"; }

// A DELETE that treats "gone already" (404) as done; other failures throw as RestClient::call.
void deleteGone(RestClient& c, const Call& call, const std::string& path, const std::string& what) {
  const RestResponse response = c.send(call, "DELETE", path);
  if (response.status == 404 || (response.status >= 200 && response.status < 300)) return;
  throw Error(response.status == 422 ? Code::kFailedPrecondition : Code::kUnavailable,
              what + ": " + RestClient::messageOf(response));
}

// The group named exactly `name` on `c`, or null.
nlohmann::json groupNamed(RestClient& c, const Call& call, const std::string& name) {
  return exactName(c.getAll(call, byName("volume_group", kGroupSelect, name)), name);
}

// True when every member of `set` already carries the name and tag the core gave it.
bool isTagged(const nlohmann::json& set, const CreateGroupSnapshotRequest& req,
              const std::map<std::string, std::string>& nameBySource) {
  for (const auto& v : set.value("volumes", nlohmann::json::array())) {
    auto it = nameBySource.find(sourceOf(v));
    if (it == nameBySource.end() || v.value("name", "") != it->second ||
        groupOf(v) != req.groupSnapshotId)
      return false;
  }
  return true;
}

}  // namespace

std::vector<Snapshot> PowerStoreBackend::createGroupSnapshot(
    const CreateGroupSnapshotRequest& req) {
  checkName(req.groupSnapshotId, "group snapshot");
  checkName(sourceGroupName(req.groupSnapshotId), "volume group");
  if (req.members.empty()) throw Error(Code::kInvalidArgument, "a group snapshot needs members");
  RestClient* c = nullptr;
  std::string firstVolume;
  std::vector<std::string> uuids;
  std::map<std::string, std::string> nameBySource;  // volume uuid -> member snapshot name
  for (const GroupSnapshotMember& m : req.members) {
    checkName(m.name, "snapshot");
    auto [mc, uuid] = resolve(m.sourceVolumeId, "volume");
    if (c != nullptr && mc != c)
      throw Error(Code::kFailedPrecondition,
                  "volumes " + firstVolume + " and " + m.sourceVolumeId +
                      " are on different arrays: a PowerStore volume group, hence one snapshot "
                      "set, holds volumes of one array");
    if (c == nullptr) firstVolume = m.sourceVolumeId;
    c = mc;
    uuids.push_back(uuid);
    nameBySource[uuid] = m.name;
  }
  const Call& call = req.call;
  const std::string& group = req.groupSnapshotId;
  const std::string sourceName = sourceGroupName(group);

  nlohmann::json set = groupNamed(*c, call, group);
  // The set's members, one per requested volume and no other; a set of other volumes under
  // this name is not this call's to undo.
  auto membersMatch = [&](const nlohmann::json& found) {
    std::map<std::string, nlohmann::json> bySource;
    for (const auto& v : found.value("volumes", nlohmann::json::array())) bySource[sourceOf(v)] = v;
    return bySource.size() == uuids.size() &&
           std::all_of(uuids.begin(), uuids.end(),
                       [&](const std::string& u) { return bySource.count(u) != 0; });
  };
  if (!set.is_null() && !membersMatch(set))
    throw Error(Code::kAlreadyExists, "snapshot set '" + group + "' exists on array " +
                                          c->array().globalID + " with other volumes");
  // A set an earlier call completed (and may have acknowledged) is never rolled back.
  const bool acknowledged = !set.is_null() && isTagged(set, req, nameBySource);
  std::string sourceId;
  try {
    if (set.is_null()) {
      for (size_t i = 0; i < uuids.size(); ++i) {
        const nlohmann::json v =
            c->call(call, "GET", "volume/" + uuids[i] + "?" + kSourceVolumeSelect, nullptr,
                    "volume " + req.members[i].sourceVolumeId);
        if (v.value("type", "") != "Primary")
          throw Error(Code::kNotFound,
                      "volume " + req.members[i].sourceVolumeId + " does not exist");
        for (const auto& g : v.value("volume_groups", nlohmann::json::array()))
          if (g.value("name", "") != sourceName)
            throw Error(Code::kFailedPrecondition,
                        "volume " + req.members[i].sourceVolumeId + " (" + v.value("name", "") +
                            ") is in the array's volume group '" + g.value("name", "") +
                            "'; PowerStore puts a volume in one volume group at most, and a "
                            "crash-consistent group snapshot needs a group of exactly the "
                            "requested volumes: remove the volume from '" +
                            g.value("name", "") + "' or snapshot the volumes one by one");
      }
      // A source group a call left before its set was made: start again from nothing (deleting
      // it only removes its members; it has no set).
      const nlohmann::json left = groupNamed(*c, call, sourceName);
      if (!left.is_null())
        deleteGone(*c, call, "volume_group/" + left.at("id").get<std::string>(),
                   "delete the unfinished volume group " + sourceName);
      sourceId = c->call(call, "POST", "volume_group",
                         {{"name", sourceName},
                          {"description", groupDescription(group)},
                          {"volume_ids", uuids},
                          {"is_write_order_consistent", true}},
                         "create volume group " + sourceName)
                     .at("id")
                     .get<std::string>();
      const std::string setId = c->call(call, "POST", "volume_group/" + sourceId + "/snapshot",
                                        {{"name", group}, {"description", groupDescription(group)}},
                                        "snapshot volume group " + sourceName)
                                    .at("id")
                                    .get<std::string>();
      set = c->call(call, "GET", "volume_group/" + setId + "?" + kGroupSelect, nullptr,
                    "read snapshot set " + group);
    }
    // The array cut the set from exactly the source group's volumes.
    if (!membersMatch(set))
      throw Error(Code::kInternal, "snapshot set '" + group + "' on array " + c->array().globalID +
                                       " does not hold one snapshot of each requested volume");
    std::map<std::string, nlohmann::json> memberBySource;
    for (const auto& v : set.value("volumes", nlohmann::json::array()))
      memberBySource[sourceOf(v)] = v;
    std::vector<Snapshot> out;
    for (size_t i = 0; i < uuids.size(); ++i) {
      nlohmann::json& member = memberBySource[uuids[i]];
      const std::string& name = req.members[i].name;
      if (member.value("name", "") != name || groupOf(member) != group) {
        c->call(call, "PATCH", "volume/" + member.at("id").get<std::string>(),
                {{"name", name}, {"description", groupDescription(group)}},
                "name member snapshot " + name);
        member["name"] = name;
        member["description"] = groupDescription(group);
      }
      Snapshot s;
      s.id = c->array().globalID + "." + member.at("id").get<std::string>();
      s.sourceVolumeId = req.members[i].sourceVolumeId;
      s.sizeBytes = sizeOf(member);
      s.creationTimeUnixNs = createdAt(member);
      s.groupSnapshotId = groupOf(member);
      out.push_back(std::move(s));
    }
    // The volumes leave the source group, which must stay while its set lives.
    const nlohmann::json source = groupNamed(*c, call, sourceName);
    if (!source.is_null()) {
      std::vector<std::string> inside;
      for (const auto& v : source.value("volumes", nlohmann::json::array()))
        inside.push_back(v.at("id").get<std::string>());
      if (!inside.empty())
        c->call(call, "POST",
                "volume_group/" + source.at("id").get<std::string>() + "/remove_members",
                {{"volume_ids", inside}}, "empty volume group " + sourceName);
    }
    host_.info("group snapshot " + group + ": snapshot set of " + std::to_string(out.size()) +
               " volume(s) on array " + c->array().globalID);
    return out;
  } catch (const std::exception& failure) {
    if (acknowledged) throw;
    const auto* error = dynamic_cast<const Error*>(&failure);
    const Code code = error != nullptr ? error->code() : Code::kInternal;
    // Undo this call: the set (with its member snapshots) and the source group (its volumes
    // are only removed), so nothing is left and no volume stays in a group.
    std::string left;
    try {
      const nlohmann::json madeSet = groupNamed(*c, call, group);
      if (!madeSet.is_null())
        deleteGone(*c, call, "volume_group/" + madeSet.at("id").get<std::string>(),
                   "delete snapshot set " + group);
      const nlohmann::json source = groupNamed(*c, call, sourceName);
      if (!source.is_null())
        deleteGone(*c, call, "volume_group/" + source.at("id").get<std::string>(),
                   "delete volume group " + sourceName);
    } catch (const Error& undo) {
      left = undo.what();
    }
    throw Error(
        code,
        std::string(failure.what()) +
            (left.empty() ? "; rolled back: no snapshot set, member snapshot or volume "
                            "group of it is left on array " +
                                c->array().globalID
                          : "; rolling back failed (" + left + "): snapshot set '" + group +
                                "' or volume group '" + sourceName + "' may be left on array " +
                                c->array().globalID + "; retry, or delete the group snapshot"));
  }
}

void PowerStoreBackend::deleteGroupSnapshot(const GroupSnapshotIdRequest& req) {
  checkName(req.groupSnapshotId, "group snapshot");
  const std::string& group = req.groupSnapshotId;
  const std::string sourceName = sourceGroupName(group);
  for (const auto& [globalID, c] : clients_) {
    // The set first: its snapshots go with it. Then its source group, now empty (deleting it
    // first would delete the set too, but say less about what went).
    const nlohmann::json set = groupNamed(*c, req.call, group);
    if (!set.is_null() && set.value("type", "") == "Snapshot")
      deleteGone(*c, req.call, "volume_group/" + set.at("id").get<std::string>(),
                 "delete snapshot set " + group + " on array " + globalID);
    const nlohmann::json source = groupNamed(*c, req.call, sourceName);
    if (!source.is_null())
      deleteGone(*c, req.call, "volume_group/" + source.at("id").get<std::string>(),
                 "delete volume group " + sourceName + " on array " + globalID);
    // Members taken one by one under this id (before this plugin used volume groups).
    for (const auto& v :
         c->getAll(req.call, std::string("volume?") + kVolumeSelect + "&type=eq.Snapshot"))
      if (groupOf(v) == group)
        deleteGone(*c, req.call, "volume/" + v.at("id").get<std::string>(),
                   "delete member snapshot " + globalID + "." + v.at("id").get<std::string>());
  }
}

}  // namespace polycsi::iscsi_powerstore
