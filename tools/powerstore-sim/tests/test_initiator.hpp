// A libiscsi initiator for tests: logs in to one target as a chosen initiator name and reads
// and writes blocks of LUN 1.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct iscsi_context;

namespace powerstore_sim::testing {

struct ChapCredentials {
  std::string user;
  std::string password;
};

// One logged-in session. Every call has a 10 s timeout. Not thread-safe.
class TestInitiator {
 public:
  // Logs in to `target_iqn` at `portal` ("host:port") as `initiator_iqn`; throws
  // std::runtime_error with libiscsi's message when the login is refused or fails.
  TestInitiator(const std::string& portal, const std::string& target_iqn,
                const std::string& initiator_iqn, const std::optional<ChapCredentials>& chap = {});
  ~TestInitiator();
  TestInitiator(const TestInitiator&) = delete;
  TestInitiator& operator=(const TestInitiator&) = delete;

  // LUN 1's size in bytes (READ CAPACITY 16).
  std::uint64_t capacity();
  // Writes / reads one 512-byte block at `lba` of LUN 1.
  void writeBlock(std::uint64_t lba, const std::vector<std::uint8_t>& data);
  std::vector<std::uint8_t> readBlock(std::uint64_t lba);

 private:
  iscsi_context* context_ = nullptr;
};

}  // namespace powerstore_sim::testing
