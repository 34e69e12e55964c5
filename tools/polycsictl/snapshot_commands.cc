// snapshot create | delete | list | get: the CSI Controller service's snapshot RPCs.
#include <iostream>
#include <memory>

#include "command_flags.hpp"
#include "commands.hpp"
#include "volume_output.hpp"

namespace polycsi::csictl {
namespace {

void addCreate(CLI::App& snapshot, CommandContext& context) {
  struct Options {
    std::string name, source_volume_id;
    std::vector<std::string> parameters, secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = snapshot.add_subcommand("create", "CreateSnapshot: snapshot a volume");
  command->add_option("NAME", options->name, "snapshot name (idempotency key)")->required();
  command->add_option("SOURCE_VOLUME_ID", options->source_volume_id, "volume to snapshot")
      ->required();
  addKeyValueOption(*command, "--param", options->parameters, "driver parameter");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::CreateSnapshotRequest request;
    request.set_name(options->name);
    request.set_source_volume_id(options->source_volume_id);
    putKeyValues("--param", options->parameters, request.mutable_parameters());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::CreateSnapshotResponse>(
        [&](grpc::ClientContext* call, csi::v1::CreateSnapshotResponse* response) {
          return ctx.connection().controller().CreateSnapshot(call, request, response);
        },
        [](const csi::v1::CreateSnapshotResponse& response) {
          std::cout << describeSnapshot(response.snapshot()) << '\n';
        });
  });
}

void addDelete(CLI::App& snapshot, CommandContext& context) {
  struct Options {
    std::string snapshot_id;
    std::vector<std::string> secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = snapshot.add_subcommand("delete", "DeleteSnapshot: remove a snapshot");
  command->add_option("SNAPSHOT_ID", options->snapshot_id, "snapshot to delete")->required();
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::DeleteSnapshotRequest request;
    request.set_snapshot_id(options->snapshot_id);
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::DeleteSnapshotResponse>(
        [&](grpc::ClientContext* call, csi::v1::DeleteSnapshotResponse* response) {
          return ctx.connection().controller().DeleteSnapshot(call, request, response);
        },
        [&](const csi::v1::DeleteSnapshotResponse&) {
          std::cout << "deleted snapshot " << request.snapshot_id() << '\n';
        });
  });
}

void addList(CLI::App& snapshot, CommandContext& context) {
  struct Options {
    std::string source_volume_id, snapshot_id, starting_token;
    int max_entries = 0;
    std::vector<std::string> secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = snapshot.add_subcommand("list", "ListSnapshots: one page of snapshots");
  command->add_option("--volume", options->source_volume_id, "only snapshots of this volume");
  command->add_option("--snapshot", options->snapshot_id, "only this snapshot");
  command->add_option("--max", options->max_entries, "page size (0 = the driver decides)");
  command->add_option("--token", options->starting_token, "next_token of the previous page");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    requireNonNegative("--max", options->max_entries);
    csi::v1::ListSnapshotsRequest request;
    request.set_source_volume_id(options->source_volume_id);
    request.set_snapshot_id(options->snapshot_id);
    request.set_max_entries(options->max_entries);
    request.set_starting_token(options->starting_token);
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::ListSnapshotsResponse>(
        [&](grpc::ClientContext* call, csi::v1::ListSnapshotsResponse* response) {
          return ctx.connection().controller().ListSnapshots(call, request, response);
        },
        [](const csi::v1::ListSnapshotsResponse& response) {
          TextTable table({"SNAPSHOT_ID", "SOURCE_VOLUME", "SIZE", "READY", "CREATED"});
          for (const auto& entry : response.entries()) {
            const csi::v1::Snapshot& snapshot = entry.snapshot();
            table.addRow({snapshot.snapshot_id(), snapshot.source_volume_id(),
                          formatCapacity(snapshot.size_bytes()),
                          snapshot.ready_to_use() ? "true" : "false",
                          formatTimestamp(snapshot.creation_time())});
          }
          table.print(std::cout);
          if (!response.next_token().empty()) {
            std::cout << "next_token " << response.next_token() << '\n';
          }
        });
  });
}

void addGet(CLI::App& snapshot, CommandContext& context) {
  struct Options {
    std::string snapshot_id;
    std::vector<std::string> secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = snapshot.add_subcommand("get", "GetSnapshot: one snapshot");
  command->add_option("SNAPSHOT_ID", options->snapshot_id, "snapshot to show")->required();
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::GetSnapshotRequest request;
    request.set_snapshot_id(options->snapshot_id);
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::GetSnapshotResponse>(
        [&](grpc::ClientContext* call, csi::v1::GetSnapshotResponse* response) {
          return ctx.connection().controller().GetSnapshot(call, request, response);
        },
        [](const csi::v1::GetSnapshotResponse& response) {
          std::cout << describeSnapshot(response.snapshot()) << '\n';
        });
  });
}

}  // namespace

void addSnapshotCommands(CLI::App& app, CommandContext& context) {
  CLI::App* snapshot = app.add_subcommand("snapshot", "Controller service snapshot RPCs");
  snapshot->require_subcommand(1);
  addCreate(*snapshot, context);
  addDelete(*snapshot, context);
  addList(*snapshot, context);
  addGet(*snapshot, context);
}

}  // namespace polycsi::csictl
