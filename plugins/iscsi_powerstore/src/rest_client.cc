#include "rest_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <thread>

namespace polycsi::iscsi_powerstore {
namespace {

constexpr int kReadAttempts = 3;

// Names the client in the array's audit log, as Dell's own clients do (gopowerstore sets its
// own User-Agent).
constexpr char kUserAgent[] = "polycsi-iscsi_powerstore";
constexpr int kPageLimit = 2000;  // the array's largest page (Developers Guide, "Pagination")

struct Collected {
  std::string body;
  std::string setCookie;
  std::string token;
  std::string contentRange;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<Collected*>(user)->body.append(data, size * count);
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
  auto* collected = static_cast<Collected*>(user);
  const std::string line(data, size * count);
  if (startsWithNoCase(line, "set-cookie:")) {
    const std::string value = trim(line.substr(11));
    collected->setCookie = value.substr(0, value.find(';'));
  } else if (startsWithNoCase(line, "dell-emc-token:")) {
    collected->token = trim(line.substr(15));
  } else if (startsWithNoCase(line, "content-range:")) {
    collected->contentRange = trim(line.substr(14));
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

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// The options of every exchange with `array`: the URL, https only, the timeouts, where the
// answer and its headers go, and TLS verification (unless the array's config skips it).
void setTransportOptions(CURL* h, const ArrayConfig& array, const std::string& url,
                         std::chrono::milliseconds timeout, char* errorText, Collected* collected) {
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
  curl_easy_setopt(h, CURLOPT_WRITEDATA, collected);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, collected);
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

// The method, the body and the headers of one request; `token` and `cookie` (both or neither)
// are the session's. The returned list must outlive the exchange.
HeaderList setRequest(CURL* h, const std::string& method, const std::string& body,
                      const std::string* token, const std::string* cookie) {
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  if (token != nullptr) {
    headers = curl_slist_append(headers, ("DELL-EMC-TOKEN: " + *token).c_str());
    curl_easy_setopt(h, CURLOPT_COOKIE, cookie->c_str());
  }
  HeaderList headerList(headers, &curl_slist_free_all);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  return headerList;
}

// Runs the exchange; an idempotent one (a GET) again after a transport failure that may pass,
// up to kReadAttempts times while the call has time left.
CURLcode performWithRetries(CURL* h, const Call& call, bool idempotent, Collected& collected) {
  CURLcode code = CURLE_OK;
  for (int attempt = 1;; ++attempt) {
    collected = Collected{};
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

}  // namespace

RestClient::RestClient(ArrayConfig array, std::chrono::milliseconds requestTimeout,
                       RequestObserver observer)
    : array_(std::move(array)), requestTimeout_(requestTimeout), observer_(std::move(observer)) {
  static CurlGlobal global;
}

std::string RestClient::messageOf(const RestResponse& response) {
  const nlohmann::json& body = response.body;
  if (body.is_object() && body.contains("messages") && body["messages"].is_array() &&
      !body["messages"].empty() && body["messages"][0].is_object()) {
    const nlohmann::json& first = body["messages"][0];
    if (first.contains("message_l10n") && first["message_l10n"].is_string())
      return first["message_l10n"].get<std::string>();
  }
  return "HTTP " + std::to_string(response.status);
}

RestResponse RestClient::perform(const Call& call, const std::string& method,
                                 const std::string& path, const std::string& body,
                                 const Session* session, bool basic, std::string* setCookie,
                                 std::string* token) {
  call.checkpoint("PowerStore " + method + " " + path);
  const auto timeout = std::min(requestTimeout_, call.remaining());
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw Error(Code::kResourceExhausted, "curl_easy_init failed");
  Collected collected;
  char errorText[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  setTransportOptions(h, array_, array_.endpoint + "/" + path, timeout, errorText, &collected);
  if (basic) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, array_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, array_.password.c_str());
  }
  const auto headers = setRequest(h, method, body, session ? &session->token : nullptr,
                                  session ? &session->cookie : nullptr);
  const CURLcode code = performWithRetries(h, call, method == "GET", collected);
  if (code != CURLE_OK) throwTransportFailure(code, errorText, array_, method, path);
  RestResponse response;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (observer_) observer_(method, response.status);
  if (!collected.body.empty()) {
    response.body = nlohmann::json::parse(collected.body, nullptr, false);
    if (response.body.is_discarded()) response.body = nullptr;
  }
  response.contentRange = collected.contentRange;
  if (setCookie) *setCookie = collected.setCookie;
  if (token) *token = collected.token;
  return response;
}

RestClient::Session RestClient::login(const Call& call, unsigned staleGeneration) {
  std::lock_guard lock(mu_);
  if (session_.generation != staleGeneration && !session_.token.empty()) return session_;
  std::string cookie;
  std::string token;
  const RestResponse response =
      perform(call, "GET", "login_session", "", nullptr, true, &cookie, &token);
  if (response.status == 401) {
    throw Error(Code::kPermissionDenied, "PowerStore " + array_.globalID +
                                             " refused the login of user '" + array_.username +
                                             "': " + messageOf(response));
  }
  if (response.status != 200 || token.empty()) {
    throw Error(Code::kUnavailable,
                "PowerStore " + array_.globalID + ": login_session failed: " + messageOf(response));
  }
  session_.cookie = cookie;
  session_.token = token;
  ++session_.generation;
  return session_;
}

RestClient::Session RestClient::currentSession(const Call& call) {
  unsigned generation = 0;
  {
    std::lock_guard lock(mu_);
    if (!session_.token.empty()) return session_;
    generation = session_.generation;
  }
  return login(call, generation);
}

RestResponse RestClient::send(const Call& call, const std::string& method, const std::string& path,
                              const nlohmann::json& body) {
  const std::string text = body.is_null() ? std::string() : body.dump();
  // Like the array's own clients: Basic auth on every call, plus the session's cookie and token.
  Session session = currentSession(call);
  RestResponse response = perform(call, method, path, text, &session, true, nullptr, nullptr);
  if (response.status == 403) {
    // The session expired (or the array restarted): log in again and resend once.
    session = login(call, session.generation);
    response = perform(call, method, path, text, &session, true, nullptr, nullptr);
  }
  if (response.status == 401) {
    throw Error(Code::kPermissionDenied, "PowerStore " + array_.globalID + " refused user '" +
                                             array_.username + "': " + messageOf(response));
  }
  return response;
}

nlohmann::json RestClient::call(const Call& c, const std::string& method, const std::string& path,
                                const nlohmann::json& body, const std::string& what) {
  const RestResponse response = send(c, method, path, body);
  if (response.status >= 200 && response.status < 300) return response.body;
  fail(response, method, path, what);
}

std::string RestClient::encode(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

nlohmann::json RestClient::getAll(const Call& c, const std::string& path, const std::string& what) {
  const std::string separator = path.find('?') == std::string::npos ? "?" : "&";
  nlohmann::json all = nlohmann::json::array();
  long long offset = 0;
  for (;;) {
    const std::string page = path + separator + "limit=" + std::to_string(kPageLimit) +
                             "&offset=" + std::to_string(offset);
    const RestResponse response = send(c, "GET", page);
    // Objects deleted while paging can leave the offset past the end (dell/gopowerstore
    // client.go readPaginatedData stops on this "bad range" too).
    if (response.status == 416 && offset > 0) return all;
    if (response.status < 200 || response.status >= 300) fail(response, "GET", path, what);
    if (!response.body.is_array()) {
      throw Error(Code::kUnavailable,
                  "GET " + path + " on PowerStore " + array_.globalID + " did not answer a list");
    }
    for (auto& item : response.body) all.push_back(std::move(item));
    if (response.status != 206) return all;
    // Content-Range: first-last/total
    long long first = -1, last = -1, total = -1;
    const std::string& range = response.contentRange;
    const std::size_t dash = range.find('-');
    const std::size_t slash = range.find('/');
    try {
      if (dash != std::string::npos && slash != std::string::npos && dash < slash) {
        first = std::stoll(range.substr(0, dash));
        last = std::stoll(range.substr(dash + 1, slash - dash - 1));
        total = std::stoll(range.substr(slash + 1));
      }
    } catch (const std::exception&) {
      first = -1;
    }
    if (first != offset || last < first || total <= 0) {
      throw Error(Code::kUnavailable, "GET " + path + " on PowerStore " + array_.globalID +
                                          " answered 206 with Content-Range '" + range +
                                          "' for offset " + std::to_string(offset));
    }
    if (last + 1 >= total) return all;
    offset = last + 1;
  }
}

void RestClient::fail(const RestResponse& response, const std::string& method,
                      const std::string& path, const std::string& what) const {
  const std::string message = (what.empty() ? method + " " + path : what) + " on PowerStore " +
                              array_.globalID + ": " + messageOf(response);
  Code code = Code::kUnknown;
  if (response.status == 404)
    code = Code::kNotFound;
  else if (response.status == 422)
    code = Code::kFailedPrecondition;
  else if (response.status == 400)
    code = Code::kInvalidArgument;
  else if (response.status == 403)
    code = Code::kPermissionDenied;
  else if (response.status >= 500)
    code = Code::kUnavailable;
  throw Error(code, message);
}

}  // namespace polycsi::iscsi_powerstore
