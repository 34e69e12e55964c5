# shellcheck shell=bash disable=SC2154  # the variables named under "Needs" come from demo.sh
# Sourced by scripts/demo.sh: how the demo shows what happens. Each CSI call becomes one
# timeline line: the time since the section began, who in Kubernetes makes that call, the call,
# and the driver's answer. DEMO_VERBOSE=1 also prints each polycsictl command and its JSON.
# Needs: $bin, $work, $python and $endpoint (the driver's CSI socket, set before the first call).

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  c_bold=$'\033[1m' c_dim=$'\033[2m' c_green=$'\033[32m' c_yellow=$'\033[33m' c_red=$'\033[31m'
  c_off=$'\033[0m'
else
  c_bold="" c_dim="" c_green="" c_yellow="" c_red="" c_off=""
fi

section_start_us=0
section() {
  printf '\n%s== %s%s\n' "$c_bold" "$*" "$c_off"
  section_start_us=${EPOCHREALTIME/./}
}
note() { printf '%s   %s%s\n' "$c_dim" "$*" "$c_off"; }
detail() { printf '            %s\n' "$*"; }

elapsed() {
  local us=$((${EPOCHREALTIME/./} - section_start_us))
  printf '+%d.%02ds' $((us / 1000000)) $((us % 1000000 / 10000))
}

# timeline CALLER CALL RESULT [COLOUR]
timeline() {
  printf '  %7s  %-21s %-46s %s%s%s\n' "$(elapsed)" "$1" "$2" "${4:-}" "$3" "$c_off"
}

# With DEMO_VERBOSE: the polycsictl command, quoted so that it can be pasted into a shell.
show_command() {
  [ -n "${DEMO_VERBOSE:-}" ] || return 0
  printf '%s            $ polycsictl --endpoint %q' "$c_dim" "$endpoint"
  printf ' %q' "$@"
  printf '%s\n' "$c_off"
}

# csi CALLER CALL polycsictl-arguments... : the call must succeed. Its JSON answer is in $reply.
csi() {
  local caller=$1 call=$2
  shift 2
  show_command "$@"
  if ! reply=$("$bin/polycsictl" --endpoint "$endpoint" --json "$@" 2>"$work/stderr"); then
    timeline "$caller" "$call" "FAILED" "$c_red"
    sed 's/^/            /' "$work/stderr" >&2
    exit 1
  fi
  [ -n "${DEMO_VERBOSE:-}" ] && printf '%s\n' "$reply" | sed "s/^/            $c_dim/;s/\$/$c_off/"
  return 0
}

# ok CALLER CALL WHAT polycsictl-arguments... : csi, then one timeline line "OK  WHAT".
ok() {
  local caller=$1 call=$2 what=$3
  shift 3
  csi "$caller" "$call" "$@"
  timeline "$caller" "$call" "OK  $what" "$c_green"
}

# refused CALLER CALL polycsictl-arguments... : the call must fail. Prints the driver's
# "CODE: message" under the timeline line and keeps it in $refusal.
refused() {
  local caller=$1 call=$2
  shift 2
  show_command "$@"
  if "$bin/polycsictl" --endpoint "$endpoint" --json "$@" >"$work/stdout" 2>"$work/stderr"; then
    timeline "$caller" "$call" "ACCEPTED, but the driver must refuse it" "$c_red"
    exit 1
  fi
  refusal=$(cat "$work/stderr")
  timeline "$caller" "$call" "REFUSED" "$c_yellow"
  printf '%s\n' "$refusal" | sed 's/^/            /'
}

# json EXPRESSION : evaluates a Python expression over the JSON answer `r` in $reply.
json() { printf '%s' "$reply" | "$python" -c "import json, sys; r = json.load(sys.stdin); print($1)"; }
