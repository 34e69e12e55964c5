#include "message_text.hpp"

#include <cstdio>

namespace polycsi::rds_nvme {

std::string printableForMessage(std::string_view text) {
  constexpr size_t kShown = 80;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kShown; ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u >= 0x7f || text[i] == '\\' || text[i] == '\'') {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", u);
      out += buffer;
    } else {
      out += text[i];
    }
  }
  out += "'";
  if (text.size() > kShown) out += " (" + std::to_string(text.size()) + " characters)";
  return out;
}

}  // namespace polycsi::rds_nvme
