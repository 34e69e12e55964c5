// The settings parser: Dell's arrays shape, defaults and every refusal.
#include "array_config.hpp"

#include <gtest/gtest.h>

namespace polycsi::iscsi_powerstore {
namespace {

std::string arrays(const std::string& body) { return R"({"arrays":[)" + body + "]}"; }

const char* kArray =
    R"({"endpoint":"https://10.0.0.1/api/rest/","globalID":"PS1","username":"u","password":"p",
        "skipCertificateValidation":false,"isDefault":true,"blockProtocol":"ISCSI",
        "nasName":"nas1","nfsAcls":"0777"})";

Code codeOf(const StringMap& settings, const std::string& json) {
  try {
    parsePluginConfig(settings, json);
  } catch (const Error& e) {
    return e.code();
  }
  return Code::kOk;
}

TEST(ArrayConfigTest, ParsesDellShape) {
  const PluginConfig config = parsePluginConfig({{"ca_file", "/etc/ca.pem"}}, arrays(kArray));
  ASSERT_EQ(config.arrays.size(), 1u);
  const ArrayConfig& a = config.arrays[0];
  EXPECT_EQ(a.endpoint, "https://10.0.0.1/api/rest");
  EXPECT_EQ(a.globalID, "PS1");
  EXPECT_EQ(a.caFile, "/etc/ca.pem");
  EXPECT_EQ(a.nasName, "nas1");
  EXPECT_TRUE(a.isDefault);
  EXPECT_EQ(&config.array(""), &config.arrays[0]);
  EXPECT_EQ(&config.array("PS1"), &config.arrays[0]);
  EXPECT_EQ(config.initiatorNameFile, "/etc/iscsi/initiatorname.iscsi");
}

TEST(ArrayConfigTest, SelectsByArrayIdAndDefault) {
  const std::string two = arrays(
      R"({"endpoint":"https://a/api/rest","globalID":"A","username":"u","password":"p",
          "skipCertificateValidation":"true"},
         {"endpoint":"https://b/api/rest","globalID":"B","username":"u","password":"p",
          "skipCertificateValidation":true,"isDefault":"true"})");
  const PluginConfig config = parsePluginConfig({}, two);
  EXPECT_EQ(config.array("").globalID, "B");
  EXPECT_EQ(config.array("A").globalID, "A");
  EXPECT_TRUE(config.arrays[0].skipCertificateValidation);
  EXPECT_THROW(config.array("C"), Error);
}

// Dell's driver reads more keys per array (dell/csi-powerstore pkg/array/array.go:
// labels, metroTopology, hostConnectivity): a config written for it must work here as is.
TEST(ArrayConfigTest, KeysThePluginDoesNotUseAreAcceptedAndListed) {
  const PluginConfig config = parsePluginConfig(
      {{"ca_file", "/ca.pem"}},
      arrays(R"({"endpoint":"https://x/api/rest","globalID":"A","username":"u","password":"p",
                 "labels":{"topology.kubernetes.io/zone":"z1"},"metroTopology":"Uniform",
                 "hostConnectivity":{"local":{}}})"));
  ASSERT_EQ(config.arrays.size(), 1u);
  EXPECT_EQ(config.arrays[0].ignoredKeys,
            (std::vector<std::string>{"hostConnectivity", "labels", "metroTopology"}));
  EXPECT_EQ(config.iscsiPort, 3260);
}

