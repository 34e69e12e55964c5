// Construction, the descriptor, connections and the plugin's one exported symbol. The
// controller calls live in nfs_controller.cc and nfs_snapshots.cc, the node calls in
// nfs_node.cc.
#include "nfs_backend.hpp"

#include "polycsi/plugin.hpp"

namespace polycsi::nfs {
namespace {

constexpr char kBlockReason[] =
    "an NFS export holds files, not block devices: the nfs plugin offers filesystem volumes "
    "only (use rds_nvme for RWX block, iscsi_powerstore for RWO block)";

}  // namespace

Descriptor NfsBackend::describe() {
  using A = AccessMode;
  using S = AttachSemantics;
  using V = VolumeMode;
  Descriptor d;
  d.name = "nfs";
  d.version = "0.1.0";
  d.description =
      "Volumes are subdirectories of an NFS export (PowerStore NAS, Linux, any NFS server), "
      "managed through libnfs and mounted by the core. RWX filesystem volumes that KubeVirt can "
      "live-migrate, at NFS latency. No block volumes, no enforced size.";
  d.metricsPrefix = "nfs_csi";
  d.capabilities = {
      {A::kSingleNodeWriter, V::kFilesystem, S::kExclusive},
      {A::kSingleNodeSingleWriter, V::kFilesystem, S::kExclusive},
      {A::kSingleNodeMultiWriter, V::kFilesystem, S::kExclusive},
      {A::kSingleNodeReaderOnly, V::kFilesystem, S::kExclusive},
      {A::kMultiNodeReaderOnly, V::kFilesystem, S::kShared},
      {A::kMultiNodeMultiWriter, V::kFilesystem, S::kShared},
      {A::kMultiNodeSingleWriter, V::kFilesystem, S::kUnsupported,
       "NFS cannot fence writers per node: nothing stops a second node from writing to the "
       "export, so a single writer across nodes cannot be guaranteed"},
  };
  for (A access : {A::kSingleNodeWriter, A::kSingleNodeSingleWriter, A::kSingleNodeMultiWriter,
                   A::kSingleNodeReaderOnly, A::kMultiNodeReaderOnly, A::kMultiNodeSingleWriter,
                   A::kMultiNodeMultiWriter})
    d.capabilities.push_back({access, V::kBlock, S::kUnsupported, kBlockReason});
  d.settings = nfsSettingSpecs();
  d.parameters = nfsParameterSpecs();
  // A snapshot is a file copy of one subdirectory: the core copies a group's members one after
  // the other in one pass; writes during the pass may reach some members and not others.
  d.groupSnapshotConsistency = GroupConsistency::kPerVolumeSequence;
  return d;
}

NfsBackend::NfsBackend(
    const InitContext& ctx,
    std::function<void(const std::string& key, const Call& call)> afterCopyProgress)
    : host_(ctx.host),
      instanceName_(ctx.instanceName),
      settings_(NfsSettings::parse(ctx.settings, ctx.role != Role::kNode)),
      copies_([&] {
        CopyJobs::Options options;
        options.afterProgress = std::move(afterCopyProgress);
        return options;
      }()) {
  if (settings_.home)
    host_.info("nfs backend '" + instanceName_ + "' manages volumes on " + settings_.home->server +
               ":" + settings_.home->share + " over NFSv" + std::to_string(settings_.version));
  else
    host_.info("nfs backend '" + instanceName_ + "' serves the node side only");
}

NfsTarget NfsBackend::targetFor(const NfsExport& where) const {
  return NfsTarget{where, settings_.version, settings_.nfsPort, settings_.mountPort,
                   settings_.timeout};
}

std::unique_ptr<NfsSession> NfsBackend::connect(const NfsExport& where, const Call& call) const {
  return NfsSession::connect(targetFor(where), call);
}

std::unique_ptr<NfsSession> NfsBackend::connectHome(const Call& call) const {
  if (!settings_.home)
    throw Error(Code::kFailedPrecondition,
                "this nfs instance has no 'server'/'share' settings: it is not a controller");
  auto home = connect(*settings_.home, call);
  VolumeRecords(*home).prepare();
  return home;
}

std::string NfsBackend::nodeIdentity(const Call& call) {
  call.checkpoint("node identity");
  return {};
}

}  // namespace polycsi::nfs

POLYCSI_PLUGIN(polycsi::nfs::NfsBackend)
