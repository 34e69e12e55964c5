#include "server/backend_placement.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "config/topology.hpp"

namespace polycsi::server {
namespace {

StringMap segmentsOf(const csi::v1::Topology& topology) {
  return StringMap(topology.segments().begin(), topology.segments().end());
}

bool servesAny(const plugin_host::ConfiguredBackend& backend,
               const std::vector<StringMap>& topologies) {
  for (const auto& t : topologies)
    if (config::segmentsServe(backend.topology(), t)) return true;
  return false;
}

std::string listWithSegments(const std::vector<const plugin_host::ConfiguredBackend*>& backends) {
  std::string out;
  for (const auto* b : backends)
    out += (out.empty() ? "" : ", ") + b->name() + " " + describeSegments(b->topology());
  return out;
}

}  // namespace

std::string describeSegments(const StringMap& segments) {
  if (segments.empty()) return "{any node}";
  std::string out;
  for (const auto& [k, v] : segments) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return "{" + out + "}";
}

std::vector<StringMap> requestedTopologies(const csi::v1::TopologyRequirement& requirement) {
  std::vector<StringMap> out;
  auto add = [&](const csi::v1::Topology& t) {
    StringMap segments = segmentsOf(t);
    if (std::find(out.begin(), out.end(), segments) == out.end()) out.push_back(segments);
  };
  for (const auto& t : requirement.preferred()) add(t);
  for (const auto& t : requirement.requisite()) add(t);
  return out;
}

std::vector<const plugin_host::ConfiguredBackend*> backendsServing(
    const std::vector<const plugin_host::ConfiguredBackend*>& backends, const StringMap& topology) {
  std::vector<const plugin_host::ConfiguredBackend*> out;
  for (const auto* b : backends)
    if (config::segmentsServe(b->topology(), topology)) out.push_back(b);
  return out;
}

StatusOr<const plugin_host::ConfiguredBackend*> chooseBackend(
    const std::vector<const plugin_host::ConfiguredBackend*>& backends,
    const csi::v1::TopologyRequirement* requirement, int64_t requiredBytes,
    const CapacityOf& capacityOf) {
  std::vector<StringMap> requisite;
  if (requirement != nullptr)
    for (const auto& t : requirement->requisite()) requisite.push_back(segmentsOf(t));
  std::vector<const plugin_host::ConfiguredBackend*> eligible;
  for (const auto* b : backends)
    if (requisite.empty() || servesAny(*b, requisite)) eligible.push_back(b);
  if (eligible.empty()) {
    std::string asked;
    for (const auto& t : requisite) asked += (asked.empty() ? "" : ", ") + describeSegments(t);
    return Status(Code::kResourceExhausted,
                  "no backend of this StorageClass is accessible from the requested topology "
                  "(requisite: " +
                      asked + "; backends: " + listWithSegments(backends) +
                      "); give the class a backend in that segment or restrict it with "
                      "allowedTopologies");
  }
  // A single-backend class: its plugin answers for its capacity (RESOURCE_EXHAUSTED when full).
  if (!capacityOf) return eligible.front();

  // Tiers in order of preference; every eligible backend is in exactly one.
  std::vector<std::vector<const plugin_host::ConfiguredBackend*>> tiers;
  std::vector<const plugin_host::ConfiguredBackend*> placed;
  auto addTier = [&](const StringMap* topology) {
    std::vector<const plugin_host::ConfiguredBackend*> tier;
    for (const auto* b : eligible) {
      if (std::find(placed.begin(), placed.end(), b) != placed.end()) continue;
      if (topology != nullptr && !config::segmentsServe(b->topology(), *topology)) continue;
      tier.push_back(b);
      placed.push_back(b);
    }
    if (!tier.empty()) tiers.push_back(std::move(tier));
  };
  if (requirement != nullptr)
    for (const auto& t : requestedTopologies(*requirement)) addTier(&t);
  addTier(nullptr);

  std::string seen;  // "a: 5 bytes free, b: unreachable (...)" for the final message
  std::optional<Status> firstError;
  for (const auto& tier : tiers) {
    const plugin_host::ConfiguredBackend* best = nullptr;
    int64_t bestFree = -1;
    const plugin_host::ConfiguredBackend* unknown = nullptr;  // first without capacity reports
    for (const auto* b : tier) {
      if (!b->features().getCapacity) {
        if (unknown == nullptr) unknown = b;
        continue;
      }
      auto free = capacityOf(*b);
      if (!free.isOk()) {
        spdlog::warn("CreateVolume: backend '{}' skipped, its capacity is unknown: {}", b->name(),
                     free.status().message());
        seen += (seen.empty() ? "" : ", ") + b->name() + ": " + free.status().message();
        if (!firstError) firstError = free.status();
        continue;
      }
      seen += (seen.empty() ? "" : ", ") + b->name() + ": " + std::to_string(*free) + " bytes free";
      if (*free < requiredBytes) continue;
      // Strictly more: equal free space keeps the backend listed first.
      if (*free > bestFree) {
        best = b;
        bestFree = *free;
      }
    }
    if (best != nullptr) return best;
    if (unknown != nullptr) return unknown;
  }
  if (firstError && seen.find("bytes free") == std::string::npos) return *firstError;
  return Status(Code::kResourceExhausted,
                "no backend of this StorageClass accessible from the requested topology has " +
                    std::to_string(requiredBytes) + " bytes free (" + seen + ")");
}

}  // namespace polycsi::server
