#include "rds_driver_harness.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>
#include <stdexcept>
#include <thread>

namespace polycsi::reliability {
namespace {

namespace fs = std::filesystem;
constexpr char kBasePath[] = "/storage-pool/kubernetes-volumes";

int countOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TestNode testNode(int i) {
  char nqn[96];
  std::snprintf(nqn, sizeof(nqn), "nqn.2014-08.org.nvmexpress:uuid:0000%04x-1111-4111-8111-%012x",
                static_cast<unsigned>(i), static_cast<unsigned>(i));
  return TestNode{"node-" + std::to_string(i), nqn};
}

std::string volumeName(unsigned tag, unsigned i) {
  char name[64];
  std::snprintf(name, sizeof(name), "pvc-%08x-0000-4000-8000-%012x", tag, i);
  return name;
}

std::string slotOf(const std::string& volumeId) { return volumeId.substr(volumeId.find(':') + 1); }

RdsDriverHarness::RdsDriverHarness(std::string work, testing::RdsSimProcess& sim)
    : work_(std::move(work)), sim_(sim) {}

RdsDriverHarness::~RdsDriverHarness() = default;

void RdsDriverHarness::startDriver(const std::string& extraSettings,
                                   const std::vector<std::string>& extraArgs,
                                   testing::DriverProcess::Wait wait) {
  const std::string settings =
      "      address: " + sim_.address() + "\n      port: " + std::to_string(sim_.port()) +
      "\n      user: " + testing::RdsSimProcess::kUser +
      "\n      private_key_file: " + sim_.clientKeyFile() + "\n      host_key_fingerprint: \"" +
      sim_.hostKeyFingerprint() + "\"\n      base_path: " + kBasePath +
      "\n      orphan_scan_interval_seconds: 0\n" + extraSettings;
  std::vector<std::string> args = {"--mode", "controller"};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  driver_ = std::make_unique<testing::DriverProcess>(
      work_,
      "backends:\n  - name: rds\n    plugin: rds_nvme\n    default: true\n    settings:\n" +
          settings,
      "controller-0", args);
  driver_->start(wait);
}

void RdsDriverHarness::killDriver() {
  driver_->stop(/*hard=*/true);
  // The dead controller's socket stays behind, as after a node crash. The restarted one
  // replaces it (tested with the server); removing it here only keeps DriverProcess::start
  // from probing a socket no one listens on, which costs seconds of gRPC back-off.
  std::error_code ignored;
  fs::remove(work_ + "/csi.sock", ignored);
}

void RdsDriverHarness::restartDriver() {
  if (driver_->running()) throw std::logic_error("restartDriver: the controller still runs");
  driver_->start();
}

grpc::Status RdsDriverHarness::create(const std::string& name, const csi::v1::VolumeCapability& cap,
                                      const std::map<std::string, std::string>& parameters,
                                      csi::v1::Volume* out) {
  auto req = testing::createRequest(name, testing::kMiB, cap);
  for (const auto& [key, value] : parameters) (*req.mutable_parameters())[key] = value;
  csi::v1::CreateVolumeResponse resp;
  auto ctx = testing::rpcContext(30);
  grpc::Status s = driver_->controller().CreateVolume(ctx.get(), req, &resp);
  tally_.record(s);
  if (s.ok() && out != nullptr) *out = resp.volume();
  return s;
}

grpc::Status RdsDriverHarness::deleteVolume(const std::string& volumeId) {
  csi::v1::DeleteVolumeRequest req;
  req.set_volume_id(volumeId);
  csi::v1::DeleteVolumeResponse resp;
  auto ctx = testing::rpcContext(30);
  grpc::Status s = driver_->controller().DeleteVolume(ctx.get(), req, &resp);
  tally_.record(s);
  return s;
}

grpc::Status RdsDriverHarness::publish(const csi::v1::Volume& volume, const TestNode& node,
                                       AccessModeEnum mode,
                                       csi::v1::ControllerPublishVolumeResponse* out) {
  csi::v1::ControllerPublishVolumeRequest req;
  req.set_volume_id(volume.volume_id());
  req.set_node_id(node.id());
  *req.mutable_volume_capability() = testing::blockCapability(mode);
  *req.mutable_volume_context() = volume.volume_context();
  csi::v1::ControllerPublishVolumeResponse resp;
  auto ctx = testing::rpcContext(30);
  grpc::Status s = driver_->controller().ControllerPublishVolume(ctx.get(), req, &resp);
  tally_.record(s);
  if (out != nullptr) *out = resp;
  return s;
}

grpc::Status RdsDriverHarness::unpublish(const csi::v1::Volume& volume, const TestNode& node) {
  csi::v1::ControllerUnpublishVolumeRequest req;
  req.set_volume_id(volume.volume_id());
  req.set_node_id(node.id());
  csi::v1::ControllerUnpublishVolumeResponse resp;
  auto ctx = testing::rpcContext(30);
  grpc::Status s = driver_->controller().ControllerUnpublishVolume(ctx.get(), req, &resp);
  tally_.record(s);
  return s;
}

grpc::Status RdsDriverHarness::publishedNodes(const std::string& volumeId,
                                              std::vector<std::string>* out) {
  csi::v1::ControllerGetVolumeRequest req;
  req.set_volume_id(volumeId);
  csi::v1::ControllerGetVolumeResponse resp;
  auto ctx = testing::rpcContext(30);
  grpc::Status s = driver_->controller().ControllerGetVolume(ctx.get(), req, &resp);
  tally_.record(s);
  if (s.ok()) {
    const auto& ids = resp.status().published_node_ids();
    out->assign(ids.begin(), ids.end());
    std::sort(out->begin(), out->end());
  }
  return s;
}

grpc::Status RdsDriverHarness::untilOk(const std::function<grpc::Status()>& rpc, int attempts) {
  auto pause = std::chrono::milliseconds(10);
  grpc::Status last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    last = rpc();
    if (last.ok()) {
      tally_.operationConverged();
      return last;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(320));
  }
  tally_.operationGaveUp();
  return last;
}

std::vector<std::string> allowedHosts(const testing::RdsSimProcess& sim, const std::string& slot) {
  const std::string list =
      testing::detailValue(sim.diskDetail(slot), "nvme-tcp-server-allow-host-name");
  std::vector<std::string> out;
  size_t start = 0;
  while (!list.empty()) {
    size_t comma = list.find(',', start);
    out.push_back(list.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> volumeSlots(const testing::RdsSimProcess& sim) {
  testing::SimReply reply = sim.run("/disk print terse where slot~\"^pvc-\"");
  if (reply.exitStatus != 0) throw std::runtime_error("/disk print terse failed: " + reply.output);
  static const std::regex slot(R"re((^|\s)slot="?([A-Za-z0-9-]+)"?)re");
  std::set<std::string> out;
  for (std::sregex_iterator it(reply.output.begin(), reply.output.end(), slot), end; it != end;
       ++it)
    out.insert((*it)[2]);
  return out;
}

std::set<std::string> imageFiles(const testing::RdsSimProcess& sim) {
  std::set<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(sim.stateDir()))
    if (entry.path().extension() == ".img")
      out.insert(fs::relative(entry.path(), sim.stateDir()).string());
  return out;
}

std::map<std::string, int> faultsInjected(const testing::RdsSimProcess& sim) {
  const std::string log = sim.log();
  const int holds = countOf(log, "fault injection: holding `");
  return {
      {"fail", countOf(log, "fault injection: failing `")},
      {"disk-full", countOf(log, "fault injection: disk-full refuses")},
      {"drop-before", countOf(log, "fault injection: dropping the connection before `") - holds},
      {"drop-reply", countOf(log, "fault injection: dropping the connection instead of")},
      {"hold", holds}};
}

void expectHeldBy(RdsDriverHarness& harness, const testing::RdsSimProcess& sim,
                  const csi::v1::Volume& volume, const std::vector<TestNode>& nodes,
                  const std::string& when) {
  std::vector<std::string> ids, nqns;
  for (const auto& node : nodes) {
    ids.push_back(node.id());
    nqns.push_back(node.nqn);
  }
  std::sort(ids.begin(), ids.end());
  std::sort(nqns.begin(), nqns.end());
  if (nqns.empty()) nqns.push_back(kFencedPlaceholder);
  std::vector<std::string> published;
  grpc::Status s =
      harness.untilOk([&] { return harness.publishedNodes(volume.volume_id(), &published); });
  ASSERT_TRUE(s.ok()) << when << ": " << s.error_message();
  EXPECT_EQ(published, ids) << when;
  EXPECT_EQ(allowedHosts(sim, slotOf(volume.volume_id())), nqns) << when;
  EXPECT_EQ(sim.diskCount(slotOf(volume.volume_id())), 1) << when << ": the volume is lost";
}

void RdsHarnessTest::startSim() {
  ASSERT_EQ(geteuid(), 0u) << "run as root: the controller keeps its state like in production";
  sim_ = std::make_unique<testing::RdsSimProcess>(work_.str() + "/rds");
  sim_->start();
  harness_ = std::make_unique<RdsDriverHarness>(work_.str(), *sim_);
}

void RdsHarnessTest::stopAll(std::size_t driverLogTail, bool withSimLog) {
  if (HasFailure()) {
    if (harness_ && harness_->started()) {
      const std::string log = harness_->driver().log();
      const bool cut = log.size() > driverLogTail;
      std::cerr << "driver log"
                << (cut ? " (last " + std::to_string(driverLogTail) + " bytes)" : "") << ":\n"
                << (cut ? log.substr(log.size() - driverLogTail) : log);
    }
    if (withSimLog && sim_) std::cerr << "\nrds-sim log:\n" << sim_->log();
  }
  harness_.reset();
  sim_.reset();
}

}  // namespace polycsi::reliability
