#include "child_lifetime.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace polycsi::testing {

ForkingThread ForkingThread::current() {
  ForkingThread thread;
  thread.process = ::getpid();
  thread.isMainThread = ::gettid() == thread.process;
  return thread;
}

void killWhenTestProcessEnds(const ForkingThread& parent) {
  if (!parent.isMainThread) return;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have ended between fork() and prctl(): then nobody would send the signal.
  if (::getppid() != parent.process) ::_exit(1);
}

}  // namespace polycsi::testing
