#include "nvmet_exporter.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_directory.hpp"

namespace rds_sim {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::TempDir;

std::string readValue(const fs::path& path) {
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  return value;
}

NvmetExport exportOf(const std::string& nqn, std::vector<std::string> hosts = {}) {
  NvmetExport spec;
  spec.nqn = nqn;
  spec.backing_file = "/pool/" + nqn + ".img";
  spec.address = "10.0.0.1";
  spec.port = 4420;
  spec.allowed_hosts = std::move(hosts);
  return spec;
}

TEST(NvmetExporter, ExportsASubsystemOnATcpPort) {
  TempDir root;
  NvmetExporter exporter(root.path());
  exporter.apply(exportOf("nqn.a"));
  const fs::path subsystem = root.path() / "subsystems" / "nqn.a";
  EXPECT_EQ(readValue(subsystem / "attr_allow_any_host"), "1");
  EXPECT_EQ(readValue(subsystem / "namespaces" / "1" / "device_path"), "/pool/nqn.a.img");
  EXPECT_EQ(readValue(subsystem / "namespaces" / "1" / "enable"), "1");
  const fs::path port = root.path() / "ports" / "1";
  EXPECT_EQ(readValue(port / "addr_trtype"), "tcp");
  EXPECT_EQ(readValue(port / "addr_adrfam"), "ipv4");
  EXPECT_EQ(readValue(port / "addr_traddr"), "10.0.0.1");
  EXPECT_EQ(readValue(port / "addr_trsvcid"), "4420");
  ASSERT_TRUE(fs::is_symlink(port / "subsystems" / "nqn.a"));
  EXPECT_EQ(fs::read_symlink(port / "subsystems" / "nqn.a"), subsystem);

  // A second subsystem on the same address and port shares the port.
  exporter.apply(exportOf("nqn.b"));
  EXPECT_TRUE(fs::is_symlink(port / "subsystems" / "nqn.b"));
  EXPECT_FALSE(fs::exists(root.path() / "ports" / "2"));
}

TEST(NvmetExporter, HonoursTheAllowList) {
  TempDir root;
  NvmetExporter exporter(root.path());
  exporter.apply(exportOf("nqn.a", {"nqn.host-1", "nqn.host-2"}));
  const fs::path subsystem = root.path() / "subsystems" / "nqn.a";
  EXPECT_EQ(readValue(subsystem / "attr_allow_any_host"), "0");
  EXPECT_TRUE(fs::is_symlink(subsystem / "allowed_hosts" / "nqn.host-1"));
  EXPECT_TRUE(fs::is_symlink(subsystem / "allowed_hosts" / "nqn.host-2"));
  EXPECT_TRUE(fs::is_directory(root.path() / "hosts" / "nqn.host-1"));

  // Fencing: narrowing the list unlinks (and drops) the host no longer allowed.
  exporter.apply(exportOf("nqn.a", {"nqn.host-2"}));
  EXPECT_FALSE(fs::exists(subsystem / "allowed_hosts" / "nqn.host-1"));
  EXPECT_FALSE(fs::exists(root.path() / "hosts" / "nqn.host-1"));
  EXPECT_TRUE(fs::is_symlink(subsystem / "allowed_hosts" / "nqn.host-2"));

  // An empty list opens the export to any host again.
  exporter.apply(exportOf("nqn.a"));
  EXPECT_EQ(readValue(subsystem / "attr_allow_any_host"), "1");
  EXPECT_TRUE(fs::is_empty(subsystem / "allowed_hosts"));
}

TEST(NvmetExporter, RemovesTheExportAndItsUnusedPort) {
  TempDir root;
  NvmetExporter exporter(root.path());
  exporter.apply(exportOf("nqn.a", {"nqn.host-1"}));
  exporter.apply(exportOf("nqn.b", {"nqn.host-1"}));
  exporter.remove("nqn.a");
  EXPECT_FALSE(fs::exists(root.path() / "subsystems" / "nqn.a"));
  EXPECT_FALSE(fs::exists(root.path() / "ports" / "1" / "subsystems" / "nqn.a"));
  EXPECT_TRUE(fs::exists(root.path() / "ports" / "1"));
  EXPECT_TRUE(fs::exists(root.path() / "hosts" / "nqn.host-1"));  // nqn.b still allows it
  exporter.remove("nqn.b");
  EXPECT_FALSE(fs::exists(root.path() / "ports" / "1"));
  EXPECT_FALSE(fs::exists(root.path() / "hosts" / "nqn.host-1"));
  exporter.remove("nqn.b");  // removing again is a no-op
}

TEST(NvmetExporter, MovesASubsystemToItsNewPort) {
  TempDir root;
  NvmetExporter exporter(root.path());
  exporter.apply(exportOf("nqn.a"));
  NvmetExport moved = exportOf("nqn.a");
  moved.port = 4421;
  exporter.apply(moved);
  EXPECT_FALSE(fs::exists(root.path() / "ports" / "1"));
  EXPECT_EQ(readValue(root.path() / "ports" / "2" / "addr_trsvcid"), "4421");
  EXPECT_TRUE(fs::is_symlink(root.path() / "ports" / "2" / "subsystems" / "nqn.a"));
}

TEST(NvmetExporter, ParsesTheRouterOsAllowList) {
  EXPECT_TRUE(NvmetExporter::parseAllowList("").empty());
  EXPECT_EQ(NvmetExporter::parseAllowList("nqn.a, nqn.b,,nqn.a"),
            (std::vector<std::string>{"nqn.a", "nqn.b"}));
}

}  // namespace
}  // namespace rds_sim
