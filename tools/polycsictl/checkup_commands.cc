// checkup: per backend of a polycsi driver, the modes it supports, whether KubeVirt VMs on it
// can live-migrate, the PVC to use and the CDI StorageProfile to apply. Asks the running driver
// (GetPluginInfo manifest), so the answer follows the loaded plugins, not a static table.
#include <iostream>
#include <memory>
#include <stdexcept>

#include "backend_checkup.hpp"
#include "commands.hpp"

namespace polycsi::csictl {
namespace {

struct CheckupOptions {
  std::string backend;
  std::string storageClass;
  std::string size = "20Gi";
};

int runCheckup(CommandContext& ctx, const CheckupOptions& options) {
  if (!options.storageClass.empty() && options.backend.empty())
    throw std::invalid_argument("--storage-class needs --backend: it names one backend's class");
  CsiConnection& csi = ctx.connection();
  const std::unique_ptr<grpc::ClientContext> call = csi.newCallContext();
  const csi::v1::GetPluginInfoRequest request;
  csi::v1::GetPluginInfoResponse info;
  const grpc::Status status = csi.identity().GetPluginInfo(call.get(), request, &info);
  if (!status.ok()) {
    std::cerr << formatRpcError(status) << '\n';
    return kExitRpcError;
  }
  DriverCheckup checkup = parseCheckup(info.name(), info.vendor_version(), info.manifest());
  if (!options.backend.empty()) {
    std::vector<BackendCheckup> chosen;
    std::string known;
    for (auto& backend : checkup.backends) {
      known += (known.empty() ? "" : ", ") + backend.name;
      if (backend.name == options.backend) chosen.push_back(backend);
    }
    if (chosen.empty())
      throw std::runtime_error("driver " + checkup.driverName + " has no backend '" +
                               options.backend + "' (it has: " + known + ")");
    if (!options.storageClass.empty()) chosen.front().storageClass = options.storageClass;
    checkup.backends = std::move(chosen);
  }
  if (ctx.options().json) {
    std::cout << checkupJson(checkup, options.size).dump(2) << '\n';
    return kExitOk;
  }
  bool first = true;
  for (const auto& backend : checkup.backends) {
    if (!first) std::cout << '\n';
    first = false;
    std::cout << formatBackendCheckup(checkup, backend, options.size);
  }
  return kExitOk;
}

}  // namespace

void addCheckupCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<CheckupOptions>();
  CLI::App* checkup = app.add_subcommand(
      "checkup",
      "Per backend: supported access/volume modes, KubeVirt live migration, the PVC to use and "
      "the CDI StorageProfile claimPropertySets (asks the running driver)");
  checkup->add_option("--backend", options->backend, "only this backend");
  checkup->add_option(
      "--storage-class", options->storageClass,
      "StorageClass name for the YAML (default polycsi-<backend>); needs --backend");
  checkup->add_option("--size", options->size, "size of the PVC in the example (a quantity)")
      ->capture_default_str();
  selectOnParse(checkup, context,
                [options](CommandContext& ctx) { return runCheckup(ctx, *options); });
}

}  // namespace polycsi::csictl