TEST(ArrayConfigTest, IscsiPortIsATcpPort) {
  const std::string one =
      arrays(R"({"endpoint":"https://x","globalID":"A","username":"u","password":"p"})");
  EXPECT_EQ(parsePluginConfig({{"ca_file", "/ca.pem"}, {"iscsi_port", "13260"}}, one).iscsiPort,
            13260);
  for (const char* bad : {"0", "65536", "32a", ""}) {
    EXPECT_EQ(codeOf({{"ca_file", "/ca.pem"}, {"iscsi_port", bad}}, one), Code::kInvalidArgument)
        << bad;
  }
}

TEST(ArrayConfigTest, ReplacementTimeoutIsUnsetOrSecondsFromMinusOne) {
  const std::string one =
      arrays(R"({"endpoint":"https://x","globalID":"A","username":"u","password":"p"})");
  EXPECT_FALSE(parsePluginConfig({{"ca_file", "/ca.pem"}}, one).replacementTimeoutSeconds);
  for (const auto& [text, seconds] :
       std::vector<std::pair<std::string, int>>{{"-1", -1}, {"0", 0}, {"15", 15}, {"86400", 86400}})
    EXPECT_EQ(
        parsePluginConfig({{"ca_file", "/ca.pem"}, {"replacement_timeout_seconds", text}}, one)
            .replacementTimeoutSeconds,
        seconds)
        << text;
  for (const char* bad : {"-2", "86401", "15s", ""})
    EXPECT_EQ(codeOf({{"ca_file", "/ca.pem"}, {"replacement_timeout_seconds", bad}}, one),
              Code::kInvalidArgument)
        << bad;
}

TEST(ArrayConfigTest, RefusesWhatIsWrong) {
  const StringMap ca = {{"ca_file", "/ca.pem"}};
  EXPECT_EQ(codeOf(ca, "{}"), Code::kInvalidArgument);
  EXPECT_EQ(
      codeOf(
          ca,
          arrays(
              R"({"endpoint":"http://x/api/rest","globalID":"A","username":"u","password":"p"})")),
      Code::kInvalidArgument);
  EXPECT_EQ(
      codeOf(
          ca,
          arrays(
              R"({"endpoint":"https://x","globalID":"A","username":"u","password":"p","blockProtocol":"FC"})")),
      Code::kInvalidArgument);
  EXPECT_EQ(codeOf(ca, arrays(R"({"endpoint":"https://x","globalID":"A","username":"u"})")),
            Code::kInvalidArgument);
  // Verification on and no CA anywhere: refused rather than silently trusting the system store.
  EXPECT_EQ(
      codeOf({},
             arrays(R"({"endpoint":"https://x","globalID":"A","username":"u","password":"p"})")),
      Code::kInvalidArgument);
  EXPECT_EQ(codeOf(ca, arrays(std::string(kArray) + "," + kArray)), Code::kInvalidArgument);
  EXPECT_EQ(codeOf({{"ca_file", "/ca.pem"}, {"request_timeout_ms", "5"}}, arrays(kArray)),
            Code::kInvalidArgument);
  EXPECT_EQ(codeOf({{"ca_file", "/ca.pem"}, {"chap_user", "u"}}, arrays(kArray)),
            Code::kInvalidArgument);
  EXPECT_EQ(codeOf({{"ca_file", "/ca.pem"}, {"initiator_name_file", "relative"}}, arrays(kArray)),
            Code::kInvalidArgument);
}

std::string messageOf(const StringMap& settings, const std::string& json) {
  try {
    parsePluginConfig(settings, json);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Found by powerstore_json_fuzz: "https:////" passed the check and then lost its slashes to
// "https:", an endpoint without a host. A host must follow "https://" once the slashes are gone.
TEST(ArrayConfigTest, AnEndpointWithoutAHostIsRefusedNamingIt) {
  const StringMap ca = {{"ca_file", "/ca.pem"}};
  for (const char* endpoint : {"https://", "https:////", "https:///api/rest"}) {
    const std::string json = arrays(std::string(R"({"endpoint":")") + endpoint +
                                    R"(","globalID":"A","username":"u","password":"p"})");
    EXPECT_EQ(codeOf(ca, json), Code::kInvalidArgument) << endpoint;
    EXPECT_NE(messageOf(ca, json).find("must be an https:// URL with a host"), std::string::npos)
        << messageOf(ca, json);
  }
  EXPECT_EQ(codeOf(ca, arrays(R"({"endpoint":"https://x//","globalID":"A","username":"u",)"
                              R"("password":"p"})")),
            Code::kOk);
}

// Regression: a malformed password was quoted in the refusal ("must be a string, got [...]").
TEST(ArrayConfigTest, RefusalsNeverQuoteASecret) {
  const std::string listPassword = messageOf(
      {{"ca_file", "/ca.pem"}}, arrays(R"({"endpoint":"https://x","globalID":"A","username":"u",
                 "password":["pw-in-a-list-7"]})"));
  EXPECT_NE(listPassword.find("arrays[0].password must be a string"), std::string::npos)
      << listPassword;
  EXPECT_EQ(listPassword.find("pw-in-a-list-7"), std::string::npos) << listPassword;

  const std::string chap = messageOf(
      {{"ca_file", "/ca.pem"}, {"chap_user", "u"}, {"chap_password", "chap-pw\nnode.x = y"}},
      arrays(kArray));
  EXPECT_NE(chap.find("chap_password"), std::string::npos) << chap;
  EXPECT_EQ(chap.find("chap-pw"), std::string::npos) << chap;
}

// Mutual CHAP: a pair, on top of one-way CHAP, within the array's bounds, with a secret of its
// own (open-iscsi refuses a target that answers with the initiator's secret); refusals name
// the setting, never the value.
TEST(ArrayConfigTest, MutualChapIsCheckedAndNeverQuoted) {
  const StringMap single = {
      {"ca_file", "/ca.pem"}, {"chap_user", "node"}, {"chap_password", "node-secret-1"}};
  auto with = [&](StringMap extra) {
    StringMap settings = single;
    for (auto& [key, value] : extra) settings[key] = value;
    return settings;
  };
  const PluginConfig config = parsePluginConfig(
      with({{"chap_mutual_user", "array"}, {"chap_mutual_password", "array-secret-2"}}),
      arrays(kArray));
  EXPECT_EQ(config.chapMutualUser, "array");
  EXPECT_EQ(config.chapMutualPassword, "array-secret-2");
  EXPECT_EQ(parsePluginConfig(single, arrays(kArray)).chapMutualUser, "");

  EXPECT_EQ(codeOf(with({{"chap_mutual_user", "array"}}), arrays(kArray)), Code::kInvalidArgument);
  const std::string alone = messageOf(
      {{"ca_file", "/ca.pem"}, {"chap_mutual_user", "a"}, {"chap_mutual_password", "mutual-pw-77"}},
      arrays(kArray));
  EXPECT_NE(alone.find("need 'chap_user'"), std::string::npos) << alone;
  EXPECT_EQ(alone.find("mutual-pw-77"), std::string::npos) << alone;
  const std::string same =
      messageOf(with({{"chap_mutual_user", "array"}, {"chap_mutual_password", "node-secret-1"}}),
                arrays(kArray));
  EXPECT_NE(same.find("must differ"), std::string::npos) << same;
  EXPECT_EQ(same.find("node-secret-1"), std::string::npos) << same;
  const std::string tooShort = messageOf(
      with({{"chap_mutual_user", "array"}, {"chap_mutual_password", "short-77"}}), arrays(kArray));
  EXPECT_NE(tooShort.find("'chap_mutual_password' must be 12 to 64"), std::string::npos)
      << tooShort;
  EXPECT_EQ(tooShort.find("short-77"), std::string::npos) << tooShort;
  EXPECT_EQ(codeOf(with({{"chap_mutual_user", std::string(65, 'u')},
                         {"chap_mutual_password", "array-secret-2"}}),
                   arrays(kArray)),
            Code::kInvalidArgument);
  const std::string control = messageOf(
      with({{"chap_mutual_user", "array"}, {"chap_mutual_password", "array-secret\nnode.x = y"}}),
      arrays(kArray));
  EXPECT_NE(control.find("chap_mutual_password"), std::string::npos) << control;
  EXPECT_EQ(control.find("array-secret"), std::string::npos) << control;
  // The array's bounds hold for the one-way secret too.
  EXPECT_EQ(codeOf({{"ca_file", "/ca.pem"}, {"chap_user", "u"}, {"chap_password", "short"}},
                   arrays(kArray)),
            Code::kInvalidArgument);
}

TEST(ArrayConfigTest, NodeDbDirDefaultsToOpenIscsisAndMustBeAbsolute) {
  EXPECT_EQ(parsePluginConfig({{"ca_file", "/ca.pem"}}, arrays(kArray)).iscsiNodeDbDir,
            "/etc/iscsi/nodes");
  EXPECT_EQ(
      parsePluginConfig({{"ca_file", "/ca.pem"}, {"iscsi_node_db_dir", "/var/lib/iscsi/nodes"}},
                        arrays(kArray))
          .iscsiNodeDbDir,
      "/var/lib/iscsi/nodes");
  EXPECT_EQ(codeOf({{"ca_file", "/ca.pem"}, {"iscsi_node_db_dir", "nodes"}}, arrays(kArray)),
            Code::kInvalidArgument);
}

// The node runs the host's iscsiadm chrooted into iscsi_host_root; the value reaches chroot's
// argv, so only a plain absolute path is accepted.
TEST(ArrayConfigTest, HostRootDefaultsToTheHostAndIsAPlainAbsolutePath) {
  EXPECT_EQ(parsePluginConfig({{"ca_file", "/ca.pem"}}, arrays(kArray)).iscsiHostRoot, "/");
  EXPECT_EQ(
      parsePluginConfig({{"ca_file", "/ca.pem"}, {"iscsi_host_root", "/host/"}}, arrays(kArray))
          .iscsiHostRoot,
      "/host");
  for (const char* bad : {"", "host", "/host/../etc", "/./host", "//host", "/ho st", "/host;id",
                          "/host\n", "-/host"}) {
    const std::string message =
        messageOf({{"ca_file", "/ca.pem"}, {"iscsi_host_root", bad}}, arrays(kArray));
    EXPECT_NE(message.find("setting 'iscsi_host_root'"), std::string::npos) << bad << message;
  }
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
