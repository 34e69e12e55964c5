// node stage | unstage | publish | unpublish | stats | expand | capabilities | info: the CSI
// Node service.
#include <iostream>
#include <memory>

#include "byte_size.hpp"
#include "command_flags.hpp"
#include "commands.hpp"
#include "volume_output.hpp"

namespace polycsi::csictl {
namespace {

using csi::v1::NodeServiceCapability;

void addStage(CLI::App& node, CommandContext& context) {
  struct Options {
    std::string volume_id, staging_path;
    std::vector<std::string> publish_context, volume_context, secrets;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      node.add_subcommand("stage", "NodeStageVolume: make a volume ready on this node");
  command->add_option("VOLUME_ID", options->volume_id, "volume to stage")->required();
  command->add_option("STAGING_PATH", options->staging_path, "global staging path")->required();
  addKeyValueOption(*command, "--publish-context", options->publish_context,
                    "publish_context entry from ControllerPublishVolume");
  addKeyValueOption(*command, "--context", options->volume_context, "volume context entry");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");
  options->capability.addTo(*command);

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::NodeStageVolumeRequest request;
    request.set_volume_id(options->volume_id);
    request.set_staging_target_path(options->staging_path);
    *request.mutable_volume_capability() = options->capability.build();
    putKeyValues("--publish-context", options->publish_context, request.mutable_publish_context());
    putKeyValues("--context", options->volume_context, request.mutable_volume_context());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::NodeStageVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodeStageVolumeResponse* response) {
          return ctx.connection().node().NodeStageVolume(call, request, response);
        },
        [&](const csi::v1::NodeStageVolumeResponse&) {
          std::cout << "staged volume " << request.volume_id() << " at "
                    << request.staging_target_path() << '\n';
        });
  });
}

void addUnstage(CLI::App& node, CommandContext& context) {
  struct Options {
    std::string volume_id, staging_path;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = node.add_subcommand("unstage", "NodeUnstageVolume: undo NodeStageVolume");
  command->add_option("VOLUME_ID", options->volume_id, "volume to unstage")->required();
  command->add_option("STAGING_PATH", options->staging_path, "global staging path")->required();

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::NodeUnstageVolumeRequest request;
    request.set_volume_id(options->volume_id);
    request.set_staging_target_path(options->staging_path);
    return ctx.call<csi::v1::NodeUnstageVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodeUnstageVolumeResponse* response) {
          return ctx.connection().node().NodeUnstageVolume(call, request, response);
        },
        [&](const csi::v1::NodeUnstageVolumeResponse&) {
          std::cout << "unstaged volume " << request.volume_id() << " from "
                    << request.staging_target_path() << '\n';
        });
  });
}

void addPublish(CLI::App& node, CommandContext& context) {
  struct Options {
    std::string volume_id, target_path, staging_path;
    bool readonly = false;
    std::vector<std::string> publish_context, volume_context, secrets;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      node.add_subcommand("publish", "NodePublishVolume: mount a volume for a workload");
  command->add_option("VOLUME_ID", options->volume_id, "volume to publish")->required();
  command->add_option("TARGET_PATH", options->target_path, "workload's target path")->required();
  command->add_option("--staging", options->staging_path, "staging path used by node stage");
  command->add_flag("--readonly", options->readonly, "publish read-only");
  addKeyValueOption(*command, "--publish-context", options->publish_context,
                    "publish_context entry from ControllerPublishVolume");
  addKeyValueOption(*command, "--context", options->volume_context, "volume context entry");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");
  options->capability.addTo(*command);

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::NodePublishVolumeRequest request;
    request.set_volume_id(options->volume_id);
    request.set_target_path(options->target_path);
    request.set_staging_target_path(options->staging_path);
    request.set_readonly(options->readonly);
    *request.mutable_volume_capability() = options->capability.build();
    putKeyValues("--publish-context", options->publish_context, request.mutable_publish_context());
    putKeyValues("--context", options->volume_context, request.mutable_volume_context());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::NodePublishVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodePublishVolumeResponse* response) {
          return ctx.connection().node().NodePublishVolume(call, request, response);
        },
        [&](const csi::v1::NodePublishVolumeResponse&) {
          std::cout << "published volume " << request.volume_id() << " at " << request.target_path()
                    << (request.readonly() ? " (read-only)" : "") << '\n';
        });
  });
}

void addUnpublish(CLI::App& node, CommandContext& context) {
  struct Options {
    std::string volume_id, target_path;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      node.add_subcommand("unpublish", "NodeUnpublishVolume: undo NodePublishVolume");
  command->add_option("VOLUME_ID", options->volume_id, "volume to unpublish")->required();
  command->add_option("TARGET_PATH", options->target_path, "workload's target path")->required();

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::NodeUnpublishVolumeRequest request;
    request.set_volume_id(options->volume_id);
    request.set_target_path(options->target_path);
    return ctx.call<csi::v1::NodeUnpublishVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodeUnpublishVolumeResponse* response) {
          return ctx.connection().node().NodeUnpublishVolume(call, request, response);
        },
        [&](const csi::v1::NodeUnpublishVolumeResponse&) {
          std::cout << "unpublished volume " << request.volume_id() << " from "
                    << request.target_path() << '\n';
        });
  });
}

