#!/usr/bin/env bash
# bench/fleet: one cloudlet-api over 1, 2 and 3 cloudlet-vmm processes on
# this machine (issue 20's figures).
#
#   bench/fleet/run.sh [-n RUNS] [-c CLIENTS]
#
# 1. Throughput: RUNS (default 12) one-line runs (bench/chain/echo.toml, a
#    fresh microVM each), CLIENTS (default 6) at a time, through one API
#    whose --vmm_target lists 1, 2 or 3 VMMs, each with its default slots
#    (one VM per core). ok, total s, runs/s, that against 1 VMM, and the
#    runs each VMM took (cloudlet_vmm_runs_accepted_total from /metrics).
#    All VMMs share this machine's cores: more VMMs add slots, not CPU.
# 2. The channel: bench/fleet/channel_latency, a run over the API's
#    health-checked round-robin channel against a plain one to the same
#    host-agent VMM (no VM, so the channel's own cost shows).
# The artifact cache must be warm: `build/vmm/cloudlet-vmm artifacts build`.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

runs=12
clients=6
while getopts "n:c:h" option; do
  case "${option}" in
    n) runs="${OPTARG}" ;;
    c) clients="${OPTARG}" ;;
    *) usage_exit ;;
  esac
done
config="${BENCH_ROOT}/bench/chain/echo.toml"
expected="hello from a microVM"
latency="${BUILD_DIR}/bench/fleet/cloudlet_bench_channel_latency"
[[ -x "${latency}" ]] || {
  echo "bench: ${latency} is missing; build it first" >&2
  exit 2
}

# fleet_start N [VMM FLAGS...]: N VMMs and one API over them; sets API_URL
# and VMM_ADDRESSES.
FLEET_COUNT=0
fleet_start() {
  local count="$1" i dir
  shift
  FLEET_COUNT=$((FLEET_COUNT + 1))
  VMM_ADDRESSES=()
  for ((i = 1; i <= count; ++i)); do
    dir="${BENCH_TMP}/fleet-${FLEET_COUNT}-vmm-${i}"
    mkdir -p "${dir}/runtime"
    "${VMM}" --listen=127.0.0.1:0 --port_file="${dir}/port" \
      --runtime_dir="${dir}/runtime" "$@" >"${dir}/vmm.log" 2>&1 &
    CHAIN_PIDS+=($!)
    poll_until 30 test -s "${dir}/port" || {
      echo "bench: cloudlet-vmm did not start" >&2
      tail -n 20 "${dir}/vmm.log" >&2
      return 1
    }
    VMM_ADDRESSES+=("127.0.0.1:$(cat "${dir}/port")")
  done
  local target api_log="${BENCH_TMP}/fleet-${FLEET_COUNT}-api.log"
  target="ipv4:$(IFS=, && echo "${VMM_ADDRESSES[*]}")"
  "${API}" --listen=127.0.0.1:0 --vmm_target="${target}" \
    --state_dir="${BENCH_TMP}/fleet-${FLEET_COUNT}-state" >"${api_log}" 2>&1 &
  CHAIN_PIDS+=($!)
  poll_until 30 file_has "${api_log}" "listening address=" || {
    echo "bench: cloudlet-api did not start" >&2
    return 1
  }
  local address
  address="$(grep -o 'listening address=[0-9.:]*' "${api_log}" | head -n 1)"
  API_URL="http://${address#listening address=}"
  poll_until 30 curl -fs -o /dev/null "${API_URL}/healthz" || {
    echo "bench: the API at ${API_URL} never became healthy" >&2
    return 1
  }
}

one_run() {  # one_run I: "<exit> <start> <end>" to result.I, stdout to out.I
  local start end rc=0
  start="$(now_s)"
  cloudlet_run --quiet "${config}" >"${BENCH_TMP}/out.$1" 2>"${BENCH_TMP}/err.$1" || rc=$?
  end="$(now_s)"
  echo "${rc} ${start} ${end}" >"${BENCH_TMP}/result.$1"
}

client() {  # client K: runs K, K+clients, K+2*clients, ... up to runs
  local i
  for ((i = $1; i <= runs; i += clients)); do one_run "${i}"; done
}

rows=()
base=""
load_before="$(load_now)"
for count in 1 2 3; do
  fleet_start "${count}"
  cloudlet_run --quiet "${config}" >/dev/null 2>&1  # warm-up: snapshot
  rm -f "${BENCH_TMP}"/result.* "${BENCH_TMP}"/out.* "${BENCH_TMP}"/err.*
  pids=()
  for ((k = 1; k <= clients; ++k)); do client "${k}" & pids+=($!); done
  wait "${pids[@]}"
  ok=0 first="" last=""
  for ((i = 1; i <= runs; ++i)); do
    read -r rc start end <"${BENCH_TMP}/result.${i}"
    if [[ "${rc}" == 0 && "$(cat "${BENCH_TMP}/out.${i}")" == "${expected}" ]]; then
      ok=$((ok + 1))
    else
      echo "bench: ${count} VMMs, run ${i} failed (exit ${rc}):" >&2
      head -c 600 "${BENCH_TMP}/err.${i}" >&2
    fi
    first+="${start}"$'\n' last+="${end}"$'\n'
  done
  total="$(bc -l <<<"$(maximum <<<"${last}") - $(minimum <<<"${first}")")"
  [[ -n "${base}" ]] || base="${total}"
  # Runs each VMM accepted (the warm-up included), in --vmm_target order.
  spread="$(curl -fs "${API_URL}/metrics" |
    awk -F'[" ]' '/^cloudlet_vmm_runs_accepted_total\{/ { printf "%s%s", sep, $NF; sep = "/" }')"
  rows+=("${count}|${ok}/${runs}|${total}|${spread}")
  chain_stop_all
  CHAIN_PIDS=()
done

echo "fleet: ${runs} runs of ${config#"${BENCH_ROOT}/"}, ${clients} clients, $(nproc) cores, accel=tcg"
echo "load before: ${load_before}, after: $(load_now)"
printf '%-5s %6s %8s %7s %9s  %s\n' VMMs ok "total s" "runs/s" "vs 1 VMM" "runs per VMM (+1 warm-up)"
for row in "${rows[@]}"; do
  IFS='|' read -r count ok total spread <<<"${row}"
  printf '%-5s %6s %8.1f %7.2f %8.2fx  %s\n' "${count}" "${ok}" "${total}" \
    "$(bc -l <<<"${runs} / ${total}")" "$(bc -l <<<"${base} / ${total}")" "${spread}"
done

echo
fleet_start 1 --vm_provider=host_agent
"${latency}" --target="${VMM_ADDRESSES[0]}" --calls=40
