// ChildProcess and runCommand: output capture, the environment, a missing program, the
// timeout, and stop() ending what the child started (its process group), by pid only.
#include "child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// Waits (at most a minute) until `pid` is gone; true when it is.
bool endsWithinAMinute(pid_t pid) {
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (alive(pid) && std::chrono::steady_clock::now() < giveUp)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return !alive(pid);
}

TEST(ChildProcessTest, RunCommandKeepsStdoutAndStderrApartOrTogether) {
  const std::vector<std::string> argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  const CommandResult apart = runCommand(argv);
  EXPECT_EQ(apart.exitStatus, 3);
  EXPECT_FALSE(apart.timedOut);
  EXPECT_EQ(apart.output, "out\n");
  EXPECT_EQ(apart.errorOutput, "err\n");

  const CommandResult together = runCommand(argv, {.mergeStderr = true});
  EXPECT_EQ(together.output, "out\nerr\n");
  EXPECT_EQ(together.errorOutput, "");
}

TEST(ChildProcessTest, RunCommandLeavesOutTheVariablesItIsTold) {
  ::setenv("POLYCSI_CHILD_PROCESS_TEST", "present", 1);
  const std::vector<std::string> argv = {"sh", "-c", "echo \"[$POLYCSI_CHILD_PROCESS_TEST]\""};
  EXPECT_EQ(runCommand(argv).output, "[present]\n");
  EXPECT_EQ(runCommand(argv, {.unsetEnv = {"POLYCSI_CHILD_PROCESS_TEST"}}).output, "[]\n");
  ::unsetenv("POLYCSI_CHILD_PROCESS_TEST");
}

TEST(ChildProcessTest, AMissingProgramIsAnErrorNamingIt) {
  try {
    runCommand({"polycsi-no-such-program"});
    FAIL() << "a missing program started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'polycsi-no-such-program' is not installed"),
              std::string::npos)
        << e.what();
  }
}

TEST(ChildProcessTest, RunCommandKillsWhatOutlivesItsTimeout) {
  // The child closes its output at once, so only the deadline can end the wait.
  const CommandResult result = runCommand({"sh", "-c", "exec sleep 600 >/dev/null 2>&1"},
                                          {.timeout = std::chrono::seconds(1)});
  EXPECT_TRUE(result.timedOut);
  EXPECT_EQ(result.exitStatus, -1);
}

TEST(ChildProcessTest, StopEndsTheChildAndWhatItStartedButNothingElse) {
  const TempDir dir("polycsi-child-process-test");
  const std::string pidFile = dir.file("grandchild.pid");
  // The child starts a grandchild that ignores SIGTERM, writes its pid and waits.
  ChildOptions options;
  options.argv = {"sh", "-c",
                  "sh -c 'trap \"\" TERM; echo $$ > " + pidFile + ".tmp; mv " + pidFile + ".tmp " +
                      pidFile + "; exec sleep 600' & wait"};
  ChildProcess child(options);
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!std::filesystem::exists(pidFile) && std::chrono::steady_clock::now() < giveUp)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  pid_t grandchild = 0;
  std::ifstream(pidFile) >> grandchild;
  ASSERT_GT(grandchild, 0) << "the grandchild never wrote its pid";
  // Should the test fail, the grandchild must not outlive it (by its pid, while it is still
  // in the child's group, so that the pid cannot have been reused).
  struct EndGrandchild {
    pid_t pid, group;
    ~EndGrandchild() {
      if (::getpgid(pid) == group) ::kill(pid, SIGKILL);
    }
  } endGrandchild{grandchild, child.pid()};
  ASSERT_EQ(::getpgid(grandchild), child.pid()) << "the grandchild is not in the child's group";
  EXPECT_NE(::getpgid(0), child.pid()) << "the test itself is in the child's group";

  const pid_t pid = child.pid();
  child.stop(std::chrono::milliseconds(200));
  EXPECT_FALSE(child.running());
  EXPECT_FALSE(alive(pid));
  // SIGKILL to the group after the grace reaches the grandchild that ignored SIGTERM; it is
  // reparented, so it may linger a moment as a zombie of init.
  EXPECT_TRUE(endsWithinAMinute(grandchild)) << "the grandchild outlived stop()";
}

TEST(ChildProcessTest, StopReportsTheExitStatusAndIsIdempotent) {
  ChildOptions options;
  options.argv = {"sh", "-c", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done"};
  options.pipeStdout = true;
  ChildProcess child(options);
  // SIGTERM only once the shell has its trap.
  std::string said;
  char buffer[64];
  ssize_t n = 0;
  while (said.find("ready\n") == std::string::npos &&
         (n = ::read(child.stdoutFd(), buffer, sizeof buffer)) > 0)
    said.append(buffer, static_cast<size_t>(n));
  ASSERT_EQ(said, "ready\n");
  EXPECT_EQ(child.stop(std::chrono::seconds(30)), 7);
  EXPECT_FALSE(child.endedBySignal());
  EXPECT_EQ(child.stop(), 7);
  EXPECT_EQ(child.kill(), 7);
}

TEST(ChildProcessTest, KillEndsTheChildBySignal) {
  ChildOptions options;
  options.argv = {"sleep", "600"};
  ChildProcess child(options);
  EXPECT_EQ(child.kill(), 128 + SIGKILL);
  EXPECT_TRUE(child.endedBySignal());
  EXPECT_FALSE(child.running());
}

}  // namespace
}  // namespace polycsi::testing
