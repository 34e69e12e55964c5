// For every overlay under deploy/overlays: starts `polycsi serve` in each mode the overlay runs
// it in, with the overlay's own config.yaml (the file its polycsi-config Secret is generated
// from), and replays the start-up of every sidecar the overlay deploys next to it
// (sidecar_contracts.hpp). None may exit. The overlays' configs name storage that is not here;
// the plugins connect on demand, and no start-up call reaches the storage.
#include <gtest/gtest.h>
#include <libssh/libssh.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "driver_process.hpp"
#include "overlay_manifests.hpp"
#include "sidecar_contracts.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

// Plugin settings that name a directory the plugin writes on this host; the test moves them
// into its work directory. (state_path, the other one, DriverProcess sets.)
const std::map<std::string, std::string> kHostPathSettings = {{"sample", "directory"}};

// A private key in OpenSSH form, generated for the run: the rds_nvme plugin reads its key at
// start.
std::string generatedPrivateKey() {
  ssh_key key = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
    throw std::runtime_error("cannot generate an ed25519 key");
  char* text = nullptr;
  int rc = ssh_pki_export_privkey_base64(key, nullptr, nullptr, nullptr, &text);
  ssh_key_free(key);
  if (rc != SSH_OK || text == nullptr) throw std::runtime_error("cannot export the key");
  std::string out(text);
  ssh_string_free_char(text);
  return out;
}

// Well-formed stand-ins for the values an overlay's config asks the installer to replace
// ("REPLACE..."): the driver checks their form at start, and the test needs a config that
// starts as the installed one would. A new placeholder without a stand-in fails the test.
const std::map<std::string, std::string>& placeholderStandIns() {
  static const std::map<std::string, std::string> kStandIns = {
      {"host_key_fingerprint", "SHA256:" + std::string(43, 'A')},
      {"private_key", generatedPrivateKey()},
      {"password", "stand-in-password"},
  };
  return kStandIns;
}

// Replaces the placeholders below `node` (settings may nest, e.g. PowerStore's arrays).
void replacePlaceholders(YAML::Node node, const std::string& where) {
  if (node.IsSequence()) {
    for (auto item : node) replacePlaceholders(item, where);
    return;
  }
  if (!node.IsMap()) return;
  for (auto entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (entry.second.IsScalar() &&
        entry.second.as<std::string>().find("REPLACE") != std::string::npos) {
      auto it = placeholderStandIns().find(key);
      if (it == placeholderStandIns().end()) {
        ADD_FAILURE() << where << ": setting '" << key
                      << "' is a placeholder the test has no stand-in for (add one to "
                         "placeholderStandIns)";
        continue;
      }
      entry.second = it->second;
    } else {
      replacePlaceholders(entry.second, where);
    }
  }
}

// The overlay's config, as DriverProcess takes it: without state_path, host paths moved below
// `work`, placeholders given well-formed stand-ins.
std::string configBodyFor(const std::string& configPath, const std::string& work) {
  YAML::Node config = YAML::LoadFile(configPath);
  config.remove("state_path");
  for (auto backend : config["backends"]) {
    replacePlaceholders(backend["settings"], configPath);
    auto it = kHostPathSettings.find(backend["plugin"].as<std::string>(""));
    if (it == kHostPathSettings.end() || !backend["settings"][it->second]) continue;
    backend["settings"][it->second] =
        work + "/host" + backend["settings"][it->second].as<std::string>();
  }
  YAML::Emitter out;
  out << config;
  return std::string(out.c_str()) + "\n";
}

// The --mode the polycsi container of a workload runs in.
std::string driverMode(const std::vector<DeployedContainer>& containers, const std::string& where) {
  for (const auto& c : containers) {
    if (c.imageName() != "polycsi") continue;
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (c.args[i].rfind("--mode=", 0) == 0) return c.args[i].substr(7);
      if (c.args[i] == "--mode" && i + 1 < c.args.size()) return c.args[i + 1];
    }
    ADD_FAILURE() << where << ": the polycsi container has no --mode";
    return "";
  }
  ADD_FAILURE() << where << ": no polycsi container";
  return "";
}

