#!/usr/bin/env bash
# bench/chain: a cold run through the whole chain (cloudlet run -> API ->
# VMM -> fresh VM -> agent) divided by the floor, a bare QEMU boot to
# power-off of the same kernel and initramfs (cloudlet.mode=poweroff, timed
# by cloudlet_bench_boot). "Cold" = a fresh VM per run; the artifact cache
# is warm and the API and VMM are already running (a private pair started
# before the first timed run). Floor and chain runs alternate, so each
# ratio pairs runs made under the same machine load.
#
#   bench/chain/run.sh [-n RUNS] [-b] [CONFIG.toml ...]
#
# The VMM resumes each run's VM from a snapshot (its default); -b adds a
# second pair with --vm_snapshots=false, whose VMs boot, and a "(booted)"
# row per config, its runs interleaved with the others.
#
# Default configs: configs/shell/hello.toml (prints over ~2.1 s of sleeps,
# by design) and bench/chain/echo.toml (the same without sleeps). Columns,
# medians of RUNS runs, seconds; in + VMM + boot + exec + out = wall:
#   wall    the cloudlet process, start to exit (host clock)
#   /floor  median of wall / floor, pair by pair
#   in      cloudlet started -> the VMM logged the request: CLI start,
#           TOML, HTTP POST, API decoding, gRPC to the VMM
#   VMM     Result.timings total - boot - build - run: artifact check,
#           queue, Execute set-up in the agent, QEMU teardown, relay
#   boot    QEMU start until the agent answered (Result.timings.boot):
#           resuming from the snapshot, or booting
#   agent   boot - floor (booted: image mount, network, agent start,
#           Health poll; negative when resuming beats booting)
#   exec    build + run as the agent timed them (the workload itself)
#   out     the VMM logged the Result -> cloudlet exited: API relay, SSE,
#           CLI render and exit
# (Result.timings from `cloudlet run --json`; VMM and API log lines carry
# ms host-clock times.) Below the table: the CLI process alone (the same
# command against a closed port, timed apart) and the API's relay of one
# event (VMM logged the Result -> API logged it).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

runs=5
also_booted=0
while getopts "n:bh" option; do
  case "${option}" in
    n) runs="${OPTARG}" ;;
    b) also_booted=1 ;;
    *) usage_exit ;;
  esac
