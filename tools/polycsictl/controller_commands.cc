// controller create | delete | publish | unpublish | validate | list | capacity |
// capabilities | expand | get | modify: the CSI Controller service's volume RPCs.
#include <iostream>
#include <memory>

#include "byte_size.hpp"
#include "command_flags.hpp"
#include "commands.hpp"
#include "volume_output.hpp"

namespace polycsi::csictl {
namespace {

using csi::v1::ControllerServiceCapability;

void addCreate(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::string name, size, limit, from_snapshot, from_volume;
    std::vector<std::string> parameters, mutable_parameters, secrets;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand("create", "CreateVolume: provision a volume");
  command->add_option("NAME", options->name, "volume name (idempotency key)")->required();
  command->add_option("--size", options->size, "required capacity, e.g. 1Gi")->required();
  command->add_option("--limit", options->limit, "largest acceptable capacity");
  options->capability.addTo(*command);
  addKeyValueOption(*command, "--param", options->parameters, "driver parameter");
  addKeyValueOption(*command, "--mutable-param", options->mutable_parameters,
                    "mutable driver parameter");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");
  CLI::Option* from_snapshot =
      command->add_option("--from-snapshot", options->from_snapshot, "restore this snapshot");
  CLI::Option* from_volume =
      command->add_option("--from-volume", options->from_volume, "clone this volume");
  from_snapshot->excludes(from_volume);

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::CreateVolumeRequest request;
    request.set_name(options->name);
    setCapacityRange(options->size, options->limit, request.mutable_capacity_range());
    *request.add_volume_capabilities() = options->capability.build();
    putKeyValues("--param", options->parameters, request.mutable_parameters());
    putKeyValues("--mutable-param", options->mutable_parameters,
                 request.mutable_mutable_parameters());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    if (!options->from_snapshot.empty()) {
      request.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(
          options->from_snapshot);
    }
    if (!options->from_volume.empty()) {
      request.mutable_volume_content_source()->mutable_volume()->set_volume_id(
          options->from_volume);
    }
    return ctx.call<csi::v1::CreateVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::CreateVolumeResponse* response) {
          return ctx.connection().controller().CreateVolume(call, request, response);
        },
        [](const csi::v1::CreateVolumeResponse& response) {
          std::cout << describeVolume(response.volume()) << '\n';
        });
  });
}

void addDelete(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::string volume_id;
    std::vector<std::string> secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand("delete", "DeleteVolume: remove a volume");
  command->add_option("VOLUME_ID", options->volume_id, "volume to delete")->required();
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::DeleteVolumeRequest request;
    request.set_volume_id(options->volume_id);
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::DeleteVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::DeleteVolumeResponse* response) {
          return ctx.connection().controller().DeleteVolume(call, request, response);
        },
        [&](const csi::v1::DeleteVolumeResponse&) {
          std::cout << "deleted volume " << request.volume_id() << '\n';
        });
  });
}

void addPublish(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::string volume_id, node_id;
    bool readonly = false;
    std::vector<std::string> volume_context, secrets;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      controller.add_subcommand("publish", "ControllerPublishVolume: attach a volume to a node");
  command->add_option("VOLUME_ID", options->volume_id, "volume to attach")->required();
  command->add_option("NODE_ID", options->node_id, "node to attach it to")->required();
  command->add_flag("--readonly", options->readonly, "attach read-only");
  options->capability.addTo(*command);
  addKeyValueOption(*command, "--context", options->volume_context, "volume context entry");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::ControllerPublishVolumeRequest request;
    request.set_volume_id(options->volume_id);
    request.set_node_id(options->node_id);
    request.set_readonly(options->readonly);
    *request.mutable_volume_capability() = options->capability.build();
    putKeyValues("--context", options->volume_context, request.mutable_volume_context());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::ControllerPublishVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::ControllerPublishVolumeResponse* response) {
          return ctx.connection().controller().ControllerPublishVolume(call, request, response);
        },
        [&](const csi::v1::ControllerPublishVolumeResponse& response) {
          std::cout << "published volume " << request.volume_id() << " to node "
                    << request.node_id() << "  publish_context "
                    << formatStringMap(response.publish_context()) << '\n';
        });
  });
}