class SidecarStartupTest : public ::testing::TestWithParam<std::string> {
 protected:
  void replayWorkload(const OverlayDeployment& overlay, const std::string& where,
                      const std::vector<DeployedContainer>& containers) {
    const std::string mode = driverMode(containers, where);
    if (mode.empty()) return;
    const std::string work = work_.str() + "/" + mode;
    std::filesystem::create_directories(work);
    DriverProcess driver(work, configBodyFor(overlay.configPath, work), "node-a", {"--mode", mode});
    ASSERT_NO_THROW(driver.start()) << where << " with " << overlay.configPath;
    auto channel =
        grpc::CreateChannel("unix://" + work + "/csi.sock", grpc::InsecureChannelCredentials());
    for (const auto& c : containers) {
      if (c.imageName() == "polycsi") continue;
      ASSERT_TRUE(isKnownSidecar(c.imageName()))
          << where << ": container " << c.name << " runs " << c.image
          << ", which has no recorded start-up contract (tests/integration/sidecar_contracts.cc)";
      auto verdict = replayStartup(c.imageName(), c.imageTag(), channel);
      ASSERT_TRUE(verdict.has_value())
          << where << ": container " << c.name << " runs " << c.image
          << "; no start-up contract is recorded for tag '" << c.imageTag()
          << "': read that tag's source and add it to tests/integration/sidecar_contracts.cc";
      std::string calls;
      for (const auto& call : verdict->calls) calls += (calls.empty() ? "" : ", ") + call;
      EXPECT_TRUE(verdict->starts)
          << "overlay " << overlay.overlay << ", " << where << ", container " << c.name << " ("
          << c.image << ") would not start: " << verdict->reason << "\ncalls: " << calls
          << "\ndriver log:\n"
          << driver.log();
    }
    channel.reset();
    driver.stop();
  }

  TempDir work_;
};

TEST_P(SidecarStartupTest, NoSidecarWouldExit) {
  const OverlayDeployment overlay = readOverlay(POLYCSI_OVERLAYS_DIR, GetParam());
  replayWorkload(overlay, "Deployment polycsi-controller", overlay.controller);
  replayWorkload(overlay, "DaemonSet polycsi-node", overlay.node);
}

std::string testName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (auto& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Overlays, SidecarStartupTest,
                         ::testing::ValuesIn(overlayNames(POLYCSI_OVERLAYS_DIR)), testName);

// The replay can fail, and for the reason the nfs overlay leaves the resizer out: with no
// backend that grows, external-resizer v1.12.0 asks the controller socket for node expansion
// and exits.
TEST(SidecarContractTest, ResizerExitsWhenNoBackendGrows) {
  TempDir work;
  DriverProcess driver(work.str(),
                       "backends:\n  - name: nfs\n    plugin: nfs\n    settings:\n"
                       "      server: 127.0.0.1\n      share: /export\n",
                       "node-a", {"--mode", "controller"});
  driver.start();
  auto channel =
      grpc::CreateChannel("unix://" + work.str() + "/csi.sock", grpc::InsecureChannelCredentials());
  auto verdict = replayStartup("csi-resizer", "v1.12.0", channel);
  ASSERT_TRUE(verdict.has_value());
  EXPECT_FALSE(verdict->starts);
  EXPECT_NE(verdict->reason.find("NodeGetCapabilities"), std::string::npos) << verdict->reason;
  // The others do start against the same controller.
  for (const auto& [image, tag] :
       std::vector<std::pair<std::string, std::string>>{{"csi-provisioner", "v5.1.0"},
                                                        {"csi-attacher", "v4.7.0"},
                                                        {"csi-snapshotter", "v8.6.0"},
                                                        {"livenessprobe", "v2.14.0"}}) {
    auto other = replayStartup(image, tag, channel);
    ASSERT_TRUE(other.has_value()) << image;
    EXPECT_TRUE(other->starts) << other->reason;
  }
  EXPECT_FALSE(replayStartup("csi-resizer", "v0.0.1", channel).has_value());
  // The controller says so in its log, where an operator looks when the resizer crash-loops.
  EXPECT_NE(driver.log().find("csi-resizer would exit at start-up"), std::string::npos)
      << driver.log();
}

// external-health-monitor v0.18.0 exits without the controller's VOLUME_CONDITION, which is
// advertised only when every backend reports conditions: next to a backend whose plugin has no
// controller_volume_condition (the plugin_host fixture "good"), it would crash-loop, and the
// controller's log says so.
TEST(SidecarContractTest, HealthMonitorExitsWithoutVolumeCondition) {
  TempDir work;
  DriverProcess driver(work.str(),
                       "backends:\n  - name: bare\n    plugin: good\n    settings:\n"
                       "      address: here\n",
                       "node-a", {"--mode", "controller"});
  driver.usePluginDir(POLYCSI_TEST_PLUGIN_DIR);
  driver.start();
  auto channel =
      grpc::CreateChannel("unix://" + work.str() + "/csi.sock", grpc::InsecureChannelCredentials());
  auto verdict = replayStartup("csi-external-health-monitor-controller", "v0.18.0", channel);
  ASSERT_TRUE(verdict.has_value());
  EXPECT_FALSE(verdict->starts);
  EXPECT_NE(verdict->reason.find("lacks VOLUME_CONDITION"), std::string::npos) << verdict->reason;
  EXPECT_NE(driver.log().find("csi-external-health-monitor-controller would exit at start-up"),
            std::string::npos)
      << driver.log();
}

}  // namespace
}  // namespace polycsi::testing
