// The runner iscsi_powerstore's node side runs the host's iscsiadm with by default: the SDK's
// process runner (polycsi::process), so a plugin's program gets what the core's programs get:
// a clean environment, and its whole process group killed at the timeout.
#include <errno.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "iscsi_node.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

// Whether `pid` still names a live process: gone, or a zombie waiting for its new parent
// (init) to reap it, counts as dead.
bool alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno != ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pidField, comm, state;
  stat >> pidField >> comm >> state;
  return state != "Z" && state != "X";
}

TEST(IscsiNodeRunner, RunsHostProgramsWithACleanEnvironment) {
  const CommandRunner runner = IscsiNodeOptions{}.runner;
  ASSERT_EQ(::setenv("POLYCSI_PLUGIN_TEST_MARKER", "leaked", 1), 0);
  const CommandOutcome env = runner({"env"}, std::chrono::seconds(20));
  ::unsetenv("POLYCSI_PLUGIN_TEST_MARKER");
  EXPECT_EQ(env.exitCode, 0);
  // Exactly the runner's two variables: nothing of this process (the marker, the sanitizers'
  // options, HOME, ...) reaches the program.
  EXPECT_EQ(env.output,
            "LC_ALL=C\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
}

TEST(IscsiNodeRunner, KillsTheProgramsWholeProcessGroupAtTheTimeout) {
  const CommandRunner runner = IscsiNodeOptions{}.runner;
  // The shell starts a background sleep (same process group), prints its pid and then waits.
  pid_t background = -1;
  try {
    runner({"sh", "-c", "sleep 300 & echo $!; wait"}, std::chrono::milliseconds(500));
    FAIL() << "a program that outlived its timeout returned normally";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded) << e.what();
    const std::string message = e.what();
    const size_t marker = message.find("output so far: ");
    ASSERT_NE(marker, std::string::npos) << message;
    background = std::stoi(message.substr(marker + 15));
  }
  ASSERT_GT(background, 1);
  // SIGKILL went to the group; its delivery to the grandchild is asynchronous, so wait for the
  // death (a survivor would sleep on for minutes: the bound only ends a failing run).
  for (int i = 0; i < 2000 && alive(background); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool survived = alive(background);
  if (survived) ::kill(background, SIGKILL);  // ours to clean up
  EXPECT_FALSE(survived) << "the background process " << background << " outlived the timeout";
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
