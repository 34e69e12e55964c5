// The driver trusts only the peers it was told to trust, and says why when it refuses:
// - rds_nvme without a pinned RDS host key does not start (a changed key is refused in
//   tests/integration/rds_nvme_grpc_test.cc, ChangedHostKeyIsRefusedNamingBothFingerprints);
// - iscsi_powerstore refuses a PowerStore certificate whose name does not match the endpoint,
//   even when a trusted CA signed it (an untrusted CA: iscsi_powerstore_grpc_test.cc,
//   WrongCaIsRefused);
// - a wrong CHAP secret against a real tgtd is reported as a CHAP authentication failure,
//   not as a generic refusal.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "iscsi_node.hpp"
#include "powerstore_sim_process.hpp"
#include "rds_sim_process.hpp"
#include "temp_directory.hpp"
#include "test_pki.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr char kIqnA[] = "iqn.1994-05.com.redhat:node-a";
constexpr char kChapUser[] = "chapuser";
constexpr char kChapSecret[] = "chapSecret-4711";

std::string driverConfig(const SimProcess& sim, const std::string& caFile) {
  return powerstoreBackendConfig(sim, caFile, "array-pw-1");
}

TEST(PeerTrustTest, RdsWithoutAPinnedHostKeyDoesNotStart) {
  TempDir work;
  RdsSimProcess sim(work.str() + "/rds");
  sim.start();
  DriverProcess driver(work.str(),
                       "backends:\n  - name: rds\n    plugin: rds_nvme\n    default: true\n"
                       "    settings:\n      address: 127.0.0.1\n      port: " +
                           std::to_string(sim.port()) + "\n      user: " + RdsSimProcess::kUser +
                           "\n      password: " + RdsSimProcess::kPassword +
                           "\n      base_path: /storage-pool/kubernetes-volumes\n",
                       "controller-0", {"--mode", "controller"});
  try {
    driver.start();
    FAIL() << "the driver started without a pinned RDS host key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the RDS host key must be pinned"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sim.log().find("exec:"), std::string::npos)
      << "a command reached an RDS whose key was never checked:\n"
      << sim.log();
}

TEST(PeerTrustTest, PowerStoreCertificateForAnotherNameIsRefused) {
  TempDir work;
  // A CA the driver trusts, which signed a certificate for another name than the endpoint's.
  const std::string dir = work.str() + "/pki";
  std::filesystem::create_directories(dir);
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  std::vector<std::string> ca = {"req", "-x509"};
  ca.insert(ca.end(), ec.begin(), ec.end());
  ca.insert(ca.end(), {"-keyout", dir + "/ca.key", "-out", dir + "/ca.pem", "-days", "2", "-subj",
                       "/CN=polycsi-test-ca"});
  runOpenssl(ca);
  std::vector<std::string> csr = {"req"};
  csr.insert(csr.end(), ec.begin(), ec.end());
  csr.insert(csr.end(), {"-keyout", dir + "/server.key", "-out", dir + "/server.csr", "-subj",
                         "/CN=array.example.test"});
  runOpenssl(csr);
  std::ofstream(dir + "/ext.cnf") << "subjectAltName=DNS:array.example.test\n";
  runOpenssl({"x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem", "-CAkey",
              dir + "/ca.key", "-CAcreateserial", "-out", dir + "/server.pem", "-days", "2",
              "-extfile", dir + "/ext.cnf"});

  SimProcess sim(
      POWERSTORE_SIM_BINARY,
      {"--cert", dir + "/server.pem", "--key", dir + "/server.key", "--state-dir",
       work.str() + "/sim", "--password", "array-pw-1", "--global-id", kGlobalId, "--no-tgtd"});
  DriverProcess driver(work.str(), driverConfig(sim, dir + "/ca.pem"), "controller-0",
                       {"--mode", "controller"});
  driver.start();
  auto req = createRequest("pvc-mitm", kMiB, blockCapability(Mode::SINGLE_NODE_WRITER));
  csi::v1::CreateVolumeResponse resp;
  auto ctx = rpcContext();
  grpc::Status s = driver.controller().CreateVolume(ctx.get(), req, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("TLS with " + sim.endpoint() + " failed"), std::string::npos)
      << s.error_message();
  // libcurl with OpenSSL (libcurl4-openssl-dev) names the mismatch and the host.
  EXPECT_NE(s.error_message().find("subject name matches target host name '127.0.0.1'"),
            std::string::npos)
      << s.error_message();
}

class ChapFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = polycsi::testing::makeTestPki(work_.str());
    sim_ = std::make_unique<SimProcess>(
        POWERSTORE_SIM_BINARY,
        std::vector<std::string>{"--cert", pki_.server_cert.string(), "--key",
                                 pki_.server_key.string(), "--state-dir", work_.str() + "/sim",
                                 "--password", "array-pw-1", "--global-id", kGlobalId,
                                 "--chap-user", kChapUser, "--chap-password", kChapSecret});
    DriverProcess driver(work_.str(), driverConfig(*sim_, pki_.ca_cert.string()), "controller-0",
                         {"--mode", "controller"});
    driver.start();
    auto req = createRequest("pvc-chap", 4 * kMiB, blockCapability(Mode::SINGLE_NODE_WRITER));
    csi::v1::CreateVolumeResponse created;
    auto c1 = rpcContext();
    ASSERT_TRUE(driver.controller().CreateVolume(c1.get(), req, &created).ok());
    csi::v1::ControllerPublishVolumeRequest pub;
    pub.set_volume_id(created.volume().volume_id());
    pub.set_node_id(std::string("node-a|iscsi_powerstore=") + kIqnA);
    *pub.mutable_volume_capability() = blockCapability(Mode::SINGLE_NODE_WRITER);
    *pub.mutable_volume_context() = created.volume().volume_context();
    csi::v1::ControllerPublishVolumeResponse published;
    auto c2 = rpcContext();
    grpc::Status s = driver.controller().ControllerPublishVolume(c2.get(), pub, &published);
    ASSERT_TRUE(s.ok()) << s.error_message();
    portal_ = published.publish_context().at("portal");
    target_ = published.publish_context().at("targetIqn");
  }

  TempDir work_;
  polycsi::testing::TestPki pki_;
  std::unique_ptr<SimProcess> sim_;
  std::string portal_;
  std::string target_;
};

TEST_F(ChapFailureTest, RightSecretLogsInWrongSecretIsACHAPFailure) {
  using iscsi_powerstore::ChapSecret;
  const auto timeout = std::chrono::seconds(10);
  EXPECT_NO_THROW(iscsi_powerstore::probePortal(portal_, target_, kIqnA,
                                                ChapSecret{kChapUser, kChapSecret}, timeout));
  try {
    iscsi_powerstore::probePortal(portal_, target_, kIqnA, ChapSecret{kChapUser, "not-the-secret"},
                                  timeout);
    FAIL() << "a wrong CHAP secret was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied);
    EXPECT_NE(std::string(e.what()).find("failed CHAP authentication as user 'chapuser'"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("not-the-secret"), std::string::npos) << e.what();
  }
}

// What NodeStageVolume returns: the node side stops at the CHAP failure, before iscsiadm.
TEST_F(ChapFailureTest, NodeAttachWithAWrongSecretNamesCHAPAndRunsNothing) {
  std::filesystem::create_directories(work_.str() + "/sys/module/iscsi_tcp");
  std::filesystem::create_directories(work_.str() + "/nodestate");
  // The host's root as the node pod sees it, with open-iscsi installed.
  const std::string host = work_.str() + "/host";
  std::filesystem::create_directories(host + "/usr/sbin");
  std::filesystem::create_directories(host + "/etc/iscsi");
  std::ofstream(host + "/usr/sbin/iscsiadm") << "";
  std::filesystem::permissions(host + "/usr/sbin/iscsiadm", std::filesystem::perms::owner_all);
  std::ofstream(host + "/etc/iscsi/initiatorname.iscsi") << "InitiatorName=" << kIqnA << "\n";
  iscsi_powerstore::IscsiNodeOptions options;
  options.hostRoot = host;
  options.sysfsRoot = work_.str() + "/sys";
  options.stateDir = work_.str() + "/nodestate";
  options.chap = iscsi_powerstore::ChapSecret{kChapUser, "wrong-chap-secret"};
  options.commandTimeout = std::chrono::seconds(10);
  std::vector<std::string> ran;
  options.runner = [&](const std::vector<std::string>& argv, std::chrono::milliseconds) {
    ran.push_back(argv.empty() ? "" : argv.front());
    return iscsi_powerstore::CommandOutcome{1, ""};
  };
  iscsi_powerstore::IscsiNode node(options);
  const int lun = 1;
  try {
    node.attach({portal_, target_, lun}, work_.str() + "/staging", Call{});
    FAIL() << "attach succeeded with a wrong CHAP secret";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied);
    EXPECT_NE(std::string(e.what()).find("CHAP authentication"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("wrong-chap-secret"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(ran.empty()) << "iscsiadm ran after the CHAP failure: " << ran.front();
}

}  // namespace
}  // namespace polycsi::testing
