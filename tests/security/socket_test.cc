// The CSI socket: created owner-only (0600, refused to other users), a stale socket from an
// earlier run is replaced, and anything else at the path (a symlink, a regular file) is
// refused and left as it was: never followed, chmod-ed or deleted.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "driver_process.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

constexpr uid_t kNobody = 65534;

std::string sampleBackend(const std::string& work) {
  return "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
         "    settings:\n      directory: " +
         work + "/volumes\n";
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// connect(2) to `path` as `uid` in a child process; returns the errno (0: connected).
int connectErrnoAs(uid_t uid, const std::string& path) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(200);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::_exit(rc == 0 ? 0 : (errno & 0x7f));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CsiSocketTest, IsOwnerOnlyAndRefusesOtherUsers) {
  ASSERT_EQ(::geteuid(), 0u) << "run as root: the test connects as another user (nobody)";
  TempDir work;
  // Let other users reach the directory, so only the socket's own mode can stop them.
  ASSERT_EQ(::chmod(work.str().c_str(), 0711), 0);
  DriverProcess driver(work.str(), sampleBackend(work.str()));
  driver.start();
  const std::string socket = work.str() + "/csi.sock";
  struct stat st {};
  ASSERT_EQ(::lstat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(connectErrnoAs(kNobody, socket), EACCES) << "another user reached the CSI socket";
  EXPECT_EQ(connectErrnoAs(0, socket), 0) << "the owner must be able to connect";
}

TEST(CsiSocketTest, AStaleSocketFromAnEarlierRunIsReplaced) {
  TempDir work;
  const std::string socket = work.str() + "/csi.sock";
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket.c_str(), sizeof(address.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::close(fd);  // the file stays: a socket nobody listens on, as after a crash
  }
  DriverProcess driver(work.str(), sampleBackend(work.str()));
  ASSERT_NO_THROW(driver.start());
  struct stat st {};
  ASSERT_EQ(::lstat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// Regression: the driver unlinked whatever was at the path and chmod-ed the path after
// binding, which follows a symlink swapped in meanwhile.
TEST(CsiSocketTest, ASymlinkAtThePathIsRefusedAndNotFollowed) {
  TempDir work;
  const std::string victim = work.str() + "/victim.conf";
  std::ofstream(victim) << "important=1\n";
  ASSERT_EQ(::chmod(victim.c_str(), 0644), 0);
  const std::string socket = work.str() + "/csi.sock";
  ASSERT_EQ(::symlink(victim.c_str(), socket.c_str()), 0);

  DriverProcess driver(work.str(), sampleBackend(work.str()));
  try {
    driver.start();
    FAIL() << "the driver started over a symlink at its socket path";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is a symlink; refusing to replace it"), std::string::npos)
        << e.what();
  }
  struct stat link {};
  ASSERT_EQ(::lstat(socket.c_str(), &link), 0);
  EXPECT_TRUE(S_ISLNK(link.st_mode)) << "the symlink was removed or replaced";
  struct stat target {};
  ASSERT_EQ(::stat(victim.c_str(), &target), 0);
  EXPECT_TRUE(S_ISREG(target.st_mode));
  EXPECT_EQ(target.st_mode & 07777, 0644u) << "the symlink's target was chmod-ed";
  EXPECT_EQ(readFile(victim), "important=1\n");
}

TEST(CsiSocketTest, ARegularFileAtThePathIsRefusedAndKept) {
  TempDir work;
  const std::string socket = work.str() + "/csi.sock";
  std::ofstream(socket) << "not a socket\n";
  DriverProcess driver(work.str(), sampleBackend(work.str()));
  try {
    driver.start();
    FAIL() << "the driver replaced a regular file at its socket path";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is a regular file; refusing to replace it"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(readFile(socket), "not a socket\n");
}

}  // namespace
}  // namespace polycsi::testing
