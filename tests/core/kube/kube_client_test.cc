#include "kube/kube_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fake_kube_api.hpp"
#include "temp_directory.hpp"
#include "test_pki.hpp"

namespace polycsi::kube {
namespace {

using polycsi::testing::TempDir;
using testing::FakeKubeApi;
using ::testing::HasSubstr;

constexpr const char* kToken = "test-token-abcdef";

KubeConfig configFor(const FakeKubeApi& api, const std::string& token = kToken) {
  KubeConfig config;
  config.baseUrl = api.baseUrl();
  config.token = token;
  config.timeout = std::chrono::milliseconds(5000);
  return config;
}

// A client for `config`, which KubeClient::create must accept.
std::unique_ptr<KubeClient> newClient(const KubeConfig& config) {
  auto client = KubeClient::create(config);
  EXPECT_TRUE(client.isOk()) << client.status().toString();
  return std::move(client).value();
}

void writeFile(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path) << content;
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(InClusterConfigTest, ReadsTokenCaAndServiceAddress) {
  TempDir sa;
  writeFile(sa.path() / "token", "tok-123\n");
  writeFile(sa.path() / "ca.crt", "-----BEGIN CERTIFICATE-----\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto config = inClusterConfig(sa.path().string());
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->baseUrl, "https://10.96.0.1:443");
  EXPECT_EQ(config->token, "tok-123");
  EXPECT_EQ(config->caFile, (sa.path() / "ca.crt").string());
  EXPECT_EQ(config->tokenFile, (sa.path() / "token").string()) << "read again as it rotates";
  EXPECT_FALSE(config->insecureSkipVerify);
}

TEST(InClusterConfigTest, BracketsAnIpv6Host) {
  TempDir sa;
  writeFile(sa.path() / "token", "tok");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
  auto config = inClusterConfig(sa.path().string());
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->baseUrl, "https://[fd00::1]:6443");
  EXPECT_EQ(config->caFile, "");
}

TEST(InClusterConfigTest, NoTokenMeansNoCluster) {
  TempDir sa;
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  EXPECT_FALSE(inClusterConfig(sa.path().string()).has_value());
  writeFile(sa.path() / "token", "  \n");
  EXPECT_FALSE(inClusterConfig(sa.path().string()).has_value());
}

TEST(InClusterConfigTest, TokenWithoutServiceAddressIsNoCluster) {
  TempDir sa;
  writeFile(sa.path() / "token", "tok");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  EXPECT_FALSE(inClusterConfig(sa.path().string()).has_value());
}

// Projected service-account tokens expire and the kubelet writes the new one to the same file.
TEST(KubeClientTest, ARotatedTokenIsReadAgainAfterA401) {
  TempDir sa;
  writeFile(sa.path() / "token", "expired-token\n");
  FakeKubeApi api("rotated-token");
  api.setPersistentVolume("pv-1", testing::csiPersistentVolume("pv-1", "drv", "vol-1"));
  KubeConfig config = configFor(api);
  config.token = "expired-token";
  config.tokenFile = (sa.path() / "token").string();
  config.tokenRefresh = std::chrono::hours(1);  // only the 401 makes it read the file
  const auto client = newClient(config);
  auto refused = client->get("/api/v1/persistentvolumes/pv-1");
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(api.requests().size(), 1u) << "the file still holds the same token: no retry";

  writeFile(sa.path() / "token", "rotated-token\n");
  auto pv = client->get("/api/v1/persistentvolumes/pv-1");
  ASSERT_TRUE(pv.isOk()) << pv.status().toString();
  EXPECT_EQ(api.requests().size(), 3u) << "one 401, then one retry with the new token";
  ASSERT_TRUE(client->get("/api/v1/persistentvolumes/pv-1").isOk());
  EXPECT_EQ(api.requests().size(), 4u) << "the new token is kept";
}

TEST(KubeClientTest, TheTokenFileIsReadAgainWhenTheLastReadIsOld) {
  TempDir sa;
  writeFile(sa.path() / "token", "token-1");
  FakeKubeApi api("token-2");
  api.setPersistentVolume("pv-1", testing::csiPersistentVolume("pv-1", "drv", "vol-1"));
  KubeConfig config = configFor(api);
  config.token = "token-1";
  config.tokenFile = (sa.path() / "token").string();
  config.tokenRefresh = std::chrono::milliseconds(0);  // every request reads the file
  const auto client = newClient(config);
  writeFile(sa.path() / "token", "token-2");
  ASSERT_TRUE(client->get("/api/v1/persistentvolumes/pv-1").isOk());
  EXPECT_EQ(api.requests().size(), 1u) << "sent with the new token at once, no 401 first";
  // An unreadable file keeps the token that works.
  std::filesystem::remove(sa.path() / "token");
  ASSERT_TRUE(client->get("/api/v1/persistentvolumes/pv-1").isOk());
}

// Every request the controller makes, against the ClusterRole deploy/ grants it: a rule
// missing from deploy/base/rbac-controller.yaml fails here, not in a user's cluster.
TEST(KubeClientTest, TheDeployedClusterRoleGrantsEveryRequestTheControllerMakes) {
  FakeKubeApi api(kToken);
  api.enforceClusterRole(POLYCSI_CONTROLLER_RBAC, "polycsi-controller");
  api.setPersistentVolume("pv-1", testing::csiPersistentVolume("pv-1", "drv", "vol-1"));
  api.setPersistentVolumeClaim("vms", "vm-disk", "uid-1");
  api.setCsiNode("node-a", "drv", "node-a");
  const auto client = newClient(configFor(api));
  EXPECT_TRUE(client->get("/apis/storage.k8s.io/v1/volumeattachments?limit=500").isOk());
  EXPECT_TRUE(client->get("/api/v1/persistentvolumes/pv-1").isOk());
  EXPECT_TRUE(client->get("/apis/storage.k8s.io/v1/csinodes/node-a").isOk());
  EXPECT_TRUE(client->get("/api/v1/namespaces/vms/persistentvolumeclaims/vm-disk").isOk());
  EXPECT_TRUE(
      client
          ->post("/api/v1/namespaces/vms/events",
                 {{"metadata", {{"name", "e"}}}, {"involvedObject", {{"namespace", "vms"}}}})
          .isOk());
  // What it does not grant is refused as the API server refuses it.
  auto secret = client->get("/api/v1/namespaces/vms/secrets/s");
  EXPECT_EQ(secret.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(secret.status().message(),
              ::testing::HasSubstr("cannot get resource \"secrets\" in API group \"\""));
  EXPECT_EQ(client->post("/apis/storage.k8s.io/v1/csinodes", {{"kind", "CSINode"}}).status().code(),
            Code::kPermissionDenied);
}

TEST(KubeClientTest, GetAndPostWithTheBearerToken) {
  FakeKubeApi api(kToken);
  api.setPersistentVolume("pv-1", testing::csiPersistentVolume("pv-1", "drv", "vol-1"));
  const auto client = newClient(configFor(api));

  auto pv = client->get("/api/v1/persistentvolumes/pv-1");
  ASSERT_TRUE(pv.isOk()) << pv.status().toString();
  EXPECT_EQ((*pv)["spec"]["csi"]["volumeHandle"], "vol-1");

  auto created =
      client->post("/api/v1/namespaces/ns1/events", {{"metadata", {{"generateName", "x."}}},
                                                     {"involvedObject", {{"namespace", "ns1"}}},
                                                     {"reason", "Test"}});
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EXPECT_EQ((*created)["metadata"]["name"], "x.1");
  ASSERT_EQ(api.events().size(), 1u);
  EXPECT_EQ(api.events()[0].namespace_, "ns1");
  EXPECT_EQ(api.events()[0].body["reason"], "Test");
}

TEST(KubeClientTest, MapsHttpErrorsToCodesWithTheApiMessage) {
  FakeKubeApi api(kToken);
  const auto client = newClient(configFor(api));

  auto missing = client->get("/api/v1/persistentvolumes/nope");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("persistentvolumes \"nope\" not found"));
  EXPECT_THAT(missing.status().message(), HasSubstr("GET /api/v1/persistentvolumes/nope"));
  EXPECT_THAT(missing.status().message(), HasSubstr("404"));

  struct Case {
    int http;
    Code code;
  };
  for (const Case& c : {Case{403, Code::kPermissionDenied}, Case{409, Code::kAlreadyExists},
                        Case{500, Code::kUnavailable}, Case{503, Code::kUnavailable},
                        Case{422, Code::kInvalidArgument}}) {
    api.failWith(c.http);
    auto result = client->get("/apis/storage.k8s.io/v1/volumeattachments");
    ASSERT_FALSE(result.isOk()) << c.http;
    EXPECT_EQ(result.status().code(), c.code) << c.http;
    EXPECT_THAT(result.status().message(), HasSubstr("injected failure " + std::to_string(c.http)));
  }
}

TEST(KubeClientTest, WrongTokenIsPermissionDenied) {
  FakeKubeApi api(kToken);
  const auto client = newClient(configFor(api, "wrong-token"));
  auto result = client->get("/apis/storage.k8s.io/v1/volumeattachments");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(result.status().message(), ::testing::Not(HasSubstr("wrong-token")));
}

TEST(KubeClientTest, RefusesUnsafePaths) {
  FakeKubeApi api(kToken);
  const auto client = newClient(configFor(api));
  const std::vector<std::string> paths = {"", "api/v1", "/api/v1/x y", "/api/v1\r\nHost: evil",
                                          "/api/v1/\x01"};
  for (const std::string& path : paths) {
    auto result = client->get(path);
    ASSERT_FALSE(result.isOk()) << path;
    EXPECT_EQ(result.status().code(), Code::kInvalidArgument) << path;
  }
  EXPECT_TRUE(api.requests().empty());
}

TEST(KubeClientTest, UnreachableServerIsUnavailable) {
  int port = 0;
  {
    FakeKubeApi api(kToken);  // a port that was just free and is closed again
    port = std::stoi(api.baseUrl().substr(api.baseUrl().rfind(':') + 1));
  }
  KubeConfig config;
  config.baseUrl = "http://127.0.0.1:" + std::to_string(port);
  config.token = kToken;
  config.timeout = std::chrono::milliseconds(2000);
  const auto client = newClient(config);
  auto result = client->get("/api/v1/persistentvolumes/pv-1");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kUnavailable);
}

