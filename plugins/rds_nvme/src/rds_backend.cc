// Construction, the descriptor and the plugin's exported symbol. Volume calls live in
// rds_controller.cc, snapshots in rds_snapshots.cc, fencing in rds_publish.cc and the node
// side in rds_node.cc.
#include "rds_backend.hpp"

#include <algorithm>
#include <mutex>

#include "polycsi/plugin.hpp"
#include "ssh_session_pool.hpp"

namespace polycsi::rds_nvme {
TransportFactory sshTransportFactory() {
  return [](const RdsSettings& settings, const Host& host) -> std::unique_ptr<CommandTransport> {
    SshPoolOptions options;
    options.ssh = settings.sshOptions();
    options.size = settings.poolSize;
    options.commandTimeout = settings.commandTimeout;
    options.keepaliveInterval = settings.keepaliveInterval;
    return std::make_unique<SshSessionPool>(options,
                                            [host](const std::string& m) { host.warn(m); });
  };
}

Descriptor RdsBackend::describe() {
  using A = AccessMode;
  using S = AttachSemantics;
  Descriptor d;
  d.name = "rds_nvme";
  d.version = "0.1.0";
  d.description =
      "MikroTik RouterOS RDS: file-backed disks exported over NVMe/TCP, managed over SSH. RWO "
      "volumes, and RWX block volumes for KubeVirt live migration (bounded dual attach).";
  d.metricsPrefix = "rds_csi";
  // Publish allows this host NQN on the export, and the node connects with it.
  d.nodeIdentityKind = "NVMe host NQN";
  for (VolumeMode mode : {VolumeMode::kBlock, VolumeMode::kFilesystem}) {
    d.capabilities.push_back({A::kSingleNodeWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeSingleWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeMultiWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeReaderOnly, mode, S::kExclusive});
    d.capabilities.push_back(
        {A::kMultiNodeSingleWriter, mode, S::kUnsupported,
         "an RDS NVMe/TCP export cannot make some hosts read-only: nothing would stop a "
         "second node from writing"});
  }
  d.capabilities.push_back({A::kMultiNodeMultiWriter, VolumeMode::kBlock, S::kMigrationWindow});
  d.capabilities.push_back(
      {A::kMultiNodeMultiWriter, VolumeMode::kFilesystem, S::kUnsupported,
       "RWX with a filesystem would mount one ext4/xfs from several nodes at once and corrupt it; "
       "use RWX with volumeMode Block (KubeVirt live migration) or the nfs plugin for shared "
       "files"});
  d.capabilities.push_back({A::kMultiNodeReaderOnly, VolumeMode::kBlock, S::kShared});
  d.capabilities.push_back(
      {A::kMultiNodeReaderOnly, VolumeMode::kFilesystem, S::kUnsupported,
       "a filesystem on one NVMe namespace mounted by several nodes is only safe if none ever "
       "writes (even a read-only ext4 mount replays its journal); use ROX with volumeMode Block "
       "or the nfs plugin"});
  d.settings = rdsSettingSpecs();
  d.parameters = rdsParameterSpecs();
  // A snapshot is one /disk add copy-from of one disk; RouterOS has no command that copies
  // several disks at one instant, so the core copies a group's members one after the other.
  d.groupSnapshotConsistency = GroupConsistency::kPerVolumeSequence;
  return d;
}

RdsBackend::RdsBackend(const InitContext& ctx, const TransportFactory& transports,
                       const NodePaths& nodePaths)
    : host_(ctx.host),
      instanceName_(ctx.instanceName),
      settings_(RdsSettings::parse(ctx.settings,
                                   ctx.role == Role::kController || ctx.role == Role::kAll)) {
  if (ctx.role == Role::kNode || ctx.role == Role::kAll) {
    if (ctx.stateDir.empty())
      throw Error(Code::kFailedPrecondition,
                  "the rds_nvme node side needs a state directory for its connection record");
    connectionRecord_ = std::make_unique<ConnectionRecord>(ctx.stateDir);
    connections_ = std::make_unique<NvmeVolumeConnections>(
        NvmeSysfs(nodePaths.sysfsRoot), nodePaths.devDir, *connectionRecord_, host_);
  }
  if (ctx.role == Role::kNode) return;
  if (settings_.insecureIgnoreHostKey)
    host_.warn("rds_nvme backend '" + instanceName_ +
               "': insecure_ignore_host_key is set: ANY host key is accepted for " +
               settings_.address->str() +
               ", so a man-in-the-middle can take the SSH credentials and the storage. Pin the "
               "key with host_key_fingerprint.");
  if (!settings_.fencing)
    host_.warn("rds_nvme backend '" + instanceName_ +
               "': fencing is off: any host that reaches the NVMe/TCP port can connect to "
               "every volume");
  transport_ = transports(settings_, host_);
  client_ = std::make_unique<RdsClient>(*transport_, host_);
  ledger_ = std::make_unique<VolumeLedger>(ctx.stateDir);
  slotLocks_ = std::make_unique<SlotLocks>([host = host_](const std::string& slot) {
    host.debug("waiting for the operation in progress on RDS disk " + slot + " to end");
  });
  // A copy holds one SSH session for its whole length; one session stays for every other call.
  // The job's deadline leaves room for the print that follows the copy.
  CopyJobs::Options copyOptions;
  copyOptions.maxRunning = std::max(1, settings_.poolSize - 1);
  copyOptions.jobTimeLimit = settings_.copyTimeout + settings_.commandTimeout;
  copyOptions.activity = "copying into";
  copyOptions.tooMany = [](const std::string& key, int maxRunning) {
    return "too many copies in progress: " + std::to_string(maxRunning) +
           " /disk add copy-from commands are running (each holds one SSH session; the limit is "
           "pool_size - 1, at least 1); the copy of " +
           key + " starts on a retry once one of them ended";
  };
  copyOptions.stillRunning = [](const std::string& key) {
    return key +
           " is still being copied (/disk add copy-from has not answered); it is deleted once "
           "the copy ended, on a retry";
  };
  copies_ = std::make_unique<CopyJobs>(std::move(copyOptions));
  orphans_ = std::make_unique<OrphanReporter>(*client_, *ledger_, host_, settings_.volumePrefix,
                                              settings_.deleteOrphans,
                                              [this](const SlotName& slot, const Call& call) {
                                                // A create of this slot that was under way at the
                                                // scan has added it to the ledger by the time the
                                                // lock is free: never delete it then.
                                                auto held = slotLocks_->lock(slot.str(), call);
                                                if (ledger_->contains(slot.str())) return false;
                                                removeDiskAndFile(slot, call);
                                                return true;
                                              });
  if (settings_.orphanScanInterval.count() > 0) orphans_->start(settings_.orphanScanInterval);
  host_.info("rds_nvme backend '" + instanceName_ + "' manages " + settings_.address->str() + ":" +
             settings_.port.str() + " under " + settings_.basePath->str());
}

RdsBackend::~RdsBackend() = default;

RdsClient& RdsBackend::client() {
  if (!client_)
    throw Error(Code::kFailedPrecondition,
                "this rds_nvme instance runs as a node plugin; controller calls need the "
                "controller role");
  return *client_;
}

}  // namespace polycsi::rds_nvme

POLYCSI_PLUGIN(polycsi::rds_nvme::RdsBackend)
