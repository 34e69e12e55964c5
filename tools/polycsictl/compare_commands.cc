// compare: the backends of a polycsi driver side by side (RWO/RWX modes, the VM disk PVC, what
// a second node gets, KubeVirt live migration and why, group snapshot consistency, what a
// VolumeAttributesClass may change, where volume health is reported). Asks the running driver
// through GetPluginInfo, like checkup, of which it is the one-table summary.
#include <iostream>
#include <memory>

#include "backend_checkup.hpp"
#include "backend_comparison.hpp"
#include "commands.hpp"

namespace polycsi::csictl {
namespace {

int runCompare(CommandContext& ctx) {
  CsiConnection& csi = ctx.connection();
  const std::unique_ptr<grpc::ClientContext> call = csi.newCallContext();
  const csi::v1::GetPluginInfoRequest request;
  csi::v1::GetPluginInfoResponse info;
  const grpc::Status status = csi.identity().GetPluginInfo(call.get(), request, &info);
  if (!status.ok()) {
    std::cerr << formatRpcError(status) << '\n';
    return kExitRpcError;
  }
  const DriverCheckup checkup = parseCheckup(info.name(), info.vendor_version(), info.manifest());
  if (ctx.options().json)
    std::cout << comparisonJson(checkup).dump(2) << '\n';
  else
    std::cout << formatComparison(checkup);
  return kExitOk;
}

}  // namespace

void addCompareCommand(CLI::App& app, CommandContext& context) {
  CLI::App* compare = app.add_subcommand(
      "compare",
      "All backends in one table: RWO/RWX modes, the VM disk PVC, what a second node gets, "
      "whether KubeVirt can live-migrate and why, group snapshot consistency, what a "
      "VolumeAttributesClass may change and where volume health is reported (asks the running "
      "driver)");
  selectOnParse(compare, context, [](CommandContext& ctx) { return runCompare(ctx); });
}

}  // namespace polycsi::csictl
