// Keeps CSI secrets out of anything printed or logged. CSI marks every secret-carrying field
// with the (csi.v1.csi_secret) field option; this walks messages by reflection so a field
// added to the spec later is covered without code changes. Thread-safe on distinct messages.
#pragma once

#include <google/protobuf/message.h>

namespace polycsi::csictl {

// What a redacted secret value is replaced with: the keys stay visible (useful when checking
// that the right secrets were sent), the values do not.
inline constexpr const char* kRedactedSecret = "***stripped***";

// Replaces, in place and recursively (nested messages, repeated and map fields), the value of
// every string field and map entry marked csi_secret with kRedactedSecret; secret fields of
// any other type are cleared. Idempotent.
void redactSecrets(google::protobuf::Message& message);

}  // namespace polycsi::csictl
