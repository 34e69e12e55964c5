// The powerstore-sim binary end to end: HTTPS with the test CA, sessions, the REST calls the
// plugin makes, and real iSCSI logins to tgtd through libiscsi.
#include <gtest/gtest.h>
#include <httplib.h>

extern "C" {
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
}

#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

#include "powerstore_sim_process.hpp"
#include "temp_directory.hpp"
#include "test_initiator.hpp"
#include "test_pki.hpp"

namespace powerstore_sim::testing {
namespace {

using polycsi::testing::ChapCredentials;
using polycsi::testing::makeTestPki;
using polycsi::testing::SimProcess;
using polycsi::testing::TempDir;
using polycsi::testing::TestInitiator;
using polycsi::testing::TestPki;

constexpr const char* kHostIqn = "iqn.1994-05.com.redhat:node-a";
constexpr const char* kOtherIqn = "iqn.1994-05.com.redhat:node-b";

// The 16-byte NAA designators of the LUN's VPD page 0x83 (what the kernel and udev take the
// disk's WWID from), as hex, read through `target` at `portal`.
std::vector<std::string> naaDesignators(const std::string& portal, const std::string& target,
                                        int lun) {
  iscsi_context* iscsi = iscsi_create_context(kHostIqn);
  iscsi_set_timeout(iscsi, 10);
  iscsi_set_targetname(iscsi, target.c_str());
  iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
  std::vector<std::string> found;
  if (iscsi_full_connect_sync(iscsi, portal.c_str(), lun) == 0) {
    scsi_task* task = iscsi_inquiry_sync(iscsi, lun, 1, 0x83, 255);
    if (task != nullptr && task->status == SCSI_STATUS_GOOD) {
      auto* page = static_cast<scsi_inquiry_device_identification*>(scsi_datain_unmarshall(task));
      for (auto* d = page ? page->designators : nullptr; d != nullptr; d = d->next) {
        if (d->designator_type != SCSI_DESIGNATOR_TYPE_NAA || d->designator_length != 16) continue;
        std::string hex;
        for (int i = 0; i < d->designator_length; ++i) {
          char byte[3];
          std::snprintf(byte, sizeof byte, "%02x", static_cast<unsigned char>(d->designator[i]));
          hex += byte;
        }
        found.push_back(hex);
      }
    }
    if (task != nullptr) scsi_free_scsi_task(task);
    iscsi_logout_sync(iscsi);
  }
  iscsi_destroy_context(iscsi);
  return found;
}

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

  // GET `path` (under /api/rest/) and its parsed body; `status` and `range` receive the
  // status and the Content-Range header.
  nlohmann::json get(httplib::SSLClient& c, const std::string& path, int* status = nullptr,
                     std::string* range = nullptr) {
    auto res = c.Get(("/api/rest/" + path).c_str());
    EXPECT_TRUE(res) << path;
    if (!res) return nullptr;
    if (status) *status = res->status;
    if (range) *range = res->get_header_value("Content-Range");
    return res->body.empty() ? nlohmann::json() : nlohmann::json::parse(res->body);
  }

  // The iSCSI IP ports as the array lists them: (address, target IQN) per port.
  std::vector<std::pair<std::string, std::string>> iscsiPorts(httplib::SSLClient& c) {
    std::vector<std::pair<std::string, std::string>> ports;
    const nlohmann::json list = get(c,
                                    "ip_pool_address?select=address,ip_port(target_iqn)"
                                    "&purposes=cs.%7BStorage_Iscsi_Target%7D&order=id");
    for (const auto& a : list) ports.emplace_back(a["address"], a["ip_port"]["target_iqn"]);
    return ports;
  }

  int lunOf(httplib::SSLClient& c, const std::string& volume, const std::string& host) {
    const nlohmann::json list = get(c,
                                    "host_volume_mapping?select=host_id,logical_unit_number"
                                    "&volume_id=eq." +
                                        volume + "&host_id=eq." + host);
    EXPECT_EQ(list.size(), 1u);
    return list.empty() ? -1 : list[0]["logical_unit_number"].get<int>();
  }

  std::string createHost(httplib::SSLClient& c, const std::string& name, const std::string& iqn) {
    return post(c, "host",
                {{"name", name},
                 {"os_type", "Linux"},
                 {"initiators", {{{"port_name", iqn}, {"port_type", "iSCSI"}}}}});
  }

