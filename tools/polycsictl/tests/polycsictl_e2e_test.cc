// Runs the real polycsictl binary against an in-process fake CSI server and checks what the
// server received, what polycsictl printed and its exit code.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "fake_csi_server.hpp"
#include "temp_directory.hpp"

#ifndef POLYCSICTL_BINARY
#error "POLYCSICTL_BINARY must name the polycsictl executable"
#endif

namespace polycsi::csictl::testing {
namespace {

using polycsi::testing::CommandResult;
using polycsi::testing::runProgram;
using Mode = csi::v1::VolumeCapability::AccessMode;
constexpr std::int64_t kGi = 1024LL * 1024 * 1024;
// polycsictl runs without the CSI_ENDPOINT of the environment the tests run in.
const polycsi::testing::CommandOptions kWithoutEndpointVariable{.timeout = std::chrono::seconds(60),
                                                                .unsetEnv = {"CSI_ENDPOINT"}};

class PolycsictlEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_path_ = dir_.file("csi.sock");
    server_ = std::make_unique<FakeCsiServer>(socket_path_);
  }

  void TearDown() override { server_.reset(); }

  // polycsictl --endpoint unix://<socket> --timeout 20s <args...>
  CommandResult run(const std::vector<std::string>& args) {
    return runWithEndpoint("unix://" + socket_path_, args);
  }

