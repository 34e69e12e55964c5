#include "kube/kube_client.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "http/http_library.hpp"
#include "observe/logging.hpp"

namespace polycsi::kube {
namespace {

// Answers bigger than this are refused rather than buffered: a VolumeAttachment list of a large
// cluster is a few MiB.
constexpr size_t kMaxResponseBytes = 64 * 1024 * 1024;

std::optional<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

bool hasUnsafeCharacter(std::string_view text) {
  for (unsigned char c : text) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

Code codeForHttpStatus(long status) {
  switch (status) {
    case 400:
    case 422:
      return Code::kInvalidArgument;
    case 401:
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kAlreadyExists;
    case 429:
      return Code::kUnavailable;
    default:
      return status >= 500 ? Code::kUnavailable : Code::kUnknown;
  }
}

// The API server explains errors with a meta/v1 Status object; fall back to the raw body.
std::string apiErrorMessage(const std::string& body) {
  const auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    return parsed["message"].get<std::string>();
  }
  constexpr size_t kMaxShown = 512;
  return body.size() > kMaxShown ? body.substr(0, kMaxShown) + "..." : body;
}

}  // namespace

std::optional<KubeConfig> inClusterConfig(const std::string& saDir) {
  const std::filesystem::path dir(saDir);
  const std::optional<std::string> token = readFile(dir / "token");
  if (!token || trim(*token).empty()) {
    spdlog::debug("no service account token in {}: not running in a cluster", saDir);
    return std::nullopt;
  }
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    spdlog::warn(
        "service account token found in {} but KUBERNETES_SERVICE_HOST/PORT are not set; "
        "Kubernetes events and reconciliation are disabled",
        saDir);
    return std::nullopt;
  }
  KubeConfig config;
  const std::string hostText = host;
  const bool ipv6 = hostText.find(':') != std::string::npos;
  config.baseUrl = "https://" + (ipv6 ? "[" + hostText + "]" : hostText) + ":" + port;
  config.token = trim(*token);
  config.tokenFile = (dir / "token").string();
  const std::filesystem::path ca = dir / "ca.crt";
  if (std::filesystem::exists(ca)) {
    config.caFile = ca.string();
  } else {
    spdlog::warn("no {} : the API server is verified against the system CAs", ca.string());
  }
  return config;
}

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

StatusOr<KubeEndpoint> parseKubeUrl(const std::string& url) {
  const auto bad = [&url](const std::string& why) {
    return Status(Code::kInvalidArgument, "Kubernetes API URL \"" + url + "\" " + why);
  };
  KubeEndpoint endpoint;
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0) {
    endpoint.tls = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return bad("must start with https:// (or http://) and contain no spaces");
  }
  if (hasUnsafeCharacter(url))
    return bad("must start with https:// (or http://) and contain no spaces");
  const size_t slash = rest.find('/');
  endpoint.authority = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) endpoint.pathPrefix = std::string(rest.substr(slash));
  while (!endpoint.pathPrefix.empty() && endpoint.pathPrefix.back() == '/')
    endpoint.pathPrefix.pop_back();
  if (endpoint.pathPrefix.find_first_of("?#") != std::string::npos)
    return bad("must not carry a query or fragment");
  std::string_view authority = endpoint.authority;
  std::string_view portText;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an IPv6 address without its closing ']'");
    endpoint.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("has text after the IPv6 address");
    if (!after.empty()) portText = after.substr(1);
  } else {
    const size_t colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) portText = authority.substr(colon + 1);
  }
  if (endpoint.host.empty() || endpoint.host.find_first_of("@[]") != std::string::npos)
    return bad("has no usable host");
  endpoint.port = endpoint.tls ? 443 : 80;
  if (!portText.empty() || endpoint.authority.back() == ':') {
    int port = 0;
    const auto [end, ec] =
        std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || end != portText.data() + portText.size() || port < 1 || port > 65535)
      return bad("has a port that is not a number from 1 to 65535");
    endpoint.port = port;
  }
  return endpoint;
}

StatusOr<std::unique_ptr<KubeClient>> KubeClient::create(KubeConfig config) {
  auto endpoint = parseKubeUrl(config.baseUrl);
  if (!endpoint.isOk()) return endpoint.status();
  if (config.timeout <= std::chrono::milliseconds::zero())
    return Status(Code::kInvalidArgument, "Kubernetes API timeout must be positive");
  if (config.token.find_first_of("\r\n") != std::string::npos)
    return Status(Code::kInvalidArgument, "Kubernetes API token contains a line break");
  if (config.tokenRefresh < std::chrono::milliseconds::zero())
    return Status(Code::kInvalidArgument, "Kubernetes API token refresh period is negative");
  return std::unique_ptr<KubeClient>(new KubeClient(std::move(config), std::move(*endpoint)));
}

