#!/usr/bin/env bash
# How the rds_nvme controller scales with concurrent calls against an RDS that takes as long as
# a real one to answer: rds-sim answers every command after --latency-ms (default 20), and
# `polycsictl bench` runs create+delete at concurrency 1 and 64 against polycsi + rds_nvme for
# each SSH pool size. Writes one JSON file per pool size and concurrency, and a summary
# (rds-pool-scan.json: calls/s at 1 and 64, and the goal 64 >= 0.7 x pool_size x 1).
#
#   bench/rds_pool_scan.sh --bin-dir DIR --plugin-dir DIR --out DIR [--latency-ms 20]
#                          [--pools "1 2 4 8 16"] [--iterations-c1 40] [--iterations-c64 256]
#                          [--sim-arg ARG]...
#
# bench/run.sh calls it; it runs on its own too (no root needed). Everything runs on loopback
# and a private directory under /dev/shm; the processes it starts are stopped by pid.
set -euo pipefail

bin="" plugins="" out="" latency=20 pools="1 2 4 8 16" it1=40 it64=256
sim_args=()
while (($#)); do
  case "$1" in
    --bin-dir) bin=$2; shift 2 ;;
    --plugin-dir) plugins=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --latency-ms) latency=$2; shift 2 ;;
    --pools) pools=$2; shift 2 ;;
    --iterations-c1) it1=$2; shift 2 ;;
    --iterations-c64) it64=$2; shift 2 ;;
    --sim-arg) sim_args+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "rds_pool_scan.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$bin" ] && [ -n "$plugins" ] && [ -n "$out" ] ||
  { echo "rds_pool_scan.sh: --bin-dir, --plugin-dir and --out are required" >&2; exit 2; }
