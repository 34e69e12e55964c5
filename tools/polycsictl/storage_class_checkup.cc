#include "storage_class_checkup.hpp"

#include <algorithm>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

// A StorageClass parameter, or nullopt when absent (parameters are strings in the API).
std::optional<std::string> parameter(const nlohmann::json& storageClass, const std::string& key) {
  const auto parameters = storageClass.find("parameters");
  if (parameters == storageClass.end() || !parameters->is_object()) return std::nullopt;
  const auto value = parameters->find(key);
  if (value == parameters->end() || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

std::string backendNames(const DriverCheckup& driver) {
  std::string names;
  for (const auto& backend : driver.backends) names += (names.empty() ? "" : ", ") + backend.name;
  return names;
}

// The backend that creates the class's volumes, or null with `problem` set.
const BackendCheckup* backendOf(const DriverCheckup& driver, const std::string& named,
                                std::string& problem) {
  if (!named.empty()) {
    for (const auto& backend : driver.backends)
      if (backend.name == named) return &backend;
    problem = "parameters.backend '" + named + "' is not a backend of driver " + driver.driverName +
              " (it has: " + backendNames(driver) + "): CreateVolume of this class fails";
    return nullptr;
  }
  if (driver.backends.size() == 1) return &driver.backends.front();
  for (const auto& backend : driver.backends)
    if (backend.isDefault) return &backend;
  problem = "no parameters.backend and driver " + driver.driverName +
            " has no default backend (it has: " + backendNames(driver) +
            "): CreateVolume of this class fails";
  return nullptr;
}

// A class spanning several backends (`parameters.backends: a,b`, docs/topology.md): its answer
// is the first backend's (they share one plugin, so one matrix), named "a,b", without the
// topology of any one of them; null with `problem` set as the driver would refuse the class.
const BackendCheckup* spannedBackends(const DriverCheckup& driver, const std::string& listed,
                                      std::string& names, std::string& problem) {
  const BackendCheckup* first = nullptr;
  std::stringstream entries(listed);
  std::string name;
  while (std::getline(entries, name, ',')) {
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    names += (names.empty() ? "" : ",") + name;
    const BackendCheckup* found = nullptr;
    for (const auto& backend : driver.backends)
      if (backend.name == name) found = &backend;
    if (found == nullptr) {
      problem = "parameters.backends names '" + name + "', not a backend of driver " +
                driver.driverName + " (it has: " + backendNames(driver) +
                "): CreateVolume of this class fails";
      return nullptr;
    }
    if (first != nullptr && found->plugin != first->plugin) {
      problem = "parameters.backends mixes plugins " + first->plugin + " and " + found->plugin +
                ": CreateVolume of this class fails";
      return nullptr;
    }
    if (first == nullptr) first = found;
  }
  return first;
}

// The class's window in seconds, or 0 with `problem` set when CreateVolume would refuse it.
int windowOf(const DriverCheckup& driver, const std::optional<std::string>& given,
             std::string& problem) {
  if (!given) return driver.migrationTimeoutDefault;
  const std::string& text = *given;
  const bool digits =
      !text.empty() && text.size() <= 9 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const int seconds = digits ? std::stoi(text) : -1;
  const bool bounded = driver.migrationTimeoutMax == 0 || (seconds >= driver.migrationTimeoutMin &&
                                                           seconds <= driver.migrationTimeoutMax);
  if (digits && bounded) return seconds;
  problem = "migrationTimeoutSeconds '" + text + "' is not a number of seconds in " +
            std::to_string(driver.migrationTimeoutMin) + "-" +
            std::to_string(driver.migrationTimeoutMax) +
            ": CreateVolume of this class fails with INVALID_ARGUMENT";
  return 0;
}

}  // namespace

std::vector<BackendCheckup> checkStorageClasses(const DriverCheckup& driver,
                                                const std::vector<nlohmann::json>& storageClasses) {
  std::vector<BackendCheckup> classes;
  for (const auto& item : storageClasses) {
    if (item.value("provisioner", "") != driver.driverName) continue;
    const auto name = item.find("metadata") == item.end()
                          ? nullptr
                          : item["metadata"].value("name", nlohmann::json());
    if (!name.is_string() || name.get<std::string>().empty())
      throw std::runtime_error("a StorageClass of " + driver.driverName +
                               " has no metadata.name: " + item.dump());
    std::string problem;
    std::string named = parameter(item, "backend").value_or("");
    const auto spanned = parameter(item, "backends");
    const BackendCheckup* backend = nullptr;
    if (spanned) {
      std::string names;
      backend = spannedBackends(driver, *spanned, names, problem);
      named = names;
    } else {
      backend = backendOf(driver, named, problem);
    }
    BackendCheckup entry = backend ? *backend : BackendCheckup{};
    if (!backend) entry.name = named.empty() ? "(none)" : named;
    if (spanned) {
      entry.name = named;
      entry.topology.clear();
    }
    entry.fromStorageClass = true;
    entry.storageClass = name.get<std::string>();
    entry.migrationTimeoutSeconds =
        windowOf(driver, parameter(item, "migrationTimeoutSeconds"), problem);
    entry.problem = problem;
    entry.liveMigration = judgeLiveMigration(driver, entry);
    classes.push_back(std::move(entry));
  }
  std::sort(classes.begin(), classes.end(), [](const BackendCheckup& a, const BackendCheckup& b) {
    return a.storageClass < b.storageClass;
  });
  return classes;
}

}  // namespace polycsi::csictl
