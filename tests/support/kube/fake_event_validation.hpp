// What the API server refuses when a client creates a core/v1 Event, for the fake API server.
// Sources, kubernetes/kubernetes at the 1.34 release:
//  - k8s.io/apiserver pkg/registry/rest/create.go (BeforeCreate, EnsureObjectNamespaceMatches
//    RequestNamespace): an object namespace other than the URL's is 400 BadRequest "the
//    namespace of the provided object does not match the namespace sent on the request";
//  - k8s.io/apiserver pkg/registry/generic/registry/store.go (NamespaceKeyFunc): neither a name
//    nor a generateName is 400 BadRequest "Name parameter required.";
//  - pkg/apis/core/validation/events.go (ValidateEventCreate with request version core/v1, which
//    applies legacyValidateEvent only): 422 Invalid when the namespaces disagree, and, for an
//    Event with eventTime set, when reportingComponent (a qualified name), reportingInstance
//    (at most 128), action (at most 128) or reason (at most 128) is missing or too long, or the
//    message exceeds 1024 characters; the namespace must be a DNS-1123 subdomain.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace polycsi::kube::testing {

struct ApiRefusal {
  int code = 0;        // HTTP status
  std::string reason;  // meta/v1 Status reason: BadRequest, Invalid
  std::string message;
};

// The refusal the API server gives to POST /api/v1/namespaces/<urlNamespace>/events with
// `body`, or nullopt when it would create the Event.
std::optional<ApiRefusal> refuseEventCreate(const nlohmann::json& body,
                                            const std::string& urlNamespace);

}  // namespace polycsi::kube::testing
