# shellcheck shell=bash
# Shared by the bench/*/run.sh scripts (sourced, not run): locate the build,
# start a private cloudlet-vmm + cloudlet-api pair, and small statistics.
#
# Each script that sources this gets:
#   BENCH_ROOT, BUILD_DIR, CLOUDLET, VMM, API   paths (CLOUDLET_BUILD_DIR
#                                              overrides the build dir)
#   BENCH_TMP                                  a temp dir removed on exit
#   chain_start [VMM FLAGS...]                 starts the pair; sets
#                                              API_URL, VMM_LOG, API_LOG,
#                                              VMM_PID, API_PID
#   chain_stop                                 SIGTERM both, wait
#   chain_stop_all                             every pair started (also on exit)
#   median / minimum / maximum                 of numbers on stdin, one a line
#   load_now                                   "1.23 1.10 0.98" (loadavg)
#   now_s                                      host realtime, seconds.micros
#   log_event_s LOG PATTERN                    time of a log line, epoch s
#   usage_exit                                 prints the script's header
#                                              comment (its usage) to stderr,
#                                              exits 2
# The pair listens on free loopback ports, keeps its VM state in BENCH_TMP
# (never the shared default runtime dir, whose stale state a VMM removes at
# start) and uses the real artifact cache, which must already be warm:
# `build/vmm/cloudlet-vmm artifacts build`.

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${CLOUDLET_BUILD_DIR:-${BENCH_ROOT}/build}"
CLOUDLET="${BUILD_DIR}/cli/cloudlet"
VMM="${BUILD_DIR}/vmm/cloudlet-vmm"
API="${BUILD_DIR}/api/cloudlet-api"
BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cloudlet-bench.XXXXXX")"
VMM_PID=""
API_PID=""

for binary in "${CLOUDLET}" "${VMM}" "${API}"; do
  if [[ ! -x "${binary}" ]]; then
    echo "bench: ${binary} is missing; build it first (or set CLOUDLET_BUILD_DIR)" >&2
    exit 2
  fi
done

bench_cleanup() {
  chain_stop_all
  rm -rf "${BENCH_TMP}"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_s() { printf '%s\n' "${EPOCHREALTIME}"; }

# The running script's header comment, from line 2 up to `set -euo`.
usage_exit() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

load_now() { cut -d' ' -f1-3 /proc/loadavg; }

# Waits until `command...` succeeds, polling every 50 ms, for at most
# `seconds`; returns 1 on timeout.
poll_until() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.05
  done
}

file_has() { [[ -s "$1" ]] && grep -q -- "$2" "$1"; }

# chain_start [extra cloudlet-vmm flags...]
# Each call starts a new pair in its own dir; the globals then name the new
# one. A script may keep several (save the globals, set them back to switch).
CHAIN_COUNT=0
CHAIN_PIDS=()
chain_start() {
  CHAIN_COUNT=$((CHAIN_COUNT + 1))
  local dir="${BENCH_TMP}/chain-${CHAIN_COUNT}"
  mkdir -p "${dir}/runtime"
  VMM_LOG="${dir}/vmm.log"
  API_LOG="${dir}/api.log"
  "${VMM}" --listen=127.0.0.1:0 --port_file="${dir}/vmm.port" \
    --runtime_dir="${dir}/runtime" --log_level=debug "$@" \
    >"${VMM_LOG}" 2>&1 &
  VMM_PID=$!
  CHAIN_PIDS+=("${VMM_PID}")
  if ! poll_until 30 test -s "${dir}/vmm.port"; then
    echo "bench: cloudlet-vmm did not start; its log:" >&2
    tail -n 20 "${VMM_LOG}" >&2
    return 1
  fi
  local vmm_port
  vmm_port="$(cat "${dir}/vmm.port")"
  "${API}" --listen=127.0.0.1:0 --vmm_target="127.0.0.1:${vmm_port}" \
    --state_dir="${dir}/state" >"${API_LOG}" 2>&1 &
  API_PID=$!
  CHAIN_PIDS+=("${API_PID}")
  if ! poll_until 30 file_has "${API_LOG}" "listening address="; then
    echo "bench: cloudlet-api did not start; its log:" >&2
    tail -n 20 "${API_LOG}" >&2
    return 1
  fi
  local address
  address="$(grep -o 'listening address=[0-9.:]*' "${API_LOG}" | head -n 1)"
  API_URL="http://${address#listening address=}"
  if ! poll_until 30 curl -fs -o /dev/null "${API_URL}/healthz"; then
    echo "bench: the API at ${API_URL} never became healthy" >&2
    return 1
  fi
}

stop_pid() {
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

# Stops the current pair (the globals).
chain_stop() {
  stop_pid "${API_PID}"
  stop_pid "${VMM_PID}"
  API_PID=""
  VMM_PID=""
}

# Stops every pair this script started (APIs first).
chain_stop_all() {
  local i
  for ((i = ${#CHAIN_PIDS[@]} - 1; i >= 0; --i)); do stop_pid "${CHAIN_PIDS[i]}"; done
  API_PID=""
  VMM_PID=""
}

# cloudlet run against the private pair; never starts daemons of its own.
cloudlet_run() {
  "${CLOUDLET}" run --no-start --api-url "${API_URL}" "$@"
}

# Each reads numbers from stdin, one a line; empty lines are skipped.
median() {
  grep . | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minimum() { grep . | sort -g | head -n 1; }
maximum() { grep . | sort -g | tail -n 1; }

# "1.23 (1.10..1.40)" of numbers on stdin, printf format $1 (default %.2f).
summary() {
  local format="${1:-%.2f}" values
  values="$(cat)"
  # shellcheck disable=SC2059
  printf "${format} (${format}..${format})" \
    "$(median <<<"${values}")" "$(minimum <<<"${values}")" \
    "$(maximum <<<"${values}")"
}

# "2026-11-23T12:46:25.210" (a cloudlet log line's time, local) -> epoch s.
log_time_s() { date -d "${1/T/ }" +%s.%3N; }

# The time of the first line of log $1 matching $2, in epoch seconds.
log_event_s() {
  local line
  line="$(grep -m 1 -- "$2" "$1")" || return 1
  log_time_s "${line%% *}"
}
