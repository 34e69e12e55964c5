#include "host_identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "message_text.hpp"
#include "nvme_module.hpp"
#include "polycsi/types.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {
namespace {

namespace fs = std::filesystem;

// The file's first line, trimmed; nullopt when the file does not exist.
std::optional<std::string> readFirstLine(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  std::ifstream in(file);
  if (!in)
    throw Error(Code::kInternal, "cannot read " + file.string() + ": " + std::strerror(errno));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  size_t start = 0;
  while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
  return line.substr(start);
}

std::string checkedNqn(const std::string& text, const fs::path& file) {
  try {
    return Nqn::parse(text, "host NQN").str();
  } catch (const Error& e) {
    throw Error(Code::kFailedPrecondition, "the NVMe host NQN file " + file.string() +
                                               " does not hold a valid NQN: " + e.what());
  }
}

[[noreturn]] void failed(const char* step, const fs::path& file) {
  throw Error(Code::kInternal,
              std::string("cannot ") + step + " " + file.string() + ": " + std::strerror(errno));
}

void writeFileAtomically(const fs::path& file, const std::string& text) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    throw Error(Code::kInternal,
                "cannot create " + file.parent_path().string() + ": " + ec.message());
  fs::path temp = file;
  temp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) failed("create", temp);
  // The mode must not depend on the process's umask: other initiators read this file.
  if (::fchmod(fd, 0644) != 0 ||
      ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    errno = err;
    failed("write", temp);
  }
  ::close(fd);
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    errno = err;
    failed("replace", file);
  }
}

bool isUuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace

std::string loadOrCreateHostNqn(const fs::path& file) {
  // Reading the file needs no libnvme: only a node without the file loads the NVMe library.
  if (auto text = readFirstLine(file)) return checkedNqn(*text, file);
  std::string generated;
  if (!nvmeModule().generateHostNqn(generated))
    throw Error(Code::kInternal, "libnvme could not generate a host NQN for " + file.string());
  writeFileAtomically(file, checkedNqn(generated, file) + "\n");
  auto written = readFirstLine(file);
  if (!written) throw Error(Code::kInternal, file.string() + " vanished right after writing it");
  return checkedNqn(*written, file);
}

std::optional<std::string> loadHostId(const fs::path& file) {
  auto text = readFirstLine(file);
  if (!text) return std::nullopt;
  if (!isUuid(*text))
    throw Error(Code::kFailedPrecondition,
                "the NVMe host ID file " + file.string() +
                    " does not hold a UUID: " + printableForMessage(*text));
  return text;
}

}  // namespace polycsi::rds_nvme
