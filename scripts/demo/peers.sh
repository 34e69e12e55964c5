# shellcheck shell=bash disable=SC2154,SC2034  # "Needs" come from demo.sh; what is set here, demo.sh uses
# Sourced by scripts/demo.sh: starts the storage systems the demo's backends talk to, each on
# 127.0.0.1 with its state under "$work", and stops them again by the pids recorded here.
#   rds-sim         a simulated MikroTik RDS reachable over SSH (never the kernel's NVMe target)
#   powerstore-sim  a simulated Dell PowerStore REST API over HTTPS; volumes are LUNs of its tgtd
#   nfs-ganesha     a real NFSv4 server (FSAL VFS) exporting a directory of "$work"
# Needs: $bin (the build's bin/), $work (the demo's temporary directory), $python.

# Process ids this file started, stopped in reverse order by stop_peers.
peer_pids=()
peer_names=()
tgtd_control_port=""

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# True when something accepts TCP connections on 127.0.0.1:$1.
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True while process $1 runs (a zombie child no longer counts).
running() {
  [ -r "/proc/$1/stat" ] || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ -n "$state" ] && [ "$state" != Z ]
}

# Sends SIGTERM to pid $1, waits up to $2 seconds, then SIGKILL. Reaps it.
stop_pid() {
  local pid=$1 seconds=$2
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((seconds * 10))); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then
    echo "demo: pid $pid did not stop within ${seconds}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

remember_peer() { peer_pids+=("$1"); peer_names+=("$2"); }

# Waits (at most 30 s) until file $2 has a line matching the sed expression $3, while pid $1
# runs; prints the captured group. Fails with the file's content otherwise.
await_line() {
  local pid=$1 file=$2 expression=$3 found=""
  for _ in $(seq 1 300); do
    found=$(sed -n "$expression" "$file" 2>/dev/null | head -n1)
    [ -n "$found" ] && { printf '%s\n' "$found"; return 0; }
    running "$pid" || break
    sleep 0.1
  done
  echo "demo: $(basename "$file" .log) did not start; its output:" >&2
  cat "$file" >&2
  return 1
}

