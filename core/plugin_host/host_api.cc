// Host API callbacks offered to plugins. They are called from plugin code through C function
// pointers, so nothing may escape them as an exception.
#include "plugin_host/host_api.hpp"

#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

#include "polycsi/abi_convert.hpp"

namespace polycsi::plugin_host {
namespace {

spdlog::level::level_enum spdlogLevel(polycsi_log_level level) {
  // Read as an integer: a plugin may pass a value outside the enum (e.g. from a newer ABI).
  static_assert(sizeof(level) == sizeof(int32_t), "ABI enums are int-sized");
  int32_t raw;
  std::memcpy(&raw, &level, sizeof(raw));
  switch (raw) {
    case POLYCSI_LOG_DEBUG:
      return spdlog::level::debug;
    case POLYCSI_LOG_INFO:
      return spdlog::level::info;
    case POLYCSI_LOG_WARN:
      return spdlog::level::warn;
    case POLYCSI_LOG_ERROR:
      return spdlog::level::err;
    default:
      return spdlog::level::info;  // unknown levels are still worth seeing
  }
}

// Prometheus metric and label names: [a-zA-Z_][a-zA-Z0-9_]*.
bool isValidMetricName(const std::string& name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

const HostServices& servicesOf(void* hostCtx) { return *static_cast<HostServices*>(hostCtx); }

// The prefixed metric name and its labels, or nothing (with a warning) when the plugin sent
// names Prometheus would refuse.
bool prepareMetric(const HostServices& services, polycsi_str rawName, polycsi_kv_list rawLabels,
                   std::string& name, StringMap& labels) {
  const std::string shortName = abi::toString(rawName);
  name = services.metricsPrefix + "_" + shortName;
  if (!isValidMetricName(shortName)) {
    spdlog::warn("[backend {}] dropped metric with invalid name '{}'", services.backendName,
                 shortName);
    return false;
  }
  labels = abi::toMap(rawLabels);
  for (const auto& [key, value] : labels) {
    if (!isValidMetricName(key) || key.starts_with("__")) {
      spdlog::warn("[backend {}] dropped metric {} with invalid label name '{}'",
                   services.backendName, name, key);
      return false;
    }
  }
  return true;
}

void onLog(void* hostCtx, polycsi_log_level level, polycsi_str message) noexcept {
  try {
    const HostServices& services = servicesOf(hostCtx);
    spdlog::log(spdlogLevel(level), "[backend {}] {}", services.backendName,
                redactSecrets(abi::toString(message), services.secrets));
  } catch (...) {
    // Logging must never take the plugin down; a lost log line is the lesser harm.
  }
}

void onGaugeSet(void* hostCtx, polycsi_str name, polycsi_kv_list labels, double value) noexcept {
  const HostServices& services = servicesOf(hostCtx);
  if (services.metrics == nullptr) return;
  try {
    std::string fullName;
    StringMap labelMap;
    if (prepareMetric(services, name, labels, fullName, labelMap))
      services.metrics->gaugeSet(fullName, labelMap, value);
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] gauge update failed: {}", services.backendName, e.what());
  } catch (...) {
    spdlog::warn("[backend {}] gauge update failed", services.backendName);
  }
}

void onCounterAdd(void* hostCtx, polycsi_str name, polycsi_kv_list labels, double delta) noexcept {
  const HostServices& services = servicesOf(hostCtx);
  if (services.metrics == nullptr) return;
  try {
    std::string fullName;
    StringMap labelMap;
    if (!prepareMetric(services, name, labels, fullName, labelMap)) return;
    if (!(delta >= 0)) {
      spdlog::warn("[backend {}] dropped negative increment {} of counter {}", services.backendName,
                   delta, fullName);
      return;
    }
    services.metrics->counterAdd(fullName, labelMap, delta);
  } catch (const std::exception& e) {
    spdlog::warn("[backend {}] counter update failed: {}", services.backendName, e.what());
  } catch (...) {
    spdlog::warn("[backend {}] counter update failed", services.backendName);
  }
}

}  // namespace

polycsi_host_api makeHostApi(HostServices* services) {
  polycsi_host_api api{};
  api.struct_size = sizeof(polycsi_host_api);
  api.abi_major = POLYCSI_ABI_VERSION_MAJOR;
  api.abi_minor = POLYCSI_ABI_VERSION_MINOR;
  api.host_ctx = services;
  api.log = &onLog;
  api.gauge_set = &onGaugeSet;
  api.counter_add = &onCounterAdd;
  return api;
}

std::string redactSecrets(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
      text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace polycsi::plugin_host
