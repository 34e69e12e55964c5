#include "kube/kube_client.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "observe/logging.hpp"

namespace polycsi::kube {
namespace {

// Answers bigger than this are refused rather than buffered: a VolumeAttachment list of a large
// cluster is a few MiB.
constexpr size_t kMaxResponseBytes = 64 * 1024 * 1024;

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct ResponseBuffer {
  std::string data;
  bool tooLarge = false;
};

size_t appendResponse(char* chunk, size_t size, size_t count, void* userdata) {
  auto* buffer = static_cast<ResponseBuffer*>(userdata);
  const size_t bytes = size * count;
  if (buffer->data.size() + bytes > kMaxResponseBytes) {
    buffer->tooLarge = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  buffer->data.append(chunk, bytes);
  return bytes;
}

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("libcurl global initialisation failed");
    }
  });
}

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

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {
  const bool http = config_.baseUrl.rfind("http://", 0) == 0;
  const bool https = config_.baseUrl.rfind("https://", 0) == 0;
  if ((!http && !https) || hasUnsafeCharacter(config_.baseUrl)) {
    throw std::invalid_argument("Kubernetes API URL \"" + config_.baseUrl +
                                "\" must start with https:// (or http://) and contain no spaces");
  }
  while (!config_.baseUrl.empty() && config_.baseUrl.back() == '/') config_.baseUrl.pop_back();
  if (config_.timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("Kubernetes API timeout must be positive");
  }
  if (config_.token.find_first_of("\r\n") != std::string::npos) {
    throw std::invalid_argument("Kubernetes API token contains a line break");
  }
  observe::globalRedactor().addSecret(config_.token);
  initCurlOnce();
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
  const std::string what = std::string(method) + " " + path;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status(Code::kInternal, what + ": cannot create a libcurl handle");

  std::unique_ptr<curl_slist, CurlListDeleter> headers;
  auto addHeader = [&headers](const std::string& header) {
    curl_slist* list = curl_slist_append(headers.get(), header.c_str());
    if (list == nullptr) throw std::bad_alloc();
    headers.release();
    headers.reset(list);
  };
  addHeader("Accept: application/json");
  if (body != nullptr) addHeader("Content-Type: application/json");
  if (!config_.token.empty()) addHeader("Authorization: Bearer " + config_.token);

  const std::string url = config_.baseUrl + path;
  ResponseBuffer response;
  char errorText[CURL_ERROR_SIZE] = {};
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM, thread-safe
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, appendResponse);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, errorText);
  if (!config_.caFile.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, config_.caFile.c_str());
  if (config_.insecureSkipVerify) {
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (body != nullptr) {
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }

  const CURLcode result = curl_easy_perform(handle);
  if (response.tooLarge) {
    return Status(Code::kUnavailable,
                  what + ": answer larger than " + std::to_string(kMaxResponseBytes) + " bytes");
  }
  if (result != CURLE_OK) {
    const std::string detail = errorText[0] != '\0' ? errorText : curl_easy_strerror(result);
    return Status(Code::kUnavailable,
                  what + ": Kubernetes API at " + config_.baseUrl + " unreachable: " + detail);
  }
  long httpStatus = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &httpStatus);
  if (httpStatus < 200 || httpStatus >= 300) {
    return Status(codeForHttpStatus(httpStatus), what + ": HTTP " + std::to_string(httpStatus) +
                                                     ": " + apiErrorMessage(response.data));
  }
  auto parsed = nlohmann::json::parse(response.data, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Status(Code::kInternal, what + ": HTTP " + std::to_string(httpStatus) +
                                       " with an answer that is not JSON");
  }
  return parsed;
}

}  // namespace polycsi::kube
