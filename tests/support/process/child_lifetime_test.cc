// killWhenTestProcessEnds: a child forked on the main thread dies with the test process; one
// forked on another thread outlives that thread. The test process becomes a child subreaper, so
// the grandchildren of these tests are reparented to it when their parent exits and it can
// wait for them and read how they ended.
#include "child_lifetime.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

namespace polycsi::testing {
namespace {

// Forks a child that sleeps for a minute, with killWhenTestProcessEnds from the calling thread,
// and returns once the child has exec'd (so it got past killWhenTestProcessEnds while its parent
// still ran): exec closes the child's end of a close-on-exec pipe.
pid_t forkSleeper() {
  int execed[2];
  if (::pipe2(execed, O_CLOEXEC) != 0) return -1;
  const ForkingThread parent = ForkingThread::current();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(execed[0]);
    killWhenTestProcessEnds(parent);
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(execed[1]);
  char byte = 0;
  while (::read(execed[0], &byte, 1) > 0) {
  }
  ::close(execed[0]);
  return pid;
}

// Forks an intermediate process that starts a sleeper (from its main thread, or from a thread
// that ends first), reports the sleeper's pid through a pipe and exits.
pid_t sleeperOfAnEndedParent(bool fromMainThread) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t intermediate = ::fork();
  if (intermediate == 0) {
    pid_t sleeper = -1;
    if (fromMainThread) {
      sleeper = forkSleeper();
    } else {
      std::thread([&] { sleeper = forkSleeper(); }).join();
    }
    if (::write(fds[1], &sleeper, sizeof sleeper) != sizeof sleeper) ::_exit(1);
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t sleeper = -1;
  EXPECT_EQ(::read(fds[0], &sleeper, sizeof sleeper), static_cast<ssize_t>(sizeof sleeper));
  ::close(fds[0]);
  int status = 0;
  EXPECT_EQ(::waitpid(intermediate, &status, 0), intermediate);
  return sleeper;
}

// How `pid` (a reparented grandchild) ended, or nullopt while it still runs after `patience`.
std::optional<int> endOf(pid_t pid, std::chrono::milliseconds patience) {
  const auto giveUp = std::chrono::steady_clock::now() + patience;
  int status = 0;
  while (std::chrono::steady_clock::now() < giveUp) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

class ChildLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0); }
};

TEST_F(ChildLifetimeTest, AChildOfTheMainThreadIsKilledWhenItsParentEnds) {
  const pid_t sleeper = sleeperOfAnEndedParent(/*fromMainThread=*/true);
  ASSERT_GT(sleeper, 0);
  auto status = endOf(sleeper, std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value()) << "the sleeper outlived its parent";
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << *status;
}

TEST_F(ChildLifetimeTest, AChildOfAnotherThreadOutlivesThatThread) {
  const pid_t sleeper = sleeperOfAnEndedParent(/*fromMainThread=*/false);
  ASSERT_GT(sleeper, 0);
  // Its forking thread and then its parent ended: nothing asked the kernel to end it.
  EXPECT_FALSE(endOf(sleeper, std::chrono::milliseconds(500)).has_value());
  ::kill(sleeper, SIGKILL);
  EXPECT_TRUE(endOf(sleeper, std::chrono::seconds(10)).has_value());
}

}  // namespace
}  // namespace polycsi::testing
