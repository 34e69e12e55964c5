// Two PowerStore arrays behind one StorageClass through polycsi's gRPC interface: a real
// `polycsi serve` (controller mode) with two iscsi_powerstore backends in different topology
// segments, each talking HTTPS to its own powerstore-sim. A CreateVolume retried after the
// first attempt landed returns the same volume from the same array, even when the retry
// prefers the other array's segment: the core asks each backend for the name first
// (find_volume, docs/topology.md), which iscsi_powerstore answers with the array's
// `volume?name=eq.<name>` query. What each array holds is read from the simulators themselves.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "csi_calls.hpp"  // ASSERT_OK
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "powerstore_sim_process.hpp"
#include "temp_directory.hpp"
#include "test_pki.hpp"
#include "topology_requests.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr char kArrayA[] = "PS0000000000a1";
constexpr char kArrayB[] = "PS0000000000b2";

class IscsiPowerStoreTopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = makeTestPki(work_.str());
    simA_ = startSim("a", kArrayA);
    simB_ = startSim("b", kArrayB);
    driver_ = std::make_unique<DriverProcess>(
        work_.str(),
        "backends:\n" + backend("ps-a", *simA_, kArrayA, "r1") +
            backend("ps-b", *simB_, kArrayB, "r2"),
        "controller-0", std::vector<std::string>{"--mode", "controller"});
    driver_->start();
  }
  void TearDown() override {
    for (const SimProcess* sim : {simA_.get(), simB_.get()}) {
      if (sim != nullptr)
        EXPECT_EQ(callsTheReferenceDoesNotList(*sim, "polycsi-iscsi_powerstore"),
                  std::vector<std::string>{});
    }
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
    driver_.reset();
    simA_.reset();
    simB_.reset();
  }

  std::unique_ptr<SimProcess> startSim(const std::string& dir, const char* globalId) {
    return std::make_unique<SimProcess>(
        POWERSTORE_SIM_BINARY,
        std::vector<std::string>{"--cert", pki_.server_cert.string(), "--key",
                                 pki_.server_key.string(), "--state-dir",
                                 work_.str() + "/sim-" + dir, "--password", "secret", "--global-id",
                                 globalId, "--no-tgtd"});
  }
  std::string backend(const std::string& name, const SimProcess& sim, const char* globalId,
                      const std::string& rack) {
    return "  - name: " + name + "\n    plugin: iscsi_powerstore\n    topology:\n      " + kRack +
           ": " + rack + "\n    settings:\n      ca_file: " + pki_.ca_cert.string() +
           "\n      arrays:\n        - endpoint: \"" + sim.endpoint() +
           "\"\n          globalID: \"" + globalId +
           "\"\n          username: \"admin\"\n          password: \"secret\"\n"
           "          isDefault: true\n";
  }

  grpc::Status create(const std::string& name, int64_t bytes, const Segments& preferred,
                      csi::v1::Volume* out) {
    auto req = createRequest(name, bytes, blockCapability(Mode::SINGLE_NODE_WRITER));
    (*req.mutable_parameters())["backends"] = "ps-a,ps-b";
    *req.mutable_accessibility_requirements()->add_preferred() = topology(preferred);
    *req.mutable_accessibility_requirements()->add_requisite() = topology(kR1);
    *req.mutable_accessibility_requirements()->add_requisite() = topology(kR2);
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().CreateVolume(ctx.get(), req, &resp);
    if (out) *out = resp.volume();
    return s;
  }

  // The ids of the volumes named `name` on `sim`, asked as an operator's curl would (not the
  // driver's User-Agent, so not one of its calls).
  std::vector<std::string> volumesNamed(const SimProcess& sim, const std::string& name) {
    CURL* curl = curl_easy_init();
    const std::string url = sim.endpoint() + "/volume?select=id,name&name=eq." + name;
    std::string answer;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CAINFO, pki_.ca_cert.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, "admin:secret");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) {
          static_cast<std::string*>(user)->append(data, size * n);
          return size * n;
        });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    const CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    EXPECT_EQ(code, CURLE_OK);
    EXPECT_EQ(status, 200) << answer;
    std::vector<std::string> ids;
    const nlohmann::json list = nlohmann::json::parse(answer, nullptr, false);
    if (list.is_array())
      for (const auto& v : list) ids.push_back(v.value("id", ""));
    return ids;
  }

  TempDir work_{"polycsi-ps-topology"};
  TestPki pki_;
  std::unique_ptr<SimProcess> simA_;
  std::unique_ptr<SimProcess> simB_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(IscsiPowerStoreTopologyTest, ARetriedCreateVolumeReturnsTheFirstArraysVolume) {
  const std::string name = "pvc-7e1d0c2a-0000-4000-8000-0000000000a1";
  csi::v1::Volume first;
  ASSERT_OK(create(name, 8 * kMiB, kR1, &first));
  EXPECT_EQ(backendOf(first.volume_id()), "ps-a");
  ASSERT_EQ(first.accessible_topology_size(), 1);
  EXPECT_EQ(first.accessible_topology(0).segments().at(kRack), "r1");
  ASSERT_EQ(volumesNamed(*simA_, name).size(), 1u);
  EXPECT_EQ(volumesNamed(*simB_, name).size(), 0u);

  // The provisioner's retry, now preferring the other array's rack, where a new volume would
  // go: it gets the first attempt's volume, and array B still holds none.
  csi::v1::Volume retried;
  ASSERT_OK(create(name, 8 * kMiB, kR2, &retried));
  EXPECT_EQ(retried.volume_id(), first.volume_id());
  EXPECT_EQ(retried.capacity_bytes(), first.capacity_bytes());
  EXPECT_EQ(volumesNamed(*simA_, name).size(), 1u);
  EXPECT_EQ(volumesNamed(*simB_, name).size(), 0u);

  // A retry asking for more than the volume holds goes to the same array, which refuses it as
  // its plugin refuses any incompatible repeat: nothing is made on array B.
  csi::v1::Volume bigger;
  grpc::Status s = create(name, 64 * kMiB, kR2, &bigger);
  EXPECT_EQ(s.error_code(), StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_NE(s.error_message().find(kArrayA), std::string::npos) << s.error_message();
  EXPECT_EQ(volumesNamed(*simB_, name).size(), 0u);

  // A new name preferring rack r2 lands on array B, so the retry above was not placed there
  // only because array B was never a choice.
  csi::v1::Volume other;
  ASSERT_OK(create("pvc-7e1d0c2a-0000-4000-8000-0000000000b2", 8 * kMiB, kR2, &other));
  EXPECT_EQ(backendOf(other.volume_id()), "ps-b");
  EXPECT_EQ(volumesNamed(*simB_, "pvc-7e1d0c2a-0000-4000-8000-0000000000b2").size(), 1u);

  // Each id keeps routing to its array.
  EXPECT_TRUE(CsiCalls(*driver_).deleteVolume(first.volume_id()).ok());
  EXPECT_EQ(volumesNamed(*simA_, name).size(), 0u);
  EXPECT_TRUE(CsiCalls(*driver_).deleteVolume(other.volume_id()).ok());
  EXPECT_EQ(volumesNamed(*simB_, "pvc-7e1d0c2a-0000-4000-8000-0000000000b2").size(), 0u);
}

}  // namespace
}  // namespace polycsi::testing
