#!/usr/bin/env bash
# Runs scripts/demo.sh against an already-built build directory and checks its exit status,
# the key lines of its output and that it left none of its processes running.
#   run_demo.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
source_dir=$1
build_dir=$2
output=$(mktemp /tmp/polycsi-demo-test.XXXXXX)
trap 'rm -f "$output"' EXIT

# Processes whose command line names a demo work directory; those running before are not ours.
# (A regular expression with an escaped dot does not match grep's own command line.)
demo_processes() {
  grep -lsE '/tmp/polycsi-demo\.' /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 | sort -n
}
before=$(demo_processes)

BUILD_DIR=$build_dir DEMO_NO_BUILD=1 NO_COLOR=1 "$source_dir/scripts/demo.sh" >"$output" 2>&1
status=$?
cat "$output"
echo "---- checks"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_line() {  # expect_line DESCRIPTION EXTENDED-REGEX
  grep -Eq -- "$2" "$output" || fail "$1: no line matches /$2/"
}

[ "$status" -eq 0 ] || fail "scripts/demo.sh exited with $status"
expect_line "the third node's refusal (seed message)" \
  'FAILED_PRECONDITION: Volume rds-nvme:pvc-0d15c0de-5eed-4a11-8b0b-00000000cafe already attached to 2 nodes \(migration limit\)\. Attached nodes: \[node-a, node-b\]'
expect_line "migration started on node-b" 'ControllerPublishVolume -> node-b +OK  target attached: migration started'
expect_line "MigrationStarted event" \
  '^ +Normal +MigrationStarted +\[fedora-disk\]: KubeVirt live migration started - source: node-a, target: node-b, timeout: 2m0s$'
expect_line "MigrationCompleted event" \
  '^ +Normal +MigrationCompleted +\[fedora-disk\]: KubeVirt live migration completed - source: node-a . target: node-b \(duration: [0-9]+s\)$'
expect_line "active migrations gauge during the migration" '^ +rds_csi_migration_active_migrations 1$'
expect_line "completed migrations counter" '^ +rds_csi_migration_migrations_total\{result="success"\} 1$'
expect_line "PowerStore refuses a second node" \
  'FAILED_PRECONDITION: Volume powerstore-iscsi:PS03455f439da7\.[0-9a-f-]+ is already attached to node node-a'
expect_line "nfs refuses block with the plugin's reason" \
  'an NFS export holds files, not block devices'
expect_line "table header" \
  '^  BACKEND +PLUGIN +RWO +RWX +VM DISK PVC +2ND NODE +LIVE MIGRATION +GROUP SNAPSHOT +VAC MUTABLE +HEALTH$'
expect_line "table row rds-nvme" \
  '^  rds-nvme +rds_nvme +Block, Filesystem +Block \(migration window\) +RWX Block +during migration window +yes +per volume in sequence +migrationTimeoutSeconds +controller, node$'
expect_line "table row powerstore-iscsi" \
  '^  powerstore-iscsi +iscsi_powerstore +Block, Filesystem +- +RWO Block +refused +no +crash-consistent +performancePolicy, protectionPolicyID +controller, node$'
expect_line "table row nfs" \
  '^  nfs +nfs +Filesystem +Filesystem \(shared\) +RWX Filesystem +allowed +yes +per volume in sequence +- +controller, node$'
expect_line "why rds-nvme" '^    rds-nvme \(StorageClass polycsi-rds-nvme\): RWX Block, bounded window 300s default'
expect_line "why powerstore-iscsi" \
  '^    powerstore-iscsi \(StorageClass polycsi-powerstore-iscsi\): KubeVirt live migration needs ReadWriteMany'
[ "$(grep -c ' agrees$' "$output")" -eq 3 ] || fail "not every verdict agrees with the run"
! grep -q 'DISAGREES' "$output" || fail "a verdict disagrees with the run"

# powerstore-sim's tgtd names only its portal, which the demo prints.
portal=$(sed -n 's/.*iSCSI portal \(127\.0\.0\.1:[0-9]*\) (tgtd).*/\1/p' "$output" | head -n1)
if [ -z "$portal" ]; then
  fail "the demo did not print powerstore-sim's iSCSI portal"
elif grep -qsE -- "portal=${portal//./\\.}" /proc/[0-9]*/cmdline; then
  fail "tgtd serving $portal is still running"
fi

after=$(demo_processes)
left=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
if [ -n "$left" ]; then
  for pid in $left; do
    fail "left running: pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  done
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
