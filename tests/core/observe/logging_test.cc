#include "observe/logging.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace polycsi::observe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SecretRedactorTest, ReplacesEveryOccurrence) {
  SecretRedactor redactor;
  redactor.addSecret("hunter22");
  EXPECT_EQ(redactor.redact("pw=hunter22 again hunter22hunter22"), "pw=*** again ******");
}

TEST(SecretRedactorTest, IgnoresShortValues) {
  SecretRedactor redactor;
  redactor.addSecret("abc");
  redactor.addSecret("");
  EXPECT_EQ(redactor.redact("abc def"), "abc def");
}

TEST(SecretRedactorTest, LongerSecretsWinOverTheirParts) {
  SecretRedactor redactor;
  redactor.addSecret("pass");
  redactor.addSecret("password1234");
  EXPECT_EQ(redactor.redact("x password1234 y pass"), "x *** y ***");
}

TEST(SecretRedactorTest, IsSafeToUseFromManyThreads) {
  SecretRedactor redactor;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&redactor, t] {
      for (int i = 0; i < 200; ++i) {
        redactor.addSecret("secret-" + std::to_string(t) + "-" + std::to_string(i));
        EXPECT_EQ(redactor.redact("secret-" + std::to_string(t) + "-" + std::to_string(i)), "***");
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST(LoggingTest, UnknownLevelIsRefusedByName) {
  const Status refused = setupLogging("verbose");
  EXPECT_EQ(refused.code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "unknown log level \"verbose\" (expected debug, info, warn or error)");
}

TEST(LoggingTest, RegisteredSecretsNeverReachStderr) {
  globalRedactor().addSecret("s3cr3t-Token");
  setupLogging("debug");
  ::testing::internal::CaptureStderr();
  spdlog::info("connecting with token s3cr3t-Token to {}", "api");
  spdlog::warn("retry: Authorization: Bearer {}", "s3cr3t-Token");
  spdlog::default_logger()->flush();
  const std::string output = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(output, HasSubstr("connecting with token *** to api"));
  EXPECT_THAT(output, HasSubstr("retry: Authorization: Bearer ***"));
  EXPECT_THAT(output, HasSubstr(" info "));
  EXPECT_THAT(output, HasSubstr(" warning "));
  EXPECT_THAT(output, Not(HasSubstr("s3cr3t-Token")));
}

TEST(LoggingTest, LevelFiltersMessagesAndSinkOutputIsRedacted) {
  globalRedactor().addSecret("another-secret");
  std::ostringstream captured;
  setupLogging("warn", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  spdlog::info("hidden another-secret");
  spdlog::error("shown another-secret");
  spdlog::default_logger()->flush();
  EXPECT_THAT(captured.str(), Not(HasSubstr("hidden")));
  EXPECT_THAT(captured.str(), HasSubstr("shown ***"));
  EXPECT_THAT(captured.str(), Not(HasSubstr("another-secret")));
  setupLogging("info");  // back to stderr before `captured` goes away
}

TEST(LoggingTest, RedactingSinkWrapsAnySink) {
  SecretRedactor redactor;
  redactor.addSecret("letmein");
  std::ostringstream captured;
  auto sink =
      makeRedactingSink(std::make_shared<spdlog::sinks::ostream_sink_mt>(captured), redactor);
  spdlog::logger logger("test", sink);
  logger.set_pattern("%v");
  logger.info("password is letmein");
  logger.flush();
  EXPECT_EQ(captured.str(), "password is ***\n");
}

}  // namespace
}  // namespace polycsi::observe
