#!/usr/bin/env bash
# Runs every polycsi benchmark on this machine and writes bench/results/*.json, the plots
# (bench/results/*.png) and the results table in bench/README.md.
#
#   bench/run.sh [--build-dir DIR] [--no-build] [--iterations N] [--rds-iterations N] [--runs N]
#                [--volumes N] [--rds-latency-ms N] [--compare-endpoint ENDPOINT]
#                [--compare-param KEY=VALUE]... [--compare-only]
#
# rds-sim answers every command after --rds-latency-ms (default 20, as a real RDS takes tens of
# milliseconds; 0 answers at once), for the rds_nvme scenarios, the SSH pool-size scan
# (bench/rds_pool_scan.sh) and the pooled-against-fresh SSH benchmark.
#
# The same CSI scenarios (Probe, create+delete) also run against a second CSI driver, in the
# same run, and the table shows polycsi's figures as ratios to it: the driver at
# --compare-endpoint (with --compare-param as its StorageClass parameters), else the first
# other driver answering on a socket where kubelet and the deploy manifests put them
# (/var/lib/kubelet/plugins/*/csi.sock, /csi/csi.sock, /run/csi/*.sock). --compare-only runs
# just that comparison (polycsi + sample against the other driver) and prints its table.
#
# Everything runs on loopback and Unix sockets in a private directory on tmpfs (/dev/shm), so
# the figures are the driver's, not the disk's. The machine is shared and noisy: the CSI
# scenarios run --runs times (default 3) and the report takes the median of each figure; every
# figure sits next to a baseline measured in the same run (the Probe round trip, the cost of
# starting /bin/true). Needs root (the sample plugin's node side uses loop devices).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-bench"
do_build=1
iterations=200
rds_iterations=50  # every rds_nvme call is several SSH round trips to rds-sim
rds_latency=20     # ms rds-sim takes to answer a command, as a real RDS
runs=3
volumes=10000
compare_endpoint=""
compare_params=()
compare_only=0
while (($#)); do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --iterations) iterations=$2; shift 2 ;;
    --rds-iterations) rds_iterations=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --volumes) volumes=$2; shift 2 ;;
    --rds-latency-ms) rds_latency=$2; shift 2 ;;
    --compare-endpoint) compare_endpoint=$2; shift 2 ;;
    --compare-param) compare_params+=(--param "$2"); shift 2 ;;
    --compare-only) compare_only=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$iterations" "$rds_iterations" "$runs" "$volumes"; do
  [[ "$n" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "bench/run.sh: '$n' is not a positive number" >&2; exit 2; }
done
[[ "$rds_latency" =~ ^[0-9]{1,4}$ ]] && ((rds_latency <= 10000)) ||
  { echo "bench/run.sh: --rds-latency-ms '$rds_latency' is not 0-10000" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: run as root (loop devices for the lifecycle scenario)" >&2; exit 1; }

# --- dependencies -----------------------------------------------------------------------------
missing=()
while read -r package; do
  [[ -z "$package" || "$package" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done <"$root/bench/deps.txt"
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- build ------------------------------------------------------------------------------------
if ((do_build)); then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON \
    -DPOLYCSI_BUILD_BENCH=ON "${launcher[@]}" >/dev/null
  nice -n 10 ninja -C "$build" -j2 polycsi polycsictl rds-sim polycsi_plugin_sample \
    polycsi_plugin_rds_nvme polycsi-driver-bench rds_parser_bench ssh_roundtrip_bench reconcile_bench
fi
bin="$build/bin"
needed=(polycsi polycsictl)
((compare_only)) || needed+=(rds-sim polycsi-driver-bench)
for f in "${needed[@]}"; do
  [ -x "$bin/$f" ] || { echo "bench: $bin/$f is missing (build first or drop --no-build)" >&2; exit 1; }
done
parser_bench="$bin/rds_parser_bench"
ssh_bench="$bin/ssh_roundtrip_bench"
reconcile_bench="$bin/reconcile_bench"
for f in "$parser_bench" "$ssh_bench" "$reconcile_bench"; do
  ((compare_only)) && break
  [ -x "$f" ] || { echo "bench: $f is missing (configure with -DBUILD_TESTING=ON and build)" >&2; exit 1; }
done

results="$root/bench/results"
mkdir -p "$results"
# How busy the machine was: the figures are only comparable between quiet runs.
load_at_start=$(cut -d' ' -f1 /proc/loadavg)
# Every driver this script starts runs as the DaemonSet runs it (deploy/base): glibc keeps at
# most two malloc arenas instead of one per concurrently allocating thread.
export MALLOC_ARENA_MAX=2
work=$(mktemp -d /dev/shm/polycsi-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # The lifecycle scenario undoes its own mounts and loop devices; anything left below $work is
  # released before the directory goes.
  # (grep finds nothing when every mount was undone: not a failure of the cleanup.)
  { grep -o " $work/[^ ]*" /proc/self/mounts || true; } | sort -r |
    while read -r m; do umount "$m" || true; done
  losetup -nO NAME,BACK-FILE 2>/dev/null | awk -v w="$work/" 'index($2, w) == 1 {print $1}' |
    while read -r loop; do losetup -d "$loop" || true; done
  rm -rf "$work"
  [ -z "${disk:-}" ] || rm -rf "$disk"
}
trap cleanup EXIT

# Starts `polycsi serve` with $1 (config) on socket $2; sets driver_pid and waits for Probe.
start_driver() {
  local config=$1 socket=$2
  shift 2
  "$bin/polycsi" serve --config "$config" --endpoint "unix://$socket" --plugin-dir "$build/plugins" "$@" \
    >>"$work/driver.log" 2>&1 &
  driver_pid=$!
  pids+=("$driver_pid")
  for _ in $(seq 1 400); do
    "$bin/polycsictl" --endpoint "unix://$socket" --timeout 2s identity probe >/dev/null 2>&1 && return 0
    kill -0 "$driver_pid" 2>/dev/null || { tail -20 "$work/driver.log" >&2; return 1; }
    sleep 0.05
  done
  echo "bench: polycsi did not answer Probe in 20 s" >&2
  tail -20 "$work/driver.log" >&2
  return 1
}
stop_driver() {
  kill -TERM "$driver_pid"
  wait "$driver_pid" || true
}
# VmRSS and VmHWM of a pid in MiB, as JSON members.
memory_json() {
  awk '/^VmRSS:/ {rss=$2} /^VmHWM:/ {hwm=$2} /^RssAnon:/ {anon=$2} /^RssFile:/ {file=$2} END {printf "{\"vm_rss_mib\": %.2f, \"vm_hwm_mib\": %.2f, \"rss_anon_mib\": %.2f, \"rss_file_mib\": %.2f}", rss/1024, hwm/1024, anon/1024, file/1024}' \
    "/proc/$1/status"
}

# The sample plugin's config for polycsi on tmpfs: $work/sample.yaml.
write_sample_config() {
  cat >"$work/sample.yaml" <<YAML
driver_name: polycsi.csi.io
state_path: $work/sample-state
backends:
  - name: local
    plugin: sample
    default: true
    settings:
      directory: $work/sample-volumes
YAML
}

# --- a second CSI driver, for the comparison -------------------------------------------------------
# The first socket that answers GetPluginInfo with another driver's name; nothing when none does.
find_second_driver() {
  local sock name
  for sock in /var/lib/kubelet/plugins/*/csi.sock /csi/csi.sock /run/csi/*.sock; do
    [ -S "$sock" ] || continue
    name=$(driver_name "unix://$sock") || continue
    [ -n "$name" ] && [ "$name" != polycsi.csi.io ] || continue
    echo "unix://$sock"
    return 0
  done
  return 1
}
driver_name() {
  "$bin/polycsictl" --endpoint "$1" --timeout 2s --json identity info 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("name", ""))'
}
# The pid serving the Unix socket of endpoint $1 (from ss), or nothing.
socket_owner() {
  local path=${1#unix://}
  path=${path#unix:}
  ss -xlpn 2>/dev/null | awk -v p="$path" '$5 == p' | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
# Runs Probe and create+delete against the other driver, --runs times, as against polycsi;
# writes csi-other-run*.json and other.json (name, version, memory when its pid is visible).
bench_second_driver() {
  rm -f "$results"/csi-other-run*.json "$results/other.json"
  if [ -z "$compare_endpoint" ]; then
    compare_endpoint=$(find_second_driver) || {
      echo "bench: no second CSI driver found (looked for csi.sock under /var/lib/kubelet/plugins," \
        "/csi and /run/csi); give --compare-endpoint to compare with one"
      return 0
    }
  fi
  [[ "$compare_endpoint" =~ ^(unix://)?/[^[:space:]]+$|^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]] ||
    { echo "bench: --compare-endpoint '$compare_endpoint' is not unix:///path or host:port" >&2; exit 2; }
  local name version pid idle_mem=null after_mem=null
  name=$(driver_name "$compare_endpoint") || { echo "bench: $compare_endpoint does not answer GetPluginInfo" >&2; exit 1; }
  version=$("$bin/polycsictl" --endpoint "$compare_endpoint" --timeout 2s --json identity info |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("vendor_version", ""))')
  pid=$(socket_owner "$compare_endpoint")
  [ -n "$pid" ] && idle_mem=$(memory_json "$pid")
  echo "bench: Probe and create+delete against $name $version at $compare_endpoint, $runs runs"
  for run in $(seq 1 "$runs"); do
    "$bin/polycsictl" --endpoint "$compare_endpoint" bench --scenarios a,b --block --size 16Mi \
      --iterations "$iterations" "${compare_params[@]}" --json-file "$results/csi-other-run$run.json"
  done
  [ -n "$pid" ] && after_mem=$(memory_json "$pid")
  python3 - "$results/other.json" "$name" "$version" "$compare_endpoint" "$idle_mem" "$after_mem" <<'PY'
import json, sys
path, name, version, endpoint, idle, after = sys.argv[1:]
with open(path, "w") as f:
    json.dump({"name": name, "version": version, "endpoint": endpoint,
               "idle": json.loads(idle), "after_scenarios": json.loads(after)}, f, indent=2)
PY
}

if ((compare_only)); then
  echo "bench: Probe and create+delete against polycsi + sample on tmpfs, $runs runs"
  write_sample_config
  start_driver "$work/sample.yaml" "$work/sample.sock" --node-id bench-node
  sleep 1
  idle=$(memory_json "$driver_pid")
  rm -f "$results"/csi-sample-compare-run*.json
  for run in $(seq 1 "$runs"); do
    "$bin/polycsictl" --endpoint "unix://$work/sample.sock" bench --scenarios a,b --block \
      --size 16Mi --iterations "$iterations" --json-file "$results/csi-sample-compare-run$run.json"
  done
  printf '{"driver": "polycsi + sample", "idle": %s, "after_scenarios": %s}\n' "$idle" \
    "$(memory_json "$driver_pid")" >"$results/memory-sample-compare.json"
  stop_driver
  bench_second_driver
  python3 "$root/bench/report.py" --results "$results" --compare-only
  exit 0
fi

# --- 1. start-up, memory, 10,000 volumes -------------------------------------------------------
echo "bench: start-up, memory and $volumes-volume scale (sample plugin on tmpfs)"
mkdir -p "$work/scale"
"$bin/polycsi-driver-bench" --polycsi "$bin/polycsi" --plugin-dir "$build/plugins" \
  --work "$work/scale" --volumes "$volumes" --json "$results/driver.json" >/dev/null
rm -rf "$work/scale"

# --- 2. CSI scenarios against the sample plugin ------------------------------------------------
echo "bench: CSI scenarios a-d against polycsi + sample, $runs runs of $iterations iterations"
write_sample_config
mkdir -p "$work/node"
start_driver "$work/sample.yaml" "$work/sample.sock" --node-id bench-node
sleep 1
idle=$(memory_json "$driver_pid")
for run in $(seq 1 "$runs"); do
  "$bin/polycsictl" --endpoint "unix://$work/sample.sock" bench --block --size 16Mi \
    --iterations "$iterations" --node-dir "$work/node" --json-file "$results/csi-sample-run$run.json"
done
peak=$(memory_json "$driver_pid")
printf '{"driver": "polycsi + sample", "idle": %s, "after_scenarios": %s}\n' "$idle" "$peak" \
  >"$results/memory-sample.json"
stop_driver

# The same driver with its volumes on this machine's disk (ext4, fsync per create as the sample
# plugin does): storage that waits, as real storage does, which concurrency can overlap.
echo "bench: create+delete against polycsi + sample on disk, $runs runs"
disk=$(mktemp -d /var/tmp/polycsi-bench.XXXXXX)
cleanup_disk() { rm -rf "$disk"; }
sed "s|$work/sample-volumes|$disk/volumes|; s|$work/sample-state|$disk/state|" "$work/sample.yaml" >"$work/disk.yaml"
start_driver "$work/disk.yaml" "$work/disk.sock" --node-id bench-node
for run in $(seq 1 "$runs"); do
  "$bin/polycsictl" --endpoint "unix://$work/disk.sock" bench --scenarios a,b --block --size 16Mi \
    --iterations "$iterations" --json-file "$results/csi-sample-disk-run$run.json"
done
stop_driver
cleanup_disk

# --- 3. CSI scenarios against rds_nvme and rds-sim ---------------------------------------------
echo "bench: CSI scenarios a, b, d against polycsi + rds_nvme + rds-sim over SSH ($rds_latency ms per command), $runs runs of $rds_iterations iterations"
# shellcheck source=bench/start_rds_sim.sh
. "$root/bench/start_rds_sim.sh"
start_rds_sim "$work/rds" 10T --command-latency-ms "$rds_latency"
rds_port=$rds_sim_port fingerprint=$rds_sim_fingerprint
cat >"$work/rds.yaml" <<YAML
driver_name: polycsi.csi.io
state_path: $work/rds-state
backends:
  - name: rds
    plugin: rds_nvme
    default: true
    settings:
      address: 127.0.0.1
      port: $rds_port
      user: admin
      private_key_file: $rds_sim_client_key
      host_key_fingerprint: "$fingerprint"
      base_path: /storage-pool/bench
      orphan_scan_interval_seconds: 0
YAML
node_a="bench-node-a|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4111-8111-000000000001"
node_b="bench-node-b|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-2222-4222-8222-000000000002"
start_driver "$work/rds.yaml" "$work/rds.sock" --mode controller --node-id bench-controller
for run in $(seq 1 "$runs"); do
  "$bin/polycsictl" --endpoint "unix://$work/rds.sock" bench --scenarios a,b,d --block --size 1Gi \
    --iterations "$rds_iterations" --node-id "$node_a" --peer-node-id "$node_b" \
    --json-file "$results/csi-rds-run$run.json"
done
printf '{"driver": "polycsi + rds_nvme (controller) against rds-sim", "after_scenarios": %s}\n' \
  "$(memory_json "$driver_pid")" >"$results/memory-rds.json"
stop_driver

# --- 3a. rds_nvme create+delete at concurrency 1 and 64 for each SSH pool size ----------------------
echo "bench: rds_nvme SSH pool sizes 1-16, create+delete at concurrency 1 and 64 ($rds_latency ms per command)"
"$root/bench/rds_pool_scan.sh" --bin-dir "$bin" --plugin-dir "$build/plugins" --out "$results" \
  --latency-ms "$rds_latency"

# --- 3b. the same Probe and create+delete against a second CSI driver, if there is one ----------
bench_second_driver

# --- 4. micro benchmarks ---------------------------------------------------------------------------
echo "bench: RouterOS print parser"
"$parser_bench" --benchmark_repetitions=5 --benchmark_out="$results/parser.json" \
  --benchmark_out_format=json >/dev/null
echo "bench: SSH round trip, pooled vs fresh (rds-sim)"
POLYCSI_BENCH_RDS_LATENCY_MS=$rds_latency "$ssh_bench" --benchmark_repetitions=5 --benchmark_out="$results/ssh.json" \
  --benchmark_out_format=json >/dev/null
echo "bench: VolumeAttachment reconciliation (fake Kubernetes API)"
"$reconcile_bench" --benchmark_repetitions=3 --benchmark_out="$results/reconcile.json" \
  --benchmark_out_format=json >/dev/null

# --- 5. report ------------------------------------------------------------------------------------
printf '{"cores": %s, "load_average_1min_at_start": %s, "load_average_1min_at_end": %s}\n' \
  "$(nproc)" "$load_at_start" "$(cut -d' ' -f1 /proc/loadavg)" >"$results/machine.json"
python3 "$root/bench/report.py" --results "$results" --readme "$root/bench/README.md"
echo "bench: results in $results, table in bench/README.md"
