# Sourced by bench/run.sh and bench/rds_pool_scan.sh: one rds-sim on 127.0.0.1 for a benchmark.
#
#   start_rds_sim DIR CAPACITY [rds-sim arguments...]
#
# Makes DIR with a host key and a client key, starts "$bin/rds-sim" there (no nvmet, pool of
# CAPACITY), appends its pid to the caller's `pids` array (which the caller's cleanup stops),
# waits (bounded) until it listens, and sets rds_sim_pid, rds_sim_port, rds_sim_fingerprint
# (the pinned host key) and rds_sim_client_key. Exits the script when the simulator does not
# come up, printing its log.
start_rds_sim() {
  local dir=$1 capacity=$2
  shift 2
  mkdir -p "$dir"
  ssh-keygen -q -t ed25519 -N '' -C rds-sim-host -f "$dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -C polycsi-bench -f "$dir/client_key"
  "$bin/rds-sim" --listen 127.0.0.1:0 --state-dir "$dir/state" --host-key "$dir/host_key" \
    --authorized-keys "$dir/client_key.pub" --pool-capacity "$capacity" --no-nvmet \
    --log-level warn "$@" >"$dir/rds-sim.log" 2>&1 &
  rds_sim_pid=$!
  pids+=("$rds_sim_pid")
  rds_sim_port=""
  for _ in $(seq 1 200); do
    rds_sim_port=$(sed -n 's/^rds-sim listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/rds-sim.log")
    [ -n "$rds_sim_port" ] && break
    sleep 0.05
  done
  [ -n "$rds_sim_port" ] || { cat "$dir/rds-sim.log" >&2; exit 1; }
  rds_sim_fingerprint=$(ssh-keygen -l -E sha256 -f "$dir/host_key.pub" | awk '{print $2}')
  rds_sim_client_key=$dir/client_key
}
