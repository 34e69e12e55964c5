// The powerstore-sim binary end to end: HTTPS with the test CA, sessions, the REST calls the
// plugin makes, and real iSCSI logins to tgtd through libiscsi.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "sim_process.hpp"
#include "temp_dir.hpp"
#include "test_initiator.hpp"
#include "test_pki.hpp"

namespace powerstore_sim::testing {
namespace {

using polycsi::testing::makeTestPki;
using polycsi::testing::TestPki;

constexpr const char* kHostIqn = "iqn.1994-05.com.redhat:node-a";
constexpr const char* kOtherIqn = "iqn.1994-05.com.redhat:node-b";

class SimE2eTest : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& extra = {}) {
    pki_ = makeTestPki(dir_.path());
    std::vector<std::string> args = {
        "--cert",      pki_.server_cert.string(),        "--key",      pki_.server_key.string(),
        "--state-dir", (dir_.path() / "state").string(), "--password", "secret"};
    args.insert(args.end(), extra.begin(), extra.end());
    sim_ = std::make_unique<SimProcess>(POWERSTORE_SIM_BINARY, args);
  }

  std::unique_ptr<httplib::SSLClient> client(const std::filesystem::path& ca) {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", sim_->port());
    c->set_ca_cert_path(ca.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(10, 0);
    c->set_read_timeout(30, 0);
    c->set_basic_auth("admin", "secret");
    return c;
  }

  // Logs in and returns a client that sends the session's cookie and token.
  std::unique_ptr<httplib::SSLClient> session() {
    auto c = client(pki_.ca_cert);
    auto res = c->Get("/api/rest/login_session");
    EXPECT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    const std::string cookie = res->get_header_value("Set-Cookie");
    httplib::Headers headers = {{"DELL-EMC-TOKEN", res->get_header_value("DELL-EMC-TOKEN")},
                                {"Cookie", cookie.substr(0, cookie.find(';'))}};
    c->set_default_headers(headers);
    return c;
  }

  std::string post(httplib::SSLClient& c, const std::string& path, const nlohmann::json& body,
                   int expected = 201) {
    auto res = c.Post(("/api/rest/" + path).c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, expected) << res->body;
    if (res->body.empty()) return {};
    const auto json = nlohmann::json::parse(res->body);
    return json.contains("id") ? json["id"].get<std::string>() : res->body;
  }

  TempDir dir_;
  TestPki pki_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(SimE2eTest, MappedInitiatorReadsAndWritesUnmappedIsRefused) {
  start();
  auto c = session();
  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 8 << 20}});
  const std::string host =
      post(*c, "host",
           {{"name", "node-a"},
            {"os_type", "Linux"},
            {"initiators", {{{"port_name", kHostIqn}, {"port_type", "iSCSI"}}}}});
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);

  auto res = c->Get(("/api/rest/host_volume_mapping?volume_id=eq." + volume).c_str());
  ASSERT_TRUE(res);
  const auto mappings = nlohmann::json::parse(res->body);
  ASSERT_EQ(mappings.size(), 1u);
  EXPECT_EQ(mappings[0]["host_id"], host);
  const std::string target = mappings[0]["target_iqn"];

  {
    TestInitiator initiator(sim_->iscsiPortal(), target, kHostIqn);
    EXPECT_EQ(initiator.capacity(), 8u << 20);
    std::vector<std::uint8_t> block(512);
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<std::uint8_t>(i * 7);
    initiator.writeBlock(3, block);
    EXPECT_EQ(initiator.readBlock(3), block);
  }
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kOtherIqn), std::runtime_error);

  // Detach unbinds: the formerly mapped initiator is refused too.
  post(*c, "host/" + host + "/detach", {{"volume_id", volume}}, 204);
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn), std::runtime_error);
}

TEST_F(SimE2eTest, ChapRightIsAcceptedWrongIsRefused) {
  start({"--chap-user", "chapuser", "--chap-password", "chapsecret123"});
  auto c = session();
  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 1 << 20}});
  const std::string host = post(
      *c, "host",
      {{"name", "node-a"}, {"initiators", {{{"port_name", kHostIqn}, {"port_type", "iSCSI"}}}}});
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);
  auto res = c->Get(("/api/rest/host_volume_mapping?volume_id=eq." + volume).c_str());
  ASSERT_TRUE(res);
  const std::string target = nlohmann::json::parse(res->body)[0]["target_iqn"];

  EXPECT_NO_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn,
                                ChapCredentials{"chapuser", "chapsecret123"}));
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn,
                             ChapCredentials{"chapuser", "wrongsecret99"}),
               std::runtime_error);
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn), std::runtime_error);
}

TEST_F(SimE2eTest, SessionsAndErrorsLookLikeTheArray) {
  start({"--no-tgtd"});
  // Wrong CA: the TLS handshake fails.
  auto wrong = client(pki_.other_ca_cert);
  EXPECT_FALSE(wrong->Get("/api/rest/volume"));

  // Wrong password: 401 with Dell's error body.
  auto bad = client(pki_.ca_cert);
  bad->set_basic_auth("admin", "nope");
  auto res = bad->Get("/api/rest/login_session");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(nlohmann::json::parse(res->body)["messages"][0]["severity"], "Error");

  // A modifying call without a session token is forbidden; with one it works.
  auto plain = client(pki_.ca_cert);
  res = plain->Post("/api/rest/volume", R"({"name":"v","size":1048576})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  auto c = session();
  const std::string id = post(*c, "volume", {{"name", "v"}, {"size", 1 << 20}});
  post(*c, "volume", {{"name", "v"}, {"size", 1 << 20}}, 422);

  // Expired sessions answer 403 until the client logs in again.
  auto admin = client(pki_.ca_cert);
  res = admin->Post("/sim/expire_sessions");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  res = c->Patch(("/api/rest/volume/" + id).c_str(), R"({"size":2097152})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  c = session();
  res = c->Patch(("/api/rest/volume/" + id).c_str(), R"({"size":2097152})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  res = c->Get(("/api/rest/volume?name=eq.v"));
  ASSERT_TRUE(res);
  EXPECT_EQ(nlohmann::json::parse(res->body)[0]["size"], 2u << 20);
}

}  // namespace
}  // namespace powerstore_sim::testing
