// libpolycsi_iscsi_powerstore_rest.so: the iscsi_powerstore plugin's HTTPS exchanges over
// libcurl, loaded by the plugin on its first REST call (rest_module.hpp says why). Everything
// here may throw inside; the table at the end turns every exception into a RestFailure, so none
// crosses into the plugin. The session handling, JSON and paging stay in the plugin
// (rest_client.cc).
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <thread>

#include "rest_module.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

constexpr int kReadAttempts = 3;

// Names the client in the array's audit log, as Dell's own clients do (gopowerstore sets its
// own User-Agent).
constexpr char kUserAgent[] = "polycsi-iscsi_powerstore";

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<RestReply*>(user)->body.append(data, size * count);
  return size * count;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && text[start] == ' ') ++start;
  return text.substr(start);
}

bool startsWithNoCase(const std::string& text, const std::string& prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<RestReply*>(user);
  const std::string line(data, size * count);
  if (startsWithNoCase(line, "set-cookie:")) {
    const std::string value = trim(line.substr(11));
    reply->setCookie = value.substr(0, value.find(';'));
  } else if (startsWithNoCase(line, "dell-emc-token:")) {
    reply->token = trim(line.substr(15));
  } else if (startsWithNoCase(line, "content-range:")) {
    reply->contentRange = trim(line.substr(14));
  }
  return size * count;
}

bool retryable(CURLcode code) {
  return code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT ||
         code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING ||
         code == CURLE_COULDNT_RESOLVE_HOST;
}

bool certificateProblem(CURLcode code) {
  return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
         code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_CONNECT_ERROR;
}

// The options of every exchange with `array`: the URL, https only, the timeouts, where the
// answer and its headers go, and TLS verification (unless the array's config skips it).
void setTransportOptions(CURL* h, const ArrayConfig& array, const std::string& url,
                         std::chrono::milliseconds timeout, char* errorText, RestReply* reply) {
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<long long>(1, timeout.count())));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<long long>(1, timeout.count())));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errorText);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, reply);
  if (array.skipCertificateValidation) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_CAINFO, array.caFile.c_str());
  }
}

using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// The method, the body and the headers of `request`; the session's token and cookie when it
// has them. The returned list must outlive the exchange.
HeaderList setRequest(CURL* h, const RestRequest& request) {
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!request.body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  if (!request.token.empty()) {
    headers = curl_slist_append(headers, ("DELL-EMC-TOKEN: " + request.token).c_str());
    curl_easy_setopt(h, CURLOPT_COOKIE, request.cookie.c_str());
  }
  HeaderList headerList(headers, &curl_slist_free_all);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (!request.body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  return headerList;
}

// Runs the exchange; an idempotent one (a GET) again after a transport failure that may pass,
// up to kReadAttempts times while the call has time left.
CURLcode performWithRetries(CURL* h, const Call& call, bool idempotent, RestReply& reply) {
  CURLcode code = CURLE_OK;
  for (int attempt = 1;; ++attempt) {
    reply = RestReply{};
    code = curl_easy_perform(h);
    if (code == CURLE_OK || !idempotent || !retryable(code) || attempt == kReadAttempts) break;
    if (call.remaining() < std::chrono::milliseconds(500)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
  return code;
}

// The Error for an exchange that got no HTTP answer: a TLS problem, a timeout, or an array
// that cannot be reached.
[[noreturn]] void throwTransportFailure(CURLcode code, const char* errorText,
                                        const ArrayConfig& array, const std::string& method,
                                        const std::string& path) {
  const std::string detail = errorText[0] ? errorText : curl_easy_strerror(code);
  if (certificateProblem(code)) {
    throw Error(Code::kUnavailable, "PowerStore " + array.globalID + ": TLS with " +
                                        array.endpoint + " failed (" + detail +
                                        "); check caFile/ca_file");
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    throw Error(Code::kDeadlineExceeded,
                "PowerStore " + array.globalID + ": " + method + " " + path + " timed out");
  }
  throw Error(Code::kUnavailable,
              "PowerStore " + array.globalID + " unreachable at " + array.endpoint + ": " + detail);
}

// One exchange; throws Error when it got no HTTP answer.
RestReply exchange(const ArrayConfig& array, const RestRequest& request, const Call& call) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw Error(Code::kResourceExhausted, "curl_easy_init failed");
  RestReply reply;
  char errorText[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  setTransportOptions(h, array, array.endpoint + "/" + request.path, request.timeout, errorText,
                      &reply);
  if (request.basic) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, array.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, array.password.c_str());
  }
  const auto headers = setRequest(h, request);
  const CURLcode code = performWithRetries(h, call, request.method == "GET", reply);
  if (code != CURLE_OK) throwTransportFailure(code, errorText, array, request.method, request.path);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

bool moduleExchange(const ArrayConfig& array, const RestRequest& request, const Call& call,
                    RestReply& reply, RestFailure& failure) noexcept {
  try {
    reply = exchange(array, request, call);
    return true;
  } catch (const Error& e) {
    failure = {e.code(), e.what()};
  } catch (const std::bad_alloc&) {
    failure = {Code::kResourceExhausted, "out of memory in the PowerStore REST client"};
  } catch (const std::exception& e) {
    failure = {Code::kInternal, std::string("PowerStore REST client: ") + e.what()};
  }
  return false;
}

constexpr RestModule kModule = {sizeof(RestModule), moduleExchange};

}  // namespace
}  // namespace polycsi::iscsi_powerstore

extern "C" __attribute__((visibility("default"))) const polycsi::iscsi_powerstore::RestModule*
polycsi_iscsi_powerstore_rest_module_v1() {
  // Once per process, before any handle (the loader calls this once, under its once_flag).
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)initialised;
  return &polycsi::iscsi_powerstore::kModule;
}
