#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "node/mounter.hpp"

namespace polycsi::node {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(RunCommandTest, ReturnsZeroExitCodeAndOutput) {
  StatusOr<CommandResult> result = runCommand({"/bin/echo", "hello", "world"}, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 0);
  EXPECT_EQ(result->output, "hello world\n");
}

TEST(RunCommandTest, ReturnsNonZeroExitCodeAsResultWithStdoutAndStderr) {
  StatusOr<CommandResult> result =
      runCommand({"sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 3);
  EXPECT_THAT(result->output, HasSubstr("to-stdout\n"));
  EXPECT_THAT(result->output, HasSubstr("to-stderr\n"));
}

TEST(RunCommandTest, FindsProgramsWithoutPathInSystemDirectories) {
  StatusOr<CommandResult> result = runCommand({"false"}, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 1);
}

TEST(RunCommandTest, PassesArgumentsLiterallyWithoutAShell) {
  StatusOr<CommandResult> result =
      runCommand({"/bin/echo", "$(echo hi)", "a;b", "*", "`id`"}, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->output, "$(echo hi) a;b * `id`\n");
}

TEST(RunCommandTest, KillsAndReapsAProgramThatOutlivesTheTimeout) {
  // The shell prints its pid and then becomes `sleep 30` (exec keeps the pid).
  StatusOr<CommandResult> result =
      runCommand({"sh", "-c", "echo $$; exec sleep 30"}, milliseconds(500));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kDeadlineExceeded) << result.status().toString();
  EXPECT_THAT(result.status().message(), HasSubstr("sleep 30"));
  const std::string& message = result.status().message();
  size_t marker = message.find("output so far: ");
  ASSERT_NE(marker, std::string::npos) << message;
  pid_t pid = std::stoi(message.substr(marker + 15));
  ASSERT_GT(pid, 1);
  // Killed and reaped: the pid no longer names any process of ours.
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(RunCommandTest, TimesOutOnPlainSleep) {
  StatusOr<CommandResult> result = runCommand({"sleep", "30"}, milliseconds(200));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kDeadlineExceeded);
}

TEST(RunCommandTest, ReturnsWhenTheProgramExitsEvenIfADescendantKeepsTheOutputOpen) {
  StatusOr<CommandResult> result = runCommand({"sh", "-c", "sleep 30 & echo $!"}, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 0);
  pid_t background = std::stoi(result->output);
  ASSERT_GT(background, 1);
  EXPECT_EQ(::kill(background, SIGKILL), 0);  // ours to clean up
}

TEST(RunCommandTest, TruncatesOutputTo64KiB) {
  StatusOr<CommandResult> result = runCommand({"head", "-c", "300000", "/dev/zero"}, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 0);  // the program was not blocked on a full pipe
  EXPECT_EQ(result->output.size(), 64u * 1024u);
}

TEST(RunCommandTest, RunsWithCLocaleAndWithoutTheCallersEnvironment) {
  ASSERT_EQ(::setenv("POLYCSI_NODE_TEST_MARKER", "leaked", 1), 0);
  StatusOr<CommandResult> result = runCommand({"env"}, seconds(20));
  ::unsetenv("POLYCSI_NODE_TEST_MARKER");
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_THAT(result->output, HasSubstr("LC_ALL=C\n"));
  EXPECT_THAT(result->output, Not(HasSubstr("POLYCSI_NODE_TEST_MARKER")));
}

TEST(RunCommandTest, DoesNotLeakDescriptorsIntoTheProgram) {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, 57), 57);
  StatusOr<CommandResult> result = runCommand({"ls", "/proc/self/fd"}, seconds(20));
  ::close(57);
  ::close(fd);
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_THAT(result->output, HasSubstr("0\n1\n2\n"));
  EXPECT_THAT(result->output, Not(HasSubstr("57")));
}

TEST(RunCommandTest, GivesTheProgramAnEmptyStandardInput) {
  StatusOr<CommandResult> result = runCommand({"cat"}, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 0);
  EXPECT_EQ(result->output, "");
}

