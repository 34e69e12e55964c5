// A private network namespace joined to this one by a veth pair, with nftables rules inside it
// to drop traffic: the network faults of the reliability tests, without touching the host's own
// firewall. Created by `ip` and `nft` run through fork/exec with argv (never a shell); deleted,
// with its veth pair and rules, when destroyed.
//
// THREADING: not thread-safe; one test thread drives it.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace polycsi::reliability {

class NetworkNamespace {
 public:
  // Creates namespace `polycsi-rel-<pid>` with loopback up and a /30 veth link to this
  // namespace: hostAddress() here, namespaceAddress() inside. Throws std::runtime_error naming
  // the failed command and its output; fails with a clear message when `ip` or `nft` is
  // missing (scripts/install-deps.sh installs iproute2 and nftables).
  NetworkNamespace();
  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }
  const std::string& hostAddress() const { return hostAddress_; }
  const std::string& namespaceAddress() const { return namespaceAddress_; }

  // Runs `fn` on a thread that entered the namespace: processes it forks live in the namespace.
  void runInside(const std::function<void()>& fn) const;

  // Inside the namespace, drops every TCP packet to or from `port` (new and established
  // connections alike), or with `percent` < 100 a random share of them.
  void dropTcpPort(int port, int percent = 100);
  // Removes every rule dropTcpPort() added.
  void clearDrops();
  // The nftables ruleset inside the namespace, as `nft list ruleset` prints it.
  std::string ruleset() const;

 private:
  std::string run(const std::vector<std::string>& argv) const;
  std::string nftInside(const std::vector<std::string>& arguments) const;

  std::string name_;
  std::string hostInterface_;
  std::string namespaceInterface_;
  std::string hostAddress_;
  std::string namespaceAddress_;
  bool tableExists_ = false;
  bool created_ = false;
};

}  // namespace polycsi::reliability
