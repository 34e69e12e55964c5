// What a driver process maps: TLS (libssl, libcrypto, with cpp-httplib and the driver's HTTP
// module) only when it calls the Kubernetes API. A node with the sample plugin, serving
// /metrics or not, or a driver without a Kubernetes API, must not map them: loading cpp-httplib
// initialises OpenSSL, some 3-4.7 MiB resident for the life of the process (bench/README.md).
// Likewise the rds_nvme plugin's SSH client (libssh, which initialises OpenSSL and brings Kerberos)
// only in a process that speaks SSH, never in a node; and the iscsi_powerstore plugin's REST
// client (libcurl, which brings OpenSSL, GnuTLS, Kerberos, LDAP and more) only in a process that
// calls the array's REST API, never in a node. The rds_nvme plugin's libnvme (which links
// libcrypto) only once a node connects a volume. And SQLite (libsqlite3, with the driver's
// attachment store module) only in a process that opens the attachment store, a controller.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "driver_process.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

// The file names of the shared objects `pid` maps (one per object, in /proc/<pid>/maps order).
std::vector<std::string> mappedObjects(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::vector<std::string> objects;
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.find(".so") == std::string::npos) continue;
    if (objects.empty() || objects.back() != name) objects.push_back(name);
  }
  return objects;
}

// The objects among `objects` whose name starts with one of `prefixes`.
std::vector<std::string> objectsNamed(const std::vector<std::string>& objects,
                                      const std::vector<std::string>& prefixes) {
  std::vector<std::string> found;
  for (const auto& name : objects) {
    for (const auto& prefix : prefixes) {
      if (name.rfind(prefix, 0) == 0) found.push_back(name);
    }
  }
  return found;
}

// The HTTP/TLS libraries.
const std::vector<std::string> kHttpLibraries = {"libssl.", "libcrypto.", "libcpp-httplib.",
                                                 "libpolycsi_httplib."};

// What comes with an SSH client.
const std::vector<std::string> kSshLibraries = {"libssh.", "libpolycsi_rds_nvme_ssh.",
                                                "libgssapi_krb5.", "libkrb5."};

// What comes with the PowerStore REST client.
const std::vector<std::string> kRestLibraries = {"libcurl.",   "libcurl-",
                                                 "libgnutls.", "libssl.",
                                                 "libcrypto.", "libpolycsi_iscsi_powerstore_rest."};

// What comes with the attachment store.
const std::vector<std::string> kStoreLibraries = {"libsqlite3.", "libpolycsi_attachment_store."};

// What comes with the rds_nvme plugin's NVMe library: libnvme and the libcrypto it links.
const std::vector<std::string> kNvmeLibraries = {"libnvme.", "libcrypto.",
                                                 "libpolycsi_rds_nvme_nvme."};

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : " ") + name;
  return text;
}

// The port in the driver's "serving /metrics and /healthz on 127.0.0.1:<port>" line; 0 when
// there is none.
int metricsPort(const std::string& log) {
  static const std::string kLine = "serving /metrics and /healthz on 127.0.0.1:";
  const size_t at = log.find(kLine);
  return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + kLine.size());
}

// GET `path` from 127.0.0.1:`port` over a plain socket (the test links no HTTP client on
// purpose); what the server sent until it closed, or "" when the connection failed.
std::string httpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) answer.append(buffer, n);
    }
  }
  close(fd);
  return answer;
}

class LoadedLibrariesTest : public ::testing::Test {
 protected:
  std::string sampleConfig() const {
    return "backends:\n  - name: local\n    plugin: sample\n    default: true\n    settings:\n"
           "      directory: " +
           work_.str() + "/volumes\n";
  }
  TempDir work_;
};

TEST_F(LoadedLibrariesTest, ANodeWithTheSamplePluginMapsNoTlsLibrary) {
  DriverProcess driver(work_.path(), sampleConfig(), "node-a", {"--mode", "node"});
  driver.start();
  const std::vector<std::string> objects = mappedObjects(driver.pid());
  ASSERT_FALSE(objects.empty()) << "no shared objects in /proc/" << driver.pid() << "/maps";
  EXPECT_EQ(join(objectsNamed(objects, kHttpLibraries)), "") << "mapped: " << join(objects);
  // Only the plugin the configuration names is loaded, not every plugin in the directory.
  std::vector<std::string> plugins;
  for (const auto& name : objects) {
    if (name.rfind("polycsi_", 0) == 0) plugins.push_back(name);
  }
  EXPECT_EQ(join(plugins), "polycsi_sample.so");
  driver.stop();
}

