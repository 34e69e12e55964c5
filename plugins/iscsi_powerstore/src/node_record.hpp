// open-iscsi's node records, written directly for what must not go through iscsiadm's
// command line.
//
// `iscsiadm -m node -o update -n node.session.auth.password -v SECRET` puts the CHAP secret in
// iscsiadm's argv, which every local user can read in /proc/<pid>/cmdline and `ps` while it
// runs. iscsiadm has no way to take a value from stdin or a file, but it reads each node
// record from a plain "name = value" file under its database directory
// (<nodesDir>/<target>/<host>,<port> or <nodesDir>/<target>/<host>,<port>,<tpgt>/<iface>), so
// the plugin lets `iscsiadm -o new` create the record and then writes the CHAP lines into that
// file itself, readable by its owner only.
// THREADING: none of its own; the caller serialises access to one record (IscsiNode's mutex).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace polycsi::iscsi_powerstore {

// The record files iscsiadm keeps for `targetIqn` at `portal` ("host:port" or "[v6]:port")
// under `nodesDir` (open-iscsi's <DBROOT>/nodes): one per iface. Empty when there is none.
std::vector<std::filesystem::path> findNodeRecords(const std::filesystem::path& nodesDir,
                                                   const std::string& targetIqn,
                                                   const std::string& portal);

// Sets node.session.auth.authmethod = CHAP, .username and .password in the record file and,
// when `mutualUser` is not empty, .username_in and .password_in (mutual CHAP: open-iscsi then
// insists that the target authenticates itself with them, iscsi_setup_authentication() in
// usr/initiator_common.c); an empty `mutualUser` removes those two lines, so a record never
// keeps a mutual secret the configuration no longer holds. Every other line is kept. The file is
// replaced atomically by one created with mode 0600 in the same directory; a record that is a
// symlink, not a regular file, or owned by another user is refused (FAILED_PRECONDITION), never
// followed or rewritten. INVALID_ARGUMENT when a value holds a line break or other control
// character (it would add lines to the record). Idempotent.
void writeChapToNodeRecord(const std::filesystem::path& record, const std::string& user,
                           const std::string& password, const std::string& mutualUser = "",
                           const std::string& mutualPassword = "");

}  // namespace polycsi::iscsi_powerstore
