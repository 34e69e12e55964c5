// What a driver process maps: TLS (libssl, libcrypto, with cpp-httplib and the driver's HTTP
// module) only when it serves or calls HTTP. A node with the sample plugin, or a driver without
// a Kubernetes API and without metrics, must not map them: loading cpp-httplib initialises
// OpenSSL, some 3 MiB resident for the life of the process (bench/README.md). Likewise the
// rds_nvme plugin's SSH client (libssh, which initialises OpenSSL and brings Kerberos) only in a
// process that speaks SSH, never in a node.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

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

// The objects among `objects` whose name starts with one of the HTTP/TLS libraries'.
std::vector<std::string> httpObjects(const std::vector<std::string>& objects) {
  static const std::vector<std::string> kPrefixes = {"libssl.", "libcrypto.", "libcpp-httplib.",
                                                     "libpolycsi_httplib."};
  std::vector<std::string> found;
  for (const auto& name : objects) {
    for (const auto& prefix : kPrefixes) {
      if (name.rfind(prefix, 0) == 0) found.push_back(name);
    }
  }
  return found;
}

// The objects among `objects` that come with an SSH client.
std::vector<std::string> sshObjects(const std::vector<std::string>& objects) {
  static const std::vector<std::string> kPrefixes = {"libssh.", "libpolycsi_rds_nvme_ssh.",
                                                     "libgssapi_krb5.", "libkrb5."};
  std::vector<std::string> found;
  for (const auto& name : objects) {
    for (const auto& prefix : kPrefixes) {
      if (name.rfind(prefix, 0) == 0) found.push_back(name);
    }
  }
  return found;
}

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : " ") + name;
  return text;
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
  EXPECT_EQ(join(httpObjects(objects)), "") << "mapped: " << join(objects);
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
  EXPECT_EQ(join(httpObjects(mappedObjects(driver.pid()))), "");
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
  EXPECT_EQ(join(sshObjects(objects)), "") << "mapped: " << join(objects);
  driver.stop();
}

// The other side: serving metrics loads the HTTP module (and with it OpenSSL), so the test
// above sees these libraries when they are there.
TEST_F(LoadedLibrariesTest, ServingMetricsLoadsTheHttpModule) {
  DriverProcess driver(work_.path(), sampleConfig(), "node-a",
                       {"--mode", "node", "--metrics-address", "127.0.0.1:0"});
  driver.start();
  const std::string found = join(httpObjects(mappedObjects(driver.pid())));
  EXPECT_NE(found.find("libpolycsi_httplib.so"), std::string::npos) << found;
  EXPECT_NE(found.find("libssl."), std::string::npos) << found;
  driver.stop();
}

}  // namespace
}  // namespace polycsi::testing
