// powerstore-sim: a Dell PowerStore REST simulator over HTTPS whose volumes are real iSCSI
// LUNs served by a private tgtd. See README.md.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include "array_store.hpp"
#include "rest_server.hpp"
#include "tgtd_controller.hpp"

namespace {

// A TCP port on 127.0.0.1 that was free a moment ago (for tgtd, which cannot pick one).
std::uint16_t freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

void watchSignals(const sigset_t& signals, powerstore_sim::RestServer& server,
                  const std::atomic<bool>& finished) {
  const timespec tick{0, 200'000'000};
  while (!finished.load()) {
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      server.stop();
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"powerstore-sim: a Dell PowerStore REST simulator backed by tgtd"};
  std::string listen = "127.0.0.1:0";
  powerstore_sim::RestServerOptions rest;
  std::string state_dir;
  int session_ttl_s = 3600;
  powerstore_sim::TgtdOptions tgtd;
  int iscsi_port = 0;
  std::string chap_user;
  std::string chap_password;
  bool no_tgtd = false;
  std::string chap_mode;
  std::vector<std::string> portal_addresses = {"127.0.0.1", "127.0.0.2"};

  app.add_option("--listen", listen, "address:port of the HTTPS API (port 0 picks one)");
  app.add_option("--cert", rest.certificate_file, "PEM server certificate")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--key", rest.private_key_file, "PEM private key")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--state-dir", state_dir, "state file and volume images")->required();
  app.add_option("--username", rest.username, "the accepted user name");
  app.add_option("--password", rest.password, "the accepted password")->required();
  app.add_option("--session-ttl-s", session_ttl_s, "idle time after which a session expires")
      ->check(CLI::Range(1, 86400));
  app.add_option("--global-id", rest.global_id, "the cluster's global id");
  app.add_option("--iscsi-port", iscsi_port,
                 "the TCP port of every iSCSI portal (0 picks one free on 127.0.0.1)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--portal-addresses", portal_addresses,
                 "loopback addresses of the IP ports, one iSCSI target each (default "
                 "127.0.0.1 127.0.0.2; the first is announced)")
      ->delimiter(',');
  app.add_option("--tgtd-control-port", tgtd.control_port,
                 "tgtd's management socket number (-C); default: derived from the pid");
  app.add_option("--tgtd", tgtd.tgtd, "the tgtd program");
  app.add_option("--tgtadm", tgtd.tgtadm, "the tgtadm program");
  app.add_option("--chap-mode", chap_mode,
                 "the cluster's CHAP mode at start (chap_config mode): Disabled, Single or "
                 "Mutual; default: the saved one, else Disabled")
      ->check(CLI::IsMember({"Disabled", "Single", "Mutual"}));
  app.add_option("--chap-user", chap_user,
                 "require CHAP with this user on every target, whatever the hosts' credentials "
                 "(a test shortcut no array has)");
  app.add_option("--chap-password", chap_password, "the CHAP secret (12 to 16 characters)");
  app.add_option("--request-log", rest.request_log,
                 "append every request line to this file (for tests that check the calls made)");
  app.add_flag("--no-tgtd", no_tgtd, "serve the REST API only, without iSCSI");
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    if (portal_addresses.empty()) throw std::invalid_argument("--portal-addresses is empty");
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--listen wants ADDRESS:PORT");
    rest.listen_address = listen.substr(0, colon);
    const int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::invalid_argument("--listen port out of range");
    rest.port = static_cast<std::uint16_t>(port);
    rest.session_ttl = std::chrono::seconds(session_ttl_s);
    if (chap_user.empty() != chap_password.empty()) {
      throw std::invalid_argument("--chap-user and --chap-password go together");
    }
    const std::filesystem::path state_path = std::filesystem::absolute(state_dir);
    std::filesystem::create_directories(state_path);

    std::unique_ptr<powerstore_sim::TgtdController> controller;
    if (!no_tgtd) {
      tgtd.portal_port = iscsi_port ? static_cast<std::uint16_t>(iscsi_port) : freeLoopbackPort();
      if (tgtd.control_port == 0) tgtd.control_port = 1000 + ::getpid() % 30000;
      tgtd.log_file = state_path / "tgtd.log";
      if (!chap_user.empty()) {
        tgtd.chap_user = chap_user;
        tgtd.chap_password = chap_password;
      }
      tgtd.portal_address = portal_addresses.front();
      controller = std::make_unique<powerstore_sim::TgtdController>(tgtd);
      controller->start();
      for (std::size_t i = 1; i < portal_addresses.size(); ++i)
        controller->addPortal(portal_addresses[i], tgtd.portal_port);
    }
    // Target names shaped like an array's (one per IP port), lower case as IQNs are.
    std::string serial;
    for (char c : rest.global_id) serial.push_back(static_cast<char>(std::tolower(c)));
    powerstore_sim::ArrayStore store(
        state_path,
        powerstore_sim::simIpPorts("iqn.2015-10.com.dell:dellemc-powerstore-" + serial,
                                   portal_addresses),
        controller.get(), chap_mode.empty() ? std::nullopt : std::optional<std::string>(chap_mode));
    store.exportAll();

    powerstore_sim::RestServer server(rest, store);
    const std::uint16_t bound = server.bind();
    std::cout << "powerstore-sim listening on " << rest.listen_address << ":" << bound << " iscsi "
              << (controller ? portal_addresses.front() + ":" + std::to_string(tgtd.portal_port)
                             : "off")
              << std::endl;
    std::atomic<bool> finished{false};
    std::thread signal_thread(watchSignals, std::cref(signals), std::ref(server),
                              std::cref(finished));
    server.run();
    finished.store(true);
    signal_thread.join();
    if (controller) controller->stop();
  } catch (const std::exception& error) {
    std::cerr << "powerstore-sim: " << error.what() << std::endl;
    return 1;
  }
  return 0;
}
