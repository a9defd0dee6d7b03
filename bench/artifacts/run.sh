#!/usr/bin/env bash
# bench/artifacts: what the guest artifact cache costs.
#   warm check   `cloudlet-vmm artifacts build` with everything cached (a
#                whole process: start, hash every artifact's inputs, find
#                all 8 entries), `artifacts list`, and the check a running
#                VMM makes per run (Result.timings.prepare: input hashes
#                memoized, a few stat()s; target <= 50 ms)
#   cold build   initramfs and the given images built into a throwaway
#                CLOUDLET_CACHE_DIR (the real cache is not touched). The
#                kernel is not rebuilt (minutes of both cores): -k LOG
#                quotes the time a cloudlet-vmm log recorded for it
#                ("artifact=kernel ... event=built ms=...").
#
#   bench/artifacts/run.sh [-n RUNS] [-i IMAGES] [-k VMM_LOG]
# Defaults: -n 5 -i shell (comma-separated languages; "" builds none).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

runs=5
images="shell"
kernel_log=""
while getopts "n:i:k:h" option; do
  case "${option}" in
    n) runs="${OPTARG}" ;;
    i) images="${OPTARG}" ;;
    k) kernel_log="${OPTARG}" ;;
    *) usage_exit ;;
  esac
done
ECHO_CONFIG="${BENCH_ROOT}/bench/chain/echo.toml"

time_ms() {  # time_ms COMMAND...: its wall time in ms (output discarded)
  local start end
  start="$(now_s)"
  "$@" >/dev/null 2>&1
  end="$(now_s)"
  bc -l <<<"(${end} - ${start}) * 1000"
}

load_before="$(load_now)"
if ! "${VMM}" artifacts build >"${BENCH_TMP}/warm.log" 2>&1 ||
  grep -q "building" "${BENCH_TMP}/warm.log"; then
  echo "bench: the artifact cache was not warm (see below); run it again" >&2
  cat "${BENCH_TMP}/warm.log" >&2
  exit 1
fi
build_ms="" list_ms="" prepare_ms=""
for ((i = 1; i <= runs; ++i)); do
  build_ms+="$(time_ms "${VMM}" artifacts build)"$'\n'
  list_ms+="$(time_ms "${VMM}" artifacts list)"$'\n'
done
# shellcheck disable=SC2119  # no extra VMM flags
chain_start
for ((i = 1; i <= runs; ++i)); do
  prepare_ms+="$(cloudlet_run --json "${ECHO_CONFIG}" 2>/dev/null |
    jq -r 'select(.result) | .result.timings.prepare | rtrimstr("s")
           | tonumber * 1000')"$'\n'
done
chain_stop

# Cold builds into a throwaway cache.
cold_rows=()
names=(initramfs)
if [[ -n "${images}" ]]; then
  IFS=',' read -r -a languages <<<"${images}"
  names+=("${languages[@]}")
fi
for name in "${names[@]}"; do
  cache="${BENCH_TMP}/cache-${name}"
  if ! CLOUDLET_CACHE_DIR="${cache}" "${VMM}" artifacts build "${name}" \
    >"${BENCH_TMP}/cold.log" 2>&1; then
    echo "bench: building ${name} failed:" >&2
    tail -n 20 "${BENCH_TMP}/cold.log" >&2
    exit 1
  fi
  line="$(grep -m 1 'event=built' "${BENCH_TMP}/cold.log")"
  ms="$(grep -o ' ms=[0-9]*' <<<"${line}" | cut -d= -f2)"
  bytes="$(grep -o 'bytes=[0-9]*' <<<"${line}" | cut -d= -f2)"
  artifact="$(grep -o 'artifact=[^ ]*' <<<"${line}" | cut -d= -f2)"
  cold_rows+=("$(printf '%-14s %9.1f %9.1f' "${artifact}" \
    "$(bc -l <<<"${ms} / 1000")" "$(bc -l <<<"${bytes} / 1000000")")")
  rm -rf "${cache}"
done
kernel_row="kernel         not rebuilt here (pass -k with a cloudlet-vmm log that built it)"
if [[ -n "${kernel_log}" ]]; then
  line="$(grep 'artifact=kernel .*event=built' "${kernel_log}" | tail -n 1 || true)"
  if [[ -n "${line}" ]]; then
    ms="$(grep -o ' ms=[0-9]*' <<<"${line}" | cut -d= -f2)"
    bytes="$(grep -o 'bytes=[0-9]*' <<<"${line}" | cut -d= -f2)"
    kernel_row="$(printf '%-14s %9.1f %9.1f   (from %s, %s)' kernel \
      "$(bc -l <<<"${ms} / 1000")" "$(bc -l <<<"${bytes} / 1000000")" \
      "${kernel_log}" "${line%% *}")"
  fi
fi

echo "artifacts: cache check and build costs; load before: ${load_before}, after: $(load_now)"
printf '%-44s %s\n' "warm check, runs=${runs}" "ms, median (min..max)"
printf '%-44s %s\n' "  cloudlet-vmm artifacts build (process)" "$(summary '%.0f' <<<"${build_ms}")"
printf '%-44s %s\n' "  cloudlet-vmm artifacts list (process)" "$(summary '%.0f' <<<"${list_ms}")"
printf '%-44s %s   (target <= 50)\n' "  per run in the VMM (timings.prepare)" "$(summary '%.1f' <<<"${prepare_ms}")"
printf '%-14s %9s %9s\n' "cold build" "s" "MB"
printf '%s\n' "${cold_rows[@]}" "${kernel_row}"
