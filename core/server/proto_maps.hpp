// Conversions between protobuf maps and polycsi::StringMap, and the core's own volume-context
// keys (stripped before a plugin sees a context).
#pragma once

#include <google/protobuf/map.h>

#include "polycsi/types.hpp"
#include "server/csi_validation.hpp"

namespace polycsi::server {

inline StringMap toStringMap(const google::protobuf::Map<std::string, std::string>& map) {
  return StringMap(map.begin(), map.end());
}

inline void copyInto(const StringMap& from, google::protobuf::Map<std::string, std::string>* to) {
  for (const auto& [k, v] : from) (*to)[k] = v;
}

// The volume or publish context without the core's "polycsi.io/" keys: what the plugin itself
// put there.
inline StringMap pluginContext(const google::protobuf::Map<std::string, std::string>& context) {
  StringMap out;
  for (const auto& [k, v] : context)
    if (k.rfind(kContextPrefix, 0) != 0) out[k] = v;
  return out;
}

}  // namespace polycsi::server
