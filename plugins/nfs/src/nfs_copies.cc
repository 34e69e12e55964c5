// Copies of the nfs backend (snapshots, restores, clones) as background jobs through staging.
//
// A copy is made in <export>/.polycsi/staging/<record id> and renamed to its final place
// (.snapshots/<id>, or the volume's directory) only once complete, so a half copy is never
// visible there. The job outlives the call that started it (copy_jobs.hpp): the sidecars
// cancel a call at their --timeout, and the retry finds the same job, so a copy longer than
// any deadline still completes. After a driver restart no job is known: the next call with
// the same name removes what the interrupted copy left in staging and starts again (a tree
// copied halfway cannot be trusted file by file without reading both sides again).
#include <algorithm>

#include "nfs_backend.hpp"
#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

constexpr char kStagingRoot[] = ".polycsi/staging";

bool sameExport(const NfsExport& a, const NfsExport& b) {
  return a.server == b.server && a.share == b.share;
}

std::string stagingPath(const std::string& id) { return std::string(kStagingRoot) + "/" + id; }

std::string describeExport(const NfsExport& where) { return where.server + ":" + where.share; }

}  // namespace

void NfsBackend::ensureMode(NfsSession& target, const std::string& dir, int mode) const {
  auto info = target.stat(dir);
  if (!info || info->type != EntryType::kDirectory)
    throw Error(Code::kInternal, target.target().describe() + "/" + dir +
                                     " is not a directory after it was created");
  if (info->permissions == mode) return;
  // Some servers apply a umask to the creation mode; an explicit chmod works over NFSv3.
  try {
    target.setPermissions(dir, mode);
  } catch (const Error& e) {
    throw Error(Code::kFailedPrecondition,
                "the server gave " + target.target().describe() + "/" + dir + " mode " +
                    std::to_string(info->permissions) + " (decimal) instead of the requested " +
                    std::to_string(mode) + " and chmod failed: " + e.what());
  }
}

void NfsBackend::removeStaging(NfsSession& target, const std::string& id, const Call& call) const {
  if (target.removeTree(stagingPath(id), call))
    host_.info("removed the unfinished copy " + target.target().describe() + "/" + stagingPath(id));
}

CopyJobStatus NfsBackend::awaitCopy(const std::string& key, const Call& call, CopyJobs::Work work) {
  // A copy that finished after the last call gave up waiting: its outcome is this call's. A
  // failed one cleaned up after itself; the call after this one starts it again.
  if (auto done = copies_.collect(key)) {
    if (done->error) throw *done->error;
    return *done;
  }
  copies_.start(key, std::move(work));
  // Half the remaining time, so the answer reaches the caller before its deadline.
  auto until = std::chrono::steady_clock::now() + call.remaining() / 2;
  auto status = copies_.waitFor(key, call, until);
  if (!status)
    throw Error(Code::kAborted, key + " was deleted while its copy ran; nothing was created");
  if (status->state == CopyJobStatus::State::kRunning) return *status;
  copies_.collect(key);
  if (status->error) throw *status->error;
  return *status;
}

