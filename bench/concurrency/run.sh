#!/usr/bin/env bash
# bench/concurrency: 16 runs at once, with cloudlet-vmm --max_vms=16 and
# with the default (one VM per core, the rest queued), against the same 16
# runs as 2 sequential streams of 8. Each scenario gets a fresh private
# API+VMM pair (artifact cache warm). Every run must exit 0 and print
# exactly what the workload prints.
#   ok        runs that exited 0 with the expected stdout
#   total     first start to last exit (s)
#   runs/s    16 / total, and that relative to the 2 streams
#   run wall  one cloudlet run, start to exit (s; median, max)
#   VMs       most QEMUs alive at once (sampled every 0.1 s)
#
#   bench/concurrency/run.sh [-c CONFIG] [-e EXPECTED_STDOUT] [-n RUNS]
# Default: bench/chain/echo.toml (boot-bound, one line), 16 runs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

config="${BENCH_ROOT}/bench/chain/echo.toml"
expected="hello from a microVM"
count=16
while getopts "c:e:n:h" option; do
  case "${option}" in
    c) config="${OPTARG}" ;;
    e) expected="${OPTARG}" ;;
    n) count="${OPTARG}" ;;
    *) usage_exit ;;
  esac
done

# One run, numbered $1: writes "<exit code> <start> <end>" to result.$1 and
# the run's stdout to out.$1.
one_run() {
  local start end rc=0
  start="$(now_s)"
  cloudlet_run --quiet "${config}" >"${BENCH_TMP}/out.$1" 2>"${BENCH_TMP}/err.$1" || rc=$?
  end="$(now_s)"
  echo "${rc} ${start} ${end}" >"${BENCH_TMP}/result.$1"
}

stream() {  # stream FIRST LAST: runs FIRST..LAST one after another
  local i
  for ((i = $1; i <= $2; ++i)); do one_run "${i}"; done
}

# Counts the private VMM's QEMUs every 0.1 s into vms.max until killed.
watch_vms() {
  local most=0 now
  while true; do
    now="$(pgrep -c -P "${VMM_PID}" -f qemu-system || true)"
    if ((now > most)); then
      most="${now}"
      echo "${most}" >"${BENCH_TMP}/vms.max"
    fi
    sleep 0.1
  done
}

# scenario NAME MODE [VMM FLAGS...]; MODE: burst (all at once) or streams.
# Appends a row to `rows` and the total to `totals`.
rows=()
declare -A totals=()
scenario() {
  local name="$1" mode="$2"
  shift 2
  chain_start "$@"
  cloudlet_run --quiet "${config}" >/dev/null 2>&1  # warm-up
  rm -f "${BENCH_TMP}"/result.* "${BENCH_TMP}"/out.* "${BENCH_TMP}"/err.*
  echo 0 >"${BENCH_TMP}/vms.max"
  watch_vms &
  local watcher=$! pids=() i
  if [[ "${mode}" == burst ]]; then
    for ((i = 1; i <= count; ++i)); do one_run "${i}" & pids+=($!); done
  else
    stream 1 $((count / 2)) & pids+=($!)
    stream $((count / 2 + 1)) "${count}" & pids+=($!)
  fi
  wait "${pids[@]}"
  kill "${watcher}" 2>/dev/null || true
  wait "${watcher}" 2>/dev/null || true
  chain_stop

  local ok=0 first="" last="" walls="" rc start end
  for ((i = 1; i <= count; ++i)); do
    read -r rc start end <"${BENCH_TMP}/result.${i}"
    if [[ "${rc}" == 0 && "$(cat "${BENCH_TMP}/out.${i}")" == "${expected}" ]]; then
      ok=$((ok + 1))
    else
      echo "bench: ${name} run ${i} failed (exit ${rc}):" >&2
      head -c 600 "${BENCH_TMP}/err.${i}" >&2
    fi
    walls+="$(bc -l <<<"${end} - ${start}")"$'\n'
    first+="${start}"$'\n' last+="${end}"$'\n'
  done
  local total
  total="$(bc -l <<<"$(maximum <<<"${last}") - $(minimum <<<"${first}")")"
  totals["${name}"]="${total}"
  rows+=("${name}|${ok}/${count}|${total}|$(median <<<"${walls}")|$(maximum <<<"${walls}")|$(cat "${BENCH_TMP}/vms.max")")
}

cores="$(nproc)"
load_before="$(load_now)"
scenario "${count} at once, --max_vms=16" burst --max_vms=16 --max_queue=16
scenario "${count} at once, default (${cores})" burst
scenario "2 streams of $((count / 2)), default" streams

base="${totals["2 streams of $((count / 2)), default"]}"
echo "concurrency: ${count} runs of ${config#"${BENCH_ROOT}/"}, fresh VM each, accel=tcg, ${cores} cores"
echo "load before: ${load_before}, after: $(load_now)"
printf '%-30s %6s %8s %7s %9s %16s %4s\n' scenario ok "total s" "runs/s" "vs 2 str" "run wall med/max" VMs
for row in "${rows[@]}"; do
  IFS='|' read -r name ok total wall_median wall_max vms <<<"${row}"
  printf '%-30s %6s %8.1f %7.2f %8.2fx %7.1f / %6.1f %4s\n' "${name}" "${ok}" \
    "${total}" "$(bc -l <<<"${count} / ${total}")" "$(bc -l <<<"${base} / ${total}")" \
    "${wall_median}" "${wall_max}" "${vms}"
done