  CommandResult runWithEndpoint(const std::string& endpoint, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {POLYCSICTL_BINARY, "--endpoint", endpoint, "--timeout", "20s"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult result = polycsi::testing::runCommand(argv, kWithoutEndpointVariable);
    EXPECT_FALSE(result.timedOut) << "polycsictl did not finish";
    return result;
  }

  const RequestLog& log() const { return server_->log(); }

  polycsi::testing::TempDir dir_{"polycsictl-e2e"};
  std::string socket_path_;
  std::unique_ptr<FakeCsiServer> server_;
};

TEST_F(PolycsictlEndToEnd, IdentityInfoPrintsNameAndVersion) {
  const CommandResult result = run({"identity", "info"});
  ASSERT_EQ(result.exitStatus, 0) << result.errorOutput;
  EXPECT_NE(result.output.find(FakeCsiServer::kDriverName), std::string::npos);
  EXPECT_NE(result.output.find(FakeCsiServer::kDriverVersion), std::string::npos);
  EXPECT_NE(result.output.find("build=test"), std::string::npos);
  EXPECT_EQ(log().requests<csi::v1::GetPluginInfoRequest>("GetPluginInfo").size(), 1u);
}

TEST_F(PolycsictlEndToEnd, CheckupOfADriverWithoutBackendManifestSaysSo) {
  const CommandResult result = run({"checkup"});
  EXPECT_EQ(result.exitStatus, 1);
  EXPECT_EQ(result.output, "");
  EXPECT_NE(result.errorOutput.find("driver fake.csi.polycsi.io does not describe its backends; "
                                    "is it polycsi?"),
            std::string::npos)
      << result.errorOutput;
  EXPECT_EQ(log().requests<csi::v1::GetPluginInfoRequest>("GetPluginInfo").size(), 1u);
}

TEST_F(PolycsictlEndToEnd, IdentityCapabilitiesAndProbe) {
  const CommandResult capabilities = run({"identity", "capabilities"});
  ASSERT_EQ(capabilities.exitStatus, 0) << capabilities.errorOutput;
  EXPECT_NE(capabilities.output.find("CONTROLLER_SERVICE"), std::string::npos);
  EXPECT_NE(capabilities.output.find("ONLINE"), std::string::npos);

  const CommandResult probe = run({"identity", "probe", "--json"});
  ASSERT_EQ(probe.exitStatus, 0) << probe.errorOutput;
  EXPECT_EQ(nlohmann::json::parse(probe.output)["ready"], true);
}

TEST_F(PolycsictlEndToEnd, CreateBlockVolumeSendsEveryField) {
  const CommandResult result = run(
      {"controller", "create", "pvc-1", "--size", "1Gi", "--limit", "2Gi", "--access-mode", "rwx",
       "--block", "--param", "pool=fast", "--param", "tier=gold", "--secret", "password=hunter2"});
  ASSERT_EQ(result.exitStatus, 0) << result.errorOutput;
  EXPECT_EQ(result.output, "volume vol-pvc-1  capacity 1.0 GiB  context pool=fast\n");
  EXPECT_EQ(result.output.find("hunter2"), std::string::npos);

  const auto requests = log().requests<csi::v1::CreateVolumeRequest>("CreateVolume");
  ASSERT_EQ(requests.size(), 1u);
  const csi::v1::CreateVolumeRequest& request = requests[0];
  EXPECT_EQ(request.name(), "pvc-1");
  EXPECT_EQ(request.capacity_range().required_bytes(), kGi);
  EXPECT_EQ(request.capacity_range().limit_bytes(), 2 * kGi);
  ASSERT_EQ(request.volume_capabilities_size(), 1);
  EXPECT_TRUE(request.volume_capabilities(0).has_block());
  EXPECT_EQ(request.volume_capabilities(0).access_mode().mode(), Mode::MULTI_NODE_MULTI_WRITER);
  EXPECT_EQ(request.parameters().size(), 2u);
  EXPECT_EQ(request.parameters().at("pool"), "fast");
  EXPECT_EQ(request.parameters().at("tier"), "gold");
  EXPECT_EQ(request.secrets().at("password"), "hunter2");
  EXPECT_FALSE(request.has_volume_content_source());
}

TEST_F(PolycsictlEndToEnd, CreateMountVolumeFromSnapshot) {
  const CommandResult result =
      run({"controller", "create", "pvc-2", "--size", "500M", "--fs-type", "ext4", "--mount-flag",
           "noatime", "--mount-flag", "discard", "--from-snapshot", "snap-7"});
  ASSERT_EQ(result.exitStatus, 0) << result.errorOutput;
  EXPECT_NE(result.output.find("source snapshot snap-7"), std::string::npos);

  const auto requests = log().requests<csi::v1::CreateVolumeRequest>("CreateVolume");
  ASSERT_EQ(requests.size(), 1u);
  const csi::v1::CreateVolumeRequest& request = requests[0];
  EXPECT_EQ(request.capacity_range().required_bytes(), 500000000);
  EXPECT_EQ(request.capacity_range().limit_bytes(), 0);
  const csi::v1::VolumeCapability& capability = request.volume_capabilities(0);
  ASSERT_TRUE(capability.has_mount());
  EXPECT_EQ(capability.mount().fs_type(), "ext4");
  ASSERT_EQ(capability.mount().mount_flags_size(), 2);
  EXPECT_EQ(capability.mount().mount_flags(0), "noatime");
  EXPECT_EQ(capability.mount().mount_flags(1), "discard");
  EXPECT_EQ(capability.access_mode().mode(), Mode::SINGLE_NODE_WRITER);
  EXPECT_EQ(request.volume_content_source().snapshot().snapshot_id(), "snap-7");
}

TEST_F(PolycsictlEndToEnd, CreateJsonIsTheResponseAndNeverShowsSecrets) {
  const CommandResult result = run({"--json", "controller", "create", "pvc-3", "--size",
                                    "1073741824", "--secret", "token=topsecret-value"});
  ASSERT_EQ(result.exitStatus, 0) << result.errorOutput;
  const nlohmann::json json = nlohmann::json::parse(result.output);
  EXPECT_EQ(json["volume"]["volume_id"], "vol-pvc-3");
  EXPECT_EQ(json["volume"]["capacity_bytes"], "1073741824");
  EXPECT_EQ(json["volume"]["volume_context"]["pool"], "default");
  EXPECT_EQ(result.output.find("topsecret-value"), std::string::npos);
  EXPECT_EQ(result.errorOutput.find("topsecret-value"), std::string::npos);
  const auto requests = log().requests<csi::v1::CreateVolumeRequest>("CreateVolume");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].secrets().at("token"), "topsecret-value");
}

TEST_F(PolycsictlEndToEnd, ServerErrorBecomesCodeAndMessageWithExitOne) {
  const CommandResult result = run({"controller", "create", "attached-1", "--size", "1Gi"});
  EXPECT_EQ(result.exitStatus, 1);
  EXPECT_EQ(result.errorOutput, std::string("FAILED_PRECONDITION: Volume attached-1 ") +
                                    FakeCsiServer::kAttachedError + "\n");
  EXPECT_EQ(result.output, "");
}

TEST_F(PolycsictlEndToEnd, UnimplementedRpcIsReportedWithItsCode) {
  const CommandResult result = run({"controller", "get", "vol-a"});
  EXPECT_EQ(result.exitStatus, 1);
  EXPECT_EQ(result.errorOutput.rfind("UNIMPLEMENTED", 0), 0u) << result.errorOutput;
}

