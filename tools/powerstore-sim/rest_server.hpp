// The PowerStore REST API (`/api/rest/...`) over HTTPS, served from an ArrayStore.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "array_store.hpp"

namespace httplib {
class SSLServer;
}

namespace powerstore_sim {

struct RestServerOptions {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port
  std::string certificate_file;
  std::string private_key_file;
  std::string username = "admin";
  std::string password;
  std::chrono::seconds session_ttl{3600};  // idle sessions expire after this
  std::string global_id = "PS000000000001";
  // When set, every request line ("METHOD target<TAB>User-Agent", the target as sent) is
  // appended to this
  // file before it is answered, so a test can hold the calls a client made against the
  // calls docs/fidelity.md lists.
  std::string request_log;
};

// Serves the API on its own thread pool. Authentication is like the array's: Basic auth or
// the session cookie from GET login_session on every call, and the DELL-EMC-TOKEN header on
// every modifying call (403 when it is missing or its session has expired).
// Queries follow query.hpp (select, filters, order, paging) and bodies may carry only the
// attributes a call defines (400 otherwise). Test hooks under /sim/ (Basic auth), never on a
// real array: POST /sim/expire_sessions expires every session at once; POST /sim/seed_hosts
// {prefix, count, volume_id?} creates many hosts in one step for paging tests.
class RestServer {
 public:
  RestServer(RestServerOptions options, ArrayStore& store);
  ~RestServer();
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  // Binds the port (throws when it cannot) and returns it.
  std::uint16_t bind();
  // Serves until stop(); blocks.
  void run();
  // Makes run() return. Thread-safe.
  void stop();

 private:
  struct Session {
    std::string token;
    std::chrono::steady_clock::time_point expires;
  };
  void routes();
  bool basicAuthOk(const std::string& header) const;
  // The live session named by the request's cookie, renewing its idle timer; null when none.
  const Session* sessionFromCookie(const std::string& cookie_header);
  // A volume as GET volume shows it, with `volume_groups`: the groups it is a member of.
  static nlohmann::json volumeJson(const SimVolume& volume,
                                   const std::vector<SimVolumeGroup>& groups);
  // A volume group as GET volume_group shows it, with `volumes`: its members as volumes.
  nlohmann::json groupJson(const SimVolumeGroup& group);

  RestServerOptions options_;
  ArrayStore& store_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::mutex sessions_mutex_;
  std::map<std::string, Session> sessions_;  // by cookie value
  std::mutex request_log_mutex_;
  std::ofstream request_log_;  // open only with options_.request_log
};

}  // namespace powerstore_sim
