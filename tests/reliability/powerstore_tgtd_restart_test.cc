// tgtd killed under a published volume, then the array restarted: a real `polycsi serve`
// (controller mode, iscsi_powerstore plugin) against a real powerstore-sim whose tgtd is killed
// with SIGKILL while node-a holds an RWO block volume. The simulator is then stopped and
// started again on the same state directory and the same REST and iSCSI ports, so the driver
// keeps running with its configuration untouched and has to find its way back (its old
// session is unknown to the new simulator). Afterwards: publishing converges, node-a logs in
// and reads what it wrote before the kill, node-b is still refused, and teardown leaves the
// array without volumes, mappings or volume images.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "powerstore_sim_process.hpp"
#include "temp_directory.hpp"
#include "test_initiator.hpp"
#include "test_pki.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr char kIqnA[] = "iqn.1994-05.com.redhat:node-a";
constexpr char kIqnB[] = "iqn.1994-05.com.redhat:node-b";
constexpr std::uint64_t kLba = 11;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The children of `parent` whose command name is `comm`, from every thread's children list.
std::vector<pid_t> childrenNamed(pid_t parent, const std::string& comm) {
  std::vector<pid_t> found;
  const std::filesystem::path tasks = "/proc/" + std::to_string(parent) + "/task";
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::istringstream children(readFile(task.path() / "children"));
    pid_t child = 0;
    while (children >> child) {
      std::string name = readFile("/proc/" + std::to_string(child) + "/comm");
      if (!name.empty() && name.back() == '\n') name.pop_back();
      if (name == comm) found.push_back(child);
    }
  }
  return found;
}

// True once `pid` has exited (a zombie waiting for its parent counts as exited).
bool exited(pid_t pid) {
  const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  const std::size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// GET on the simulator's REST API with Basic auth; the parsed JSON body.
nlohmann::json restGet(const SimProcess& sim, const std::filesystem::path& ca,
                       const std::string& path) {
  CURL* curl = curl_easy_init();
  if (!curl) throw std::runtime_error("curl_easy_init failed");
  const std::string url = sim.endpoint() + "/" + path;
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, "admin:secret");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
        static_cast<std::string*>(out)->append(data, size * count);
        return size * count;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK || status != 200)
    throw std::runtime_error("GET " + url + " failed: " + curl_easy_strerror(code) + " status " +
                             std::to_string(status) + " " + body);
  return nlohmann::json::parse(body);
}

// powerstore-sim on `restPort` and `iscsiPort` (0: free ones), so that a restart can take the
// same ports again. Throws when it announces no iSCSI portal on loopback.
std::unique_ptr<SimProcess> startSim(const TestPki& pki, const std::string& stateDir,
                                     std::uint16_t restPort, std::uint16_t iscsiPort) {
  auto sim = std::make_unique<SimProcess>(
      POWERSTORE_SIM_BINARY,
      std::vector<std::string>{"--iscsi-port", std::to_string(iscsiPort), "--cert",
                               pki.server_cert.string(), "--key", pki.server_key.string(),
                               "--state-dir", stateDir, "--password", "secret", "--global-id",
                               kGlobalId},
      restPort);
  if (sim->iscsiPortal().rfind("127.0.0.1:", 0) != 0)
    throw std::runtime_error("powerstore-sim announced no iSCSI portal: '" + sim->iscsiPortal() +
                             "'");
  return sim;
}

class PowerStoreTgtdRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = polycsi::testing::makeTestPki(work_.str());
    stateDir_ = work_.str() + "/sim";
  }
  void TearDown() override {
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
    if (HasFailure()) std::cerr << "tgtd log:\n" << readFile(stateDir_ + "/tgtd.log");
    driver_.reset();
    sim_.reset();
  }

  void startDriver() {
    const std::string config =
        powerstoreBackendConfig(*sim_, pki_.ca_cert.string(), "secret",
                                "          skipCertificateValidation: false\n"
                                "          blockProtocol: \"ISCSI\"\n");
    driver_ = std::make_unique<DriverProcess>(work_.str(), config, "controller-0",
                                              std::vector<std::string>{"--mode", "controller"});
    driver_->start();
  }

  grpc::Status publish(const csi::v1::Volume& volume, const std::string& node,
                       csi::v1::ControllerPublishVolumeResponse* out) {
    return CsiCalls(*driver_).controllerPublish(volume.volume_id(), node,
                                                blockCapability(Mode::SINGLE_NODE_WRITER),
                                                contextOf(volume), out);
  }

  TempDir work_;
  polycsi::testing::TestPki pki_;
  std::string stateDir_;
  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(PowerStoreTgtdRestartTest, PublishedVolumeSurvivesTgtdKillAndArrayRestart) {
  sim_ = startSim(pki_, stateDir_, 0, 0);
  const std::uint16_t restPort = sim_->port();
  const std::uint16_t iscsiPort = sim_->iscsiPort();
  startDriver();
  CsiCalls csi(*driver_);
  const std::string nodeA = std::string("node-a|iscsi_powerstore=") + kIqnA;
  const std::string nodeB = std::string("node-b|iscsi_powerstore=") + kIqnB;

  csi::v1::CreateVolumeResponse created;
  ASSERT_OK(csi.create("pvc-tgtd", 4 * kMiB, blockCapability(Mode::SINGLE_NODE_WRITER), &created));
  const csi::v1::Volume volume = created.volume();
  csi::v1::ControllerPublishVolumeResponse published;
  ASSERT_OK(publish(volume, nodeA, &published));
  ASSERT_EQ(published.publish_context().count("targetIqn"), 1u);
  const std::string targetIqn = published.publish_context().at("targetIqn");
  const int lun = std::stoi(published.publish_context().at("lun"));
  EXPECT_EQ(published.publish_context().at("portal"), sim_->iscsiPortal());

  std::vector<std::uint8_t> block(512);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<std::uint8_t>(i * 7 + 3);
  {
    TestInitiator initiator(sim_->iscsiPortal(), targetIqn, kIqnA, {}, lun);
    EXPECT_EQ(initiator.capacity(), static_cast<std::uint64_t>(4 * kMiB));
    initiator.writeBlock(kLba, block);
    EXPECT_EQ(initiator.readBlock(kLba), block);
  }

  // Kill exactly the tgtd this simulator started, and wait (bounded) until it is gone.
  const std::vector<pid_t> tgtds = childrenNamed(sim_->pid(), "tgtd");
  ASSERT_EQ(tgtds.size(), 1u) << "powerstore-sim " << sim_->pid() << " should have one tgtd child";
  const pid_t tgtd = tgtds.front();
  ASSERT_EQ(::kill(tgtd, SIGKILL), 0);
  for (int i = 0; i < 200 && !exited(tgtd); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(exited(tgtd)) << "tgtd " << tgtd << " survived SIGKILL for 10 s";
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), targetIqn, kIqnA, {}, lun), std::runtime_error)
      << "the LUN is still reachable with its tgtd killed";

  // The array goes down and comes back on the same state and ports; the driver stays up.
  EXPECT_EQ(sim_->stop(), 0) << "powerstore-sim should shut down cleanly without its tgtd";
  sim_.reset();
  sim_ = startSim(pki_, stateDir_, restPort, iscsiPort);
  ASSERT_EQ(sim_->port(), restPort);
  ASSERT_EQ(sim_->iscsiPort(), iscsiPort);
  ASSERT_EQ(childrenNamed(sim_->pid(), "tgtd").size(), 1u) << "the restarted array has no tgtd";

  // Publishing again converges to the same attachment.
  csi::v1::ControllerPublishVolumeResponse again;
  ASSERT_OK(publish(volume, nodeA, &again));
  EXPECT_EQ(again.publish_context().at("targetIqn"), targetIqn);
  EXPECT_EQ(again.publish_context().at("portal"), sim_->iscsiPortal());
  EXPECT_EQ(again.publish_context().at("lun"), std::to_string(lun));
  try {
    TestInitiator initiator(again.publish_context().at("portal"), targetIqn, kIqnA, {}, lun);
    EXPECT_EQ(initiator.capacity(), static_cast<std::uint64_t>(4 * kMiB));
    EXPECT_EQ(initiator.readBlock(kLba), block) << "data written before the kill is lost";
  } catch (const std::runtime_error& error) {
    FAIL() << "node-a cannot reach its LUN on the restarted array: " << error.what();
  }

  // RWO still holds after the restart: node-b neither gets the volume nor reaches the LUN.
  csi::v1::ControllerPublishVolumeResponse refused;
  const grpc::Status other = publish(volume, nodeB, &refused);
  EXPECT_EQ(other.error_code(), StatusCode::FAILED_PRECONDITION) << other.error_message();
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), targetIqn, kIqnB, {}, lun), std::runtime_error);

  ASSERT_OK(csi.controllerUnpublish(volume.volume_id(), nodeA));
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), targetIqn, kIqnA, {}, lun), std::runtime_error);
  ASSERT_OK(csi.deleteVolume(volume.volume_id()));

  // Nothing leaks on the array: no volume, no mapping, no volume image.
  EXPECT_EQ(restGet(*sim_, pki_.ca_cert, "volume"), nlohmann::json::array());
  EXPECT_EQ(restGet(*sim_, pki_.ca_cert, "host_volume_mapping"), nlohmann::json::array());
  std::error_code error;
  const bool noImages = std::filesystem::is_empty(stateDir_ + "/volumes", error) ||
                        !std::filesystem::exists(stateDir_ + "/volumes");
  EXPECT_TRUE(noImages) << "volume images left in " << stateDir_ << "/volumes";

  // The restarted simulator stops cleanly and takes its tgtd with it.
  const std::vector<pid_t> restartedTgtds = childrenNamed(sim_->pid(), "tgtd");
  ASSERT_EQ(restartedTgtds.size(), 1u);
  EXPECT_EQ(sim_->stop(), 0);
  const pid_t restartedTgtd = restartedTgtds.front();
  EXPECT_TRUE(exited(restartedTgtd)) << "tgtd " << restartedTgtd << " outlived its simulator";
}

}  // namespace
}  // namespace polycsi::testing
