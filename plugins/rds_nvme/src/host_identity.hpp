// The node's NVMe host identity: the host NQN the RDS sees on every connection (and the
// controller puts on a volume's allow-list when fencing), and the optional host ID.
//
// The host NQN lives in a file, /etc/nvme/hostnqn by default, shared with nvme-cli and every
// other NVMe-oF initiator on the node. When the file is missing, one is generated with libnvme
// (nvmf_hostnqn_generate: from the machine's DMI product UUID when it has one, random
// otherwise) and written there, so the identity stays the same from then on. Reading the file
// is plain file access; only generating loads libnvme (the NVMe library, nvme_module.hpp), so
// a node whose file exists maps no libnvme until it connects a volume.
//
// THREADING: functions are independent; two processes generating at once both write a valid
// NQN and the last rename wins, which is why callers read the file back after writing it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace polycsi::rds_nvme {

// Reads the host NQN from `file`; when the file does not exist, generates one with libnvme,
// writes it there (creating the directory, mode 0644, atomically) and returns what the file
// then holds. Throws FAILED_PRECONDITION when the file holds something that is not an NQN
// (naming the file) or when it must generate one and the NVMe library is missing (naming the
// library), INTERNAL when it cannot be read or written.
std::string loadOrCreateHostNqn(const std::filesystem::path& file);

// The host ID (a UUID) from `file` (/etc/nvme/hostid beside the host NQN), or nullopt when
// there is no such file. The kernel refuses a host NQN that it knows with another host ID, so
// connections must carry the same ID as nvme-cli's. Throws FAILED_PRECONDITION when the file
// holds something that is not a UUID.
std::optional<std::string> loadHostId(const std::filesystem::path& file);

}  // namespace polycsi::rds_nvme
