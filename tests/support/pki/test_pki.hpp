// Test certificates: a CA, a server certificate it signs for 127.0.0.1/localhost, and an
// unrelated second CA (for "wrong CA" tests). Generated with the openssl command.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace polycsi::testing {

struct TestPki {
  std::filesystem::path ca_cert;
  std::filesystem::path ca_key;
  std::filesystem::path server_cert;
  std::filesystem::path server_key;
  std::filesystem::path other_ca_cert;
};

// Writes the files into `directory` (which must exist). Throws std::runtime_error with
// openssl's output when a step fails.
TestPki makeTestPki(const std::filesystem::path& directory);

// Runs `openssl <args...>` through runCommand (no shell), its output captured; throws
// std::runtime_error with that output when it fails or cannot be started.
void runOpenssl(const std::vector<std::string>& args);

}  // namespace polycsi::testing