  TempDir dir_;
  TestPki pki_;
  std::unique_ptr<SimProcess> sim_;
};

// Targets belong to IP ports, LUNs to host mappings: a mapped host reads and writes its LUN
// through either port's target at that port's portal; a host without mappings is refused;
// detach takes the LUN away.
TEST_F(SimE2eTest, MappedInitiatorReadsAndWritesUnmappedIsRefused) {
  start();
  auto c = session();
  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 8 << 20}});
  const std::string host = createHost(*c, "node-a", kHostIqn);
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);

  const auto ports = iscsiPorts(*c);
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_NE(ports[0].second, ports[1].second);
  const std::string port = sim_->iscsiPortal().substr(sim_->iscsiPortal().rfind(':'));
  const int lun = lunOf(*c, volume, host);
  ASSERT_GE(lun, 1);

  std::vector<std::uint8_t> block(512);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<std::uint8_t>(i * 7);
  {
    TestInitiator initiator(ports[0].first + port, ports[0].second, kHostIqn, {}, lun);
    EXPECT_EQ(initiator.capacity(), 8u << 20);
    initiator.writeBlock(3, block);
  }
  {
    // The second IP port: its own address and target, the same LUN.
    TestInitiator initiator(ports[1].first + port, ports[1].second, kHostIqn, {}, lun);
    EXPECT_EQ(initiator.readBlock(3), block);
  }
  EXPECT_THROW(TestInitiator(ports[0].first + port, ports[0].second, kOtherIqn, {}, lun),
               std::runtime_error);

  // Detach unbinds: the formerly mapped initiator is refused too.
  post(*c, "host/" + host + "/detach", {{"volume_id", volume}}, 204);
  EXPECT_THROW(TestInitiator(ports[0].first + port, ports[0].second, kHostIqn, {}, lun),
               std::runtime_error);
}

// A host that keeps another mapping may still log in, but the detached LUN is gone.
TEST_F(SimE2eTest, DetachRemovesTheLunWhileOtherMappingsStay) {
  start();
  auto c = session();
  const std::string v1 = post(*c, "volume", {{"name", "pvc-1"}, {"size", 1 << 20}});
  const std::string v2 = post(*c, "volume", {{"name", "pvc-2"}, {"size", 2 << 20}});
  const std::string host = createHost(*c, "node-a", kHostIqn);
  post(*c, "host/" + host + "/attach", {{"volume_id", v1}}, 204);
  post(*c, "host/" + host + "/attach", {{"volume_id", v2}}, 204);
  const int lun1 = lunOf(*c, v1, host);
  const int lun2 = lunOf(*c, v2, host);
  EXPECT_NE(lun1, lun2);
  const auto ports = iscsiPorts(*c);
  ASSERT_FALSE(ports.empty());
  const std::string portal = sim_->iscsiPortal();
  EXPECT_EQ(TestInitiator(portal, ports[0].second, kHostIqn, {}, lun2).capacity(), 2u << 20);
  post(*c, "host/" + host + "/detach", {{"volume_id", v1}}, 204);
  EXPECT_THROW(TestInitiator(portal, ports[0].second, kHostIqn, {}, lun1), std::runtime_error);
  EXPECT_EQ(TestInitiator(portal, ports[0].second, kHostIqn, {}, lun2).capacity(), 2u << 20);
}

// A mapped volume grows in place, as on the array: the logged-in session keeps its LUN and its
// data, and reads the new capacity (tgtd used to drop and re-add the LUN, which it refuses
// while I/O is queued and which costs the session a unit attention).
TEST_F(SimE2eTest, AMappedVolumeGrowsUnderItsSession) {
  start();
  auto c = session();
  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 8 << 20}});
  const std::string host = createHost(*c, "node-a", kHostIqn);
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);
  const auto ports = iscsiPorts(*c);
  ASSERT_FALSE(ports.empty());
  TestInitiator initiator(sim_->iscsiPortal(), ports[0].second, kHostIqn, {},
                          lunOf(*c, volume, host));
  std::vector<std::uint8_t> block(512, 0x5a);
  initiator.writeBlock(9, block);

  auto res =
      c->Patch(("/api/rest/volume/" + volume).c_str(), R"({"size": 16777216})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204) << res->body;
  EXPECT_EQ(initiator.capacity(), 16u << 20);
  EXPECT_EQ(initiator.readBlock(9), block);
}

