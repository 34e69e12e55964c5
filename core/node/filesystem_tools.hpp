// What is on a block device and how to put a filesystem on it, through blkid and mkfs.
// Internal to core/node (Mounter uses these). THREADING: stateless; safe concurrently for
// different devices.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "polycsi/types.hpp"

namespace polycsi::node {

// What low-level probing (blkid -p) found on a device. Both empty: the device is blank.
struct BlockDeviceSignature {
  std::string filesystemType;      // TYPE: ext4, xfs, LVM2_member, swap, ...
  std::string partitionTableType;  // PTTYPE: dos, gpt, ...
};

// blkid's exit codes (blkid(8)): nothing found, and conflicting signatures.
inline constexpr int kBlkidNothingFound = 2;
inline constexpr int kBlkidAmbivalent = 8;

// The TYPE and PTTYPE lines of `blkid -p -o export` output.
BlockDeviceSignature parseBlkidExport(const std::string& output);

// Probes `device` (a validated device path) with `blkid -p -o export`. FAILED_PRECONDITION
// when blkid finds conflicting signatures; INTERNAL when blkid fails otherwise.
StatusOr<BlockDeviceSignature> probeBlockDevice(const std::string& device,
                                                std::chrono::milliseconds timeout);

// Creates an ext4/ext3 (mkfs.ext4 -F -q) or xfs (mkfs.xfs -q, which refuses to overwrite an
// existing filesystem) filesystem on `device`. Callers check that the device is blank first.
Status makeFilesystem(const std::string& device, const std::string& fsType,
                      std::chrono::milliseconds timeout);

// Whether this process holds `capability` (CAP_SYS_RESOURCE, ...) in its effective set, read
// from /proc/self/status. False when that cannot be read.
bool hasEffectiveCapability(int capability);

// st_rdev of `device`; NOT_FOUND when missing, INVALID_ARGUMENT when not a block device.
StatusOr<dev_t> blockDeviceNumber(const std::string& device);

}  // namespace polycsi::node
