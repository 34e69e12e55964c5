// TCP on 127.0.0.1 of the calling thread's network namespace: a free port for a peer to listen
// on, and whether something listens. Stateless; any thread.
#pragma once

namespace polycsi::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for an ephemeral
// bind). Throws std::runtime_error when no socket can be bound.
int freeLoopbackPort();

// True when something accepts TCP connections on 127.0.0.1:`port` right now.
bool acceptsTcpOnLoopback(int port);

}  // namespace polycsi::testing