for n in "$latency" "$it1" "$it64" $pools; do
  [[ "$n" =~ ^[0-9]{1,5}$ ]] || { echo "rds_pool_scan.sh: '$n' is not a number" >&2; exit 2; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d /dev/shm/polycsi-rds-scan.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/start_rds_sim.sh
. "$(dirname "$0")/start_rds_sim.sh"
latency_args=()
((latency > 0)) && latency_args=(--command-latency-ms "$latency")
start_rds_sim "$work/rds" 100T "${latency_args[@]}" "${sim_args[@]}"
port=$rds_sim_port fingerprint=$rds_sim_fingerprint

# CPU seconds (user + system) a process used so far, from /proc/PID/stat.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}
sim_pid=$rds_sim_pid

for pool in $pools; do
  cat >"$work/rds.yaml" <<YAML
driver_name: polycsi.csi.io
state_path: $work/state-$pool
backends:
  - name: rds
    plugin: rds_nvme
    default: true
    settings:
      address: 127.0.0.1
      port: $port
      user: admin
      private_key_file: $rds_sim_client_key
      host_key_fingerprint: "$fingerprint"
      base_path: /storage-pool/bench
      orphan_scan_interval_seconds: 0
      pool_size: $pool
YAML
  socket="$work/rds-$pool.sock"
  "$bin/polycsi" serve --config "$work/rds.yaml" --endpoint "unix://$socket" \
    --plugin-dir "$plugins" --mode controller --node-id bench-controller >>"$work/driver.log" 2>&1 &
  driver=$!
  pids+=("$driver")
  for _ in $(seq 1 400); do
    "$bin/polycsictl" --endpoint "unix://$socket" --timeout 2s identity probe >/dev/null 2>&1 && break
    sleep 0.05
  done
  for level in "1 $it1" "64 $it64"; do
    set -- $level
    echo "rds_pool_scan: pool_size $pool, concurrency $1, $2 iterations, ${latency} ms per command"
    # A call that queues behind 63 others for one session waits long: 5 minutes per call. A
    # failed call makes polycsictl exit 1; the summary counts the failures.
    driver_cpu=$(cpu_seconds "$driver") sim_cpu=$(cpu_seconds "$sim_pid") load=$(cut -d' ' -f1 /proc/loadavg)
    "$bin/polycsictl" --endpoint "unix://$socket" --timeout 300s bench --scenarios create-delete \
      --block --size 1Gi --concurrency "$1" --iterations "$2" --warmup 2 \
      --json-file "$out/rds-pool$pool-c$1.json" >"$work/bench.out" 2>&1 ||
      { [ -s "$out/rds-pool$pool-c$1.json" ] || { cat "$work/bench.out" >&2; exit 1; }; }
    # Where the time went: CPU of the driver and the simulator during the level, and the load.
    printf '{"driver_cpu_s": %s, "sim_cpu_s": %s, "load_1min_before": %s, "load_1min_after": %s}\n' \
      "$(awk -v a="$(cpu_seconds "$driver")" -v b="$driver_cpu" 'BEGIN {print a - b}')" \
      "$(awk -v a="$(cpu_seconds "$sim_pid")" -v b="$sim_cpu" 'BEGIN {print a - b}')" "$load" \
      "$(cut -d' ' -f1 /proc/loadavg)" >"$out/rds-pool$pool-c$1.cpu.json"
  done
  kill -TERM "$driver"
  wait "$driver" || true
done

python3 - "$out" "$latency" $pools <<'PY'
import json, os, sys
out, latency, pools = sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
def level(path):
    with open(path) as f:
        run = json.load(f)
    entry = next(l for l in run["levels"] if l["scenario"] == "create-delete")
    rpcs = {r["rpc"]: r for r in entry["rpcs"]}
    with open(path[:-len(".json")] + ".cpu.json") as f:
        cpu = json.load(f)
    done = entry["iterations"] - entry["failed_iterations"]
    return {"iterations_per_second": entry["iterations_per_second"],
            "wall_seconds": entry["wall_seconds"],
            "driver_cpu_ms_per_iteration": 1000 * cpu["driver_cpu_s"] / max(done, 1),
            "sim_cpu_ms_per_iteration": 1000 * cpu["sim_cpu_s"] / max(done, 1),
            "cpu_cores_busy": (cpu["driver_cpu_s"] + cpu["sim_cpu_s"]) / entry["wall_seconds"],
            "load_1min": [cpu["load_1min_before"], cpu["load_1min_after"]],
            "failed_iterations": entry["failed_iterations"],
            "first_error": next((r["first_error"] for r in entry["rpcs"] if r["first_error"]), ""),
            "create_p50_ms": rpcs["CreateVolume"]["latency_ms"]["p50"],
            "delete_p50_ms": rpcs["DeleteVolume"]["latency_ms"]["p50"]}
rows = []
for pool in pools:
    c1 = level(os.path.join(out, f"rds-pool{pool}-c1.json"))
    c64 = level(os.path.join(out, f"rds-pool{pool}-c64.json"))
    ratio = c64["iterations_per_second"] / c1["iterations_per_second"]
    rows.append({"pool_size": pool, "c1": c1, "c64": c64, "ratio": ratio,
                 "goal": 0.7 * pool, "met": ratio >= 0.7 * pool})
    print(f"pool {pool:2d}: c1 {c1['iterations_per_second']:6.1f}/s  c64 "
          f"{c64['iterations_per_second']:6.1f}/s  ratio {ratio:5.2f} (goal >= {0.7 * pool:.1f}) "
          f"c64 p50 create {c64['create_p50_ms']:.0f} ms delete {c64['delete_p50_ms']:.0f} ms"
          f"  cores busy (driver+sim) c1 {c1['cpu_cores_busy']:.2f} c64 {c64['cpu_cores_busy']:.2f}"
          f"  failed c1 {c1['failed_iterations']} c64 {c64['failed_iterations']} "
          f"{c64['first_error'] or c1['first_error']}")
with open(os.path.join(out, "rds-pool-scan.json"), "w") as f:
    json.dump({"latency_ms": latency, "pools": rows}, f, indent=2)
    f.write("\n")
PY