# Sets rds_port, rds_fingerprint and the files rds_key / rds_known_hosts.
start_rds_sim() {
  local dir="$work/rds"
  mkdir -p "$dir"
  ssh-keygen -q -t ed25519 -N '' -C rds-sim-host -f "$dir/ssh_host_ed25519_key"
  ssh-keygen -q -t ed25519 -N '' -C polycsi-demo -f "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  # --no-nvmet: the simulator never touches this machine's kernel NVMe target.
  "$bin/rds-sim" --listen 127.0.0.1:0 --state-dir "$dir/state" --host-key "$dir/ssh_host_ed25519_key" \
    --authorized-keys "$dir/authorized_keys" --pool-capacity 100G --no-nvmet --log-level warn \
    >"$dir/rds-sim.log" 2>&1 &
  remember_peer $! rds-sim
  rds_port=$(await_line $! "$dir/rds-sim.log" 's/^rds-sim listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
  # The host key is pinned, as an operator pins the RDS's key: `ssh-keygen -lf` of its key.
  rds_fingerprint=$(ssh-keygen -l -E sha256 -f "$dir/ssh_host_ed25519_key.pub" | awk '{print $2}')
  rds_key="$dir/id_ed25519"
  rds_known_hosts="$dir/known_hosts"
  echo "[127.0.0.1]:$rds_port $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >"$rds_known_hosts"
}

# Runs a RouterOS command on the simulated RDS over SSH, as an operator would.
routeros() {
  ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
    -o ConnectTimeout=10 -o UserKnownHostsFile="$rds_known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -i "$rds_key" -p "$rds_port" admin@127.0.0.1 "$*" | tr -d '\r'
}

# A CA and a server certificate for 127.0.0.1, as an operator's PKI would issue for the array.
make_powerstore_pki() {
  local dir=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=polycsi demo CA" -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$dir/server-key.pem" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}

# Sets powerstore_endpoint, powerstore_portal, powerstore_ca and tgtd_control_port.
start_powerstore_sim() {
  local dir="$work/powerstore" global_id=$1 password=$2
  mkdir -p "$dir"
  make_powerstore_pki "$dir"
  # tgtd's management socket is /var/run/tgtd/socket.N: pick an N no other tgtd uses now.
  for _ in $(seq 1 50); do
    tgtd_control_port=$((20000 + RANDOM % 12000))  # tgtd takes at most 32767
    [ -e "/var/run/tgtd/socket.$tgtd_control_port" ] || break
  done
  "$bin/powerstore-sim" --listen 127.0.0.1:0 --cert "$dir/server.pem" --key "$dir/server-key.pem" \
    --state-dir "$dir/state" --username admin --password "$password" --global-id "$global_id" \
    --tgtd-control-port "$tgtd_control_port" >"$dir/powerstore-sim.log" 2>&1 &
  remember_peer $! powerstore-sim
  local started
  started=$(await_line $! "$dir/powerstore-sim.log" 's/^powerstore-sim listening on \(.*\)$/\1/p')
  powerstore_endpoint="https://${started%% *}/api/rest"
  powerstore_portal=${started##* }
  powerstore_ca="$dir/ca.pem"
}

# The initiator names tgtd lets log in to the target of PowerStore volume $1 (its ACL).
tgtd_acl() {
  tgtadm -C "$tgtd_control_port" --lld iscsi --mode target --op show |
    awk -v target="iqn.2015-10.com.dell:powerstore.sim:$1" '
      /^Target [0-9]+: / { mine = ($3 == target); acl = 0; next }
      mine && /ACL information:/ { acl = 1; next }
      mine && acl && NF == 1 { print $1 }'
}

# Sets nfs_port, nfs_export (the directory ganesha exports) and nfs_share (its NFSv4 path).
start_ganesha() {
  local dir="$work/ganesha"
  nfs_export="$dir/export"
  nfs_share=/export
  mkdir -p "$nfs_export" "$dir/recovery"
  nfs_port=$(free_port)
  # NFSv4 only: no rpcbind, NLM or RQUOTA. Graceless: no 90 s grace period after the start.
  cat >"$dir/ganesha.conf" <<CONF
NFS_CORE_PARAM {
  Bind_addr = 127.0.0.1;
  NFS_Port = $nfs_port;
  Protocols = 4;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
}
NFSV4 {
  Graceless = true;
  Lease_Lifetime = 10;
  RecoveryBackend = fs;
  RecoveryRoot = $dir/recovery;
}
EXPORT {
  Export_Id = 1;
  Path = $nfs_export;
  Pseudo = $nfs_share;
  Protocols = 4;
  Transports = TCP;
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  FSAL { Name = VFS; }
}
CONF
  ganesha.nfsd -F -f "$dir/ganesha.conf" -L "$dir/ganesha.log" -p "$dir/ganesha.pid" -N NIV_EVENT \
    >"$dir/ganesha.out" 2>&1 &
  local pid=$!
  remember_peer "$pid" nfs-ganesha
  for _ in $(seq 1 300); do
    if grep -q "NFS SERVER INITIALIZED" "$dir/ganesha.log" 2>/dev/null && accepts "$nfs_port"; then
      # ganesha serves on without an export it could not create: say so here, not later as
      # NFS4ERR_NOENT on the first mount.
      grep -q "Could not create export" "$dir/ganesha.log" || return 0
      echo "demo: nfs-ganesha started without the export $nfs_export; its log says:" >&2
      grep -E ":(CRIT|MAJ) :.*(export|filesystem)" "$dir/ganesha.log" >&2
      # FSAL VFS looks the export's filesystem up in /proc/self/mounts, whose paths are
      # relative to this process's root: in a chroot that is not itself a mount point no
      # filesystem matches.
      echo "demo: (in a chroot, bind-mount its root onto itself before entering it)" >&2
      return 1
    fi
    running "$pid" || break
    sleep 0.1
  done
  echo "demo: nfs-ganesha did not start; its log:" >&2
  cat "$dir/ganesha.log" "$dir/ganesha.out" >&2 2>/dev/null
  return 1
}

# Stops every peer, the last started first. powerstore-sim removes its tgtd targets and tgtd;
# if it could not, this does (tgtd ignores signals).
stop_peers() {
  local i
  for ((i = ${#peer_pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${peer_pids[$i]}" 20
  done
  peer_pids=()
  if [ -n "$tgtd_control_port" ] && [ -S "/var/run/tgtd/socket.$tgtd_control_port" ] &&
    tgtadm -C "$tgtd_control_port" --lld iscsi --mode target --op show >/dev/null 2>&1; then
    echo "demo: powerstore-sim left its tgtd running; stopping it" >&2
    local tid
    for tid in $(tgtadm -C "$tgtd_control_port" --lld iscsi --mode target --op show |
      sed -n 's/^Target \([0-9]*\): .*/\1/p'); do
      tgtadm -C "$tgtd_control_port" --lld iscsi --mode target --op delete --force --tid "$tid" || true
    done
    tgtadm -C "$tgtd_control_port" --lld iscsi --mode system --op delete || true
  fi
}
