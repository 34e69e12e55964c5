// The node half of the nfs backend: it names what to mount (the core mounts it) and reports
// whether that mount still answers.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nfs_backend.hpp"
#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

const std::string& contextValue(const StringMap& context, const char* key,
                                const std::string& volumeId) {
  auto it = context.find(key);
  if (it == context.end() || it->second.empty())
    throw Error(Code::kInvalidArgument,
                "volume " + printable(volumeId) + " has no '" + key +
                    "' in its volume context; it was not created by the nfs plugin");
  return it->second;
}

}  // namespace

Attachment NfsBackend::attach(const AttachRequest& req) {
  req.call.checkpoint("attaching volume " + printable(req.volumeId));
  if (req.volumeMode != VolumeMode::kFilesystem)
    throw Error(Code::kInvalidArgument, "the nfs plugin cannot attach volume " +
                                            printable(req.volumeId) +
                                            " as a raw block device: an NFS export holds files");
  // The context comes back through the CO: checked again, as anything that reaches a mount.
  const std::string& server = contextValue(req.volumeContext, kContextServer, req.volumeId);
  const std::string& share = contextValue(req.volumeContext, kContextShare, req.volumeId);
  const std::string& subDir = contextValue(req.volumeContext, kContextSubDir, req.volumeId);
  checkServer(server, "volume context 'server'");
  checkShare(share, "volume context 'share'");
  checkSubDir(subDir, "volume context 'subDir'");
  std::string source = server + ":" + (share == "/" ? "" : share) + "/" + subDir;
  return Attachment::mount(source, "nfs", settings_.mountOptions);
}

void NfsBackend::detach(const DetachRequest& req) {
  req.call.checkpoint("detaching volume " + printable(req.volumeId));
}

VolumeCondition NfsBackend::volumeCondition(const DetachRequest& req) {
  req.call.checkpoint("checking volume " + printable(req.volumeId));
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream mountinfo;
  mountinfo << in.rdbuf();
  if (!in)
    throw Error(Code::kInternal,
                "cannot read /proc/self/mountinfo: " + std::string(std::strerror(errno)));
  const auto timeout =
      std::min<std::chrono::milliseconds>(std::chrono::seconds(5), req.call.remaining() / 2);
  return nfsMountCondition(req.stagingPath, mountinfo.str(), mountProbe_, timeout);
}

}  // namespace polycsi::nfs
