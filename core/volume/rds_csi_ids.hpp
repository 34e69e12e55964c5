// The volume and snapshot ids of 3whiskeywhiskey/rds-csi (driver rds.csi.srvlab.io), the Go
// driver an rds_nvme backend can stand in for (docs/migrating-from-rds-csi.md). Facts from
// github.com/3whiskeywhiskey/rds-csi at 97597243f9a0087965fe22dd3c5a22db72988562:
//   pkg/utils/volumeid.go    volume id = the PV name, "pvc-<lowercase uuid>", which is also
//                            the RDS slot, the file "<volumePath>/<id>.img" and the NQN
//                            "nqn.2000-02.com.mikrotik:<id>"
//   pkg/utils/snapshotid.go  snapshot id "snap-<uuid>-at-<hex>" (older "snap-<uuid>")
// Only these exact shapes count. That driver also accepted looser ids (any [A-Za-z0-9-] text
// of at most 250 characters that is not a bare UUID, for its sanity tests): such an id may
// name one of its disks, but nothing says which, so it is ambiguous and never acted on.
//
// THREADING: pure functions.
#pragma once

#include <string_view>

namespace polycsi::volume {

// True for "pvc-" + a lowercase RFC 4122 text UUID (8-4-4-4-12 hex digits), nothing more.
bool isRdsCsiVolumeId(std::string_view id);
// True for "snap-<uuid>" and "snap-<uuid>-at-<lowercase hex>", lowercase hex as above.
bool isRdsCsiSnapshotId(std::string_view id);
// True for an id rds-csi accepted (pkg/utils/volumeid.go, snapshotid.go: [A-Za-z0-9-]{1,250},
// not a bare UUID of any case) that is neither of the exact shapes above: ambiguous.
bool isAmbiguousRdsCsiId(std::string_view id);

}  // namespace polycsi::volume
