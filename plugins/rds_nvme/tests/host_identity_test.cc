// The node's host NQN and host ID files.
#include "host_identity.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "polycsi/types.hpp"
#include "temp_directory.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

namespace fs = std::filesystem;

class HostIdentityTest : public ::testing::Test {
 protected:
  void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  polycsi::testing::TempDir dir_{"polycsi-hostnqn"};
};

TEST_F(HostIdentityTest, ReadsTheFileTrimmed) {
  write(dir_.path() / "hostnqn",
        "nqn.2014-08.org.nvmexpress:uuid:0f3c1a2b-aaaa-bbbb-cccc-000000000001\n");
  EXPECT_EQ(loadOrCreateHostNqn(dir_.path() / "hostnqn"),
            "nqn.2014-08.org.nvmexpress:uuid:0f3c1a2b-aaaa-bbbb-cccc-000000000001");
}

TEST_F(HostIdentityTest, GeneratesOnceWithLibnvmeAndKeepsIt) {
  fs::path file = dir_.path() / "etc" / "nvme" / "hostnqn";
  mode_t old = ::umask(077);  // the file must be readable by others whatever the umask
  std::string first = loadOrCreateHostNqn(file);
  ::umask(old);
  EXPECT_EQ(first.rfind("nqn.2014-08.org.nvmexpress:uuid:", 0), 0u) << first;
  EXPECT_EQ(first.size(), std::string("nqn.2014-08.org.nvmexpress:uuid:").size() + 36);
  std::ifstream in(file);
  std::string stored;
  std::getline(in, stored);
  EXPECT_EQ(stored, first);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(loadOrCreateHostNqn(file), first);  // kept, not generated again
  EXPECT_EQ(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator()),
            1);  // no temporary file left behind
}

TEST_F(HostIdentityTest, GarbageInTheFileIsAClearPrecondition) {
  write(dir_.path() / "hostnqn", "not-an-nqn,transport=rdma\n");
  try {
    loadOrCreateHostNqn(dir_.path() / "hostnqn");
    FAIL() << "garbage accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find((dir_.path() / "hostnqn").string()), std::string::npos);
  }
}

TEST_F(HostIdentityTest, HostIdIsOptionalButMustBeAUuid) {
  EXPECT_FALSE(loadHostId(dir_.path() / "hostid").has_value());
  write(dir_.path() / "hostid", "0f3c1a2b-aaaa-bbbb-cccc-000000000001\n");
  EXPECT_EQ(loadHostId(dir_.path() / "hostid"), "0f3c1a2b-aaaa-bbbb-cccc-000000000001");
  write(dir_.path() / "hostid", "0f3c1a2b,hostnqn=x\n");
  try {
    loadHostId(dir_.path() / "hostid");
    FAIL() << "garbage accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
