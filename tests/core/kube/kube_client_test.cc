#include "kube/kube_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fake_kube_api.hpp"

namespace polycsi::kube {
namespace {

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

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "polycsi-kube-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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

TEST(KubeClientTest, GetAndPostWithTheBearerToken) {
  FakeKubeApi api(kToken);
  api.setPersistentVolume("pv-1", testing::csiPersistentVolume("pv-1", "drv", "vol-1"));
  KubeClient client(configFor(api));

  auto pv = client.get("/api/v1/persistentvolumes/pv-1");
  ASSERT_TRUE(pv.isOk()) << pv.status().toString();
  EXPECT_EQ((*pv)["spec"]["csi"]["volumeHandle"], "vol-1");

  auto created = client.post("/api/v1/namespaces/ns1/events",
                             {{"metadata", {{"generateName", "x."}}}, {"reason", "Test"}});
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EXPECT_EQ((*created)["metadata"]["name"], "x.1");
  ASSERT_EQ(api.events().size(), 1u);
  EXPECT_EQ(api.events()[0].namespace_, "ns1");
  EXPECT_EQ(api.events()[0].body["reason"], "Test");
}

TEST(KubeClientTest, MapsHttpErrorsToCodesWithTheApiMessage) {
  FakeKubeApi api(kToken);
  KubeClient client(configFor(api));

  auto missing = client.get("/api/v1/persistentvolumes/nope");
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
    auto result = client.get("/apis/storage.k8s.io/v1/volumeattachments");
    ASSERT_FALSE(result.isOk()) << c.http;
    EXPECT_EQ(result.status().code(), c.code) << c.http;
    EXPECT_THAT(result.status().message(), HasSubstr("injected failure " + std::to_string(c.http)));
  }
}

TEST(KubeClientTest, WrongTokenIsPermissionDenied) {
  FakeKubeApi api(kToken);
  KubeClient client(configFor(api, "wrong-token"));
  auto result = client.get("/apis/storage.k8s.io/v1/volumeattachments");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(result.status().message(), ::testing::Not(HasSubstr("wrong-token")));
}

TEST(KubeClientTest, RefusesUnsafePaths) {
  FakeKubeApi api(kToken);
  KubeClient client(configFor(api));
  const std::vector<std::string> paths = {"", "api/v1", "/api/v1/x y", "/api/v1\r\nHost: evil",
                                          "/api/v1/\x01"};
  for (const std::string& path : paths) {
    auto result = client.get(path);
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
  KubeClient client(config);
  auto result = client.get("/api/v1/persistentvolumes/pv-1");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kUnavailable);
}

TEST(KubeClientTest, RefusesABadBaseUrl) {
  KubeConfig config;
  config.baseUrl = "ftp://example";
  EXPECT_THROW(KubeClient{config}, std::invalid_argument);
  config.baseUrl = "https://host name";
  EXPECT_THROW(KubeClient{config}, std::invalid_argument);
}

TEST(UrlEncodeTest, EncodesReservedCharacters) {
  EXPECT_EQ(urlEncode("abc-._~XYZ09"), "abc-._~XYZ09");
  EXPECT_EQ(urlEncode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
}

}  // namespace
}  // namespace polycsi::kube
