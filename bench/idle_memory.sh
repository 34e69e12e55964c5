#!/usr/bin/env bash
# Idle resident memory of `polycsi serve` per configuration: for each case, three starts; each
# read /proc/<pid>/status 1 s after the CSI socket appears (MALLOC_ARENA_MAX=2, as the DaemonSet
# runs it), then stop the driver. Prints one line per case: the median VmRSS and RssAnon in MiB
# and the three VmRSS figures. No storage is touched: the backends' peers are not started (a
# node never contacts them at start; a controller's plugin connects on the first call).
#   bench/idle_memory.sh [--build DIR] [--runs N] [--smaps CASE] [--text CASE]
# --smaps CASE also prints, for the last start of CASE, Rss per mapped object (kB, largest
# first) from /proc/<pid>/smaps; --text CASE, whose code the executable's resident pages hold
# (bench/resident_text.py, by component and section).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
runs=3
smaps_case=""
text_case=""
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --runs) runs=$2; shift ;;
    --smaps) smaps_case=$2; shift ;;
    --text) text_case=$2; shift ;;
    *) echo "idle_memory: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
bin="$build/bin"
work=$(mktemp -d /dev/shm/polycsi-idle.XXXXXX)
driver_pid=""
cleanup() {
  [ -z "$driver_pid" ] || kill -TERM "$driver_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "iqn.1993-08.org.debian:01:bench" >"$work/iqn"
echo "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001" >"$work/hostnqn"
# One backend entry per plugin, named after it; the cases below read them with ${!name}.
# shellcheck disable=SC2034
sample="  - name: local
    plugin: sample
    default: true
    settings:
      directory: $work/volumes"
# shellcheck disable=SC2034
rds_nvme="  - name: rds
    plugin: rds_nvme
    settings:
      address: 127.0.0.1
      user: admin
      password: secret
      host_public_key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl rds\"
      base_path: /storage-pool/polycsi
      host_nqn_file: $work/hostnqn"
# shellcheck disable=SC2034
nfs="  - name: nfs
    plugin: nfs
    settings:
      server: 127.0.0.1
      share: /export"
# shellcheck disable=SC2034
iscsi_powerstore="  - name: powerstore
    plugin: iscsi_powerstore
    settings:
      initiator_name_file: $work/iqn
      arrays:
        - endpoint: \"https://127.0.0.1:9/api/rest\"
          globalID: \"PS0000000000\"
          username: csi
          password: x
          skipCertificateValidation: true
          isDefault: true
          blockProtocol: ISCSI"

# name | backends (variable names) | extra arguments
cases=(
  "node|sample|--mode node"
  "node-metrics|sample|--mode node --metrics-address 127.0.0.1:0"
  "controller|sample|--mode controller"
  "all|sample|"
  "node+rds_nvme|sample rds_nvme|--mode node"
  "node+nfs|sample nfs|--mode node"
  "node+iscsi_powerstore|sample iscsi_powerstore|--mode node"
)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for entry in "${cases[@]}"; do
  IFS='|' read -r name backends extra <<<"$entry"
  missing=""
  for b in $backends; do [ -f "$build/plugins/polycsi_$b.so" ] || missing=$b; done
  if [ -n "$missing" ]; then
    printf '%-24s skipped: %s is not built\n' "$name" "plugins/polycsi_$missing.so"
    continue
  fi
  config="$work/$name.yaml"
  {
    echo "driver_name: polycsi.csi.io"
    echo "state_path: $work/state-$name"
    echo "backends:"
    for b in $backends; do echo "${!b}"; done
  } >"$config"
  rss=() anon=()
  for run in $(seq 1 "$runs"); do
    socket="$work/$name.sock"
    rm -f "$socket"
    # shellcheck disable=SC2086 # extra is a list of arguments
    MALLOC_ARENA_MAX=2 "$bin/polycsi" serve --config "$config" --endpoint "unix://$socket" \
      --plugin-dir "$build/plugins" --node-id bench-node $extra >>"$work/driver.log" 2>&1 &
    driver_pid=$!
    for _ in $(seq 1 400); do
      [ -S "$socket" ] && break
      kill -0 "$driver_pid" 2>/dev/null || { tail -20 "$work/driver.log" >&2; exit 1; }
      sleep 0.05
    done
    [ -S "$socket" ] || { echo "idle_memory: $name: no socket in 20 s" >&2; exit 1; }
    sleep 1
    rss+=("$(awk '/^VmRSS:/ {print $2}' "/proc/$driver_pid/status")")
    anon+=("$(awk '/^RssAnon:/ {print $2}' "/proc/$driver_pid/status")")
    if [ "$name" = "$smaps_case" ] && [ "$run" = "$runs" ]; then
      awk '/^[0-9a-f]+-[0-9a-f]+ / {name = NF >= 6 ? $6 : "[anon]"} /^Rss:/ {rss[name] += $2}
           END {for (n in rss) if (rss[n] > 0) printf "%8d %s\n", rss[n], n}' \
        "/proc/$driver_pid/smaps" | sort -rn
    fi
    if [ "$name" = "$text_case" ] && [ "$run" = "$runs" ]; then
      python3 "$root/bench/resident_text.py" "$driver_pid"
    fi
    kill -TERM "$driver_pid"
    wait "$driver_pid" || true
    driver_pid=""
  done
  printf '%-24s VmRSS %6.2f MiB  RssAnon %5.2f MiB  (VmRSS of each start: %s kB)\n' "$name" \
    "$(printf '%s\n' "${rss[@]}" | median | awk '{print $1/1024}')" \
    "$(printf '%s\n' "${anon[@]}" | median | awk '{print $1/1024}')" "${rss[*]}"
done
