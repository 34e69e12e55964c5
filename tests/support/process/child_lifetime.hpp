// Ties the life of a child that a test helper forks (a simulator, a driver) to the test
// process: a test that dies without cleaning up (a sanitizer report ends it, a crash) must not
// leave the child running, holding its port and its temporary directory.
//
// The kernel's PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the
// process. So the signal is only asked for when the fork happens on the test's main thread; a
// child started from a short-lived thread (one that entered a network namespace, say) must
// outlive that thread, and the helper's own stop() ends it.
#pragma once

#include <sys/types.h>

namespace polycsi::testing {

struct ForkingThread {
  pid_t process = -1;
  bool isMainThread = false;
  // The calling thread, recorded before fork().
  static ForkingThread current();
};

// Called in the child between fork() and exec(): asks for SIGKILL when the test process ends,
// if `parent` is its main thread, and exits at once when the parent is already gone.
// Async-signal-safe.
void killWhenTestProcessEnds(const ForkingThread& parent);

}  // namespace polycsi::testing