TEST_F(PolycsictlEndToEnd, UsageErrorsExitTwoAndSendNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string expected_in_stderr;
  };
  const std::vector<Case> cases = {
      {{"controller", "create", "pvc", "--size", "12XB"}, "invalid size '12XB'"},
      {{"controller", "create", "pvc", "--size", "1Gi", "--limit", "1Mi"}, "--limit"},
      {{"controller", "create", "pvc", "--size", "1Gi", "--param", "pool"}, "no '='"},
      {{"controller", "create", "pvc", "--size", "1Gi", "--access-mode", "rw"},
       "unknown access mode 'rw'"},
      {{"controller", "create", "pvc", "--size", "1Gi", "--block", "--fs-type", "xfs"}, "excludes"},
      {{"controller", "create", "pvc"}, "--size"},
      {{"controller", "publish", "vol-1"}, "NODE_ID"},
      {{"controller", "list", "--max", "-1"}, "--max"},
      {{"controller", "bogus"}, "subcommand"},
      {{"--timeout", "soon", "identity", "probe"}, "invalid duration 'soon'"},
  };
  for (const Case& test_case : cases) {
    const CommandResult result = run(test_case.args);
    EXPECT_EQ(result.exitStatus, 2) << test_case.args.back() << ": " << result.errorOutput;
    EXPECT_NE(result.errorOutput.find(test_case.expected_in_stderr), std::string::npos)
        << "stderr was: " << result.errorOutput;
  }
  EXPECT_EQ(log().totalCount(), 0u);

  const CommandResult bad_endpoint = runWithEndpoint("unix:relative.sock", {"identity", "info"});
  EXPECT_EQ(bad_endpoint.exitStatus, 2);
  EXPECT_NE(bad_endpoint.errorOutput.find("must be absolute"), std::string::npos);
}

TEST_F(PolycsictlEndToEnd, MissingEndpointIsAUsageError) {
  const CommandResult result =
      runProgram(POLYCSICTL_BINARY, {"identity", "info"}, kWithoutEndpointVariable);
  EXPECT_EQ(result.exitStatus, 2);
  EXPECT_NE(result.errorOutput.find("--endpoint"), std::string::npos) << result.errorOutput;
}

TEST_F(PolycsictlEndToEnd, HelpExitsZero) {
  const CommandResult result =
      runProgram(POLYCSICTL_BINARY, {"controller", "create", "--help"}, kWithoutEndpointVariable);
  EXPECT_EQ(result.exitStatus, 0);
  EXPECT_NE(result.output.find("--from-snapshot"), std::string::npos);
}

TEST_F(PolycsictlEndToEnd, UnreachableEndpointIsUnavailable) {
  const CommandResult result =
      runWithEndpoint("unix://" + dir_.str() + "/nobody-listens.sock", {"identity", "probe"});
  EXPECT_EQ(result.exitStatus, 1);
  EXPECT_EQ(result.errorOutput.rfind("UNAVAILABLE", 0), 0u) << result.errorOutput;
}

TEST_F(PolycsictlEndToEnd, ListVolumesPrintsATableAndPages) {
  const CommandResult all = run({"controller", "list"});
  ASSERT_EQ(all.exitStatus, 0) << all.errorOutput;
  EXPECT_EQ(all.output.rfind("VOLUME_ID", 0), 0u) << all.output;
  for (const char* id : {"vol-a", "vol-b", "vol-c", "node-1", "3.0 GiB"}) {
    EXPECT_NE(all.output.find(id), std::string::npos) << id;
  }
  EXPECT_EQ(all.output.find("next_token"), std::string::npos);
  // vol-c is reachable from rack r1 only: a TOPOLOGY column, "-" for the others.
  EXPECT_NE(all.output.find("TOPOLOGY"), std::string::npos) << all.output;
  EXPECT_NE(all.output.find("topology.polycsi.io/rack=r1"), std::string::npos) << all.output;

  const CommandResult first_page = run({"controller", "list", "--max", "2"});
  ASSERT_EQ(first_page.exitStatus, 0) << first_page.errorOutput;
  EXPECT_EQ(first_page.output.find("TOPOLOGY"), std::string::npos)
      << "no volume of the page has topology: " << first_page.output;
  EXPECT_NE(first_page.output.find("next_token 2"), std::string::npos);
  EXPECT_EQ(first_page.output.find("vol-c"), std::string::npos);

  const CommandResult second_page = run({"controller", "list", "--max", "2", "--token", "2"});
  ASSERT_EQ(second_page.exitStatus, 0) << second_page.errorOutput;
  EXPECT_NE(second_page.output.find("vol-c"), std::string::npos);
  EXPECT_EQ(second_page.output.find("vol-a"), std::string::npos);

  const auto requests = log().requests<csi::v1::ListVolumesRequest>("ListVolumes");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].max_entries(), 2);
  EXPECT_EQ(requests[2].starting_token(), "2");
}

