#include "secret_scan.hpp"

#include <fstream>
#include <sstream>

namespace polycsi::testing {

std::vector<SecretLeak> findSecrets(const std::string& text,
                                    const std::vector<std::string>& secrets,
                                    const std::string& source) {
  std::vector<SecretLeak> leaks;
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + 1)) {
      const std::size_t from = at > 30 ? at - 30 : 0;
      leaks.push_back({secret, source, text.substr(from, secret.size() + 60)});
    }
  }
  return leaks;
}

std::vector<SecretLeak> findSecretsInFiles(const std::filesystem::path& root,
                                           const std::vector<std::string>& secrets) {
  std::vector<SecretLeak> leaks;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    for (auto& leak : findSecrets(content.str(), secrets, it->path().string()))
      leaks.push_back(std::move(leak));
  }
  return leaks;
}

std::string describe(const std::vector<SecretLeak>& leaks) {
  std::string text;
  for (const auto& leak : leaks)
    text += "secret '" + leak.secret + "' in " + leak.source + ": ..." + leak.context + "...\n";
  return text;
}

}  // namespace polycsi::testing
