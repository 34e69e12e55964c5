// A private network namespace for tests that need well-known ports, such as rpcbind's 111,
// without touching this machine's: `ip netns add polycsi-nfs-<pid>-<n>` with `lo` up (the
// namespace has no other interface), deleted again by the destructor, also when a test fails.
// Namespaces that earlier runs of this process's tests left behind (named after a pid that no
// longer runs, e.g. after a crash) are deleted when a new one is made.
//
// Daemons start inside with spawnProcess (SpawnOptions::networkNamespaceFd = fd()); the
// calling thread enters with enter(), so that its sockets, and the children it forks (such as
// `polycsi serve`), live in the namespace too. Unix sockets are files and still work across.
//
// THREADING: one thread at a time; enter() affects the calling thread only.
#pragma once

#include <string>
#include <vector>

namespace polycsi::nfs::testing {

class NetworkNamespace {
 public:
  // Creates the namespace and brings up its loopback. Throws std::runtime_error with `ip`'s
  // output when that fails (not root, no `ip`).
  NetworkNamespace();
  // Deletes the namespace (its processes must have been stopped by their owners).
  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }
  // An open descriptor of /run/netns/<name>, valid as long as this object.
  int fd() const { return fd_; }

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

  // True when something in the namespace accepts TCP connections on 127.0.0.1:`port`.
  bool acceptsTcp(int port) const;

  // Drops (nftables, inside the namespace) every TCP packet sent to `ports` (0s are ignored):
  // connections there are neither accepted nor refused, as with a server that is down behind
  // a router. Throws std::runtime_error with nft's output when that fails.
  void dropTcpTo(const std::vector<int>& ports);
  // Removes what dropTcpTo added. Idempotent.
  void allowAllTcp();

 private:
  // Runs `argv` (an absolute program path first) inside the namespace; throws on failure.
  void runInside(const std::vector<std::string>& argv) const;

  std::string name_;
  int fd_ = -1;
  bool dropping_ = false;
};

}  // namespace polycsi::nfs::testing