TEST_F(PolycsictlEndToEnd, ControllerPublishSendsNodeModeReadonlyAndContext) {
  const CommandResult result = run({"controller", "publish", "vol-1", "node-7", "--readonly",
                                    "--access-mode", "rox", "--context", "fsName=data"});
  ASSERT_EQ(result.exitStatus, 0) << result.errorOutput;
  EXPECT_NE(result.output.find("devicePath=/dev/fake0"), std::string::npos);

  const auto requests =
      log().requests<csi::v1::ControllerPublishVolumeRequest>("ControllerPublishVolume");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].volume_id(), "vol-1");
  EXPECT_EQ(requests[0].node_id(), "node-7");
  EXPECT_TRUE(requests[0].readonly());
  EXPECT_EQ(requests[0].volume_capability().access_mode().mode(), Mode::MULTI_NODE_READER_ONLY);
  EXPECT_TRUE(requests[0].volume_capability().has_mount());
  EXPECT_EQ(requests[0].volume_context().at("fsName"), "data");
}

TEST_F(PolycsictlEndToEnd, ValidateReportsConfirmationOrTheDriversMessage) {
  const CommandResult confirmed = run({"controller", "validate", "vol-1", "--block"});
  ASSERT_EQ(confirmed.exitStatus, 0) << confirmed.errorOutput;
  EXPECT_EQ(confirmed.output.rfind("confirmed\n", 0), 0u) << confirmed.output;
  EXPECT_NE(confirmed.output.find("block SINGLE_NODE_WRITER"), std::string::npos);

  const CommandResult refused = run({"controller", "validate", "vol-1", "--access-mode", "rwx"});
  ASSERT_EQ(refused.exitStatus, 0) << refused.errorOutput;
  EXPECT_EQ(refused.output, "not confirmed: multi-node writers are not supported\n");
}

TEST_F(PolycsictlEndToEnd, CapacityAndExpand) {
  const CommandResult capacity = run({"controller", "capacity", "--param", "pool=fast"});
  ASSERT_EQ(capacity.exitStatus, 0) << capacity.errorOutput;
  EXPECT_NE(capacity.output.find("10.0 GiB"), std::string::npos);
  EXPECT_NE(capacity.output.find("maximum_volume_size  5.0 GiB"), std::string::npos);
  const auto capacity_requests = log().requests<csi::v1::GetCapacityRequest>("GetCapacity");
  ASSERT_EQ(capacity_requests.size(), 1u);
  EXPECT_EQ(capacity_requests[0].parameters().at("pool"), "fast");
  EXPECT_EQ(capacity_requests[0].volume_capabilities_size(), 0);

  const CommandResult expand = run({"controller", "expand", "vol-1", "--size", "3Gi", "--block"});
  ASSERT_EQ(expand.exitStatus, 0) << expand.errorOutput;
  EXPECT_EQ(expand.output, "volume vol-1  capacity 3.0 GiB  node_expansion_required yes\n");
  const auto expand_requests =
      log().requests<csi::v1::ControllerExpandVolumeRequest>("ControllerExpandVolume");
  ASSERT_EQ(expand_requests.size(), 1u);
  EXPECT_EQ(expand_requests[0].capacity_range().required_bytes(), 3 * kGi);
  EXPECT_TRUE(expand_requests[0].volume_capability().has_block());
}

TEST_F(PolycsictlEndToEnd, GlobalFlagsMayFollowTheSubcommand) {
  const CommandResult result = run({"controller", "capabilities", "--json"});
  ASSERT_EQ(result.exitStatus, 0) << result.errorOutput;
  const nlohmann::json json = nlohmann::json::parse(result.output);
  ASSERT_EQ(json["capabilities"].size(), 3u);
  EXPECT_EQ(json["capabilities"][0]["rpc"]["type"], "CREATE_DELETE_VOLUME");
}

TEST_F(PolycsictlEndToEnd, SnapshotCreate) {
  const CommandResult result =
      run({"snapshot", "create", "daily", "vol-1", "--param", "retain=7d"});
  ASSERT_EQ(result.exitStatus, 0) << result.errorOutput;
  EXPECT_EQ(result.output,
            "snapshot snap-daily  source vol-1  size 1.0 GiB  ready true  created "
            "2023-11-14T22:13:20Z\n");
  const auto requests = log().requests<csi::v1::CreateSnapshotRequest>("CreateSnapshot");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].name(), "daily");
  EXPECT_EQ(requests[0].source_volume_id(), "vol-1");
  EXPECT_EQ(requests[0].parameters().at("retain"), "7d");
}