TEST(RunCommandTest, ReportsAProgramThatCannotBeStartedAsInternal) {
  StatusOr<CommandResult> missing = runCommand({"polycsi-no-such-program"}, seconds(5));
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), Code::kInternal);
  EXPECT_THAT(missing.status().message(), HasSubstr("polycsi-no-such-program"));

  StatusOr<CommandResult> notExecutable = runCommand({"/etc/hostname"}, seconds(5));
  ASSERT_FALSE(notExecutable.isOk());
  EXPECT_EQ(notExecutable.status().code(), Code::kInternal);
}

TEST(RunCommandTest, RefusesBadArguments) {
  EXPECT_EQ(runCommand({}, seconds(5)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(runCommand({"/bin/echo", std::string("a\0b", 3)}, seconds(5)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(runCommand({"/bin/true"}, milliseconds(0)).status().code(), Code::kInvalidArgument);
}

TEST(RunCommandWithInputTest, HandsTheProgramTheInputExactlyThenEndOfFile) {
  constexpr char kBytes[] = "key\0with\nbinary\xff bytes";
  const std::string input(kBytes, sizeof(kBytes) - 1);
  StatusOr<CommandResult> result = process::runCommandWithInput({"cat"}, input, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 0);
  EXPECT_EQ(result->output, input);
}

TEST(RunCommandWithInputTest, EmptyInputIsAnImmediateEndOfFile) {
  StatusOr<CommandResult> result = process::runCommandWithInput({"wc", "-c"}, "", seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->output, "0\n");
}

TEST(RunCommandWithInputTest, FeedsInputLargerThanAnyBufferWhileTheProgramWrites) {
  // cat writes back all it reads: with 768 KiB both the socket and the output pipe fill up, so
  // this finishes only if input is written while output is read.
  const std::string input(768 * 1024, 'k');
  StatusOr<CommandResult> echoed = process::runCommandWithInput({"cat"}, input, seconds(60));
  ASSERT_TRUE(echoed.isOk()) << echoed.status().toString();
  EXPECT_EQ(echoed->exitCode, 0);
  EXPECT_EQ(echoed->output, std::string(64 * 1024, 'k'));  // the runner keeps 64 KiB

  StatusOr<CommandResult> counted = process::runCommandWithInput({"wc", "-c"}, input, seconds(60));
  ASSERT_TRUE(counted.isOk()) << counted.status().toString();
  EXPECT_EQ(counted->output, std::to_string(input.size()) + "\n");
}

TEST(RunCommandWithInputTest, AProgramThatDoesNotReadItsInputIsNotAnError) {
  // The runner must neither block on the unread input nor die of SIGPIPE writing it.
  const std::string input(768 * 1024, 'x');
  StatusOr<CommandResult> result = process::runCommandWithInput(
      {"sh", "-c", "exec 0<&-; echo closed; exit 4"}, input, seconds(20));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->exitCode, 4);
  EXPECT_EQ(result->output, "closed\n");
  StatusOr<CommandResult> ignored = process::runCommandWithInput({"true"}, input, seconds(20));
  ASSERT_TRUE(ignored.isOk()) << ignored.status().toString();
  EXPECT_EQ(ignored->exitCode, 0);
}

TEST(RunCommandWithInputTest, TheInputIsInNoMessage) {
  const std::string secret = "input-Secret-8d41f0";
  StatusOr<CommandResult> result = process::runCommandWithInput(
      {"sh", "-c", "read line; exec sleep 30"}, secret + "\n", milliseconds(1000));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kDeadlineExceeded);
  EXPECT_THAT(result.status().message(), Not(HasSubstr(secret)));
}

TEST(RunCommandWithInputTest, RefusesInputOverTheLimit) {
  const std::string input(process::kMaxCommandInputBytes + 1, 'a');
  StatusOr<CommandResult> result = process::runCommandWithInput({"cat"}, input, seconds(5));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(result.status().message(), Not(HasSubstr("aaaa")));
}

}  // namespace
}  // namespace polycsi::node
