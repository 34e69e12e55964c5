// checkup: per StorageClass of the cluster that names this driver (or, outside a cluster, per
// backend of the driver): the modes it supports, whether KubeVirt VMs on it can live-migrate
// with that class's window, the PVC to use and the CDI StorageProfile to apply. Asks the
// running driver (GetPluginInfo manifest), so the answer follows the loaded plugins, and reads
// the StorageClasses with the controller's own Kubernetes client (core/kube).
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "backend_checkup.hpp"
#include "commands.hpp"
#include "kube/kube_client.hpp"
#include "storage_class_checkup.hpp"

namespace polycsi::csictl {
namespace {

constexpr const char* kStorageClassesPath = "/apis/storage.k8s.io/v1/storageclasses";
constexpr int kStorageClassPageSize = 500;

struct CheckupOptions {
  std::string backend;
  std::string storageClass;
  std::string size = "20Gi";
  bool perBackend = false;
  std::string kubeApi;
  std::string kubeTokenFile;
  std::string kubeCaFile;
};

// The Kubernetes API to read StorageClasses from: --kube-api, else the pod's service account;
// nullopt outside a cluster.
std::optional<kube::KubeConfig> kubeConfigOf(const CheckupOptions& options) {
  if (options.kubeApi.empty()) return kube::inClusterConfig();
  if (options.kubeTokenFile.empty())
    throw std::invalid_argument("--kube-api needs --kube-token-file (a service account token)");
  kube::KubeConfig config;
  config.baseUrl = options.kubeApi;
  config.tokenFile = options.kubeTokenFile;
  config.caFile = options.kubeCaFile;
  return config;
}

// Every StorageClass of the cluster, page by page.
std::vector<nlohmann::json> listStorageClasses(const kube::KubeConfig& config) {
  // The client logs through spdlog's default logger; polycsictl's stdout is the report, so
  // the client's warnings and errors go to stderr and its info lines nowhere.
  auto logger = spdlog::stderr_logger_mt("kube");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  StatusOr<std::unique_ptr<kube::KubeClient>> client = kube::KubeClient::create(config);
  if (!client.isOk()) throw std::invalid_argument("Kubernetes API: " + client.status().message());
  std::vector<nlohmann::json> items;
  std::string continueToken;
  do {
    std::string path =
        std::string(kStorageClassesPath) + "?limit=" + std::to_string(kStorageClassPageSize);
    if (!continueToken.empty()) path += "&continue=" + kube::urlEncode(continueToken);
    const StatusOr<nlohmann::json> page = (*client)->get(path);
    if (!page.isOk())
      throw std::runtime_error("reading the cluster's StorageClasses: " + page.status().message());
    for (const auto& item : page->value("items", nlohmann::json::array())) items.push_back(item);
    continueToken = page->contains("metadata") ? (*page)["metadata"].value("continue", "") : "";
  } while (!continueToken.empty());
  return items;
}

// Narrows the report to --backend (and, per backend, names its class after --storage-class).
void chooseBackend(DriverCheckup& checkup, const CheckupOptions& options) {
  if (options.backend.empty()) return;
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

// Replaces the per-backend entries by one per StorageClass of the driver in the cluster.
// False (report left per backend) when the cluster has no class for the driver.
bool answerPerStorageClass(DriverCheckup& checkup, const CheckupOptions& options,
                           const kube::KubeConfig& config) {
  std::vector<BackendCheckup> classes = checkStorageClasses(checkup, listStorageClasses(config));
  if (!options.storageClass.empty()) {
    std::erase_if(classes,
                  [&](const BackendCheckup& c) { return c.storageClass != options.storageClass; });
    if (classes.empty())
      throw std::runtime_error("the cluster has no StorageClass '" + options.storageClass +
                               "' of driver " + checkup.driverName);
  }
  if (!options.backend.empty())
    std::erase_if(classes, [&](const BackendCheckup& c) { return c.name != options.backend; });
  if (classes.empty()) return false;
  checkup.backends = std::move(classes);
  return true;
}

int runCheckup(CommandContext& ctx, const CheckupOptions& options) {
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
  const std::optional<kube::KubeConfig> cluster =
      options.perBackend ? std::nullopt : kubeConfigOf(options);
  if (!cluster && !options.storageClass.empty() && options.backend.empty())
    throw std::invalid_argument(
        "--storage-class outside a cluster needs --backend: it names one backend's class");
  if (!cluster || !answerPerStorageClass(checkup, options, *cluster)) {
    if (cluster)
      std::cerr << "the cluster has no StorageClass of driver " << checkup.driverName
                << (options.backend.empty() ? "" : " for backend " + options.backend)
                << "; answering per backend\n";
    chooseBackend(checkup, options);
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
      "Per StorageClass of this driver in the cluster (per backend outside a cluster): "
      "supported access/volume modes, KubeVirt live migration with the class's window, group "
      "snapshot consistency, what a VolumeAttributesClass may change, where volume health is "
      "reported, the PVC to use and the CDI StorageProfile claimPropertySets (asks the running "
      "driver and the Kubernetes API)");
  checkup->add_option("--backend", options->backend, "only this backend (its classes)");
  checkup->add_option("--storage-class", options->storageClass,
                      "only this StorageClass; outside a cluster, the class name for the YAML "
                      "(default polycsi-<backend>), with --backend");
  checkup->add_option("--size", options->size, "size of the PVC in the example (a quantity)")
      ->capture_default_str();
  checkup->add_flag("--per-backend", options->perBackend,
                    "answer per backend even in a cluster (no StorageClasses read)");
  checkup->add_option("--kube-api", options->kubeApi,
                      "Kubernetes API URL (default: the pod's service account, in a cluster)");
  checkup->add_option("--kube-token-file", options->kubeTokenFile,
                      "file with the bearer token for --kube-api");
  checkup->add_option("--kube-ca-file", options->kubeCaFile,
                      "CA bundle that signed the API server's certificate (--kube-api https)");
  selectOnParse(checkup, context,
                [options](CommandContext& ctx) { return runCheckup(ctx, *options); });
}

}  // namespace polycsi::csictl
