// The controller's volume condition (CSI VOLUME_CONDITION) end to end through a real
// `polycsi serve` with the sample plugin: the core asks the plugin for each volume (one call per
// ListVolumes page), and a volume broken behind the driver's back turns abnormal with a message
// naming what is wrong. Controller calls only: no loop device, no mount.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "driver_test.hpp"

namespace polycsi::testing {
namespace {

using ControllerRpc = csi::v1::ControllerServiceCapability::RPC;

class SampleVolumeHealthTest : public DriverTest {
 protected:
  void SetUp() override {
    startDriver(
        "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
        "    settings:\n      directory: " +
        work_.str() + "/volumes\n");
  }

  std::string createVolume(const std::string& name) {
    csi::v1::CreateVolumeResponse resp;
    auto status = csi_->create(name, 4 * kMiB, blockCapability(), &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.volume().volume_id();
  }

  csi::v1::ControllerGetVolumeResponse getVolume(const std::string& id) {
    csi::v1::ControllerGetVolumeRequest req;
    req.set_volume_id(id);
    csi::v1::ControllerGetVolumeResponse resp;
    auto ctx = rpcContext();
    auto s = driver_->controller().ControllerGetVolume(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Every volume, one entry per page of `pageSize`.
  std::vector<csi::v1::ListVolumesResponse::Entry> listVolumes(int pageSize) {
    std::vector<csi::v1::ListVolumesResponse::Entry> out;
    std::string token;
    do {
      csi::v1::ListVolumesRequest req;
      req.set_max_entries(pageSize);
      req.set_starting_token(token);
      csi::v1::ListVolumesResponse resp;
      auto ctx = rpcContext();
      auto s = driver_->controller().ListVolumes(ctx.get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const auto& e : resp.entries()) out.push_back(e);
      token = resp.next_token();
    } while (!token.empty());
    return out;
  }

  // The image file of the only volume whose file name contains `localId`.
  std::filesystem::path imageOf(const std::string& csiId) {
    const std::string localId = csiId.substr(csiId.find(':') + 1);
    for (const auto& e : std::filesystem::directory_iterator(work_.path() / "volumes/volumes"))
      if (e.path().filename().string().find(localId) != std::string::npos &&
          e.path().extension() == ".img")
        return e.path();
    ADD_FAILURE() << "no image for " << csiId;
    return {};
  }
};

TEST_F(SampleVolumeHealthTest, AdvertisesControllerVolumeCondition) {
  csi::v1::ControllerGetCapabilitiesResponse resp;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->controller().ControllerGetCapabilities(
      ctx.get(), csi::v1::ControllerGetCapabilitiesRequest(), &resp));
  std::set<int> caps;
  for (const auto& c : resp.capabilities()) caps.insert(c.rpc().type());
  EXPECT_TRUE(caps.count(ControllerRpc::VOLUME_CONDITION));
  EXPECT_TRUE(caps.count(ControllerRpc::GET_VOLUME));
  EXPECT_TRUE(caps.count(ControllerRpc::LIST_VOLUMES));
}

TEST_F(SampleVolumeHealthTest, AHealthyVolumeIsNormalAndABrokenOneSaysWhy) {
  const std::string healthy = createVolume("pvc-healthy");
  const std::string broken = createVolume("pvc-broken");
  ASSERT_OK(csi_->controllerPublish(broken, csi_->nodeId(), blockCapability()));

  auto got = getVolume(broken);
  ASSERT_TRUE(got.status().has_volume_condition());
  EXPECT_FALSE(got.status().volume_condition().abnormal())
      << got.status().volume_condition().message();
  EXPECT_NE(got.status().volume_condition().message().find("present"), std::string::npos)
      << got.status().volume_condition().message();
  ASSERT_EQ(got.status().published_node_ids_size(), 1);

  // Behind the driver's back: the image shrinks to nothing.
  const auto image = imageOf(broken);
  std::filesystem::resize_file(image, 0);

  got = getVolume(broken);
  ASSERT_TRUE(got.status().has_volume_condition());
  EXPECT_TRUE(got.status().volume_condition().abnormal());
  EXPECT_EQ(got.status().volume_condition().message(),
            "the image file " + image.string() + " has 0 bytes, but volume '" +
                broken.substr(broken.find(':') + 1) + "' has " + std::to_string(4 * kMiB) +
                " (changed behind the driver's back)");
  EXPECT_FALSE(getVolume(healthy).status().volume_condition().abnormal());

  // ListVolumes, one volume per page: each entry carries its own condition.
  auto entries = listVolumes(1);
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    ASSERT_TRUE(e.status().has_volume_condition()) << e.volume().volume_id();
    EXPECT_EQ(e.status().volume_condition().abnormal(), e.volume().volume_id() == broken)
        << e.volume().volume_id() << ": " << e.status().volume_condition().message();
  }

  // The image gone altogether.
  std::filesystem::remove(image);
  got = getVolume(broken);
  EXPECT_TRUE(got.status().volume_condition().abnormal());
  EXPECT_NE(got.status().volume_condition().message().find(image.string() + " of volume"),
            std::string::npos)
      << got.status().volume_condition().message();
}

}  // namespace
}  // namespace polycsi::testing
