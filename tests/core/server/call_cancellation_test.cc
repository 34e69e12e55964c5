// CallCancellation: the flag plugins see as polycsi_call.cancelled follows shutdown, the
// deadline, and the gRPC call's own state (a real in-process gRPC call).
#include "server/call_cancellation.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "csi.grpc.pb.h"
#include "polycsi/abi_convert.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {
namespace {

using std::chrono::system_clock;

constexpr system_clock::time_point kNoDeadline = system_clock::time_point::max();

// The flag as a plugin sees it: through a Call, across the C ABI and back.
bool pluginSeesCancelled(const CallCancellation::Watch& watch) {
  Call host;
  host.cancelled = watch.flag();
  return abi::toCall(abi::fromCall(host)).isCancelled();
}

TEST(CallCancellationTest, ShutdownCancelsWatchedAndLaterCalls) {
  CallCancellation cancellation(std::chrono::milliseconds(0));
  auto watch = cancellation.watch(nullptr, kNoDeadline);
  cancellation.pollOnce();
  EXPECT_FALSE(watch->cancelled());
  EXPECT_FALSE(pluginSeesCancelled(*watch));

  cancellation.cancelAll();
  EXPECT_TRUE(watch->cancelled());
  EXPECT_TRUE(pluginSeesCancelled(*watch));
  auto later = cancellation.watch(nullptr, kNoDeadline);
  EXPECT_TRUE(pluginSeesCancelled(*later));
}

TEST(CallCancellationTest, APassedDeadlineSetsTheFlag) {
  system_clock::time_point now = system_clock::now();
  CallCancellation cancellation(std::chrono::milliseconds(0), [&] { return now; });
  auto watch = cancellation.watch(nullptr, now + std::chrono::seconds(5));
  auto expired = cancellation.watch(nullptr, now - std::chrono::seconds(1));
  EXPECT_TRUE(pluginSeesCancelled(*expired));  // already past when watched

  now += std::chrono::seconds(4);
  cancellation.pollOnce();
  EXPECT_FALSE(pluginSeesCancelled(*watch));
  now += std::chrono::seconds(1);
  cancellation.pollOnce();
  EXPECT_TRUE(pluginSeesCancelled(*watch));
  // Set for good: the flag never goes back.
  now -= std::chrono::seconds(10);
  cancellation.pollOnce();
  EXPECT_TRUE(pluginSeesCancelled(*watch));
}

TEST(CallCancellationTest, WatchesAreIndependent) {
  system_clock::time_point now = system_clock::now();
  CallCancellation cancellation(std::chrono::milliseconds(0), [&] { return now; });
  auto soon = cancellation.watch(nullptr, now + std::chrono::seconds(1));
  auto late = cancellation.watch(nullptr, now + std::chrono::seconds(60));
  now += std::chrono::seconds(2);
  cancellation.pollOnce();
  EXPECT_TRUE(soon->cancelled());
  EXPECT_FALSE(late->cancelled());
  soon.reset();  // stops watching; the other one is still polled
  now += std::chrono::seconds(60);
  cancellation.pollOnce();
  EXPECT_TRUE(late->cancelled());
}

// An Identity.Probe handler that behaves like a plugin call: it watches its own RPC, tells the
// test it runs, and then waits for the flag, as a plugin's loop would.
class WaitingIdentity final : public csi::v1::Identity::Service {
 public:
  explicit WaitingIdentity(CallCancellation& cancellation) : cancellation_(cancellation) {}

  grpc::Status Probe(grpc::ServerContext* ctx, const csi::v1::ProbeRequest*,
                     csi::v1::ProbeResponse*) override {
    auto watch = cancellation_.watch(ctx, ctx->deadline());
    const bool before = pluginSeesCancelled(*watch);
    started.set_value();
    // Bounded only so that a broken build cannot hang the suite; the test fails then.
    const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!pluginSeesCancelled(*watch) && std::chrono::steady_clock::now() < giveUp)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    finished.set_value({before, pluginSeesCancelled(*watch)});
    return grpc::Status(grpc::StatusCode::CANCELLED, "stopped");
  }

  std::promise<void> started;
  std::promise<std::pair<bool, bool>> finished;  // {cancelled at start, cancelled at the end}

 private:
  CallCancellation& cancellation_;
};

class CallCancellationGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = csi::v1::Identity::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  CallCancellation cancellation_{std::chrono::milliseconds(10)};
  WaitingIdentity service_{cancellation_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<csi::v1::Identity::Stub> stub_;
};

TEST_F(CallCancellationGrpcTest, AClientThatCancelsSetsTheFlag) {
  grpc::ClientContext ctx;
  ctx.set_deadline(system_clock::now() + std::chrono::minutes(10));
  std::thread client([&] {
    csi::v1::ProbeResponse resp;
    stub_->Probe(&ctx, csi::v1::ProbeRequest(), &resp);
  });
  service_.started.get_future().wait();
  ctx.TryCancel();
  client.join();
  auto [before, after] = service_.finished.get_future().get();
  EXPECT_FALSE(before) << "the flag was set before the client did anything";
  EXPECT_TRUE(after) << "the client's cancellation never reached the flag";
}

TEST_F(CallCancellationGrpcTest, ThePassingDeadlineSetsTheFlag) {
  grpc::ClientContext ctx;
  ctx.set_deadline(system_clock::now() + std::chrono::seconds(2));
  csi::v1::ProbeResponse resp;
  // DEADLINE_EXCEEDED, or the handler's CANCELLED when it saw the deadline first: the client
  // returns either way, whether or not the handler ran, so only the flag is checked. A bound
  // keeps a handler that never started from hanging the test.
  stub_->Probe(&ctx, csi::v1::ProbeRequest(), &resp);
  auto finished = service_.finished.get_future();
  ASSERT_EQ(finished.wait_for(std::chrono::seconds(120)), std::future_status::ready)
      << "the handler never finished";
  auto [before, after] = finished.get();
  EXPECT_TRUE(after) << "the deadline passed but the flag was never set";
}

}  // namespace
}  // namespace polycsi::server
