#!/usr/bin/env bash
# bench/first_output: how long a line the workload prints takes to reach
# cloudlet's stdout. The guest's clock cannot be trusted to the millisecond
# (see bench/README.md), so the latency is measured in two parts:
#   host part   the VMM received the agent's first output chunk (its debug
#               log, ms resolution, host clock) until cloudlet's stdout
#               delivered the line to this script (host clock): VMM relay,
#               gRPC to the API, SSE, the CLI's write
#   guest hop   the workload's write until the VMM has the chunk: agent,
#               virtio-net, QEMU's user network, gRPC; estimated as half an
#               agent Health round trip on an idle VM (cloudlet_bench_boot)
# It also prints what the guest's own CLOCK_REALTIME says (the workload
# prints it), and how far that clock drifts from the host's over 1 s.
#
#   bench/first_output/run.sh [-n RUNS]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

runs=10
while getopts "n:h" option; do
  case "${option}" in
    n) runs="${OPTARG}" ;;
    *) usage_exit ;;
  esac
done
CONFIG="${BENCH_ROOT}/bench/first_output/stamp.toml"
BOOT_BENCH="${BUILD_DIR}/bench/boot/cloudlet_bench_boot"
if [[ ! -x "${BOOT_BENCH}" ]]; then
  echo "bench: ${BOOT_BENCH} is missing; build the target cloudlet_bench_boot" >&2
  exit 2
fi

# One run: prints "host_ms guest_clock_ms drift_ms".
stamp_once() {
  local stamps="${BENCH_TMP}/stamps" run_id vmm_s
  cloudlet_run "${CONFIG}" 2>"${BENCH_TMP}/run.err" |
    while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME}" "${line}"; done \
      >"${stamps}"
  if (($(wc -l <"${stamps}") != 2)); then
    echo "bench: the run printed no two stamps:" >&2
    cat "${stamps}" "${BENCH_TMP}/run.err" >&2
    return 1
  fi
  run_id="$(grep -o 'run=[0-9a-f]* event=accepted' "${VMM_LOG}" | tail -n 1 |
    cut -d' ' -f1 | cut -d= -f2)"
  vmm_s="$(log_event_s "${VMM_LOG}" "run=${run_id} event=output")"
  local host1 guest1 host2 guest2
  read -r host1 guest1 < <(sed -n 1p "${stamps}")
  read -r host2 guest2 < <(sed -n 2p "${stamps}")
  bc -l <<<"(${host1} - ${vmm_s}) * 1000; (${host1} - ${guest1}) * 1000;
    ((${guest2} - ${guest1}) - (${host2} - ${host1})) * 1000" | paste -sd' '
}

load_before="$(load_now)"
# shellcheck disable=SC2119  # no extra VMM flags
chain_start
cloudlet_run --quiet "${CONFIG}" >/dev/null 2>&1  # warm-up
host="" guest="" drift=""
for ((i = 1; i <= runs; ++i)); do
  sample="$(stamp_once)"
  read -r h g d <<<"${sample}"
  host+="${h}"$'\n' guest+="${g}"$'\n' drift+="${d}"$'\n'
done
chain_stop
rtt="$("${BOOT_BENCH}" --measure=ready --runs=3 --raw --tb_sizes=0 |
  grep -o 'rtt_ms=[0-9.]*' | cut -d= -f2)"
hop="$(bc -l <<<"$(median <<<"${rtt}") / 2")"
total="$(bc -l <<<"$(median <<<"${host}") + ${hop}")"

echo "first output: the workload's first line until cloudlet's stdout has it"
echo "runs=${runs}; ms, median (min..max); load before: ${load_before}, after: $(load_now)"
printf '%-44s %s\n' "host part (VMM has chunk -> CLI stdout)" "$(summary '%.1f' <<<"${host}")"
printf '%-44s %s\n' "guest hop (agent Health RTT / 2, 3 VMs)" "$(printf '%.1f' "${hop}")"
printf '%-44s %s   (target <= 50)\n' "first-output latency (sum of medians)" "$(printf '%.1f' "${total}")"
printf '%-44s %s\n' "guest clock says (CLI stdout - guest time)" "$(summary '%.0f' <<<"${guest}")"
printf '%-44s %s\n' "guest clock drift over 1 s (guest - host)" "$(summary '%.1f' <<<"${drift}")"
