// SHA-256 as FIPS 180-4 defines it (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3 and 6.2), for deriving
// slot names from CSI names (volume_naming.hpp).
//
// Why not OpenSSL: linking libcrypto for one digest of a short name maps and relocates it in
// every process that loads the plugin, some 1.45 MiB resident in a node that never hashes
// anything (bench/README.md, "Resident memory"). Derived names are fixed forever once a volume
// exists, so this must give exactly SHA-256: sha256_test.cc holds it to the NIST examples and
// to names the earlier OpenSSL-based code derived.
//
// THREADING: Sha256 is one object per caller; sha256() and sha256Hex() are pure functions.
// Not for secrets: nothing here is constant-time or wiped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace polycsi::rds_nvme {

// A SHA-256 digest being computed: update() any number of times, then digest() once.
class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  // Appends `bytes` to the message. Not after digest().
  void update(std::string_view bytes);
  // Pads the message, finishes it and returns its digest. Call once; the object is spent.
  Digest digest();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> block_{};
  size_t blockUsed_ = 0;
  uint64_t messageBytes_ = 0;
};

// SHA-256 of `message`.
Sha256::Digest sha256(std::string_view message);

// The first `hexDigits` (at most 64) lower-case hex digits of SHA-256(`message`).
std::string sha256Hex(std::string_view message, size_t hexDigits = 64);

}  // namespace polycsi::rds_nvme