void addUnpublish(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::string volume_id, node_id;
    std::vector<std::string> secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand(
      "unpublish", "ControllerUnpublishVolume: detach a volume from a node");
  command->add_option("VOLUME_ID", options->volume_id, "volume to detach")->required();
  command->add_option("NODE_ID", options->node_id, "node to detach it from")->required();
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::ControllerUnpublishVolumeRequest request;
    request.set_volume_id(options->volume_id);
    request.set_node_id(options->node_id);
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::ControllerUnpublishVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::ControllerUnpublishVolumeResponse* response) {
          return ctx.connection().controller().ControllerUnpublishVolume(call, request, response);
        },
        [&](const csi::v1::ControllerUnpublishVolumeResponse&) {
          std::cout << "unpublished volume " << request.volume_id() << " from node "
                    << request.node_id() << '\n';
        });
  });
}

void addValidate(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::string volume_id;
    std::vector<std::string> volume_context, parameters, mutable_parameters, secrets;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand(
      "validate",
      "ValidateVolumeCapabilities: would the volume support this capability (prints "
      "'confirmed' or 'not confirmed'; both exit 0)");
  command->add_option("VOLUME_ID", options->volume_id, "volume to check")->required();
  options->capability.addTo(*command);
  addKeyValueOption(*command, "--context", options->volume_context, "volume context entry");
  addKeyValueOption(*command, "--param", options->parameters, "driver parameter");
  addKeyValueOption(*command, "--mutable-param", options->mutable_parameters,
                    "mutable driver parameter");
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::ValidateVolumeCapabilitiesRequest request;
    request.set_volume_id(options->volume_id);
    *request.add_volume_capabilities() = options->capability.build();
    putKeyValues("--context", options->volume_context, request.mutable_volume_context());
    putKeyValues("--param", options->parameters, request.mutable_parameters());
    putKeyValues("--mutable-param", options->mutable_parameters,
                 request.mutable_mutable_parameters());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::ValidateVolumeCapabilitiesResponse>(
        [&](grpc::ClientContext* call, csi::v1::ValidateVolumeCapabilitiesResponse* response) {
          return ctx.connection().controller().ValidateVolumeCapabilities(call, request, response);
        },
        [](const csi::v1::ValidateVolumeCapabilitiesResponse& response) {
          if (!response.has_confirmed()) {
            std::cout << "not confirmed"
                      << (response.message().empty() ? "" : ": " + response.message()) << '\n';
            return;
          }
          const auto& confirmed = response.confirmed();
          std::cout << "confirmed\n";
          for (const csi::v1::VolumeCapability& capability : confirmed.volume_capabilities()) {
            std::cout << "capability          " << describeVolumeCapability(capability) << '\n';
          }
          std::cout << "volume_context      " << formatStringMap(confirmed.volume_context()) << '\n'
                    << "parameters          " << formatStringMap(confirmed.parameters()) << '\n'
                    << "mutable_parameters  " << formatStringMap(confirmed.mutable_parameters())
                    << '\n';
          if (!response.message().empty()) std::cout << "message  " << response.message() << '\n';
        });
  });
}

