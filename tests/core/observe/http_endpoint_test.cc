#include "observe/http_endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

namespace polycsi::observe {
namespace {

using ::testing::HasSubstr;

TEST(HttpEndpointTest, ServesMetricsAndHealth) {
  Metrics metrics;
  metrics.registerPrefix("rds_csi");
  std::atomic<bool> healthy{true};
  auto endpoint = HttpEndpoint::start("127.0.0.1:0", metrics, [&] { return healthy.load(); });
  ASSERT_TRUE(endpoint.isOk()) << endpoint.status().toString();
  ASSERT_GT((*endpoint)->port(), 0);

  httplib::Client client("127.0.0.1", (*endpoint)->port());
  client.set_connection_timeout(5);
  client.set_read_timeout(5);

  auto scrape = client.Get("/metrics");
  ASSERT_TRUE(scrape) << httplib::to_string(scrape.error());
  EXPECT_EQ(scrape->status, 200);
  EXPECT_EQ(scrape->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_THAT(scrape->body, HasSubstr("rds_csi_migration_migrations_total{result=\"success\"} 0"));

  auto ok = client.Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok");

  healthy = false;
  auto bad = client.Get("/healthz");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 503);
  EXPECT_EQ(bad->body, "unhealthy");

  auto missing = client.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  (*endpoint)->stop();
  (*endpoint)->stop();  // idempotent
  EXPECT_FALSE(client.Get("/healthz"));
}

TEST(HttpEndpointTest, StopRightAfterStartReturns) {
  Metrics metrics;
  auto endpoint = HttpEndpoint::start("127.0.0.1:0", metrics, [] { return true; });
  ASSERT_TRUE(endpoint.isOk());
  (*endpoint)->stop();
}

TEST(HttpEndpointTest, RefusesMalformedAddresses) {
  Metrics metrics;
  for (const char* address : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:70000",
                              "::1:9090", "[::1:9090", "host name:80", "127.0.0.1:-1"}) {
    auto endpoint = HttpEndpoint::start(address, metrics, [] { return true; });
    ASSERT_FALSE(endpoint.isOk()) << address;
    EXPECT_EQ(endpoint.status().code(), Code::kInvalidArgument) << address;
    EXPECT_THAT(endpoint.status().message(), HasSubstr(address));
  }
}

TEST(HttpEndpointTest, ParsesAddressForms) {
  auto v4 = parseListenAddress("127.0.0.1:9090");
  ASSERT_TRUE(v4.isOk());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9090);
  auto v6 = parseListenAddress("[::1]:8080");
  ASSERT_TRUE(v6.isOk());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
  auto any = parseListenAddress(":9808");
  ASSERT_TRUE(any.isOk());
  EXPECT_EQ(any->host, "0.0.0.0");
  EXPECT_EQ(any->port, 9808);
}

TEST(HttpEndpointTest, BusyPortIsUnavailable) {
  Metrics metrics;
  auto first = HttpEndpoint::start("127.0.0.1:0", metrics, [] { return true; });
  ASSERT_TRUE(first.isOk());
  auto second = HttpEndpoint::start("127.0.0.1:" + std::to_string((*first)->port()), metrics,
                                    [] { return true; });
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace polycsi::observe