done
shift $((OPTIND - 1))
configs=("$@")
if ((${#configs[@]} == 0)); then
  configs=("${BENCH_ROOT}/configs/shell/hello.toml" "${BENCH_ROOT}/bench/chain/echo.toml")
fi
BOOT_BENCH="${BUILD_DIR}/bench/boot/cloudlet_bench_boot"
if [[ ! -x "${BOOT_BENCH}" ]]; then
  echo "bench: ${BOOT_BENCH} is missing; build the target cloudlet_bench_boot" >&2
  exit 2
fi

floor_once() {
  "${BOOT_BENCH}" --measure=poweroff --runs=1 --raw --tb_sizes=0 |
    grep -o 'poweroff_s=[0-9.]*' | cut -d= -f2
}

# One timed chain run of config $1: prints
# "wall in out api_hop total boot build run".
chain_once() {
  local out="${BENCH_TMP}/run.jsonl" start end run_id accepted result relayed
  start="$(now_s)"
  if ! cloudlet_run --json "$1" >"${out}" 2>"${BENCH_TMP}/run.err"; then
    echo "bench: cloudlet run $1 failed:" >&2
    cat "${BENCH_TMP}/run.err" >&2
    tail -n 3 "${out}" >&2
    return 1
  fi
  end="$(now_s)"
  run_id="$(jq -r 'select(.accepted) | .accepted.run_id' "${out}")"
  accepted="$(log_event_s "${VMM_LOG}" "run=${run_id} event=accepted")"
  result="$(log_event_s "${VMM_LOG}" "run=${run_id} event=result ")"
  relayed="$(log_event_s "${API_LOG}" "run=${run_id} result ")"
  jq -r --arg times "$(bc -l <<<"${end} - ${start}; ${accepted} - ${start};
      ${end} - ${result}; ${relayed} - ${result}" | paste -sd' ')" '
      select(.result) | .result.timings
      | def s(d): if d == null then 0 else (d | rtrimstr("s") | tonumber) end;
        "\($times) \(s(.total)) \(s(.boot)) \(s(.build)) \(s(.run))"' "${out}"
}

cli_once() {
  local start end
  start="$(now_s)"
  "${CLOUDLET}" run --no-start --api-url http://127.0.0.1:1 "$1" \
    >/dev/null 2>&1 || true
  end="$(now_s)"
  bc -l <<<"${end} - ${start}"
}

# The pairs by mode: the globals common.sh's functions use.
declare -A pair_vmm_log=() pair_api_log=() pair_api_url=()
remember_pair() {
  pair_vmm_log["$1"]="${VMM_LOG}"
  pair_api_log["$1"]="${API_LOG}"
  pair_api_url["$1"]="${API_URL}"
}
use_pair() {
  VMM_LOG="${pair_vmm_log[$1]}"
  API_LOG="${pair_api_log[$1]}"
  API_URL="${pair_api_url[$1]}"
}

load_before="$(load_now)"
modes=(resumed)
# shellcheck disable=SC2119  # no extra VMM flags
chain_start
remember_pair resumed
if ((also_booted)); then
  chain_start --vm_snapshots=false
  remember_pair booted
  modes+=(booted)
fi
rows=()
for mode in "${modes[@]}"; do
  use_pair "${mode}"
  # Warm-up; with snapshots it also makes the snapshot.
  cloudlet_run --quiet "${configs[0]}" >/dev/null 2>&1
  for config in "${configs[@]}"; do
    rows+=("${mode}:${config}")
  done
done

declare -A samples=()
add() { samples["$1"]+="$2"$'\n'; }
for ((i = 1; i <= runs; ++i)); do
  floor="$(floor_once)"
  add floor "${floor}"
  for row in "${rows[@]}"; do
    use_pair "${row%%:*}"
    config="${row#*:}"
    sample="$(chain_once "${config}")"
    config="${row}"
    read -r wall in out hop total boot build run <<<"${sample}"
    add "${config}.wall" "${wall}"
    add "${config}.ratio" "$(bc -l <<<"${wall} / ${floor}")"
    add "${config}.in" "${in}"
    add "${config}.out" "${out}"
    add "${config}.vmm" "$(bc -l <<<"${total} - ${boot} - ${build} - ${run}")"
    add "${config}.boot" "${boot}"
    add "${config}.agent" "$(bc -l <<<"${boot} - ${floor}")"
    add "${config}.exec" "$(bc -l <<<"${build} + ${run}")"
    add hop "${hop}"
    add cli "$(cli_once "${row#*:}")"
  done
done
chain_stop_all

med() { printf '%s' "${samples[$1]}" | median; }
fmt() { printf '%.2f' "$1"; }

echo "chain: cloudlet run, fresh VM per run (resumed from a snapshot unless booted), artifact cache warm, API+VMM already running"
echo "accel=tcg memory=256 MiB runs=${runs}; medians, s; load before: ${load_before}, after: $(load_now)"
printf '%-36s %6s %6s %6s %6s %6s %6s %6s %6s\n' \
  config wall /floor in VMM boot agent exec out
printf '%-36s %6s %6s\n' "floor (bare boot)" "$(fmt "$(med floor)")" "1.00"
for config in "${rows[@]}"; do
  label="${config#*:}"
  label="${label#"${BENCH_ROOT}/"}"
  [[ "${config%%:*}" == booted ]] && label="${label} (booted)"
  printf '%-36s %6s %6s %6s %6s %6s %6s %6s %6s\n' "${label}" \
    "$(fmt "$(med "${config}.wall")")" "$(fmt "$(med "${config}.ratio")")" \
    "$(fmt "$(med "${config}.in")")" "$(fmt "$(med "${config}.vmm")")" \
    "$(fmt "$(med "${config}.boot")")" "$(fmt "$(med "${config}.agent")")" \
    "$(fmt "$(med "${config}.exec")")" "$(fmt "$(med "${config}.out")")"
done
echo "floor per run: $(printf '%s' "${samples[floor]}" | summary '%.2f') s"
echo "CLI process alone (closed port): $(printf '%s' "${samples[cli]}" | summary '%.3f') s;" \
  "API relay of the Result: $(printf '%s' "${samples[hop]}" | summary '%.3f') s"
