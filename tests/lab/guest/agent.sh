#!/bin/sh
# Command agent of a lab guest, serving one connection of the host on a virtio-serial port.
# Request, one line:  RUN <id> <timeout seconds> <base64 of a shell script>
# Answer:             the script's output (stdout and stderr), then the line
#                     "@@LAB-END <id> <exit status>" (124/143: the timeout killed it)
# Runs one request at a time. Daemons a script starts must redirect their output to a file.
port=${1:?usage: lab-agent /dev/vportNpM}
work=/run/lab-agent
mkdir -p "$work"
exec 3<>"$port"
while IFS=' ' read -r verb id limit payload <&3; do
  [ "$verb" = RUN ] || continue
  case $id in '' | *[!A-Za-z0-9]*) continue ;; esac
  case $limit in '' | *[!0-9]*) limit=60 ;; esac
  printf '%s' "$payload" | base64 -d >"$work/$id.sh" 2>/dev/null
  timeout "$limit" sh "$work/$id.sh" >"$work/$id.out" 2>&1 </dev/null
  status=$?
  cat "$work/$id.out" >&3
  printf '\n@@LAB-END %s %s\n' "$id" "$status" >&3
  rm -f "$work/$id.sh" "$work/$id.out"
done
