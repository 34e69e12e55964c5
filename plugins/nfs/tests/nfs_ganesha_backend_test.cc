// The nfs backend in-process (SDK FakeHost) against a real nfs-ganesha, for what the gRPC
// tests cannot see from outside: sparse copies, hashed ids, and a server that accepts
// connections but never answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ganesha_backend_test.hpp"
#include "ganesha_server.hpp"
#include "nfs_client.hpp"

namespace polycsi::nfs::testing {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::GaneshaServer;

class NfsBackendTest : public GaneshaBackendTest {
 protected:
  PluginInstance& start(const StringMap& extra = {}) {
    return startBackend("nfs-test", /*timeoutSeconds=*/2, extra);
  }
  static CreateVolumeRequest createRequest(const std::string& name, std::string source = {}) {
    CreateVolumeRequest r;
    r.name = name;
    r.requiredBytes = 1 << 20;
    r.sourceId = std::move(source);
    return r;
  }
};

TEST_F(NfsBackendTest, SnapshotOfASparseFileStaysSparse) {
  auto& b = start();
  auto vol = b.createVolume(createRequest("pvc-sparse"));
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  const int64_t size = 64 << 20;
  {
    // A 64 MiB file with 4 KiB of data in the middle, made on the server's side.
    std::string path = server_.exportDir() + "/pvc-sparse/disk.img";
    std::ofstream out(path, std::ios::binary);
    out.seekp(size / 2);
    out << std::string(4096, 'd');
    out.close();
    fs::resize_file(path, size);
  }
  CreateSnapshotRequest snap;
  snap.name = "snap-sparse";
  snap.sourceVolumeId = vol->id;
  auto made = b.createSnapshot(snap);
  ASSERT_TRUE(made.isOk()) << made.status().toString();
  struct stat st {};
  std::string copy = server_.exportDir() + "/.snapshots/" + made->id + "/disk.img";
  ASSERT_EQ(::stat(copy.c_str(), &st), 0) << copy;
  EXPECT_EQ(st.st_size, size);
  EXPECT_LT(st.st_blocks * 512, 8 << 20) << "the copy wrote the holes";
  std::ifstream in(copy, std::ios::binary);
  in.seekg(size / 2);
  std::string middle(4096, '\0');
  in.read(middle.data(), 4096);
  EXPECT_EQ(middle, std::string(4096, 'd'));
}

TEST_F(NfsBackendTest, NamesThatAreNoIdAreHashedAndFoundAgain) {
  auto& b = start();
  auto vol = b.createVolume(createRequest("volume with spaces"));
  ASSERT_TRUE(vol.isOk()) << vol.status().toString();
  EXPECT_EQ(vol->id.rfind("h-", 0), 0u);
  // Only the id is hashed: the directory keeps the name (spaces are fine in a path).
  EXPECT_TRUE(fs::is_directory(server_.exportDir() + "/volume with spaces"));
  auto got = b.getVolume(VolumeIdRequest{{}, vol->id, {}});
  ASSERT_TRUE(got.isOk()) << got.status().toString();
  EXPECT_EQ(got->context.at("subDir"), "volume with spaces");
  EXPECT_TRUE(b.deleteVolume(VolumeIdRequest{{}, vol->id, {}}).isOk());
  EXPECT_FALSE(fs::exists(server_.exportDir() + "/volume with spaces"));
}

TEST_F(NfsBackendTest, ConcurrentSessionsKeepTheirOwnNfsV4State) {
  // Calls for different volumes run at once, each with its own sessions (and a call with a
  // StorageClass on another export holds two): opening one must not expire another's state.
  NfsTarget target{{"127.0.0.1", GaneshaServer::share()},
                   4,
                   server_.nfsPort(),
                   std::nullopt,
                   std::chrono::seconds(2)};
  auto first = NfsSession::connect(target, Call{});
  auto second = NfsSession::connect(target, Call{});
  auto third = NfsSession::connect(target, Call{});
  first->writeFileAtomically("from-first", "1");
  second->writeFileAtomically("from-second", "2");
  third->writeFileAtomically("from-third", "3");
  EXPECT_EQ(first->readFile("from-third", 16), "3");
  EXPECT_EQ(std::ifstream(server_.exportDir() + "/from-first").get(), '1');
}

TEST_F(NfsBackendTest, ExistingForeignDirectoryIsNeverAdopted) {
  auto& b = start();
  fs::create_directories(server_.exportDir() + "/someone-else");
  std::ofstream(server_.exportDir() + "/someone-else/data") << "precious";
  auto vol = b.createVolume(createRequest("someone-else"));
  ASSERT_FALSE(vol.isOk());
  EXPECT_EQ(vol.status().code(), Code::kAlreadyExists) << vol.status().toString();
  EXPECT_TRUE(fs::exists(server_.exportDir() + "/someone-else/data"));
}

// A TCP listener that accepts connections and never answers: a hung server.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(NfsBackendTest, AHungServerTimesOutWithDeadlineExceeded) {
  SilentListener silent;
  polycsi::testing::FakeHost host;
  InstanceConfig config;
  config.instanceName = "nfs-hung";
  config.settings = {{"server", "127.0.0.1"},
                     {"share", "/export"},
                     {"nfs_port", std::to_string(silent.port())},
                     {"timeout_seconds", "1"}};
  auto started = host.start(polycsi_plugin_entry(), config);
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  CapacityRequest req;
  req.call.timeout = std::chrono::seconds(60);
  auto capacity = (*started)->getCapacity(req);
  ASSERT_FALSE(capacity.isOk());
  EXPECT_EQ(capacity.status().code(), Code::kDeadlineExceeded) << capacity.status().toString();
  EXPECT_NE(capacity.status().message().find("no answer within 1 s"), std::string::npos)
      << capacity.status().toString();
}

TEST_F(NfsBackendTest, ARefusedConnectionIsUnavailable) {
  auto& b = start();
  server_.stop();
  auto vol = b.getVolume(VolumeIdRequest{{}, "pvc-x", {}});
  ASSERT_FALSE(vol.isOk());
  EXPECT_EQ(vol.status().code(), Code::kUnavailable) << vol.status().toString();
  EXPECT_NE(vol.status().message().find("cannot mount NFS export 127.0.0.1:/export"),
            std::string::npos)
      << vol.status().toString();
}

}  // namespace
}  // namespace polycsi::nfs::testing