void NfsBackend::runStagedCopy(
    CopyJobs::Context& context, const StagedCopy& copy,
    const std::function<void(NfsSession&, const CopyReport&)>& finish) const {
  const Call& call = context.call();
  auto home = connectHome(call);
  auto other = sameExport(copy.where, *settings_.home) ? nullptr : connect(copy.where, call);
  NfsSession& target = other ? *other : *home;
  const std::string staging = stagingPath(copy.id);
  try {
    bool inPlace = target.stat(copy.targetPath).has_value();
    if (inPlace && !copy.staged) {
      // An earlier version copied straight into the final place: what is there may be half.
      target.removeTree(copy.targetPath, call);
      inPlace = false;
    }
    CopyReport report;
    if (inPlace) {
      // The target exists only once a complete copy was renamed there (the record was written
      // when it did not exist): an earlier job got that far but did not record completion.
      if (target.stat(staging))
        throw Error(Code::kAlreadyExists,
                    describeExport(copy.where) + "/" + copy.targetPath +
                        " appeared while the copy for " + copy.what +
                        " was unfinished; it belongs to no volume of this backend");
      host_.info("found the finished copy for " + copy.what + " in " + describeExport(copy.where) +
                 "/" + copy.targetPath);
    } else {
      host_.info("started copying " + copy.what + " (" + describeExport(copy.where) + "/" +
                 copy.sourcePath + " into " + staging + ")");
      target.makeDirectories(kStagingRoot, 0700);
      target.removeTree(staging, call);  // an interrupted attempt's half copy
      auto sourceInfo = target.stat(copy.sourcePath);
      if (!sourceInfo || sourceInfo->type != EntryType::kDirectory)
        throw Error(Code::kFailedPrecondition, "there is no directory " +
                                                   describeExport(copy.where) + "/" +
                                                   copy.sourcePath + " to copy for " + copy.what);
      target.makeDirectory(staging, copy.mode.value_or(sourceInfo->permissions));
      if (copy.mode) ensureMode(target, staging, *copy.mode);
      report = target.copyTree(copy.sourcePath, staging, call, [&](int64_t entries, int64_t bytes) {
        context.progress(entries, bytes);
      });
      if (report.ownersLost > 0)
        host_.warn("copy for " + copy.what + ": the server kept " +
                   std::to_string(report.ownersLost) +
                   " entries from taking their original owner (root squashing?)");
      size_t slash = copy.targetPath.rfind('/');
      if (slash != std::string::npos)
        target.makeDirectories(copy.targetPath.substr(0, slash), copy.parentMode);
      target.rename(staging, copy.targetPath);
    }
    finish(*home, report);
  } catch (const Error&) {
    // A cancelled copy belongs to whoever stopped it (a deletion removes it, a restart's next
    // attempt replaces it). A failed one is removed now, so nothing half is left behind.
    if (!call.isCancelled()) {
      try {
        target.removeTree(staging, call);
      } catch (const Error& e) {
        host_.warn("could not remove the failed copy " + describeExport(copy.where) + "/" +
                   staging + " (the next attempt removes it): " + e.what());
      }
    }
    throw;
  }
}

Volume NfsBackend::copyInto(VolumeRecords& records, const VolumeRecord& record,
                            const Source& source, const Call& call) {
  StagedCopy copy;
  copy.key = "volume/" + record.id;
  copy.id = record.id;
  copy.where = record.where;
  copy.sourcePath = source.path;
  copy.targetPath = record.subDir;
  copy.mode = record.mountPermissions;
  copy.parentMode = 0755;
  copy.staged = record.stagedCopy;
  copy.what = "volume " + record.id + " from " + source.id;
  CopyJobStatus status = awaitCopy(
      copy.key, call, [this, copy, record, sourceId = source.id](CopyJobs::Context& context) {
        runStagedCopy(context, copy, [&](NfsSession& home, const CopyReport& report) {
          VolumeRecord done = record;
          done.complete = true;
          VolumeRecords(home).saveVolume(done);
          host_.info("created volume " + done.id + " in " + describeExport(done.where) + "/" +
                     done.subDir + " from " + sourceId + " (" + std::to_string(report.files) +
                     " entries, " + std::to_string(report.bytes) + " bytes copied)");
        });
      });
  if (status.state == CopyJobStatus::State::kRunning)
    // CSI: ABORTED is "an operation pending for the volume"; the provisioner retries it.
    throw Error(Code::kAborted, "volume '" + printable(record.name) +
                                    "' is still being copied from " + source.id + " (" +
                                    std::to_string(status.counts.entries) + " entries, " +
                                    std::to_string(status.counts.bytes) +
                                    " bytes so far); the copy goes on, and a retry waits for it");
  auto done = records.findVolume(record.id);
  if (!done || !done->complete)
    throw Error(Code::kInternal,
                "the copy into volume " + record.id + " finished but its record does not say so");
  return toVolume(*done);
}

}  // namespace polycsi::nfs