TEST(KubeClientTest, RefusesABadBaseUrl) {
  KubeConfig config;
  config.baseUrl = "ftp://example";
  auto refused = KubeClient::create(config);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "Kubernetes API URL \"ftp://example\" must start with https:// (or http://) and "
            "contain no spaces");
  config.baseUrl = "https://host name";
  EXPECT_EQ(KubeClient::create(config).status().code(), Code::kInvalidArgument);
}

// Settings no request could work with are refused when the client is made, with the reason.
TEST(KubeClientTest, RefusesAnUnusableTimeoutOrRefreshPeriod) {
  KubeConfig config;
  config.baseUrl = "http://127.0.0.1:1";
  config.timeout = std::chrono::milliseconds(0);
  auto noTimeout = KubeClient::create(config);
  ASSERT_FALSE(noTimeout.isOk());
  EXPECT_EQ(noTimeout.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(noTimeout.status().message(), "Kubernetes API timeout must be positive");
  config.timeout = std::chrono::milliseconds(1000);
  config.tokenRefresh = std::chrono::milliseconds(-1);
  auto negativeRefresh = KubeClient::create(config);
  ASSERT_FALSE(negativeRefresh.isOk());
  EXPECT_EQ(negativeRefresh.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(negativeRefresh.status().message(), "Kubernetes API token refresh period is negative");
}

// The API server is verified against the cluster CA (ca.crt of the service account): the right
// CA is trusted, another CA is refused with OpenSSL's reason, and nothing is sent to it.
TEST(KubeClientTest, VerifiesTheApiServerCertificateAgainstTheCa) {
  TempDir dir;
  const polycsi::testing::TestPki pki = polycsi::testing::makeTestPki(dir.path());
  FakeKubeApi api(kToken, FakeKubeApi::TlsFiles{pki.server_cert, pki.server_key});
  api.setPersistentVolume("pv-1", testing::csiPersistentVolume("pv-1", "drv", "vol-1"));
  ASSERT_EQ(api.baseUrl().rfind("https://", 0), 0u);

  KubeConfig trusted = configFor(api);
  trusted.caFile = pki.ca_cert.string();
  auto pv = newClient(trusted)->get("/api/v1/persistentvolumes/pv-1");
  ASSERT_TRUE(pv.isOk()) << pv.status().toString();
  EXPECT_EQ((*pv)["spec"]["csi"]["volumeHandle"], "vol-1");
  const size_t served = api.requests().size();

  KubeConfig untrusted = configFor(api);
  untrusted.caFile = pki.other_ca_cert.string();
  auto refused = newClient(untrusted)->get("/api/v1/persistentvolumes/pv-1");
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("the API server's certificate is not trusted: unable to get local issuer "
                        "certificate"));
  EXPECT_EQ(api.requests().size(), served);  // the token never reached the server

  KubeConfig missingCa = configFor(api);
  missingCa.caFile = (dir.path() / "no-such-ca.crt").string();
  auto unloaded = newClient(missingCa)->get("/api/v1/persistentvolumes/pv-1");
  ASSERT_FALSE(unloaded.isOk());
  EXPECT_THAT(unloaded.status().message(),
              HasSubstr("cannot load CA certificates from " + missingCa.caFile));

  KubeConfig skipped = configFor(api);
  skipped.caFile = pki.other_ca_cert.string();
  skipped.insecureSkipVerify = true;
  EXPECT_TRUE(newClient(skipped)->get("/api/v1/persistentvolumes/pv-1").isOk());
}

TEST(ParseKubeUrlTest, SplitsSchemeHostPortAndPrefix) {
  const KubeEndpoint v4 = parseKubeUrl("https://10.96.0.1:6443").value();
  EXPECT_TRUE(v4.tls);
  EXPECT_EQ(v4.host, "10.96.0.1");
  EXPECT_EQ(v4.port, 6443);
  EXPECT_EQ(v4.authority, "10.96.0.1:6443");
  EXPECT_EQ(v4.pathPrefix, "");

  const KubeEndpoint v6 = parseKubeUrl("https://[fd00::1]:443/").value();
  EXPECT_EQ(v6.host, "fd00::1");
  EXPECT_EQ(v6.port, 443);
  EXPECT_EQ(v6.authority, "[fd00::1]:443");

  const KubeEndpoint defaults = parseKubeUrl("http://api.example/k8s/").value();
  EXPECT_FALSE(defaults.tls);
  EXPECT_EQ(defaults.host, "api.example");
  EXPECT_EQ(defaults.port, 80);
  EXPECT_EQ(defaults.pathPrefix, "/k8s");
  EXPECT_EQ(parseKubeUrl("https://api.example").value().port, 443);
}

TEST(ParseKubeUrlTest, NamesWhatIsWrong) {
  const auto errorOf = [](const std::string& url) -> std::string {
    const StatusOr<KubeEndpoint> endpoint = parseKubeUrl(url);
    if (endpoint.isOk()) return "";
    EXPECT_EQ(endpoint.status().code(), Code::kInvalidArgument);
    return endpoint.status().message();
  };
  EXPECT_THAT(errorOf("https://host:0"), HasSubstr("port that is not a number from 1 to 65535"));
  EXPECT_THAT(errorOf("https://host:65536"), HasSubstr("port that is not a number"));
  EXPECT_THAT(errorOf("https://host:"), HasSubstr("port that is not a number"));
  EXPECT_THAT(errorOf("https://host:44x"), HasSubstr("port that is not a number"));
  EXPECT_THAT(errorOf("https://[fd00::1"), HasSubstr("without its closing ']'"));
  EXPECT_THAT(errorOf("https://[fd00::1]x"), HasSubstr("text after the IPv6 address"));
  EXPECT_THAT(errorOf("https://:443"), HasSubstr("has no usable host"));
  EXPECT_THAT(errorOf("https://user@host"), HasSubstr("has no usable host"));
  EXPECT_THAT(errorOf("https://host/api?x=1"), HasSubstr("query or fragment"));
  EXPECT_THAT(errorOf("ftp://host"), HasSubstr("must start with https://"));
  EXPECT_EQ(errorOf("https://host:8443/base"), "");
}

TEST(UrlEncodeTest, EncodesReservedCharacters) {
  EXPECT_EQ(urlEncode("abc-._~XYZ09"), "abc-._~XYZ09");
  EXPECT_EQ(urlEncode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
}

}  // namespace
}  // namespace polycsi::kube
