// Construction, the descriptor and the plugin's one exported symbol. The controller and node
// calls live in sample_controller.cc and sample_node.cc.
#include "sample_backend.hpp"

#include "polycsi/plugin.hpp"

namespace polycsi::sample {

Descriptor SampleBackend::describe() {
  using A = AccessMode;
  using S = AttachSemantics;
  Descriptor d;
  d.name = "sample";
  d.version = "0.1.0";
  d.description =
      "Reference plugin: volumes are sparse files under a directory, attached on the node as "
      "loop devices. For SDK users and CSI conformance runs; not for production data.";
  d.metricsPrefix = "sample_csi";
  for (VolumeMode mode : {VolumeMode::kBlock, VolumeMode::kFilesystem}) {
    d.capabilities.push_back({A::kSingleNodeWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeSingleWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeReaderOnly, mode, S::kExclusive});
    d.capabilities.push_back({A::kMultiNodeReaderOnly, mode, S::kShared});
    d.capabilities.push_back(
        {A::kMultiNodeSingleWriter, mode, S::kUnsupported,
         "the sample plugin cannot fence writers: nothing stops a second node from writing "
         "to an image file, so a single writer across nodes cannot be guaranteed"});
  }
  d.capabilities.push_back({A::kMultiNodeMultiWriter, VolumeMode::kBlock, S::kMigrationWindow});
  d.capabilities.push_back({A::kMultiNodeMultiWriter, VolumeMode::kFilesystem, S::kShared});
  d.settings = sampleSettingSpecs();
  d.parameters = sampleParameterSpecs();
  // Snapshots copy one image file after another: the core takes a group's members in sequence.
  d.groupSnapshotConsistency = GroupConsistency::kPerVolumeSequence;
  return d;
}

SampleBackend::SampleBackend(const InitContext& ctx)
    : host_(ctx.host),
      instanceName_(ctx.instanceName),
      settings_(SampleSettings::parse(ctx.settings)),
      files_(settings_.directory) {
  if (ctx.role == Role::kController || ctx.role == Role::kAll) {
    int removed = files_.removeLeftovers();
    if (removed > 0)
      host_.info("removed " + std::to_string(removed) +
                 " leftover file(s) of interrupted creations in " + files_.root().string());
  }
  host_.info("sample backend '" + instanceName_ + "' serves " + files_.root().string());
}

std::string SampleBackend::nodeIdentity(const Call& call) {
  call.checkpoint("node identity");
  return {};
}

}  // namespace polycsi::sample

POLYCSI_PLUGIN(polycsi::sample::SampleBackend)