TEST_F(LoadedLibrariesTest, ADriverWithoutKubernetesApiOrMetricsMapsNoTlsLibrary) {
  DriverProcess driver(work_.path(), sampleConfig());
  driver.start();
  EXPECT_EQ(join(objectsNamed(mappedObjects(driver.pid()), kHttpLibraries)), "");
  driver.stop();
}

// A node runs the same configuration as the controller (one ConfigMap for both), SSH settings
// and all, and must still not load an SSH client: it never speaks SSH.
TEST_F(LoadedLibrariesTest, ANodeWithTheRdsPluginMapsNoSshLibrary) {
  const std::string config =
      "backends:\n  - name: rds\n    plugin: rds_nvme\n    default: true\n    settings:\n"
      "      address: 127.0.0.1\n      user: admin\n      password: secret\n"
      "      host_public_key: \"ssh-ed25519 "
      "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl rds\"\n"
      "      base_path: /storage-pool/polycsi\n"
      "      host_nqn_file: " +
      work_.str() + "/hostnqn\n";
  DriverProcess driver(work_.path(), config, "node-a", {"--mode", "node"});
  driver.start();
  const std::vector<std::string> objects = mappedObjects(driver.pid());
  EXPECT_NE(join(objects).find("polycsi_rds_nvme.so"), std::string::npos) << join(objects);
  EXPECT_EQ(join(objectsNamed(objects, kSshLibraries)), "") << "mapped: " << join(objects);
  driver.stop();
}

constexpr char kRdsHostNqn[] =
    "nqn.2014-08.org.nvmexpress:uuid:0f3c1a2b-aaaa-bbbb-cccc-000000000001";

// The rds_nvme settings as a deployment has them, the node's host NQN file written as nvme-cli
// leaves it.
std::string rdsNodeConfig(const std::string& work) {
  std::ofstream(work + "/hostnqn") << kRdsHostNqn << "\n";
  return "backends:\n  - name: rds\n    plugin: rds_nvme\n    default: true\n    settings:\n"
         "      address: 127.0.0.1\n      user: admin\n      password: secret\n"
         "      base_path: /storage-pool/polycsi\n"
         "      host_nqn_file: " +
         work + "/hostnqn\n";
}

// NodeStageVolume of an rds_nvme block volume whose target is 127.0.0.1:4420 (nothing listens;
// this machine has no /dev/nvme-fabrics either).
grpc::Status stageRdsVolume(DriverProcess& driver, const std::string& stagingPath) {
  std::filesystem::create_directories(stagingPath);
  const std::string slot = "pvc-0f3c1a2b-aaaa-bbbb-cccc-000000000001";
  csi::v1::NodeStageVolumeRequest request;
  request.set_volume_id("rds:" + slot);
  request.set_staging_target_path(stagingPath);
  auto* capability = request.mutable_volume_capability();
  capability->mutable_block();
  capability->mutable_access_mode()->set_mode(
      csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER);
  auto& context = *request.mutable_volume_context();
  context["nqn"] = "nqn.2000-02.com.mikrotik:" + slot;
  context["nvmeAddress"] = "127.0.0.1";
  context["nvmePort"] = "4420";
  csi::v1::NodeStageVolumeResponse response;
  auto rpc = rpcContext();
  return driver.node().NodeStageVolume(rpc.get(), request, &response);
}

// A node reads its host NQN from the file and maps neither libnvme nor the libcrypto it links
// until it connects a volume.
TEST_F(LoadedLibrariesTest, ANodeWithTheRdsPluginMapsNoNvmeLibraryNorLibcrypto) {
  DriverProcess driver(work_.path(), rdsNodeConfig(work_.str()), "node-a", {"--mode", "node"});
  driver.start();
  csi::v1::NodeGetInfoResponse info;
  auto context = rpcContext();
  ASSERT_TRUE(driver.node().NodeGetInfo(context.get(), {}, &info).ok()) << driver.log();
  EXPECT_NE(info.node_id().find(kRdsHostNqn), std::string::npos) << info.node_id();
  const std::vector<std::string> objects = mappedObjects(driver.pid());
  EXPECT_NE(join(objects).find("polycsi_rds_nvme.so"), std::string::npos) << join(objects);
  EXPECT_EQ(join(objectsNamed(objects, kNvmeLibraries)), "") << "mapped: " << join(objects);
  driver.stop();
}