TEST_F(SimE2eTest, ChapRightIsAcceptedWrongIsRefused) {
  start({"--chap-user", "chapuser", "--chap-password", "chapsecret123"});
  auto c = session();
  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 1 << 20}});
  const std::string host = createHost(*c, "node-a", kHostIqn);
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);
  const std::string target = iscsiPorts(*c).at(0).second;
  const int lun = lunOf(*c, volume, host);

  EXPECT_NO_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn,
                                ChapCredentials{"chapuser", "chapsecret123"}, lun));
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn,
                             ChapCredentials{"chapuser", "wrongsecret99"}, lun),
               std::runtime_error);
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, {}, lun), std::runtime_error);
}

// One volume, one identity: the LUN shows the volume's WWN (GET volume `wwn`) as its NAA
// designator through every IP port's target, so a host's multipath gathers the paths into one
// device, as with an array.
TEST_F(SimE2eTest, AVolumeHasItsWwnThroughEveryTarget) {
  start();
  auto c = session();
  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 1 << 20}});
  const std::string host = createHost(*c, "node-a", kHostIqn);
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);
  const std::string wwn = get(*c, "volume/" + volume + "?select=wwn")["wwn"];
  ASSERT_EQ(wwn.rfind("naa.6", 0), 0u) << wwn;
  const int lun = lunOf(*c, volume, host);
  const auto ports = iscsiPorts(*c);
  ASSERT_EQ(ports.size(), 2u);
  for (const auto& [address, target] : ports) {
    EXPECT_EQ(naaDesignators(sim_->iscsiPortal(), target, lun),
              std::vector<std::string>{wwn.substr(4)})
        << target;
  }
}

// The cluster's CHAP mode (chap_config/0 `mode`) decides what a host's initiators must carry,
// and tgtd asks for exactly those credentials: in Mutual mode the initiator's single pair to
// log in, and the target answers with the initiator's mutual pair.
TEST_F(SimE2eTest, MutualChapIsRequiredAndServedPerInitiator) {
  start({"--chap-mode", "Mutual"});
  auto c = session();
  EXPECT_EQ(get(*c, "chap_config/0?select=mode"),
            (nlohmann::json{{"id", "0"}, {"mode", "Mutual"}}));
  auto initiator = [](nlohmann::json chap) {
    chap["port_name"] = kHostIqn;
    chap["port_type"] = "iSCSI";
    return nlohmann::json{{"name", "node-a"}, {"initiators", {chap}}};
  };
  const nlohmann::json single = {{"chap_single_username", "nodeuser"},
                                 {"chap_single_password", "node-secret-1"}};
  nlohmann::json both = single;
  both["chap_mutual_username"] = "arrayuser";
  both["chap_mutual_password"] = "array-secret-2";
  // Mutual mode: both pairs required; each bounded (passwords 12 to 64); pairs whole.
  post(*c, "host", initiator(nlohmann::json::object()), 400);
  post(*c, "host", initiator(single), 400);
  nlohmann::json shortSecret = both;
  shortSecret["chap_mutual_password"] = "short";
  const std::string refused = post(*c, "host", initiator(shortSecret), 400);
  EXPECT_EQ(refused.find("short\""), std::string::npos) << "a password is never echoed";
  nlohmann::json half = both;
  half.erase("chap_mutual_password");
  post(*c, "host", initiator(half), 400);
  const std::string host = post(*c, "host", initiator(both));
  const nlohmann::json shown = get(*c, "host/" + host + "?select=initiators")["initiators"][0];
  EXPECT_EQ(shown["chap_mutual_username"], "arrayuser");
  EXPECT_FALSE(shown.contains("chap_mutual_password")) << "secrets are never shown";

  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 1 << 20}});
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);
  const std::string target = iscsiPorts(*c).at(0).second;
  const int lun = lunOf(*c, volume, host);
  const ChapCredentials right{"nodeuser", "node-secret-1", "arrayuser", "array-secret-2"};
  EXPECT_NO_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, right, lun));
  EXPECT_NO_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn,
                                ChapCredentials{"nodeuser", "node-secret-1"}, lun))
      << "the initiator decides whether it checks the target";
  ChapCredentials wrongTarget = right;
  wrongTarget.target_password = "not-the-array-2";
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, wrongTarget, lun),
               std::runtime_error);
  ChapCredentials wrongInitiator = right;
  wrongInitiator.password = "not-the-node-1";
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, wrongInitiator, lun),
               std::runtime_error);
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, {}, lun), std::runtime_error);

  // A changed mutual secret is what the target answers with from then on.
  auto res = c->Patch(
      ("/api/rest/host/" + host).c_str(),
      nlohmann::json{{"modify_initiators",
                      {{{"port_name", kHostIqn}, {"chap_mutual_password", "array-secret-3"}}}}}
          .dump(),
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204) << res->body;
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, right, lun),
               std::runtime_error);
  ChapCredentials changed = right;
  changed.target_password = "array-secret-3";
  EXPECT_NO_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, changed, lun));

  // CHAP off: the initiator ACL alone admits the host.
  res = c->Patch("/api/rest/chap_config/0", R"({"mode": "Single-ish"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = c->Patch("/api/rest/chap_config/0", R"({"mode": "Disabled"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204) << res->body;
  EXPECT_NO_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, {}, lun));
  // And on again: a login without CHAP is refused even though the host has its credentials.
  res = c->Patch("/api/rest/chap_config/0", R"({"mode": "Single"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204) << res->body;
  EXPECT_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn, {}, lun), std::runtime_error);
  EXPECT_NO_THROW(TestInitiator(sim_->iscsiPortal(), target, kHostIqn,
                                ChapCredentials{"nodeuser", "node-secret-1"}, lun));
}

