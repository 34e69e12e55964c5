// A small in-process CSI server for polycsictl's end-to-end tests: Identity, Controller and
// Node services on a Unix socket, with canned answers, recording every request it receives.
// Thread-safe: gRPC threads record while the test thread reads.
#pragma once

#include <grpcpp/server.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "csi.grpc.pb.h"

namespace polycsi::csictl::testing {

// Requests received, by RPC method name ("CreateVolume", "NodeStageVolume", ...).
class RequestLog {
 public:
  void record(const std::string& method, const google::protobuf::Message& request);

  // Copies of the requests received for `method`, oldest first.
  template <typename Request>
  std::vector<Request> requests(const std::string& method) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Request> result;
    const auto found = log_.find(method);
    if (found == log_.end()) return result;
    for (const auto& message : found->second) {
      result.push_back(dynamic_cast<const Request&>(*message));
    }
    return result;
  }

  std::size_t totalCount() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::shared_ptr<google::protobuf::Message>>> log_;
};

// Canned behaviour (see fake_csi_server.cc):
//  - CreateVolume answers volume "vol-<name>" with the required capacity, except for names
//    starting with "attached-", which fail with FAILED_PRECONDITION.
//  - ListVolumes pages over the volumes vol-a, vol-b and vol-c; the token is an index.
//  - ControllerGetVolume and ControllerModifyVolume are left UNIMPLEMENTED.
//  - CreateVolumeGroupSnapshot answers group "fake:grp-<name>" with members
//    "snap-<name>-<i>"; GetVolumeGroupSnapshot is NOT_FOUND; the manifest declares backend
//    "fake" per-volume-sequence.
class FakeCsiServer {
 public:
  static constexpr const char* kDriverName = "fake.csi.polycsi.io";
  static constexpr const char* kDriverVersion = "1.2.3";
  static constexpr const char* kAttachedError = "already attached to node-a";

  // Listens on `socket_path` (absolute). Throws std::runtime_error if it cannot.
  explicit FakeCsiServer(const std::string& socket_path);
  ~FakeCsiServer();

  const RequestLog& log() const { return *log_; }

 private:
  std::shared_ptr<RequestLog> log_;
  std::unique_ptr<grpc::Service> identity_;
  std::unique_ptr<grpc::Service> controller_;
  std::unique_ptr<grpc::Service> node_;
  std::unique_ptr<grpc::Service> group_controller_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace polycsi::csictl::testing