// The first stage loads the NVMe library, from lib/ beside the plugin directory; the stage's
// own error is what it was (here: no NVMe over Fabrics on this machine).
TEST_F(LoadedLibrariesTest, ANodeLoadsTheNvmeLibraryOnItsFirstStage) {
  DriverProcess driver(work_.path(), rdsNodeConfig(work_.str()), "node-a", {"--mode", "node"});
  driver.start();
  const grpc::Status status = stageRdsVolume(driver, work_.str() + "/staging");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_NE(status.error_message().find("/dev/nvme-fabrics is missing"), std::string::npos)
      << status.error_message();
  const std::string mapped = join(mappedObjects(driver.pid()));
  EXPECT_NE(mapped.find("libpolycsi_rds_nvme_nvme.so"), std::string::npos) << mapped;
  EXPECT_NE(mapped.find("libnvme.so"), std::string::npos) << mapped;
  driver.stop();
}

// A plugin installed without its NVMe library still starts and reports its host NQN; staging a
// volume says which library is missing and where it belongs.
TEST_F(LoadedLibrariesTest, ANodeWithoutTheNvmeLibraryNamesIt) {
  const std::string plugins = work_.str() + "/plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::copy_file(std::string(POLYCSI_PLUGIN_DIR) + "/polycsi_rds_nvme.so",
                             plugins + "/polycsi_rds_nvme.so");
  DriverProcess driver(work_.path(), rdsNodeConfig(work_.str()), "node-a", {"--mode", "node"});
  driver.usePluginDir(plugins);
  driver.start();
  csi::v1::NodeGetInfoResponse info;
  auto context = rpcContext();
  ASSERT_TRUE(driver.node().NodeGetInfo(context.get(), {}, &info).ok()) << driver.log();
  EXPECT_NE(info.node_id().find(kRdsHostNqn), std::string::npos) << info.node_id();
  const grpc::Status status = stageRdsVolume(driver, work_.str() + "/staging");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_NE(status.error_message().find("cannot load the rds_nvme NVMe library " + work_.str() +
                                        "/lib/libpolycsi_rds_nvme_nvme.so"),
            std::string::npos)
      << status.error_message();
  driver.stop();
}

// The iscsi_powerstore settings as a deployment has them, for one array at `endpoint`. Nothing
// in a node-mode driver calls the array, so it need not exist.
std::string powerStoreConfig(const std::string& work, const std::string& endpoint) {
  std::ofstream(work + "/initiatorname.iscsi")
      << "InitiatorName=iqn.1993-08.org.debian:01:node-a\n";
  return "backends:\n  - name: ps\n    plugin: iscsi_powerstore\n    default: true\n"
         "    settings:\n"
         "      ca_file: " +
         work + "/ca.pem\n      initiator_name_file: " + work +
         "/initiatorname.iscsi\n"
         "      arrays:\n"
         "        - endpoint: \"" +
         endpoint +
         "\"\n          globalID: \"PS4ebb8d4e8488\"\n"
         "          username: \"admin\"\n          password: \"secret\"\n";
}

// A node runs the controller's configuration, arrays and all, but never calls the REST API:
// it must not load libcurl and the ~40 libraries that come with it (bench/README.md).
TEST_F(LoadedLibrariesTest, ANodeWithThePowerStorePluginMapsNoCurl) {
  DriverProcess driver(work_.path(), powerStoreConfig(work_.str(), "https://127.0.0.1:9/api/rest"),
                       "node-a", {"--mode", "node"});
  driver.start();
  csi::v1::NodeGetInfoResponse info;
  auto context = rpcContext();
  ASSERT_TRUE(driver.node().NodeGetInfo(context.get(), {}, &info).ok()) << driver.log();
  EXPECT_EQ(info.node_id().rfind("node-a", 0), 0u) << info.node_id();
  const std::vector<std::string> objects = mappedObjects(driver.pid());
  EXPECT_NE(join(objects).find("polycsi_iscsi_powerstore.so"), std::string::npos) << join(objects);
  EXPECT_EQ(join(objectsNamed(objects, kRestLibraries)), "") << "mapped: " << join(objects);
  driver.stop();
}