// What a real array leaves out, the simulator leaves out; what it refuses, it refuses.
TEST_F(SimE2eTest, QueriesAnswerOnlyWhatIsSelected) {
  start({"--no-tgtd"});
  auto c = session();
  const std::string volume = post(*c, "volume", {{"name", "pvc-1"}, {"size", 1 << 20}});
  const std::string host = createHost(*c, "node-a", kHostIqn);
  post(*c, "host/" + host + "/attach", {{"volume_id", volume}}, 204);

  // No select: the id only, for instances and collections alike.
  EXPECT_EQ(get(*c, "volume/" + volume), (nlohmann::json{{"id", volume}}));
  EXPECT_EQ(get(*c, "volume?name=eq.pvc-1"), nlohmann::json::array({{{"id", volume}}}));
  EXPECT_EQ(get(*c, "host/" + host + "?select=name,os_type"),
            (nlohmann::json{{"id", host}, {"name", "node-a"}, {"os_type", "Linux"}}));
  EXPECT_EQ(get(*c, "volume/" + volume + "?select=size")["size"], 1 << 20);

  // A mapping names host, volume and LUN; no target (that is the IP port's).
  const nlohmann::json mapping =
      get(*c, "host_volume_mapping?select=*&volume_id=eq." + volume).at(0);
  EXPECT_EQ(mapping["host_id"], host);
  EXPECT_EQ(mapping["logical_unit_number"], 1);
  EXPECT_FALSE(mapping.contains("target_iqn"));
  int status = 0;
  const nlohmann::json error =
      get(*c, "host_volume_mapping?select=target_iqn&volume_id=eq." + volume, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(error["messages"][0]["severity"], "Error");
  get(*c, "ip_pool_address?select=address,port", &status);
  EXPECT_EQ(status, 400) << "ip_pool_address has no port attribute";
  get(*c, "volume?name=regex.pvc&select=id", &status);
  EXPECT_EQ(status, 400);
  get(*c, "volume?select=id&colour=eq.red", &status);
  EXPECT_EQ(status, 400);

  // Several iSCSI addresses, each with its IP port's target; other purposes are filtered out.
  const nlohmann::json all = get(*c, "ip_pool_address?select=address,purposes,ip_port(target_iqn)");
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(iscsiPorts(*c).size(), 2u);
}

TEST_F(SimE2eTest, CollectionsArePaged) {
  start({"--no-tgtd"});
  auto c = session();
  auto admin = client(pki_.ca_cert);
  auto res =
      admin->Post("/sim/seed_hosts", R"({"prefix":"bulk-","count":2100})", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 204) << res->body;
  int status = 0;
  std::string range;
  nlohmann::json page = get(*c, "host?select=name", &status, &range);
  EXPECT_EQ(status, 206);
  EXPECT_EQ(page.size(), 100u);
  EXPECT_EQ(range, "0-99/2100");
  page = get(*c, "host?select=name&limit=5000&offset=50", &status, &range);
  EXPECT_EQ(status, 206);
  EXPECT_EQ(page.size(), 2000u);
  EXPECT_EQ(range, "50-2049/2100");
  get(*c, "host?select=name&limit=0", &status);
  EXPECT_EQ(status, 416);
  page = get(*c, "host?select=name&name=eq.BULK-7", &status);
  EXPECT_EQ(status, 200);
  ASSERT_EQ(page.size(), 1u) << "filters ignore case";
  EXPECT_EQ(page[0]["name"], "bulk-7");
}

TEST_F(SimE2eTest, BodiesAndSizesAreChecked) {
  start({"--no-tgtd"});
  auto c = session();
  // dell/csi-powerstore: a multiple of 8192 bytes from 1 MiB to 256 TiB.
  post(*c, "volume", {{"name", "ok"}, {"size", (1 << 20) + 8192}});
  post(*c, "volume", {{"name", "odd"}, {"size", (1 << 20) + 4096}}, 400);
  post(*c, "volume", {{"name", "small"}, {"size", 512 << 10}}, 400);
  post(*c, "volume", {{"name", "huge"}, {"size", (256ull << 40) + 8192}}, 400);
  const std::string error =
      post(*c, "volume", {{"name", "x"}, {"size", 1 << 20}, {"colour", "red"}}, 400);
  EXPECT_NE(error.find("colour"), std::string::npos) << error;
  post(*c, "host",
       {{"name", "node-a"},
        {"initiators", {{{"port_name", kHostIqn}, {"port_type", "iSCSI"}, {"secret", "x"}}}}},
       400);
  const std::string host = post(*c, "host",
                                {{"name", "node-a"},
                                 {"initiators",
                                  {{{"port_name", kHostIqn},
                                    {"port_type", "iSCSI"},
                                    {"chap_single_username", "chapuser"},
                                    {"chap_single_password", "chapsecret123"}}}}});
  const nlohmann::json initiator = get(*c, "host/" + host + "?select=initiators")["initiators"][0];
  EXPECT_EQ(initiator["chap_single_username"], "chapuser");
  EXPECT_FALSE(initiator.contains("chap_single_password")) << "secrets are never shown";
}

// Volume groups over HTTP (PowerStore REST API 4.1 OpenAPI): bodies checked like every call's,
// refusals in Dell's error shape, a snapshot set and its members readable with nested selects.
TEST_F(SimE2eTest, VolumeGroupsAnswerAsTheArrayDefinesThem) {
  start({"--no-tgtd"});
  auto c = session();
  const std::string a = post(*c, "volume", {{"name", "a"}, {"size", 1 << 20}});
  const std::string b = post(*c, "volume", {{"name", "b"}, {"size", 1 << 20}});
  const std::string unknown =
      post(*c, "volume_group", {{"name", "vg"}, {"volume_ids", {a}}, {"colour", "red"}}, 400);
  EXPECT_NE(unknown.find("colour"), std::string::npos) << unknown;
  const std::string group = post(*c, "volume_group", {{"name", "vg"}, {"volume_ids", {a, b}}});
  // A volume is in one group at most: 422 with the array's error body.
  const nlohmann::json taken =
      nlohmann::json::parse(post(*c, "volume_group", {{"name", "vg2"}, {"volume_ids", {a}}}, 422));
  ASSERT_TRUE(taken.contains("messages")) << taken.dump();
  EXPECT_EQ(taken["messages"][0]["severity"], "Error");
  // The snapshot answers 200 {id}.
  auto res = c->Post(("/api/rest/volume_group/" + group + "/snapshot").c_str(),
                     nlohmann::json{{"name", "set"}}.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const std::string set = nlohmann::json::parse(res->body).at("id").get<std::string>();
  const nlohmann::json read =
      get(*c, "volume_group/" + set +
                  "?select=id,type,protection_data,volumes(id,type,protection_data)");
  EXPECT_EQ(read["type"], "Snapshot");
  EXPECT_EQ(read["protection_data"]["source_id"], group);
  ASSERT_EQ(read["volumes"].size(), 2u);
  EXPECT_EQ(read["volumes"][0]["type"], "Snapshot");
  const nlohmann::json volume = get(*c, "volume/" + a + "?select=volume_groups(id,name)");
  ASSERT_EQ(volume["volume_groups"].size(), 1u);
  EXPECT_EQ(volume["volume_groups"][0]["name"], "vg");
  // A snapshot set's members go only with it.
  auto member =
      c->Delete(("/api/rest/volume/" + read["volumes"][0]["id"].get<std::string>()).c_str());
  ASSERT_TRUE(member);
  EXPECT_EQ(member->status, 422);
  auto gone = c->Delete(("/api/rest/volume_group/" + set).c_str());
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 204);
  EXPECT_TRUE(get(*c, "volume?select=id&type=eq.Snapshot").empty());
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
  res = c->Get(("/api/rest/volume?name=eq.v&select=size"));
  ASSERT_TRUE(res);
  EXPECT_EQ(nlohmann::json::parse(res->body)[0]["size"], 2u << 20);
}

}  // namespace
}  // namespace powerstore_sim::testing
