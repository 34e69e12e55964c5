// A tiny plugin compiled once per CAPABILITY_CASE by the sdk_capabilities_* tests
// (tests/sdk/CMakeLists.txt): case 0 must compile; every other case must fail to compile with
// the SDK's static_assert text naming the capability and the member.
#include "polycsi/plugin.hpp"

namespace {

class TinyBackend : public polycsi::Backend {
 public:
  static polycsi::Descriptor describe() { return {}; }
  explicit TinyBackend(const polycsi::InitContext&) {}
  polycsi::Volume createVolume(const polycsi::CreateVolumeRequest&) override { return {}; }
  void deleteVolume(const polycsi::VolumeIdRequest&) override {}
  polycsi::Volume getVolume(const polycsi::VolumeIdRequest&) override { return {}; }
  std::string nodeIdentity(const polycsi::Call&) override { return ""; }
  polycsi::Attachment attach(const polycsi::AttachRequest&) override { return {}; }
  void detach(const polycsi::DetachRequest&) override {}

#if CAPABILITY_CASE == 0
  // Declared and defined with the right signature: compiles.
  static constexpr polycsi::Capabilities kCapabilities{.clone = true};
  polycsi::Volume cloneVolume(const polycsi::CreateVolumeRequest&) { return {}; }
#elif CAPABILITY_CASE == 1
  // Declared, but the member is misspelt.
  static constexpr polycsi::Capabilities kCapabilities{.clone = true};
  polycsi::Volume cloneVolumes(const polycsi::CreateVolumeRequest&) { return {}; }
#elif CAPABILITY_CASE == 2
  // Defined, but the capability is not declared (the forgotten opt-in).
  polycsi::ExpandResult expandVolume(const polycsi::ExpandRequest&) { return {}; }
#elif CAPABILITY_CASE == 3
  // Declared, but the member has another signature.
  static constexpr polycsi::Capabilities kCapabilities{.capacity = true};
  int64_t getCapacity(const polycsi::CapacityRequest&) { return 0; }
#elif CAPABILITY_CASE == 4
  // Snapshots declared, one of the three members missing.
  static constexpr polycsi::Capabilities kCapabilities{.snapshots = true};
  polycsi::Snapshot createSnapshot(const polycsi::CreateSnapshotRequest&) { return {}; }
  polycsi::SnapshotPage listSnapshots(const polycsi::ListRequest&) { return {}; }
#else
#error "unknown CAPABILITY_CASE"
#endif
};

}  // namespace

POLYCSI_PLUGIN(TinyBackend)
