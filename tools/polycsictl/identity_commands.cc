// identity info | capabilities | probe: the CSI Identity service.
#include <iostream>

#include "commands.hpp"

namespace polycsi::csictl {
namespace {

using csi::v1::PluginCapability;

void printPluginInfo(const csi::v1::GetPluginInfoResponse& response) {
  std::cout << "name            " << response.name() << '\n'
            << "vendor_version  " << response.vendor_version() << '\n'
            << "manifest        " << formatStringMap(response.manifest()) << '\n';
}

void printPluginCapabilities(const csi::v1::GetPluginCapabilitiesResponse& response) {
  if (response.capabilities_size() == 0) std::cout << "(no capabilities)\n";
  for (const PluginCapability& capability : response.capabilities()) {
    if (capability.has_service()) {
      std::cout << "service           "
                << PluginCapability::Service::Type_Name(capability.service().type()) << '\n';
    } else if (capability.has_volume_expansion()) {
      std::cout << "volume_expansion  "
                << PluginCapability::VolumeExpansion::Type_Name(
                       capability.volume_expansion().type())
                << '\n';
    } else {
      std::cout << "unknown capability (newer than CSI v1.12)\n";
    }
  }
}

void printProbe(const csi::v1::ProbeResponse& response) {
  if (!response.has_ready()) {
    std::cout << "ready  not reported (CSI treats this as ready)\n";
  } else {
    std::cout << "ready  " << (response.ready().value() ? "true" : "false") << '\n';
  }
}

}  // namespace

void addIdentityCommands(CLI::App& app, CommandContext& context) {
  CLI::App* identity = app.add_subcommand("identity", "Identity service RPCs");
  identity->require_subcommand(1);

  selectOnParse(identity->add_subcommand("info", "GetPluginInfo: driver name and version"), context,
                [](CommandContext& ctx) {
                  const csi::v1::GetPluginInfoRequest request;
                  return ctx.call<csi::v1::GetPluginInfoResponse>(
                      [&](grpc::ClientContext* call, csi::v1::GetPluginInfoResponse* response) {
                        return ctx.connection().identity().GetPluginInfo(call, request, response);
                      },
                      printPluginInfo);
                });

  selectOnParse(
      identity->add_subcommand("capabilities", "GetPluginCapabilities: services the driver has"),
      context, [](CommandContext& ctx) {
        const csi::v1::GetPluginCapabilitiesRequest request;
        return ctx.call<csi::v1::GetPluginCapabilitiesResponse>(
            [&](grpc::ClientContext* call, csi::v1::GetPluginCapabilitiesResponse* response) {
              return ctx.connection().identity().GetPluginCapabilities(call, request, response);
            },
            printPluginCapabilities);
      });

  selectOnParse(identity->add_subcommand("probe", "Probe: is the driver ready"), context,
                [](CommandContext& ctx) {
                  const csi::v1::ProbeRequest request;
                  return ctx.call<csi::v1::ProbeResponse>(
                      [&](grpc::ClientContext* call, csi::v1::ProbeResponse* response) {
                        return ctx.connection().identity().Probe(call, request, response);
                      },
                      printProbe);
                });
}

}  // namespace polycsi::csictl