// CreateVolume of a 1 GiB block volume on the array of powerStoreConfig().
grpc::Status createVolume(DriverProcess& driver) {
  csi::v1::CreateVolumeRequest request;
  request.set_name("pvc-1");
  request.mutable_capacity_range()->set_required_bytes(int64_t{1} << 30);
  auto* capability = request.add_volume_capabilities();
  capability->mutable_block();
  capability->mutable_access_mode()->set_mode(
      csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER);
  (*request.mutable_parameters())["arrayID"] = "PS4ebb8d4e8488";
  csi::v1::CreateVolumeResponse response;
  auto context = rpcContext();
  return driver.controller().CreateVolume(context.get(), request, &response);
}

// The controller loads the REST library on its first call to the array, from lib/ beside the
// plugin directory, and its errors reach the caller as before (the array here is a closed
// port: UNAVAILABLE, naming the endpoint).
TEST_F(LoadedLibrariesTest, AControllerLoadsTheRestLibraryOnItsFirstCallToTheArray) {
  const std::string endpoint = "https://127.0.0.1:9/api/rest";
  DriverProcess driver(work_.path(), powerStoreConfig(work_.str(), endpoint), "controller-a",
                       {"--mode", "controller"});
  driver.start(DriverProcess::Wait::kAnswering);
  EXPECT_EQ(join(objectsNamed(mappedObjects(driver.pid()), kRestLibraries)), "");
  const grpc::Status status = createVolume(driver);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_message().find("unreachable at " + endpoint), std::string::npos)
      << status.error_message();
  const std::string mapped = join(mappedObjects(driver.pid()));
  EXPECT_NE(mapped.find("libpolycsi_iscsi_powerstore_rest.so"), std::string::npos) << mapped;
  EXPECT_NE(mapped.find("libcurl"), std::string::npos) << mapped;
  driver.stop();
}

// A plugin installed without its REST library (no ../lib beside its directory) still starts,
// and its first call to the array says which library is missing and where it belongs.
TEST_F(LoadedLibrariesTest, AControllerWithoutTheRestLibraryNamesIt) {
  const std::string plugins = work_.str() + "/plugins";
  std::filesystem::create_directories(plugins);
  std::filesystem::copy_file(std::string(POLYCSI_PLUGIN_DIR) + "/polycsi_iscsi_powerstore.so",
                             plugins + "/polycsi_iscsi_powerstore.so");
  DriverProcess driver(work_.path(), powerStoreConfig(work_.str(), "https://127.0.0.1:9/api/rest"),
                       "controller-a", {"--mode", "controller"});
  driver.usePluginDir(plugins);
  driver.start(DriverProcess::Wait::kAnswering);
  const grpc::Status status = createVolume(driver);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_NE(status.error_message().find("cannot load the iscsi_powerstore REST library " +
                                        work_.str() + "/lib/libpolycsi_iscsi_powerstore_rest.so"),
            std::string::npos)
      << status.error_message();
  driver.stop();
}

// A node never opens the attachment store, so it must not map SQLite: as a needed library of
// the executable it cost every node 0.25 MiB resident (bench/README.md).
TEST_F(LoadedLibrariesTest, ANodeWithTheSamplePluginMapsNoSqlite) {
  DriverProcess driver(work_.path(), sampleConfig(), "node-a", {"--mode", "node"});
  driver.start();
  const std::vector<std::string> objects = mappedObjects(driver.pid());
  ASSERT_FALSE(objects.empty()) << "no shared objects in /proc/" << driver.pid() << "/maps";
  EXPECT_EQ(join(objectsNamed(objects, kStoreLibraries)), "") << "mapped: " << join(objects);
  driver.stop();
}

