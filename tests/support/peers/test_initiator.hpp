// A libiscsi initiator for tests: logs in to one target as a chosen initiator name and reads
// and writes blocks of one LUN.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct iscsi_context;

namespace polycsi::testing {

struct ChapCredentials {
  std::string user;
  std::string password;
  // Mutual CHAP when not empty: what the target must answer the initiator's challenge with.
  std::string target_user;
  std::string target_password;
};

// One logged-in session. Every call has a 10 s timeout. Not thread-safe.
class TestInitiator {
 public:
  // Logs in to `target_iqn` at `portal` ("host:port") as `initiator_iqn` and checks that LUN
  // `lun` answers; throws std::runtime_error with libiscsi's message when the login is
  // refused or fails, or the LUN does not answer.
  TestInitiator(const std::string& portal, const std::string& target_iqn,
                const std::string& initiator_iqn, const std::optional<ChapCredentials>& chap = {},
                int lun = 1);
  ~TestInitiator();
  TestInitiator(const TestInitiator&) = delete;
  TestInitiator& operator=(const TestInitiator&) = delete;

  // The LUN's size in bytes (READ CAPACITY 16).
  std::uint64_t capacity();
  // Writes / reads one 512-byte block at `lba` of the LUN.
  void writeBlock(std::uint64_t lba, const std::vector<std::uint8_t>& data);
  std::vector<std::uint8_t> readBlock(std::uint64_t lba);

 private:
  iscsi_context* context_ = nullptr;
  int lun_ = 1;
};

}  // namespace polycsi::testing
