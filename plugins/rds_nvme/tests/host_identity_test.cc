// The node's host NQN and host ID files.
#include "host_identity.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

namespace fs = std::filesystem;

class HostIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/polycsi-hostnqn-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  fs::path dir_;
};

TEST_F(HostIdentityTest, ReadsTheFileTrimmed) {
  write(dir_ / "hostnqn", "nqn.2014-08.org.nvmexpress:uuid:0f3c1a2b-aaaa-bbbb-cccc-000000000001\n");
  EXPECT_EQ(loadOrCreateHostNqn(dir_ / "hostnqn"),
            "nqn.2014-08.org.nvmexpress:uuid:0f3c1a2b-aaaa-bbbb-cccc-000000000001");
}

TEST_F(HostIdentityTest, GeneratesOnceWithLibnvmeAndKeepsIt) {
  fs::path file = dir_ / "etc" / "nvme" / "hostnqn";
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
  write(dir_ / "hostnqn", "not-an-nqn,transport=rdma\n");
  try {
    loadOrCreateHostNqn(dir_ / "hostnqn");
    FAIL() << "garbage accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find((dir_ / "hostnqn").string()), std::string::npos);
  }
}

TEST_F(HostIdentityTest, HostIdIsOptionalButMustBeAUuid) {
  EXPECT_FALSE(loadHostId(dir_ / "hostid").has_value());
  write(dir_ / "hostid", "0f3c1a2b-aaaa-bbbb-cccc-000000000001\n");
  EXPECT_EQ(loadHostId(dir_ / "hostid"), "0f3c1a2b-aaaa-bbbb-cccc-000000000001");
  write(dir_ / "hostid", "0f3c1a2b,hostnqn=x\n");
  try {
    loadHostId(dir_ / "hostid");
    FAIL() << "garbage accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
