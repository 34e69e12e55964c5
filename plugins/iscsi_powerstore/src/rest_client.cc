#include "rest_client.hpp"

#include <algorithm>
#include <cctype>

#include "rest_module.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

constexpr int kPageLimit = 2000;  // the array's largest page (Developers Guide, "Pagination")

}  // namespace

RestClient::RestClient(ArrayConfig array, std::chrono::milliseconds requestTimeout,
                       RequestObserver observer)
    : array_(std::move(array)), requestTimeout_(requestTimeout), observer_(std::move(observer)) {}

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
  // Loaded here, on the first exchange, and not before: a node never gets this far.
  const RestModule& rest = restModule();
  RestRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  request.basic = basic;
  if (session != nullptr) {
    request.token = session->token;
    request.cookie = session->cookie;
  }
  request.timeout = std::min(requestTimeout_, call.remaining());
  RestReply reply;
  RestFailure failure;
  if (!rest.exchange(array_, request, call, reply, failure))
    throw Error(failure.code, failure.message);
  RestResponse response;
  response.status = reply.status;
  if (observer_) observer_(method, response.status);
  if (!reply.body.empty()) {
    response.body = nlohmann::json::parse(reply.body, nullptr, false);
    if (response.body.is_discarded()) response.body = nullptr;
  }
  response.contentRange = reply.contentRange;
  if (setCookie) *setCookie = reply.setCookie;
  if (token) *token = reply.token;
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
