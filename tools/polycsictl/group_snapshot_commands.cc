// group-snapshot create | delete | get: the CSI GroupController service's RPCs. Human output
// names the consistency the group's backend declares (GetPluginInfo's manifest key
// backend/<name>/group_snapshot_consistency), so a user sees what the group guarantees.
#include <iostream>
#include <memory>

#include "command_flags.hpp"
#include "commands.hpp"
#include "volume_output.hpp"

namespace polycsi::csictl {
namespace {

// The backend's declared consistency, or "unknown" when the driver does not say (another
// driver, or a backend name that is not in the manifest). A failed GetPluginInfo is not an
// error of the group command: the group exists either way.
std::string consistencyOf(CommandContext& ctx, const std::string& groupId) {
  const auto colon = groupId.find(':');
  if (colon == std::string::npos) return "unknown";
  auto call = ctx.connection().newCallContext();
  csi::v1::GetPluginInfoResponse info;
  if (!ctx.connection().identity().GetPluginInfo(call.get(), {}, &info).ok()) return "unknown";
  auto it =
      info.manifest().find("backend/" + groupId.substr(0, colon) + "/group_snapshot_consistency");
  return it == info.manifest().end() ? "unknown" : it->second;
}

void printGroup(CommandContext& ctx, const csi::v1::VolumeGroupSnapshot& group) {
  std::cout << "group snapshot " << group.group_snapshot_id() << "  ready "
            << (group.ready_to_use() ? "true" : "false") << "  created "
            << formatTimestamp(group.creation_time()) << "  consistency "
            << consistencyOf(ctx, group.group_snapshot_id()) << '\n';
  TextTable table({"SNAPSHOT_ID", "SOURCE_VOLUME", "SIZE", "READY", "CREATED"});
  for (const auto& s : group.snapshots())
    table.addRow({s.snapshot_id(), s.source_volume_id(), formatCapacity(s.size_bytes()),
                  s.ready_to_use() ? "true" : "false", formatTimestamp(s.creation_time())});
  table.print(std::cout);
}

void addCreate(CLI::App& group, CommandContext& context) {
  struct Options {
    std::string name;
    std::vector<std::string> source_volume_ids, parameters, secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = group.add_subcommand(
      "create", "CreateVolumeGroupSnapshot: snapshot several volumes (e.g. a VM's disks) as one");
  command->add_option("NAME", options->name, "group snapshot name (idempotency key)")->required();
  command->add_option("SOURCE_VOLUME_ID", options->source_volume_ids, "volumes to snapshot")
      ->required();
  addKeyValueOption(*command, "--param", options->parameters, "driver parameter");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::CreateVolumeGroupSnapshotRequest request;
    request.set_name(options->name);
    for (const auto& id : options->source_volume_ids) request.add_source_volume_ids(id);
    putKeyValues("--param", options->parameters, request.mutable_parameters());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::CreateVolumeGroupSnapshotResponse>(
        [&](grpc::ClientContext* call, csi::v1::CreateVolumeGroupSnapshotResponse* response) {
          return ctx.connection().groupController().CreateVolumeGroupSnapshot(call, request,
                                                                              response);
        },
        [&](const csi::v1::CreateVolumeGroupSnapshotResponse& response) {
          printGroup(ctx, response.group_snapshot());
        });
  });
}

void addDelete(CLI::App& group, CommandContext& context) {
  struct Options {
    std::string group_snapshot_id;
    std::vector<std::string> snapshot_ids, secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = group.add_subcommand(
      "delete", "DeleteVolumeGroupSnapshot: remove a group snapshot and all its members");
  command->add_option("GROUP_SNAPSHOT_ID", options->group_snapshot_id, "group to delete")
      ->required();
  command->add_option("--snapshot", options->snapshot_ids,
                      "a member snapshot id the CO knows (repeatable; the driver checks them)");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::DeleteVolumeGroupSnapshotRequest request;
    request.set_group_snapshot_id(options->group_snapshot_id);
    for (const auto& id : options->snapshot_ids) request.add_snapshot_ids(id);
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::DeleteVolumeGroupSnapshotResponse>(
        [&](grpc::ClientContext* call, csi::v1::DeleteVolumeGroupSnapshotResponse* response) {
          return ctx.connection().groupController().DeleteVolumeGroupSnapshot(call, request,
                                                                              response);
        },
        [&](const csi::v1::DeleteVolumeGroupSnapshotResponse&) {
          std::cout << "deleted group snapshot " << request.group_snapshot_id() << '\n';
        });
  });
}

void addGet(CLI::App& group, CommandContext& context) {
  struct Options {
    std::string group_snapshot_id;
    std::vector<std::string> snapshot_ids, secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      group.add_subcommand("get", "GetVolumeGroupSnapshot: one group snapshot and its members");
  command->add_option("GROUP_SNAPSHOT_ID", options->group_snapshot_id, "group to show")->required();
  command->add_option("--snapshot", options->snapshot_ids,
                      "a member snapshot id the CO knows (repeatable; the driver checks them)");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::GetVolumeGroupSnapshotRequest request;
    request.set_group_snapshot_id(options->group_snapshot_id);
    for (const auto& id : options->snapshot_ids) request.add_snapshot_ids(id);
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::GetVolumeGroupSnapshotResponse>(
        [&](grpc::ClientContext* call, csi::v1::GetVolumeGroupSnapshotResponse* response) {
          return ctx.connection().groupController().GetVolumeGroupSnapshot(call, request, response);
        },
        [&](const csi::v1::GetVolumeGroupSnapshotResponse& response) {
          printGroup(ctx, response.group_snapshot());
        });
  });
}

}  // namespace

void addGroupSnapshotCommands(CLI::App& app, CommandContext& context) {
  CLI::App* group =
      app.add_subcommand("group-snapshot", "GroupController service group snapshot RPCs");
  group->require_subcommand(1);
  addCreate(*group, context);
  addDelete(*group, context);
  addGet(*group, context);
}

}  // namespace polycsi::csictl