void addList(CLI::App& controller, CommandContext& context) {
  struct Options {
    int max_entries = 0;
    std::string starting_token;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand("list", "ListVolumes: one page of volumes");
  command->add_option("--max", options->max_entries, "page size (0 = the driver decides)");
  command->add_option("--token", options->starting_token, "next_token of the previous page");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    requireNonNegative("--max", options->max_entries);
    csi::v1::ListVolumesRequest request;
    request.set_max_entries(options->max_entries);
    request.set_starting_token(options->starting_token);
    return ctx.call<csi::v1::ListVolumesResponse>(
        [&](grpc::ClientContext* call, csi::v1::ListVolumesResponse* response) {
          return ctx.connection().controller().ListVolumes(call, request, response);
        },
        [](const csi::v1::ListVolumesResponse& response) {
          // TOPOLOGY only when a volume is reachable from part of the cluster (docs/topology.md).
          bool anyTopology = false;
          for (const auto& entry : response.entries())
            anyTopology = anyTopology || !entry.volume().accessible_topology().empty();
          std::vector<std::string> header = {"VOLUME_ID", "CAPACITY", "PUBLISHED_NODES",
                                             "CONDITION"};
          if (anyTopology) header.push_back("TOPOLOGY");
          header.push_back("CONTEXT");
          TextTable table(header);
          for (const auto& entry : response.entries()) {
            std::string nodes;
            for (const std::string& node : entry.status().published_node_ids()) {
              nodes += (nodes.empty() ? "" : ",") + node;
            }
            std::vector<std::string> row = {entry.volume().volume_id(),
                                            formatCapacity(entry.volume().capacity_bytes()),
                                            nodes.empty() ? "-" : nodes,
                                            describeCondition(entry.status().has_volume_condition(),
                                                              entry.status().volume_condition())};
            if (anyTopology) row.push_back(formatTopologies(entry.volume().accessible_topology()));
            row.push_back(formatStringMap(entry.volume().volume_context()));
            table.addRow(row);
          }
          table.print(std::cout);
          if (!response.next_token().empty()) {
            std::cout << "next_token " << response.next_token() << '\n';
          }
        });
  });
}

void addCapacity(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::vector<std::string> parameters;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand(
      "capacity", "GetCapacity: free capacity (for a capability, when capability flags given)");
  addKeyValueOption(*command, "--param", options->parameters, "driver parameter");
  options->capability.addTo(*command);

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::GetCapacityRequest request;
    putKeyValues("--param", options->parameters, request.mutable_parameters());
    if (options->capability.given()) {
      *request.add_volume_capabilities() = options->capability.build();
    }
    return ctx.call<csi::v1::GetCapacityResponse>(
        [&](grpc::ClientContext* call, csi::v1::GetCapacityResponse* response) {
          return ctx.connection().controller().GetCapacity(call, request, response);
        },
        [](const csi::v1::GetCapacityResponse& response) {
          std::cout << "available_capacity   " << formatBytes(response.available_capacity()) << " ("
                    << response.available_capacity() << " bytes)\n";
          if (response.has_maximum_volume_size()) {
            std::cout << "maximum_volume_size  "
                      << formatBytes(response.maximum_volume_size().value()) << '\n';
          }
          if (response.has_minimum_volume_size()) {
            std::cout << "minimum_volume_size  "
                      << formatBytes(response.minimum_volume_size().value()) << '\n';
          }
        });
  });
}

void addCapabilities(CLI::App& controller, CommandContext& context) {
  CLI::App* command = controller.add_subcommand(
      "capabilities", "ControllerGetCapabilities: the controller RPCs the driver supports");
  selectOnParse(command, context, [](CommandContext& ctx) {
    const csi::v1::ControllerGetCapabilitiesRequest request;
    return ctx.call<csi::v1::ControllerGetCapabilitiesResponse>(
        [&](grpc::ClientContext* call, csi::v1::ControllerGetCapabilitiesResponse* response) {
          return ctx.connection().controller().ControllerGetCapabilities(call, request, response);
        },
        [](const csi::v1::ControllerGetCapabilitiesResponse& response) {
          if (response.capabilities_size() == 0) std::cout << "(no capabilities)\n";
          for (const ControllerServiceCapability& capability : response.capabilities()) {
            if (capability.has_rpc()) {
              std::cout << "rpc  "
                        << ControllerServiceCapability::RPC::Type_Name(capability.rpc().type())
                        << '\n';
            } else {
              std::cout << "unknown capability (newer than CSI v1.12)\n";
            }
          }
        });
  });
}

