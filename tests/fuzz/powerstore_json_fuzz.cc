// Fuzz target: the iscsi_powerstore plugin's JSON handling
// (plugins/iscsi_powerstore/src/array_config.cc and rest_client.cc).
//
// The input is JSON text, used twice: as the plugin's settings (the `arrays` list the core
// hands over as settings_json, with the top-level scalars as scalar settings) and as the body
// of an array's REST answer. Invariants:
//   - parsePluginConfig either returns a configuration or throws Error(INVALID_ARGUMENT);
//   - a returned configuration holds only arrays the plugin can talk to safely: unique,
//     id-safe globalIDs, https endpoints without spaces, quotes or a trailing '/', credentials,
//     a CA unless verification was explicitly turned off, iSCSI only, at most one default;
//     its timeouts are in range and CHAP user and password come together;
//   - every array is found by its globalID, and the default lookup agrees with isDefault;
//   - the error message of any answer body is read without throwing.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "array_config.hpp"
#include "fuzz_check.hpp"
#include "rest_client.hpp"

namespace {

using polycsi::Code;
using polycsi::Error;
using polycsi::StringMap;
using polycsi::fuzz::visible;
using polycsi::iscsi_powerstore::ArrayConfig;
using polycsi::iscsi_powerstore::parsePluginConfig;
using polycsi::iscsi_powerstore::PluginConfig;
using polycsi::iscsi_powerstore::RestClient;
using polycsi::iscsi_powerstore::RestResponse;

bool idSafe(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         id.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
             std::string::npos;
}

void checkArray(const ArrayConfig& a, const std::string& settings) {
  const std::string what = "array '" + visible(a.globalID) + "' from " + visible(settings);
  POLYCSI_FUZZ_CHECK(idSafe(a.globalID), what);
  POLYCSI_FUZZ_CHECK(a.endpoint.rfind("https://", 0) == 0 && a.endpoint.size() > 8,
                     "endpoint '" + visible(a.endpoint) + "' of " + what);
  POLYCSI_FUZZ_CHECK(a.endpoint.back() != '/', "endpoint '" + visible(a.endpoint) + "' of " + what);
  for (unsigned char c : a.endpoint)
    POLYCSI_FUZZ_CHECK(c > ' ' && c != '"' && c != '\\',
                       "endpoint '" + visible(a.endpoint) + "' of " + what);
  POLYCSI_FUZZ_CHECK(!a.username.empty() && !a.password.empty(), what);
  POLYCSI_FUZZ_CHECK(a.blockProtocol == "ISCSI", what);
  POLYCSI_FUZZ_CHECK(a.skipCertificateValidation || !a.caFile.empty(), what);
}

void checkConfig(const PluginConfig& config, const std::string& settings) {
  POLYCSI_FUZZ_CHECK(!config.arrays.empty(), visible(settings));
  POLYCSI_FUZZ_CHECK(config.requestTimeout >= std::chrono::milliseconds(100) &&
                         config.requestTimeout <= std::chrono::milliseconds(600000),
                     visible(settings));
  POLYCSI_FUZZ_CHECK(config.deviceWaitTimeout >= std::chrono::milliseconds(100) &&
                         config.deviceWaitTimeout <= std::chrono::milliseconds(600000),
                     visible(settings));
  POLYCSI_FUZZ_CHECK(!config.initiatorNameFile.empty() && config.initiatorNameFile[0] == '/',
                     visible(settings));
  POLYCSI_FUZZ_CHECK(config.chapUser.empty() == config.chapPassword.empty(), visible(settings));
  std::set<std::string> ids;
  const ArrayConfig* flaggedDefault = nullptr;
  for (const ArrayConfig& a : config.arrays) {
    checkArray(a, settings);
    POLYCSI_FUZZ_CHECK(ids.insert(a.globalID).second, "globalID twice: " + visible(settings));
    if (a.isDefault) {
      POLYCSI_FUZZ_CHECK(flaggedDefault == nullptr, "two defaults: " + visible(settings));
      flaggedDefault = &a;
    }
    POLYCSI_FUZZ_CHECK(&config.arrayById(a.globalID) == &a, visible(settings));
    POLYCSI_FUZZ_CHECK(&config.array(a.globalID) == &a, visible(settings));
  }
  const ArrayConfig* expected = flaggedDefault != nullptr   ? flaggedDefault
                                : config.arrays.size() == 1 ? &config.arrays.front()
                                                            : nullptr;
  try {
    const ArrayConfig& chosen = config.array("");
    POLYCSI_FUZZ_CHECK(&chosen == expected, "default lookup disagrees: " + visible(settings));
  } catch (const Error& e) {
    POLYCSI_FUZZ_CHECK(expected == nullptr && e.code() == Code::kInvalidArgument,
                       std::string("default lookup threw ") + e.what());
  }
}

// The scalar settings the core would hand over next to settings_json.
StringMap scalarSettings(const nlohmann::json& all) {
  StringMap settings;
  if (!all.is_object()) return settings;
  for (const auto& [key, value] : all.items()) {
    if (value.is_string())
      settings[key] = value.get<std::string>();
    else if (value.is_number() || value.is_boolean())
      settings[key] = value.dump();
  }
  return settings;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);

  for (long status : {200L, 400L, 422L, 500L}) {
    RestResponse response;
    response.status = status;
    response.body = body.is_discarded() ? nlohmann::json() : body;
    const std::string message = RestClient::messageOf(response);
    POLYCSI_FUZZ_CHECK(!message.empty(), visible(text));
  }

  const StringMap settings = body.is_discarded() ? StringMap() : scalarSettings(body);
  try {
    const PluginConfig config = parsePluginConfig(settings, text);
    checkConfig(config, text);
  } catch (const Error& e) {
    POLYCSI_FUZZ_CHECK(e.code() == Code::kInvalidArgument,
                       "settings " + visible(text) + " gave " + e.status().toString());
  }
  return 0;
}
