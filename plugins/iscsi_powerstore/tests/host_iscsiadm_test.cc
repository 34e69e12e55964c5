// The host's iscsiadm: the argument vector of each mode, finding it under the host's root as the
// host's own links lead, and the refusal on a node without open-iscsi.
#include "host_iscsiadm.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "polycsi/types.hpp"
#include "temp_directory.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

using polycsi::testing::TempDir;
namespace fs = std::filesystem;

void makeExecutable(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "";
  ::chmod(path.c_str(), 0755);
}

Error errorOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(Code::kOk, "");
}

TEST(HostIscsiadmTest, OnTheHostItselfTheArgvIsTheHostsIscsiadm) {
  EXPECT_EQ(hostIscsiadmArgv("/", "/usr/sbin/iscsiadm", {"-m", "session"}),
            (std::vector<std::string>{"/usr/sbin/iscsiadm", "-m", "session"}));
}

TEST(HostIscsiadmTest, InAPodTheArgvChrootsIntoTheHostRoot) {
  EXPECT_EQ(
      hostIscsiadmArgv("/host", "/sbin/iscsiadm", {"-m", "node", "--login"}),
      (std::vector<std::string>{"chroot", "/host", "/sbin/iscsiadm", "-m", "node", "--login"}));
}

TEST(HostIscsiadmTest, FindsIscsiadmWhereTheHostKeepsIt) {
  TempDir dir;
  const fs::path merged = dir.path() / "merged";  // /sbin -> usr/sbin, as with merged /usr
  makeExecutable(merged / "usr" / "sbin" / "iscsiadm");
  fs::create_directory_symlink("usr/sbin", merged / "sbin");
  EXPECT_EQ(findHostIscsiadm(merged), "/usr/sbin/iscsiadm");

  const fs::path split = dir.path() / "split";  // an older layout: only /sbin
  makeExecutable(split / "sbin" / "iscsiadm");
  fs::create_directories(split / "usr" / "sbin");
  EXPECT_EQ(findHostIscsiadm(split), "/sbin/iscsiadm");

  // Not executable is not an iscsiadm to run; the next place is looked at.
  const fs::path local = dir.path() / "local";
  makeExecutable(local / "usr" / "local" / "sbin" / "iscsiadm");
  fs::create_directories(local / "usr" / "sbin");
  std::ofstream(local / "usr" / "sbin" / "iscsiadm") << "";
  ::chmod((local / "usr" / "sbin" / "iscsiadm").c_str(), 0644);
  EXPECT_EQ(findHostIscsiadm(local), "/usr/local/sbin/iscsiadm");
}

// A host whose /usr/sbin/iscsiadm is an absolute link (as packaging tools make them) must be
// followed inside the host's root, not into the container's own /usr.
TEST(HostIscsiadmTest, AbsoluteLinksOfTheHostResolveInsideTheHostRoot) {
  TempDir dir;
  const fs::path root = dir.path() / "host";
  makeExecutable(root / "opt" / "open-iscsi" / "iscsiadm");
  fs::create_directories(root / "usr" / "sbin");
  fs::create_symlink("/opt/open-iscsi/iscsiadm", root / "usr" / "sbin" / "iscsiadm");
  EXPECT_EQ(findHostIscsiadm(root), "/usr/sbin/iscsiadm");

  fs::create_directories(root / "etc" / "static" / "iscsi");
  fs::create_directory_symlink("/etc/static/iscsi", root / "etc" / "iscsi");
  EXPECT_EQ(resolveOnHost(root, "/etc/iscsi/initiatorname.iscsi"),
            root / "etc" / "static" / "iscsi" / "initiatorname.iscsi");
  // ".." never climbs out of the host's root.
  EXPECT_EQ(resolveOnHost(root, "/../../etc/iscsi/nodes"),
            root / "etc" / "static" / "iscsi" / "nodes");
  fs::create_symlink("loop", root / "loop");
  EXPECT_EQ(errorOf([&] { resolveOnHost(root, "/loop/x"); }).code(), Code::kFailedPrecondition);
}

TEST(HostIscsiadmTest, AHostWithoutOpenIscsiIsFailedPreconditionNamingWhatIsMissing) {
  TempDir dir;
  const fs::path root = dir.path() / "host";
  fs::create_directories(root / "usr" / "sbin");
  const Error missing = errorOf([&] { findHostIscsiadm(root); });
  EXPECT_EQ(missing.code(), Code::kFailedPrecondition);
  const std::string text = missing.what();
  EXPECT_NE(text.find("no iscsiadm"), std::string::npos) << text;
  EXPECT_NE(text.find("/usr/sbin/iscsiadm"), std::string::npos) << text;
  EXPECT_NE(text.find(root.string()), std::string::npos) << text;
  EXPECT_NE(text.find("install open-iscsi"), std::string::npos) << text;

  const Error noRoot = errorOf([&] { findHostIscsiadm(dir.path() / "not-mounted"); });
  EXPECT_EQ(noRoot.code(), Code::kFailedPrecondition);
  EXPECT_NE(std::string(noRoot.what()).find("iscsi_host_root"), std::string::npos) << noRoot.what();
}

TEST(HostIscsiadmTest, HostRootMustBeAPlainAbsolutePath) {
  EXPECT_EQ(validateHostRoot("iscsi_host_root", "/"), "/");
  EXPECT_EQ(validateHostRoot("iscsi_host_root", "/host/"), "/host");
  EXPECT_EQ(validateHostRoot("iscsi_host_root", "/var/lib/host-root_1.d"),
            "/var/lib/host-root_1.d");
  for (const char* bad : {"", "host", "/host/..", "/host/./x", "//host", "/a//b", "/ho st",
                          "/host;id", "/$(id)", "/host\n"}) {
    const Error e = errorOf([&] { validateHostRoot("iscsi_host_root", bad); });
    EXPECT_EQ(e.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(std::string(e.what()).find("iscsi_host_root"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