TEST_F(PolycsictlEndToEnd, GroupSnapshotCreateGetDelete) {
  const CommandResult created = run({"group-snapshot", "create", "vm1", "vol-root", "vol-data"});
  ASSERT_EQ(created.exitStatus, 0) << created.errorOutput;
  EXPECT_NE(created.output.find("group snapshot fake:grp-vm1  ready true  created "
                                "2023-11-14T22:13:20Z  consistency per-volume-sequence"),
            std::string::npos)
      << created.output;
  EXPECT_NE(created.output.find("snap-vm1-1"), std::string::npos) << created.output;
  const auto creates =
      log().requests<csi::v1::CreateVolumeGroupSnapshotRequest>("CreateVolumeGroupSnapshot");
  ASSERT_EQ(creates.size(), 1u);
  EXPECT_EQ(creates[0].name(), "vm1");
  ASSERT_EQ(creates[0].source_volume_ids_size(), 2);
  EXPECT_EQ(creates[0].source_volume_ids(1), "vol-data");

  const CommandResult deleted = run({"group-snapshot", "delete", "fake:grp-vm1", "--snapshot",
                                     "snap-vm1-0", "--snapshot", "snap-vm1-1"});
  ASSERT_EQ(deleted.exitStatus, 0) << deleted.errorOutput;
  EXPECT_EQ(deleted.output, "deleted group snapshot fake:grp-vm1\n");
  const auto deletes =
      log().requests<csi::v1::DeleteVolumeGroupSnapshotRequest>("DeleteVolumeGroupSnapshot");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].snapshot_ids_size(), 2);

  const CommandResult missing = run({"group-snapshot", "get", "fake:grp-gone"});
  EXPECT_EQ(missing.exitStatus, 1);
  EXPECT_NE(missing.errorOutput.find("NOT_FOUND"), std::string::npos) << missing.errorOutput;
}

TEST_F(PolycsictlEndToEnd, NodeStageAndPublishSendPathsContextsAndCapability) {
  const CommandResult stage =
      run({"node", "stage", "vol-1", "/var/lib/kubelet/staging/vol-1", "--publish-context",
           "devicePath=/dev/fake0", "--context", "pool=fast", "--block"});
  ASSERT_EQ(stage.exitStatus, 0) << stage.errorOutput;
  EXPECT_EQ(stage.output, "staged volume vol-1 at /var/lib/kubelet/staging/vol-1\n");
  const auto stages = log().requests<csi::v1::NodeStageVolumeRequest>("NodeStageVolume");
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_EQ(stages[0].staging_target_path(), "/var/lib/kubelet/staging/vol-1");
  EXPECT_EQ(stages[0].publish_context().at("devicePath"), "/dev/fake0");
  EXPECT_EQ(stages[0].volume_context().at("pool"), "fast");
  EXPECT_TRUE(stages[0].volume_capability().has_block());

  const CommandResult publish =
      run({"node", "publish", "vol-1", "/pods/p1/vol", "--staging",
           "/var/lib/kubelet/staging/vol-1", "--readonly", "--fs-type", "xfs"});
  ASSERT_EQ(publish.exitStatus, 0) << publish.errorOutput;
  const auto publishes = log().requests<csi::v1::NodePublishVolumeRequest>("NodePublishVolume");
  ASSERT_EQ(publishes.size(), 1u);
  EXPECT_EQ(publishes[0].target_path(), "/pods/p1/vol");
  EXPECT_EQ(publishes[0].staging_target_path(), "/var/lib/kubelet/staging/vol-1");
  EXPECT_TRUE(publishes[0].readonly());
  EXPECT_EQ(publishes[0].volume_capability().mount().fs_type(), "xfs");
}

TEST_F(PolycsictlEndToEnd, NodeInfoAndStats) {
  const CommandResult info = run({"node", "info"});
  ASSERT_EQ(info.exitStatus, 0) << info.errorOutput;
  EXPECT_NE(info.output.find("node-1"), std::string::npos);
  EXPECT_NE(info.output.find("zone=a"), std::string::npos);

  const CommandResult stats = run({"node", "stats", "vol-1", "/pods/p1/vol"});
  ASSERT_EQ(stats.exitStatus, 0) << stats.errorOutput;
  EXPECT_NE(stats.output.find("BYTES"), std::string::npos);
  EXPECT_NE(stats.output.find("4.0 GiB"), std::string::npos);
  EXPECT_NE(stats.output.find("990"), std::string::npos);
  const auto requests = log().requests<csi::v1::NodeGetVolumeStatsRequest>("NodeGetVolumeStats");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].volume_path(), "/pods/p1/vol");
}

}  // namespace
}  // namespace polycsi::csictl::testing
