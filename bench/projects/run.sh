#!/usr/bin/env bash
# bench/projects: projects and Debian packages (issue 19's targets).
#
#   bench/projects/run.sh [-n RUNS] [-s]
#
# 1. Image variants (skipped with -s): `initramfs/build-image.sh`, the very
#    script the VMM runs for a variant, timed for the python and rust
#    images with and without the examples' packages (python3-numpy,
#    librust-serde-json-dev), into a temp dir; the real cache is not
#    touched. Target: a variant in at most 2 minutes.
# 2. Cached runs: each project example in configs/ against the same
#    language's single-file example, interleaved, RUNS times each after one
#    warm-up run each (which builds what is missing, a variant through the
#    real artifact cache). Seconds, `cloudlet run` from start to exit; the
#    examples' own sleeps (2.1-3.2 s) are in both columns. Target: a
#    project's cached run at most 1.5x the single file's. A last row sets
#    the python project against the same numpy work as one file with the
#    same image variant (bench/projects/single/stats.toml): numpy's import
#    is the workload's own cost, not the project's.
# A private cloudlet-vmm + cloudlet-api pair with its own build cache.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

runs=5
skip_images=0
while getopts "n:sh" option; do
  case "${option}" in
    n) runs="${OPTARG}" ;;
    s) skip_images=1 ;;
    *) usage_exit ;;
  esac
done

# Seconds `command...` took; fails when it fails.
seconds_of() {
  local start
  start="$(now_s)"
  "$@" >"${BENCH_TMP}/last.out" 2>"${BENCH_TMP}/last.err" || {
    echo "bench: \`$*\` failed:" >&2
    tail -n 20 "${BENCH_TMP}/last.err" >&2
    return 1
  }
  echo "$(now_s) - ${start}" | bc -l
}

if ((skip_images == 0)); then
  echo "load before images: $(load_now)"
  printf '%-8s %-26s %9s %9s %7s\n' image packages base variant ratio
  for pair in "python python3-numpy" "rust librust-serde-json-dev"; do
    read -r language package <<<"${pair}"
    script="${BENCH_ROOT}/initramfs/build-image.sh"
    base="$(seconds_of bash "${script}" "${language}" "${BENCH_TMP}/base.sqfs")"
    variant="$(seconds_of bash "${script}" "${language}" \
      "${BENCH_TMP}/variant.sqfs" "${package}")"
    printf '%-8s %-26s %8.1fs %8.1fs %6.2fx\n' "${language}" "${package}" \
      "${base}" "${variant}" "$(echo "${variant} / ${base}" | bc -l)"
    rm -f "${BENCH_TMP}/base.sqfs" "${BENCH_TMP}/variant.sqfs"
  done
fi

chain_start --build_cache_dir="${BENCH_TMP}/builds"
echo "load before runs: $(load_now)"
run_config() {
  "${CLOUDLET}" run -c "${BENCH_ROOT}/configs/$1" --no-start \
    --api-url "${API_URL}"
}
printf '%-8s %-20s %-16s %-18s %-16s %7s\n' language project \
  "cached min/med/max" "single file" "cached min/med/max" ratio
for pair in "rust rust/inventory.toml rust/fibonacci.toml" \
  "python python/stats.toml python/countdown.toml" \
  "c c/sieve.toml c/primes.toml" "node node/greeter.toml node/ticker.toml" \
  "python python/stats.toml ../bench/projects/single/stats.toml"; do
  read -r language project single <<<"${pair}"
  seconds_of run_config "${project}" >/dev/null  # builds what is missing
  seconds_of run_config "${single}" >/dev/null
  : >"${BENCH_TMP}/project.times"
  : >"${BENCH_TMP}/single.times"
  for ((i = 0; i < runs; ++i)); do
    seconds_of run_config "${project}" >>"${BENCH_TMP}/project.times"
    seconds_of run_config "${single}" >>"${BENCH_TMP}/single.times"
  done
  printf '%-8s %-20s %-18s %-18s %-16s %6.2fx\n' "${language}" "${project}" \
    "$(printf '%.2f/%.2f/%.2f' "$(minimum <"${BENCH_TMP}/project.times")" \
      "$(median <"${BENCH_TMP}/project.times")" \
      "$(maximum <"${BENCH_TMP}/project.times")")" "${single}" \
    "$(printf '%.2f/%.2f/%.2f' "$(minimum <"${BENCH_TMP}/single.times")" \
      "$(median <"${BENCH_TMP}/single.times")" \
      "$(maximum <"${BENCH_TMP}/single.times")")" \
    "$(echo "$(median <"${BENCH_TMP}/project.times") / $(median <"${BENCH_TMP}/single.times")" | bc -l)"
done
echo "load after: $(load_now)"
