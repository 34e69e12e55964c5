#include "server/volume_attributes_class.hpp"

#include <spdlog/spdlog.h>

#include "server/csi_validation.hpp"

namespace polycsi::server {

StatusOr<std::optional<nlohmann::json>> findPersistentVolume(kube::KubeClient& client,
                                                             const std::string& pvName,
                                                             const std::string& pvcNamespace,
                                                             const std::string& pvcName) {
  using Found = std::optional<nlohmann::json>;
  std::string name = pvName;
  if (name.empty()) {
    if (pvcName.empty() || pvcNamespace.empty()) return Found();
    auto pvc = client.get("/api/v1/namespaces/" + kube::urlEncode(pvcNamespace) +
                          "/persistentvolumeclaims/" + kube::urlEncode(pvcName));
    if (!pvc.isOk()) {
      if (pvc.status().code() != Code::kNotFound) return pvc.status();
      spdlog::warn("PersistentVolumeClaim {}/{} not found: its volume's class is not known",
                   pvcNamespace, pvcName);
      return Found();
    }
    name = pvc->value("/spec/volumeName"_json_pointer, std::string());
    if (name.empty()) return Found();
  }
  auto pv = client.get("/api/v1/persistentvolumes/" + kube::urlEncode(name));
  if (!pv.isOk()) {
    if (pv.status().code() != Code::kNotFound) return pv.status();
    spdlog::warn("PersistentVolume {} not found: its class is not known", name);
    return Found();
  }
  return Found(std::move(*pv));
}

StatusOr<std::optional<int>> classMigrationTimeoutSeconds(kube::KubeClient& client,
                                                          const nlohmann::json& pv) {
  auto text = classMigrationTimeout(client, pv);
  if (!text.isOk()) return text.status();
  if (!*text) return std::optional<int>();
  auto parsed = parseMigrationTimeout(**text);
  if (!parsed.isOk()) {
    spdlog::warn(
        "PersistentVolume {}: VolumeAttributesClass {}: {}; the StorageClass's window "
        "applies",
        pv.value("/metadata/name"_json_pointer, std::string()),
        pv.value("/spec/volumeAttributesClassName"_json_pointer, std::string()),
        parsed.status().message());
    return std::optional<int>();
  }
  return std::optional<int>(*parsed);
}

StatusOr<std::optional<std::string>> classMigrationTimeout(kube::KubeClient& client,
                                                           const nlohmann::json& pv) {
  const auto pointer = "/spec/volumeAttributesClassName"_json_pointer;
  if (!pv.contains(pointer) || !pv[pointer].is_string() || pv[pointer].get<std::string>().empty())
    return std::optional<std::string>();
  const std::string name = pv[pointer].get<std::string>();
  StatusOr<nlohmann::json> vac = Status(Code::kNotFound, "");
  for (const char* version : {"v1", "v1beta1"}) {
    vac = client.get(std::string("/apis/storage.k8s.io/") + version + "/volumeattributesclasses/" +
                     kube::urlEncode(name));
    if (vac.isOk() || vac.status().code() != Code::kNotFound) break;
  }
  if (!vac.isOk()) {
    if (vac.status().code() != Code::kNotFound) return vac.status();
    spdlog::warn(
        "VolumeAttributesClass {} of PersistentVolume {} not found: its {} is not known; "
        "the StorageClass's applies",
        name, pv.value("/metadata/name"_json_pointer, std::string()), kMigrationTimeoutParameter);
    return std::optional<std::string>();
  }
  const auto param =
      nlohmann::json::json_pointer("/parameters/" + std::string(kMigrationTimeoutParameter));
  if (!vac->contains(param) || !(*vac)[param].is_string()) return std::optional<std::string>();
  return std::optional<std::string>((*vac)[param].get<std::string>());
}

}  // namespace polycsi::server
