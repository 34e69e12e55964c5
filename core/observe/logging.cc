#include "observe/logging.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace polycsi::observe {
namespace {

constexpr size_t kMinSecretLength = 4;
constexpr std::string_view kRedacted = "***";
// ISO 8601 time with milliseconds and zone, level, message.
constexpr const char* kLogPattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %v";

class RedactingSink : public spdlog::sinks::sink {
 public:
  RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner, const SecretRedactor& redactor)
      : inner_(std::move(inner)), redactor_(redactor) {}

  void log(const spdlog::details::log_msg& msg) override {
    if (!inner_->should_log(msg.level)) return;
    const std::string redacted =
        redactor_.redact(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(redacted.data(), redacted.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
  const SecretRedactor& redactor_;
};

StatusOr<spdlog::level::level_enum> parseLevel(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return Status(Code::kInvalidArgument,
                "unknown log level \"" + level + "\" (expected debug, info, warn or error)");
}

}  // namespace

void SecretRedactor::addSecret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  std::unique_lock lock(mu_);
  if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
  secrets_.emplace_back(value);
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string SecretRedactor::redact(std::string_view text) const {
  std::string result(text);
  std::shared_lock lock(mu_);
  for (const std::string& secret : secrets_) {
    for (size_t at = result.find(secret); at != std::string::npos;
         at = result.find(secret, at + kRedacted.size())) {
      result.replace(at, secret.size(), kRedacted);
    }
  }
  return result;
}

SecretRedactor& globalRedactor() {
  static SecretRedactor redactor;
  return redactor;
}

std::shared_ptr<spdlog::sinks::sink> makeRedactingSink(std::shared_ptr<spdlog::sinks::sink> inner,
                                                       const SecretRedactor& redactor) {
  if (!inner) {
    // A caller's bug, found before anything could log through the sink.
    std::fputs("makeRedactingSink: inner sink is null\n", stderr);
    std::abort();
  }
  return std::make_shared<RedactingSink>(std::move(inner), redactor);
}

Status setupLogging(const std::string& level) {
  return setupLogging(level, std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

Status setupLogging(const std::string& level, std::shared_ptr<spdlog::sinks::sink> output) {
  const StatusOr<spdlog::level::level_enum> parsed = parseLevel(level);
  if (!parsed.isOk()) return parsed.status();
  auto logger = std::make_shared<spdlog::logger>("polycsi", makeRedactingSink(std::move(output)));
  logger->set_pattern(kLogPattern);
  logger->set_level(*parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return Status::ok();
}

}  // namespace polycsi::observe
