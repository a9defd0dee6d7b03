#!/usr/bin/env bash
# bench/invoke: build once, run many. Per language, deploys a hello world
# as a function (the build the VMM then keeps), then times cached invokes
# (`cloudlet invoke`) and cached runs (`cloudlet run` of the same config,
# whose build the deploy cached) against a one-line shell run, all three
# interleaved so that each ratio pairs runs made under the same load.
#
#   bench/invoke/run.sh [-n RUNS] [-c CONCURRENT] [LANGUAGE ...]
#
# Languages: shell c cpp rust python node (default: all). A private
# cloudlet-vmm + cloudlet-api pair with its own registry and build cache
# (so the deploy really builds); the artifact cache must be warm. Columns,
# seconds, the `cloudlet` process from start to exit (host clock):
#   deploy         cloudlet deploy: the build in a fresh VM, kept
#   invoke         min / median / max of RUNS cached invokes
#   run            the same for `cloudlet run` (prepare-and-run, cached)
#   /shell         median invoke (run) / median one-line shell run
# Then: `configs/rust/fibonacci.toml` run twice (the second from the cache,
# 2.8 s of it the program's own sleeps), and CONCURRENT invokes of one
# function at once (how many printed the right output).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

runs=10
concurrent=8
while getopts "n:c:h" option; do
  case "${option}" in
    n) runs="${OPTARG}" ;;
    c) concurrent="${OPTARG}" ;;
    *) usage_exit ;;
  esac
done
shift $((OPTIND - 1))
languages=("$@")
if ((${#languages[@]} == 0)); then
  languages=(shell c cpp rust python node)
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Seconds `cloudlet ARGS...` took; its output must contain "hello".
timed() {
  local start end out
  start="$(now_s)"
  out="$("${CLOUDLET}" "$@" --no-start --api-url "${API_URL}" 2>/dev/null)" || true
  end="$(now_s)"
  if [[ "${out}" != *hello* ]]; then
    echo "bench: \`cloudlet $*\` did not print hello: ${out}" >&2
    return 1
  fi
  echo "${end} - ${start}" | bc -l
}

chain_start --build_cache_dir="${BENCH_TMP}/builds"
echo "load before: $(load_now)"

# The shell baseline: a one-line run, timed among the others.
shell_times="${BENCH_TMP}/shell.times"
: >"${shell_times}"
timed run -c "${here}/hello/shell.toml" >/dev/null  # warms its snapshot

printf '%-8s %8s   %-20s %-20s %7s %7s\n' language deploy \
  "invoke min/med/max" "run min/med/max" /shell /shell
for language in "${languages[@]}"; do
  config="${here}/hello/${language}.toml"
  start="$(now_s)"
  "${CLOUDLET}" deploy -c "${config}" --no-start --api-url "${API_URL}" \
    >/dev/null 2>"${BENCH_TMP}/deploy.err" || {
    echo "bench: deploying ${language} failed:" >&2
    cat "${BENCH_TMP}/deploy.err" >&2
    exit 1
  }
  deploy="$(echo "$(now_s) - ${start}" | bc -l)"
  invokes="${BENCH_TMP}/${language}.invoke"
  cached_runs="${BENCH_TMP}/${language}.run"
  shell_here="${BENCH_TMP}/${language}.shell"
  : >"${invokes}"
  : >"${cached_runs}"
  : >"${shell_here}"
  for ((i = 0; i < runs; ++i)); do
    timed invoke "hello-${language}" >>"${invokes}"
    timed run -c "${config}" >>"${cached_runs}"
    timed run -c "${here}/hello/shell.toml" >>"${shell_here}"
  done
  cat "${shell_here}" >>"${shell_times}"
  shell_median="$(median <"${shell_here}")"
  printf '%-8s %8.2f   %-20s %-20s %6.2fx %6.2fx\n' "${language}" "${deploy}" \
    "$(printf '%.2f/%.2f/%.2f' "$(minimum <"${invokes}")" \
      "$(median <"${invokes}")" "$(maximum <"${invokes}")")" \
    "$(printf '%.2f/%.2f/%.2f' "$(minimum <"${cached_runs}")" \
      "$(median <"${cached_runs}")" "$(maximum <"${cached_runs}")")" \
    "$(echo "$(median <"${invokes}") / ${shell_median}" | bc -l)" \
    "$(echo "$(median <"${cached_runs}") / ${shell_median}" | bc -l)"
done
printf 'one-line shell run: %.2f (%.2f..%.2f) s over %d runs\n' \
  "$(median <"${shell_times}")" "$(minimum <"${shell_times}")" \
  "$(maximum <"${shell_times}")" "$(wc -l <"${shell_times}")"

# The issue's example: the second run of fibonacci comes from the cache.
fib="${BENCH_ROOT}/configs/rust/fibonacci.toml"
for attempt in first second; do
  start="$(now_s)"
  "${CLOUDLET}" run -c "${fib}" --no-start --api-url "${API_URL}" \
    >/dev/null 2>&1
  printf 'configs/rust/fibonacci.toml, %s run: %.2f s\n' "${attempt}" \
    "$(echo "$(now_s) - ${start}" | bc -l)"
done

# CONCURRENT invokes of one function at once.
ok=0
pids=()
for ((i = 0; i < concurrent; ++i)); do
  "${CLOUDLET}" invoke hello-"${languages[0]}" --no-start \
    --api-url "${API_URL}" >"${BENCH_TMP}/concurrent.${i}" 2>/dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "${pid}" || true; done
for ((i = 0; i < concurrent; ++i)); do
  if [[ "$(cat "${BENCH_TMP}/concurrent.${i}")" == hello ]]; then ok=$((ok + 1)); fi
done
echo "${concurrent} invokes of hello-${languages[0]} at once: ${ok}/${concurrent} correct"
echo "load after: $(load_now)"
