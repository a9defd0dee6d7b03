#!/usr/bin/env bash
# bench/chain: a cold run through the whole chain (cloudlet run -> API ->
# VMM -> fresh VM -> agent) divided by the floor, a bare QEMU boot to
# power-off of the same kernel and initramfs (cloudlet.mode=poweroff, timed
# by cloudlet_bench_boot). "Cold" = a fresh VM per run; the artifact cache
# is warm and the API and VMM are already running (a private pair started
# before the first timed run). Floor and chain runs alternate, so each
# ratio pairs runs made under the same machine load.
#
#   bench/chain/run.sh [-n RUNS] [CONFIG.toml ...]
#
# Default configs: configs/shell/hello.toml (prints over ~2.1 s of sleeps,
# by design) and bench/chain/echo.toml (the same without sleeps). Columns,
# medians of RUNS runs:
#   wall     the cloudlet process, start to exit (host clock)
#   /floor   median of wall / floor, pair by pair
#   CLI      cloudlet's own fixed cost: the same command against a closed
#            port (exec, config, HTTP client, failed connect), timed apart
#   API      wall - VMM total - CLI: HTTP in, JSON<->proto, SSE out
#   VMM      total - boot - build - run: artifact check, queue, QEMU
#            teardown, event relay (Result.timings, `cloudlet run --json`)
#   boot     QEMU start until the agent answered (Result.timings.boot)
#   agent    boot - floor: image mount, network, agent start, Health poll
#   exec     build + run as the agent timed them (the workload itself)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

runs=5
while getopts "n:h" option; do
  case "${option}" in
    n) runs="${OPTARG}" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
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

# One timed chain run of config $1: prints "wall total boot build run".
chain_once() {
  local out="${BENCH_TMP}/run.jsonl" start end
  start="$(now_s)"
  if ! cloudlet_run --json "$1" >"${out}" 2>"${BENCH_TMP}/run.err"; then
    echo "bench: cloudlet run $1 failed:" >&2
    cat "${BENCH_TMP}/run.err" >&2
    tail -n 3 "${out}" >&2
    return 1
  fi
  end="$(now_s)"
  jq -r --arg wall "$(bc -l <<<"${end} - ${start}")" '
      select(.result) | .result.timings as $t
      | def s(d): if d == null then 0 else (d | rtrimstr("s") | tonumber) end;
        [($wall | tonumber), s($t.total), s($t.boot), s($t.build), s($t.run)]
      | @tsv' "${out}"
}

cli_once() {
  local start end
  start="$(now_s)"
  "${CLOUDLET}" run --no-start --api-url http://127.0.0.1:1 "$1" \
    >/dev/null 2>&1 || true
  end="$(now_s)"
  bc -l <<<"${end} - ${start}"
}

load_before="$(load_now)"
# shellcheck disable=SC2119  # no extra VMM flags
chain_start
cloudlet_run --quiet "${configs[0]}" >/dev/null 2>&1  # warm-up: page cache, channel

declare -A samples=()
for ((i = 1; i <= runs; ++i)); do
  floor="$(floor_once)"
  samples[floor]+="${floor}"$'\n'
  for config in "${configs[@]}"; do
    sample="$(chain_once "${config}")"
    read -r wall total boot build run <<<"${sample}"
    samples["${config}.wall"]+="${wall}"$'\n'
    samples["${config}.ratio"]+="$(bc -l <<<"${wall} / ${floor}")"$'\n'
    samples["${config}.rest"]+="$(bc -l <<<"${wall} - ${total}")"$'\n'
    samples["${config}.vmm"]+="$(bc -l <<<"${total} - ${boot} - ${build} - ${run}")"$'\n'
    samples["${config}.boot"]+="${boot}"$'\n'
    samples["${config}.agent"]+="$(bc -l <<<"${boot} - ${floor}")"$'\n'
    samples["${config}.exec"]+="$(bc -l <<<"${build} + ${run}")"$'\n'
    samples["${config}.cli"]+="$(cli_once "${config}")"$'\n'
  done
done
chain_stop

med() { printf '%s' "${samples[$1]}" | median; }
fmt() { printf '%.2f' "$1"; }

floor_median="$(med floor)"
echo "chain: cloudlet run, fresh VM per run, artifact cache warm, API+VMM already running"
echo "accel=tcg memory=256 MiB runs=${runs}; medians; load before: ${load_before}, after: $(load_now)"
printf '%-26s %7s %7s %6s %6s %6s %6s %6s %6s\n' \
  config wall "/floor" CLI API VMM boot agent exec
printf '%-26s %7s %7s\n' "floor (bare boot)" "$(fmt "${floor_median}")" "1.00"
for config in "${configs[@]}"; do
  cli="$(med "${config}.cli")"
  api="$(bc -l <<<"$(med "${config}.rest") - ${cli}")"
  name="${config#"${BENCH_ROOT}/"}"
  printf '%-26s %7s %7s %6s %6s %6s %6s %6s %6s\n' "${name}" \
    "$(fmt "$(med "${config}.wall")")" "$(fmt "$(med "${config}.ratio")")" \
    "$(fmt "${cli}")" "$(fmt "${api}")" "$(fmt "$(med "${config}.vmm")")" \
    "$(fmt "$(med "${config}.boot")")" "$(fmt "$(med "${config}.agent")")" \
    "$(fmt "$(med "${config}.exec")")"
done
echo "floor per run (s): $(printf '%s' "${samples[floor]}" | summary '%.2f')"