void addExpand(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::string volume_id, size, limit;
    std::vector<std::string> secrets;
    CapabilityFlags capability;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand("expand", "ControllerExpandVolume: grow a volume");
  command->add_option("VOLUME_ID", options->volume_id, "volume to grow")->required();
  command->add_option("--size", options->size, "new required capacity, e.g. 2Gi")->required();
  command->add_option("--limit", options->limit, "largest acceptable capacity");
  options->capability.addTo(*command);
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::ControllerExpandVolumeRequest request;
    request.set_volume_id(options->volume_id);
    setCapacityRange(options->size, options->limit, request.mutable_capacity_range());
    if (options->capability.given()) {
      *request.mutable_volume_capability() = options->capability.build();
    }
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::ControllerExpandVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::ControllerExpandVolumeResponse* response) {
          return ctx.connection().controller().ControllerExpandVolume(call, request, response);
        },
        [&](const csi::v1::ControllerExpandVolumeResponse& response) {
          std::cout << "volume " << request.volume_id() << "  capacity "
                    << formatCapacity(response.capacity_bytes()) << "  node_expansion_required "
                    << (response.node_expansion_required() ? "yes" : "no") << '\n';
        });
  });
}

void addGet(CLI::App& controller, CommandContext& context) {
  auto volume_id = std::make_shared<std::string>();
  CLI::App* command =
      controller.add_subcommand("get", "ControllerGetVolume: a volume and its status");
  command->add_option("VOLUME_ID", *volume_id, "volume to show")->required();

  selectOnParse(command, context, [volume_id](CommandContext& ctx) {
    csi::v1::ControllerGetVolumeRequest request;
    request.set_volume_id(*volume_id);
    return ctx.call<csi::v1::ControllerGetVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::ControllerGetVolumeResponse* response) {
          return ctx.connection().controller().ControllerGetVolume(call, request, response);
        },
        [](const csi::v1::ControllerGetVolumeResponse& response) {
          std::string nodes;
          for (const std::string& node : response.status().published_node_ids()) {
            nodes += (nodes.empty() ? "" : ",") + node;
          }
          std::cout << describeVolume(response.volume()) << '\n'
                    << "published_nodes  " << (nodes.empty() ? "-" : nodes) << '\n'
                    << "condition        "
                    << describeCondition(response.status().has_volume_condition(),
                                         response.status().volume_condition())
                    << '\n';
        });
  });
}

void addModify(CLI::App& controller, CommandContext& context) {
  struct Options {
    std::string volume_id;
    std::vector<std::string> mutable_parameters, secrets;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = controller.add_subcommand(
      "modify", "ControllerModifyVolume: change a volume's mutable parameters");
  command->add_option("VOLUME_ID", options->volume_id, "volume to modify")->required();
  addKeyValueOption(*command, "--param", options->mutable_parameters, "mutable parameter")
      ->required();
  addKeyValueOption(*command, "--secret", options->secrets, "secret (never printed)");

  selectOnParse(command, context, [options](CommandContext& ctx) {
    csi::v1::ControllerModifyVolumeRequest request;
    request.set_volume_id(options->volume_id);
    putKeyValues("--param", options->mutable_parameters, request.mutable_mutable_parameters());
    putKeyValues("--secret", options->secrets, request.mutable_secrets());
    return ctx.call<csi::v1::ControllerModifyVolumeResponse>(
        [&](grpc::ClientContext* call, csi::v1::ControllerModifyVolumeResponse* response) {
          return ctx.connection().controller().ControllerModifyVolume(call, request, response);
        },
        [&](const csi::v1::ControllerModifyVolumeResponse&) {
          std::cout << "modified volume " << request.volume_id() << "  mutable_parameters "
                    << formatStringMap(request.mutable_parameters()) << '\n';
        });
  });
}

}  // namespace

void addControllerCommands(CLI::App& app, CommandContext& context) {
  CLI::App* controller = app.add_subcommand("controller", "Controller service volume RPCs");
  controller->require_subcommand(1);
  addCreate(*controller, context);
  addDelete(*controller, context);
  addPublish(*controller, context);
  addUnpublish(*controller, context);
  addValidate(*controller, context);
  addList(*controller, context);
  addCapacity(*controller, context);
  addCapabilities(*controller, context);
  addExpand(*controller, context);
  addGet(*controller, context);
  addModify(*controller, context);
}

}  // namespace polycsi::csictl
