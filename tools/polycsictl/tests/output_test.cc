#include "output.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "csi.pb.h"
#include "secret_redaction.hpp"
#include "volume_output.hpp"

namespace polycsi::csictl {
namespace {

TEST(ToJson, RendersSnakeCaseFieldsAndDefaults) {
  csi::v1::CreateVolumeResponse response;
  response.mutable_volume()->set_volume_id("vol-1");
  response.mutable_volume()->set_capacity_bytes(1073741824);
  (*response.mutable_volume()->mutable_volume_context())["pool"] = "fast";

  const nlohmann::json json = nlohmann::json::parse(toJson(response));
  EXPECT_EQ(json["volume"]["volume_id"], "vol-1");
  EXPECT_EQ(json["volume"]["capacity_bytes"], "1073741824");  // int64 is a string in JSON
  EXPECT_EQ(json["volume"]["volume_context"]["pool"], "fast");
}

TEST(ToJson, IncludesDefaultValuedFields) {
  const nlohmann::json json =
      nlohmann::json::parse(toJson(csi::v1::ControllerExpandVolumeResponse()));
  EXPECT_EQ(json["node_expansion_required"], false);
  EXPECT_EQ(json["capacity_bytes"], "0");
}

TEST(ToJson, RedactsSecretsButKeepsTheirKeys) {
  csi::v1::CreateVolumeRequest request;
  request.set_name("pvc-1");
  (*request.mutable_secrets())["password"] = "hunter2";
  (*request.mutable_secrets())["token"] = "s3cr3t-token";
  (*request.mutable_parameters())["pool"] = "fast";

  const std::string text = toJson(request);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find("s3cr3t-token"), std::string::npos) << text;
  const nlohmann::json json = nlohmann::json::parse(text);
  EXPECT_EQ(json["secrets"]["password"], kRedactedSecret);
  EXPECT_EQ(json["secrets"]["token"], kRedactedSecret);
  EXPECT_EQ(json["parameters"]["pool"], "fast");
  EXPECT_EQ(json["name"], "pvc-1");
  // The caller's message is untouched.
  EXPECT_EQ(request.secrets().at("password"), "hunter2");
}

TEST(ToJson, RedactsSecretsOfEveryRequestType) {
  csi::v1::NodeStageVolumeRequest stage;
  (*stage.mutable_secrets())["key"] = "node-secret";
  (*stage.mutable_publish_context())["device"] = "/dev/sdb";
  EXPECT_EQ(toJson(stage).find("node-secret"), std::string::npos);
  EXPECT_NE(toJson(stage).find("/dev/sdb"), std::string::npos);

  csi::v1::ListSnapshotsRequest list;
  (*list.mutable_secrets())["key"] = "list-secret";
  EXPECT_EQ(toJson(list).find("list-secret"), std::string::npos);
}

TEST(RedactSecrets, IsIdempotent) {
  csi::v1::DeleteVolumeRequest request;
  (*request.mutable_secrets())["a"] = "b";
  redactSecrets(request);
  redactSecrets(request);
  EXPECT_EQ(request.secrets().at("a"), kRedactedSecret);
  EXPECT_EQ(request.secrets().size(), 1u);
}

TEST(FormatStringMap, SortsByKey) {
  google::protobuf::Map<std::string, std::string> map;
  EXPECT_EQ(formatStringMap(map), "-");
  map["zone"] = "b";
  map["pool"] = "fast";
  EXPECT_EQ(formatStringMap(map), "pool=fast,zone=b");
}

TEST(TextTable, AlignsColumns) {
  TextTable table({"ID", "SIZE"});
  table.addRow({"vol-long-name", "1.0 GiB"});
  table.addRow({"v2"});
  std::ostringstream out;
  table.print(out);
  EXPECT_EQ(out.str(),
            "ID             SIZE\n"
            "vol-long-name  1.0 GiB\n"
            "v2\n");
  EXPECT_THROW(table.addRow({"a", "b", "c"}), std::invalid_argument);
}

TEST(DescribeVolume, OneLineWithCapacityAndContext) {
  csi::v1::Volume volume;
  volume.set_volume_id("vol-9");
  volume.set_capacity_bytes(1073741824);
  (*volume.mutable_volume_context())["pool"] = "fast";
  volume.mutable_content_source()->mutable_snapshot()->set_snapshot_id("snap-1");
  EXPECT_EQ(describeVolume(volume),
            "volume vol-9  capacity 1.0 GiB  context pool=fast  source snapshot snap-1");
}

}  // namespace
}  // namespace polycsi::csictl
