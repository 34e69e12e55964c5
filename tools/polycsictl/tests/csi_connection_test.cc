#include "csi_connection.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

TEST(GrpcTargetFromEndpoint, UnixSocketForms) {
  EXPECT_EQ(grpcTargetFromEndpoint("unix:///run/csi/csi.sock"), "unix:///run/csi/csi.sock");
  EXPECT_EQ(grpcTargetFromEndpoint("unix:/run/csi/csi.sock"), "unix:///run/csi/csi.sock");
  EXPECT_EQ(grpcTargetFromEndpoint("/run/csi/csi.sock"), "unix:///run/csi/csi.sock");
}

TEST(GrpcTargetFromEndpoint, TcpForms) {
  EXPECT_EQ(grpcTargetFromEndpoint("localhost:10000"), "localhost:10000");
  EXPECT_EQ(grpcTargetFromEndpoint("127.0.0.1:9000"), "127.0.0.1:9000");
  EXPECT_EQ(grpcTargetFromEndpoint("[::1]:9000"), "[::1]:9000");
}

TEST(GrpcTargetFromEndpoint, RejectsBadEndpoints) {
  for (const std::string bad :
       {"", "unix://relative.sock", "unix:relative.sock", "localhost", "localhost:", "host:0",
        "host:70000", "host:http", "http://host:80", "::1:9000", "unix:///a b", ":9000"}) {
    EXPECT_THROW(grpcTargetFromEndpoint(bad), std::invalid_argument) << bad;
  }
  EXPECT_THROW(grpcTargetFromEndpoint("unix://" + std::string(200, 'a')), std::invalid_argument);
}

TEST(CsiConnection, GivesEachCallTheConfiguredDeadline) {
  const CsiConnection connection("unix:///nonexistent/csi.sock", std::chrono::seconds(5));
  EXPECT_EQ(connection.target(), "unix:///nonexistent/csi.sock");
  const auto before = std::chrono::system_clock::now();
  const auto context = connection.newCallContext();
  const auto deadline = context->deadline();
  EXPECT_GE(deadline, before + std::chrono::seconds(5));
  EXPECT_LE(deadline, before + std::chrono::seconds(60));
}

TEST(CsiConnection, RejectsNonPositiveTimeout) {
  EXPECT_THROW(CsiConnection("unix:///x.sock", std::chrono::milliseconds(0)),
               std::invalid_argument);
}

}  // namespace
}  // namespace polycsi::csictl
