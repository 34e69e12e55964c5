// The node's record of the connections it made and uses.
#include "connection_record.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "polycsi/types.hpp"
#include "temp_directory.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

namespace fs = std::filesystem;

class ConnectionRecordTest : public ::testing::Test {
 protected:
  polycsi::testing::TempDir dir_{"polycsi-record"};
};

TEST_F(ConnectionRecordTest, SurvivesARestart) {
  SubsystemRecord a{"nqn.2000-02.com.mikrotik:pvc-a",
                    "pvc-a",
                    {"10.0.0.1", "10.0.1.1"},
                    "4420",
                    {{"nvme1", true, "10.0.0.1"}, {"nvme4", false, "10.0.1.1"}},
                    {"/staging/a1", "/staging/a2"},
                    false};
  SubsystemRecord b{
      "nqn.2000-02.com.mikrotik:pvc-b", "pvc-b", {"10.0.0.1"}, "4420", {}, {"/s/b"}, true};
  {
    ConnectionRecord record(dir_.path());
    record.put(a);
    record.put(b);
    record.erase("nqn.2000-02.com.mikrotik:pvc-none");  // absent: fine
  }
  ConnectionRecord again(dir_.path());
  EXPECT_EQ(again.find(a.nqn), a);
  EXPECT_EQ(again.find(b.nqn), b);
  EXPECT_EQ(again.forVolume("pvc-b"), std::vector<SubsystemRecord>{b});
  EXPECT_TRUE(again.forVolume("pvc-c").empty());
  again.erase(a.nqn);
  EXPECT_EQ(ConnectionRecord(dir_.path()).all(), std::vector<SubsystemRecord>{b});
  EXPECT_FALSE(fs::exists(dir_.path() / "nvme-connections.json.tmp"));
}

// A file written before multipath: one address per entry, none per controller. It loads as one
// path that every controller connects, so an upgrade still disconnects what it made.
TEST_F(ConnectionRecordTest, AFileFromBeforeMultipathLoadsAsOnePath) {
  std::ofstream(dir_.path() / "nvme-connections.json")
      << R"({"subsystems": [{"nqn": "nqn.2000-02.com.mikrotik:pvc-a", "volume_id": "pvc-a",
           "address": "10.0.0.1", "port": "4420",
           "controllers": [{"name": "nvme1", "owned": true}, {"name": "nvme2", "owned": false}],
           "staging_paths": ["/staging/a"], "connecting": false}]})";
  ConnectionRecord record(dir_.path());
  SubsystemRecord expected{"nqn.2000-02.com.mikrotik:pvc-a",
                           "pvc-a",
                           {"10.0.0.1"},
                           "4420",
                           {{"nvme1", true, "10.0.0.1"}, {"nvme2", false, "10.0.0.1"}},
                           {"/staging/a"},
                           false};
  EXPECT_EQ(record.find(expected.nqn), expected);
  // Written again, it keeps "address" (the first path) for a downgrade to read.
  record.put(expected);
  std::ifstream in(dir_.path() / "nvme-connections.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"address\": \"10.0.0.1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"addresses\""), std::string::npos) << text;
}

TEST_F(ConnectionRecordTest, ACorruptFileIsNamedInTheError) {
  std::ofstream(dir_.path() / "nvme-connections.json") << "{\"subsystems\": [ {\"nqn\": 1} ]}";
  try {
    ConnectionRecord record(dir_.path());
    FAIL() << "corrupt record accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInternal);
    EXPECT_NE(std::string(e.what()).find("nvme-connections.json"), std::string::npos);
  }
}

TEST_F(ConnectionRecordTest, AFailedWriteChangesNothing) {
  ConnectionRecord record(dir_.path() / "missing-dir");
  SubsystemRecord a{"nqn.2000-02.com.mikrotik:pvc-a", "pvc-a", {"10.0.0.1"}, "4420", {}, {}, false};
  EXPECT_THROW(record.put(a), Error);
  EXPECT_FALSE(record.find(a.nqn).has_value());
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
