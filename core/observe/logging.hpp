// Process-wide logging: spdlog's default logger writes "time level message" lines to stderr,
// and every message passes through a SecretRedactor first, so a registered secret (backend
// passwords, API tokens) never reaches a log line, whoever logs it: the core owns secret
// redaction in logs (docs/security.md).
#pragma once

#include <spdlog/sinks/sink.h>

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::observe {

// Replaces every occurrence of a registered secret by "***".
// THREADING: thread-safe (readers share a lock, addSecret takes it exclusively).
class SecretRedactor {
 public:
  // Values that must never be logged. Values shorter than 4 characters are ignored: they would
  // blank out ordinary words and cannot be secrets worth the name. Idempotent.
  void addSecret(std::string_view value);

  // `text` with every occurrence of every secret replaced by "***". Longer secrets are
  // replaced first so a secret containing another one disappears whole.
  std::string redact(std::string_view text) const;

 private:
  mutable std::shared_mutex mu_;
  std::vector<std::string> secrets_;  // longest first
};

// The redactor setupLogging() installs; other components register secrets here.
SecretRedactor& globalRedactor();

// A sink that redacts each message with `redactor` and passes it on to `inner`, which must not
// be null (a null `inner` aborts the process). Does not own `redactor`, which must outlive the
// sink. THREADING: as thread-safe as `inner`.
std::shared_ptr<spdlog::sinks::sink> makeRedactingSink(
    std::shared_ptr<spdlog::sinks::sink> inner, const SecretRedactor& redactor = globalRedactor());

// Makes spdlog's default logger write to stderr through a redacting sink, at `level`
// ("debug", "info", "warn" or "error"). INVALID_ARGUMENT naming an unknown level, and the
// logger stays as it was. Call once at startup, before other threads log.
Status setupLogging(const std::string& level);

// Same, writing to `output` instead of stderr (for example a file sink).
Status setupLogging(const std::string& level, std::shared_ptr<spdlog::sinks::sink> output);

}  // namespace polycsi::observe
