// The kernel's mount table as /proc/self/mountinfo shows it (proc(5)), parsed into entries.
// Internal to core/node; the parser is separate from the reader so it can be tested on text.
// THREADING: pure functions; reading the table is safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::node {

// One line of mountinfo, with the octal escapes (\040 space, \011 tab, \012 newline,
// \134 backslash) decoded in root, mountPoint and source.
struct MountTableEntry {
  int mountId = 0;
  int parentId = 0;
  unsigned int major = 0;  // st_dev of the mounted filesystem
  unsigned int minor = 0;
  std::string root;  // directory of the filesystem that is this mount's root ("/" unless bind)
  std::string mountPoint;
  std::vector<std::string> mountOptions;  // per-mount: rw/ro, nosuid, relatime, ...
  std::string fsType;
  std::string source;                     // e.g. /dev/loop0, server:/export, "none"
  std::vector<std::string> superOptions;  // per-superblock
};

// Decodes mountinfo's octal escapes ("\ooo"); other text is returned unchanged.
std::string unescapeMountInfoField(std::string_view field);

// Parses the whole text of a mountinfo file. INTERNAL naming the line when a line is malformed.
StatusOr<std::vector<MountTableEntry>> parseMountInfo(std::string_view text);

// Reads and parses /proc/self/mountinfo.
StatusOr<std::vector<MountTableEntry>> readMountTable();

// The entry visible at exactly `mountPoint` (already normalized): when several mounts are
// stacked there, the one on top. nullptr when nothing is mounted there.
const MountTableEntry* findTopmostMount(const std::vector<MountTableEntry>& table,
                                        const std::string& mountPoint);

// Whether the per-mount or the superblock options make this mount read-only.
bool isReadOnly(const MountTableEntry& entry);

}  // namespace polycsi::node