KubeClient::KubeClient(KubeConfig config, KubeEndpoint endpoint)
    : config_(std::move(config)), endpoint_(std::move(endpoint)) {
  while (!config_.baseUrl.empty() && config_.baseUrl.back() == '/') config_.baseUrl.pop_back();
  observe::globalRedactor().addSecret(config_.token);
  token_ = config_.token;
  tokenReadAt_ = std::chrono::steady_clock::now();
}

std::string KubeClient::currentToken(bool force) {
  std::lock_guard lock(tokenMu_);
  if (config_.tokenFile.empty()) return token_;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - tokenReadAt_ < config_.tokenRefresh) return token_;
  tokenReadAt_ = now;
  const std::optional<std::string> text = readFile(config_.tokenFile);
  const std::string token = text ? trim(*text) : "";
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    spdlog::warn("Kubernetes API token file {} {}; the token read before stays in use",
                 config_.tokenFile, text ? "holds no usable token" : "cannot be read");
    return token_;
  }
  if (token != token_) {
    // Registered before any use, so no log line can carry it.
    observe::globalRedactor().addSecret(token);
    spdlog::info("Kubernetes API token re-read from {}", config_.tokenFile);
    token_ = token;
  }
  return token_;
}

StatusOr<nlohmann::json> KubeClient::get(const std::string& path) {
  return request("GET", path, nullptr);
}

StatusOr<nlohmann::json> KubeClient::post(const std::string& path, const nlohmann::json& body) {
  const std::string serialized = body.dump();
  return request("POST", path, &serialized);
}

StatusOr<nlohmann::json> KubeClient::request(const char* method, const std::string& path,
                                             const std::string* body) {
  if (path.empty() || path.front() != '/' || hasUnsafeCharacter(path)) {
    return Status(Code::kInvalidArgument,
                  "Kubernetes API path \"" + path +
                      "\" must start with / and contain no whitespace or control characters");
  }
  const std::string token = currentToken(false);
  int httpStatus = 0;
  StatusOr<nlohmann::json> answer = send(method, path, body, token, &httpStatus);
  // A rotated token: the kubelet has written a new one, the old one has expired.
  if (httpStatus == 401 && !config_.tokenFile.empty()) {
    const std::string renewed = currentToken(true);
    if (renewed != token) return send(method, path, body, renewed, &httpStatus);
  }
  return answer;
}

StatusOr<nlohmann::json> KubeClient::send(const char* method, const std::string& path,
                                          const std::string* body, const std::string& token,
                                          int* httpStatusOut) {
  const std::string what = std::string(method) + " " + path;

  // The HTTP library (and with it OpenSSL) is loaded by the first request, not before: a
  // process that never talks to an API server never maps it (core/http/http_library.hpp).
  StatusOr<const http::Library*> library = http::library();
  if (!library.isOk()) return Status(Code::kUnavailable, what + ": " + library.status().message());

  // A connection per request: calls come from several threads and a connection is cheap next
  // to how rarely the driver talks to the API.
  http::ClientRequest request;
  request.tls = endpoint_.tls;
  request.host = endpoint_.host;
  request.port = endpoint_.port;
  request.caFile = config_.caFile;
  request.verifyServer = !config_.insecureSkipVerify;
  request.timeout = config_.timeout;
  request.method = method;
  request.path = endpoint_.pathPrefix + path;
  // Host exactly as the URL writes it (an IPv6 address in brackets, the port if given).
  request.headers = {{"Host", endpoint_.authority}, {"Accept", "application/json"}};
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  if (body != nullptr) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = body;
  }
  // The answer is read here, bounded in size and by the request's deadline (httplib's own
  // timeouts bound each read, not the whole answer).
  const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
  std::string answer;
  bool tooLarge = false;
  bool late = false;
  request.onBody = [&](const char* data, size_t length) {
    tooLarge = answer.size() + length > kMaxResponseBytes;
    late = std::chrono::steady_clock::now() > deadline;
    if (tooLarge || late) return false;  // httplib stops reading and closes
    answer.append(data, length);
    return true;
  };

  const http::ClientResult response = (*library)->send(request);
  if (tooLarge) {
    return Status(Code::kUnavailable,
                  what + ": answer larger than " + std::to_string(kMaxResponseBytes) + " bytes");
  }
  if (late) {
    return Status(Code::kUnavailable, what + ": Kubernetes API at " + config_.baseUrl +
                                          " did not answer within " +
                                          std::to_string(config_.timeout.count()) + " ms");
  }
  if (!response.answered) {
    return Status(Code::kUnavailable, what + ": Kubernetes API at " + config_.baseUrl +
                                          " unreachable: " + response.transportError);
  }
  const int httpStatus = response.status;
  *httpStatusOut = httpStatus;
  if (httpStatus < 200 || httpStatus >= 300) {
    return Status(codeForHttpStatus(httpStatus),
                  what + ": HTTP " + std::to_string(httpStatus) + ": " + apiErrorMessage(answer));
  }
  auto parsed = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status(Code::kInternal, what + ": HTTP " + std::to_string(httpStatus) +
                                       " with an answer that is not JSON");
  }
  return parsed;
}

}  // namespace polycsi::kube
