// Looks for secret values in text the driver produced (logs, events, error messages, HTTP
// answers, files), for the security tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace polycsi::testing {

// One place a secret was found.
struct SecretLeak {
  std::string secret;
  std::string source;   // e.g. "driver log", "event Foo", a file path
  std::string context;  // up to 60 characters around the hit
};

// Every occurrence of every non-empty secret in `text`, each reported with `source`.
std::vector<SecretLeak> findSecrets(const std::string& text,
                                    const std::vector<std::string>& secrets,
                                    const std::string& source);

// The same for every regular file below `root` (symlinks are not followed).
std::vector<SecretLeak> findSecretsInFiles(const std::filesystem::path& root,
                                           const std::vector<std::string>& secrets);

// One line per leak, for a failure message.
std::string describe(const std::vector<SecretLeak>& leaks);

}  // namespace polycsi::testing
