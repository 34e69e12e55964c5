// Invariant checks inside fuzz targets. A broken invariant prints what was expected and what
// the code did, then aborts, so libFuzzer records the input as a crash artifact.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace polycsi::fuzz {

[[noreturn]] inline void invariantBroken(const char* condition, const char* file, int line,
                                         const std::string& detail) {
  std::fprintf(stderr, "\n==polycsi-fuzz== invariant broken at %s:%d: %s\n%s\n", file, line,
               condition, detail.c_str());
  std::abort();
}

// `text` with every byte outside printable ASCII as \xNN, for invariant messages.
inline std::string visible(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace polycsi::fuzz

// Aborts with `detail` (a std::string expression, evaluated only on failure) unless `cond`.
#define POLYCSI_FUZZ_CHECK(cond, detail)                                              \
  do {                                                                                \
    if (!(cond)) ::polycsi::fuzz::invariantBroken(#cond, __FILE__, __LINE__, detail); \
  } while (0)