void addStats(CLI::App& node, CommandContext& context) {
  struct Options {
    std::string volume_id, volume_path, staging_path;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = node.add_subcommand("stats", "NodeGetVolumeStats: usage of a volume");
  command->add_option("VOLUME_ID", options->volume_id, "volume to measure")->required();
  command->add_option("PATH", options->volume_path, "path the volume is published at")->required();
  command->add_option("--staging", options->staging_path, "staging path");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::NodeGetVolumeStatsRequest request;
    request.set_volume_id(options->volume_id);
    request.set_volume_path(options->volume_path);
    request.set_staging_target_path(options->staging_path);
    return ctx.call<csi::v1::NodeGetVolumeStatsResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodeGetVolumeStatsResponse* response) {
          return ctx.connection().node().NodeGetVolumeStats(call, request, response);
        },
        [](const csi::v1::NodeGetVolumeStatsResponse& response) {
          TextTable table({"UNIT", "TOTAL", "USED", "AVAILABLE"});
          for (const csi::v1::VolumeUsage& usage : response.usage()) {
            const bool bytes = usage.unit() == csi::v1::VolumeUsage::BYTES;
            const auto render = [bytes](std::int64_t value) {
              return bytes ? formatBytes(value) : std::to_string(value);
            };
            table.addRow({csi::v1::VolumeUsage::Unit_Name(usage.unit()), render(usage.total()),
                          render(usage.used()), render(usage.available())});
          }
          table.print(std::cout);
          std::cout << "condition  "
                    << describeCondition(response.has_volume_condition(),
                                         response.volume_condition())
                    << '\n';
        });
  });
}

void addExpand(CLI::App& node, CommandContext& context) {
  struct Options {
    std::string volume_id, volume_path, size, limit, staging_path;
    std::vector<std::string> secrets;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      node.add_subcommand("expand", "NodeExpandVolume: grow the filesystem on this node");
  command->add_option("VOLUME_ID", options->volume_id, "volume to grow")->required();
  command->add_option("PATH", options->volume_path, "path the volume is published at")->required();
  command->add_option("--size", options->size, "new required capacity, e.g. 2Gi")->required();
  command->add_option("--limit", options->limit, "largest acceptable capacity");
  command->add_option("--staging", options->staging_path, "staging path");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");
  options->capability.addTo(*command);

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::NodeExpandVolumeRequest request;
    request.set_volume_id(options->volume_id);
    request.set_volume_path(options->volume_path);
    request.set_staging_target_path(options->staging_path);
    setCapacityRange(options->size, options->limit, request.mutable_capacity_range());
    if (options->capability.given()) {
      *request.mutable_volume_capability() = options->capability.build();
    }
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::NodeExpandVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodeExpandVolumeResponse* response) {
          return ctx.connection().node().NodeExpandVolume(call, request, response);
        },
        [&](const csi::v1::NodeExpandVolumeResponse& response) {
          std::cout << "volume " << request.volume_id() << "  capacity "
                    << formatCapacity(response.capacity_bytes()) << '\n';
        });
  });
}

void addCapabilities(CLI::App& node, CommandContext& context) {
  CLI::App* command =
      node.add_subcommand("capabilities", "NodeGetCapabilities: the node RPCs the driver supports");
  selectOnParse(command, context, [](CommandContext& ctx) {
    const csi::v1::NodeGetCapabilitiesRequest request;
    return ctx.call<csi::v1::NodeGetCapabilitiesResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodeGetCapabilitiesResponse* response) {
          return ctx.connection().node().NodeGetCapabilities(call, request, response);
        },
        [](const csi::v1::NodeGetCapabilitiesResponse& response) {
          if (response.capabilities_size() == 0) std::cout << "(no capabilities)\n";
          for (const NodeServiceCapability& capability : response.capabilities()) {
            if (capability.has_rpc()) {
              std::cout << "rpc  " << NodeServiceCapability::RPC::Type_Name(capability.rpc().type())
                        << '\n';
            } else {
              std::cout << "unknown capability (newer than CSI v1.12)\n";
            }
          }
        });
  });
}

void addInfo(CLI::App& node, CommandContext& context) {
  CLI::App* command =
      node.add_subcommand("info", "NodeGetInfo: node id, volume limit and topology");
  selectOnParse(command, context, [](CommandContext& ctx) {
    const csi::v1::NodeGetInfoRequest request;
    return ctx.call<csi::v1::NodeGetInfoResponse>(
        [&](grpc::ClientContext* call, csi::v1::NodeGetInfoResponse* response) {
          return ctx.connection().node().NodeGetInfo(call, request, response);
        },
        [](const csi::v1::NodeGetInfoResponse& response) {
          std::cout << "node_id               " << response.node_id() << '\n'
                    << "max_volumes_per_node  "
                    << (response.max_volumes_per_node() == 0
                            ? std::string("unlimited")
                            : std::to_string(response.max_volumes_per_node()))
                    << '\n'
                    << "accessible_topology   "
                    << (response.has_accessible_topology()
                            ? formatStringMap(response.accessible_topology().segments())
                            : std::string("-"))
                    << '\n';
        });
  });
}

}  // namespace

void addNodeCommands(CLI::App& app, CommandContext& context) {
  CLI::App* node = app.add_subcommand("node", "Node service RPCs");
  node->require_subcommand(1);
  addStage(*node, context);
  addUnstage(*node, context);
  addPublish(*node, context);
  addUnpublish(*node, context);
  addStats(*node, context);
  addExpand(*node, context);
  addCapabilities(*node, context);
  addInfo(*node, context);
}

}  // namespace polycsi::csictl