// A controller opens the store at start, from lib/ beside bin/.
TEST_F(LoadedLibrariesTest, AControllerMapsSqliteOnceItOpensTheStore) {
  DriverProcess driver(work_.path(), sampleConfig(), "controller-a", {"--mode", "controller"});
  driver.start();
  const std::string mapped = join(mappedObjects(driver.pid()));
  EXPECT_NE(mapped.find("libpolycsi_attachment_store.so"), std::string::npos) << mapped;
  EXPECT_NE(mapped.find("libsqlite3.so"), std::string::npos) << mapped;
  driver.stop();
}

// `polycsi serve --mode controller` of a copy of the executable in <work>/bin, whose store
// module belongs in <work>/lib; what it printed and how it ended (it must end: bounded).
CommandResult serveControllerFromCopy(const std::string& work) {
  std::filesystem::create_directories(work + "/bin");
  std::filesystem::copy_file(POLYCSI_BINARY, work + "/bin/polycsi");
  std::filesystem::permissions(work + "/bin/polycsi", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  std::filesystem::create_directories(work + "/state");
  std::ofstream(work + "/config.yaml")
      << "state_path: " << work << "/state\nbackends:\n  - name: local\n    plugin: sample\n"
      << "    default: true\n    settings:\n      directory: " << work << "/volumes\n";
  return runProgram(
      work + "/bin/polycsi",
      {"serve", "--config", work + "/config.yaml", "--endpoint", "unix://" + work + "/csi.sock",
       "--node-id", "controller-a", "--plugin-dir", POLYCSI_PLUGIN_DIR, "--mode", "controller"},
      {.timeout = std::chrono::seconds(60), .mergeStderr = true});
}

// An install without the store's library must not run a controller that cannot record
// attachments: it stops at start, naming the file and where it belongs.
TEST_F(LoadedLibrariesTest, AControllerWithoutTheStoreLibraryStopsAtStartNamingIt) {
  const CommandResult ran = serveControllerFromCopy(work_.str());
  EXPECT_FALSE(ran.timedOut) << ran.output;
  EXPECT_EQ(ran.exitStatus, 1) << ran.output;
  EXPECT_NE(ran.output.find("cannot load the attachment store library " + work_.str() +
                            "/lib/libpolycsi_attachment_store.so"),
            std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("it is installed beside the polycsi executable, in ../lib"),
            std::string::npos)
      << ran.output;
}

// Likewise a file in its place that is not the store's library (here the sample plugin).
TEST_F(LoadedLibrariesTest, AControllerWithABrokenStoreLibraryStopsAtStartNamingIt) {
  std::filesystem::create_directories(work_.str() + "/lib");
  std::filesystem::copy_file(std::string(POLYCSI_PLUGIN_DIR) + "/polycsi_sample.so",
                             work_.str() + "/lib/libpolycsi_attachment_store.so");
  const CommandResult ran = serveControllerFromCopy(work_.str());
  EXPECT_FALSE(ran.timedOut) << ran.output;
  EXPECT_EQ(ran.exitStatus, 1) << ran.output;
  EXPECT_NE(ran.output.find("the attachment store library " + work_.str() +
                            "/lib/libpolycsi_attachment_store.so has no "
                            "polycsi_attachment_store_library_v1 of this build"),
            std::string::npos)
      << ran.output;
}

// A deployed node serves /metrics and /healthz (every DaemonSet sets --metrics-address): that
// must not bring cpp-httplib or OpenSSL either, even after a scrape.
TEST_F(LoadedLibrariesTest, ANodeServingMetricsMapsNoTlsLibrary) {
  DriverProcess driver(work_.path(), sampleConfig(), "node-a",
                       {"--mode", "node", "--metrics-address", "127.0.0.1:0"});
  driver.start();
  const int port = metricsPort(driver.log());
  ASSERT_GT(port, 0) << driver.log();
  const std::string scrape = httpGet(port, "/metrics");
  ASSERT_EQ(scrape.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << scrape;
  EXPECT_NE(scrape.find("# TYPE "), std::string::npos) << scrape;
  const std::vector<std::string> objects = mappedObjects(driver.pid());
  ASSERT_FALSE(objects.empty());
  EXPECT_EQ(join(objectsNamed(objects, kHttpLibraries)), "") << "mapped: " << join(objects);
  driver.stop();
}

}  // namespace
}  // namespace polycsi::testing
