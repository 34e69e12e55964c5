#include "disk_store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_directory.hpp"

namespace rds_sim {
namespace {

using polycsi::testing::TempDir;

std::vector<Pool> poolsIn(const TempDir& dir) {
  return {Pool{"storage-pool", dir.path() / "pool", std::uint64_t{1} << 40}};
}

TEST(DiskStore, KeepsDisksAcrossReload) {
  TempDir dir;
  Disk disk;
  {
    DiskStore store(dir.path(), poolsIn(dir));
    disk.id = store.allocateId();
    disk.slot = "pvc-1";
    disk.file_path = "/storage-pool/pvc-1.img";
    disk.file_size = 50ull << 30;
    disk.nvme_tcp_export = true;
    disk.nvme_tcp_server_nqn = "nqn.2000-02.com.mikrotik:pvc-1";
    disk.nvme_tcp_server_allow_host_name = "nqn.host-a,nqn.host-b";
    disk.comment = "a \"comment\"";
    store.addDisk(disk);
    Disk second = disk;
    second.id = store.allocateId();
    second.slot = "pvc-2";
    store.addDisk(second);
    store.removeDisk(second.id);
  }
  DiskStore reloaded(dir.path(), poolsIn(dir));
  ASSERT_EQ(reloaded.disks().size(), 1u);
  const Disk& loaded = reloaded.disks().front();
  EXPECT_EQ(loaded.id, disk.id);
  EXPECT_EQ(loaded.slot, "pvc-1");
  EXPECT_EQ(loaded.file_size, 50ull << 30);
  EXPECT_TRUE(loaded.nvme_tcp_export);
  EXPECT_EQ(loaded.nvme_tcp_server_allow_host_name, "nqn.host-a,nqn.host-b");
  EXPECT_EQ(loaded.comment, "a \"comment\"");
  // Ids are never reused, even those of removed disks.
  EXPECT_GT(reloaded.allocateId(), disk.id + 1);
}

TEST(DiskStore, RejectsAMalformedStateFile) {
  TempDir dir;
  std::ofstream(dir.path() / "rds-sim-state.json") << "{ not json";
  EXPECT_THROW(DiskStore(dir.path(), poolsIn(dir)), std::runtime_error);
}

TEST(DiskStore, ResolvesPathsOnlyInsidePools) {
  TempDir dir;
  DiskStore store(dir.path(), poolsIn(dir));
  const auto resolved = store.resolve("storage-pool/k8s/a.img");
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->routeros_path, "/storage-pool/k8s/a.img");
  EXPECT_EQ(resolved->host_path, dir.path() / "pool" / "k8s" / "a.img");
  EXPECT_EQ(store.routerOsName(resolved->host_path), "storage-pool/k8s/a.img");
  EXPECT_FALSE(store.resolve("/other-pool/a.img"));
  EXPECT_FALSE(store.resolve("/storage-pool/../escape.img"));
  EXPECT_FALSE(store.resolve("/storage-pool//a.img"));
  EXPECT_FALSE(store.resolve("/storage-pool/dir/"));
}

TEST(DiskStore, CountsApparentFileSizesAsUsed) {
  TempDir dir;
  DiskStore store(dir.path(), poolsIn(dir));
  std::filesystem::resize_file(
      (std::ofstream(dir.path() / "pool" / "a.img"), dir.path() / "pool" / "a.img"), 4096);
  std::filesystem::create_directories(dir.path() / "pool" / "sub");
  std::filesystem::resize_file(
      (std::ofstream(dir.path() / "pool" / "sub" / "b.img"), dir.path() / "pool" / "sub" / "b.img"),
      1000);
  EXPECT_EQ(store.usedBytes(store.pools().front()), 5096u);
}

}  // namespace
}  // namespace rds_sim
