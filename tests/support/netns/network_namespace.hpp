// A private network namespace for tests, so that they neither see nor touch this machine's
// network: `ip netns add polycsi-test-<pid>-<n>` with `lo` up, deleted again (with everything in
// it: interfaces, nftables rules) by the destructor, also when a test fails. Namespaces that
// earlier runs left behind (named after a pid that no longer runs, e.g. after a crash) are
// deleted when a new one is made. `ip` and `nft` run through runCommand (child_process.hpp).
//
// Two shapes:
// - Link::kLoopbackOnly: only `lo`, for servers that need well-known ports (rpcbind's 111).
// - Link::kVethToHost: also a /30 veth link to this namespace, hostAddress() here and
//   namespaceAddress() inside, so that a peer inside can be reached, and cut off, from here.
//   One such namespace per test process at a time (the link's names and subnet are the pid's).
//
// Processes start inside with ChildOptions::networkNamespaceFd = fd(); a thread enters with
// enter() or runs code inside with runInside(), so that its sockets and the children it forks
// live in the namespace too. Unix sockets are files and still work across.
//
// THREADING: one thread at a time; enter() affects the calling thread only.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace polycsi::testing {

class NetworkNamespace {
 public:
  enum class Link { kLoopbackOnly, kVethToHost };

  // Creates the namespace and its links. Throws std::runtime_error naming the failed command
  // and its output (not root), or saying that `ip` or `nft` is missing
  // (scripts/install-deps.sh installs iproute2 and nftables).
  explicit NetworkNamespace(Link link = Link::kLoopbackOnly);
  // Deletes the namespace (its processes must have been stopped by their owners).
  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }
  // An open descriptor of /run/netns/<name>, valid as long as this object.
  int fd() const { return fd_; }
  // The veth addresses (Link::kVethToHost); empty otherwise.
  const std::string& hostAddress() const { return hostAddress_; }
  const std::string& namespaceAddress() const { return namespaceAddress_; }

  // While alive, the calling thread is in the namespace; the destructor returns the thread to
  // the namespace it was in before. Nestable.
  class Entered {
   public:
    Entered(Entered&& other) noexcept;
    Entered& operator=(Entered&&) = delete;
    ~Entered();

   private:
    friend class NetworkNamespace;
    explicit Entered(int previous) : previous_(previous) {}
    int previous_;
  };
  // Throws std::runtime_error when setns fails.
  Entered enter() const;
  // Runs `fn` on a new thread that entered the namespace and waits for it: processes that `fn`
  // starts live in the namespace (and outlive that thread: see child_lifetime.hpp). Rethrows
  // what `fn` throws.
  void runInside(const std::function<void()>& fn) const;

  // True when something in the namespace accepts TCP connections on 127.0.0.1:`port`.
  bool acceptsTcp(int port) const;

  // Drops (nftables, inside the namespace) every TCP packet sent to `ports` (0s are ignored):
  // connections there are neither accepted nor refused, as with a server that is down behind
  // a router. Throws std::runtime_error with nft's output when that fails.
  void dropTcpTo(const std::vector<int>& ports);
  // Removes what dropTcpTo added. Idempotent.
  void allowAllTcp();

  // Inside the namespace, drops every TCP packet to or from `port` (new and established
  // connections alike), or with `percent` < 100 a random share of them.
  void dropTcpPort(int port, int percent = 100);
  // Removes every rule dropTcpPort() added. Idempotent.
  void clearDrops();
  // The nftables ruleset inside the namespace, as `nft list ruleset` prints it.
  std::string ruleset() const;

 private:
  void addVethLink();
  // Runs `nft arguments...` inside the namespace; returns its output, throws on failure.
  std::string nftInside(const std::vector<std::string>& arguments) const;

  std::string name_;
  int fd_ = -1;
  std::string hostAddress_;
  std::string namespaceAddress_;
  bool dropping_ = false;
  bool faultTableExists_ = false;
};

}  // namespace polycsi::testing
