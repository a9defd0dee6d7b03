#!/usr/bin/env bash
# bench/rss: host memory of the VMs the VMM launches (256 MiB guests), per
# TCG translation-cache size (cloudlet-vmm --tcg_tb_size_mib; 0 = QEMU's
# own default), and what a smaller cache costs a heavy workload.
#   start    a shell workload that prints a line and sleeps: when the line
#            arrives the agent has just started it; QEMU's VmRSS then
#   idle     the same VM 5 s later (the workload prints a second line),
#            once the guest's free page reporting (2 s delay) has handed
#            back what it freed: QEMU's VmRSS, its private part (RssAnon:
#            guest pages touched, translation cache, QEMU heap) and its
#            shared part (RssFile: the mapped initramfs and QEMU's
#            binaries, shared by every VM through the page cache)
#   rust     configs/rust/fibonacci.toml (cargo build --release in the
#            guest): build+run seconds, their ratio to the first size's run
#            of the same round, and QEMU's peak RSS (VmHWM)
# One API+VMM pair per size runs throughout; runs go round-robin over the
# sizes, so a ratio pairs runs made under the same machine load.
#
#   bench/rss/run.sh [-n IDLE_RUNS] [-r RUST_RUNS] [-t TB_SIZES]
# Defaults: -n 3 -r 2 -t 0,16,32,64,128 (0: QEMU's own default; cloudlet-vmm
# passes 128 unless told otherwise); -r 0 skips the rust columns.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

idle_runs=3
rust_runs=2
tb_sizes="0,16,32,64,128"
while getopts "n:r:t:h" option; do
  case "${option}" in
    n) idle_runs="${OPTARG}" ;;
    r) rust_runs="${OPTARG}" ;;
    t) tb_sizes="${OPTARG}" ;;
    *) usage_exit ;;
  esac
done
IDLE_CONFIG="${BENCH_ROOT}/bench/rss/idle.toml"
RUST_CONFIG="${BENCH_ROOT}/configs/rust/fibonacci.toml"

# The one QEMU of the private VMM (runs go one at a time here).
qemu_pid() { pgrep -P "${VMM_PID}" -f qemu-system | head -n 1; }

status_mib() {  # status_mib PID FIELD -> MiB
  awk -v field="$2:" '$1 == field { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"
}

# One idle run: prints "start_rss rss private shared" (MiB).
idle_once() {
  local out="${BENCH_TMP}/idle.out" pid
  : >"${out}"
  cloudlet_run "${IDLE_CONFIG}" >"${out}" 2>"${BENCH_TMP}/idle.err" &
  local cli=$!
  if ! poll_until 120 file_has "${out}" "idle"; then
    echo "bench: the idle workload never started:" >&2
    cat "${BENCH_TMP}/idle.err" >&2
    return 1
  fi
  pid="$(qemu_pid)"
  local start_rss
  start_rss="$(status_mib "${pid}" VmRSS)"
  if ! poll_until 120 file_has "${out}" "idle-5s"; then
    echo "bench: the idle workload never said idle-5s:" >&2
    cat "${BENCH_TMP}/idle.err" >&2
    return 1
  fi
  echo "${start_rss} $(status_mib "${pid}" VmRSS)" \
    "$(status_mib "${pid}" RssAnon) $(status_mib "${pid}" RssFile)"
  wait "${cli}"
}

# One rust run: prints "exec_s peak_mib".
rust_once() {
  local out="${BENCH_TMP}/rust.jsonl" pid="" peak=0 hwm
  cloudlet_run --json "${RUST_CONFIG}" >"${out}" 2>"${BENCH_TMP}/rust.err" &
  local cli=$!
  while kill -0 "${cli}" 2>/dev/null; do
    [[ -n "${pid}" ]] || pid="$(qemu_pid || true)"
    if [[ -n "${pid}" ]] && hwm="$(status_mib "${pid}" VmHWM 2>/dev/null)" &&
      [[ -n "${hwm}" ]]; then
      peak="${hwm}"
    fi
    sleep 0.1
  done
  if ! wait "${cli}"; then
    echo "bench: the rust run failed:" >&2
    cat "${BENCH_TMP}/rust.err" >&2
    return 1
  fi
  jq -r --arg peak "${peak}" 'select(.result) | .result.timings
    | def s(d): if d == null then 0 else (d | rtrimstr("s") | tonumber) end;
      "\(s(.build) + s(.run)) \($peak)"' "${out}"
}

load_before="$(load_now)"
IFS=',' read -r -a sizes <<<"${tb_sizes}"
# One pair per size, all up at once; runs go round-robin over them so each
# size sees the same machine load.
declare -A url=() vmm=() start=() rss=() private=() shared=() exec=() peak=() ratio=()
for tb in "${sizes[@]}"; do
  chain_start --tcg_tb_size_mib="${tb}"
  url["${tb}"]="${API_URL}" vmm["${tb}"]="${VMM_PID}"
done
use_chain() { API_URL="${url[$1]}" VMM_PID="${vmm[$1]}"; }
for tb in "${sizes[@]}"; do  # warm-up
  use_chain "${tb}"
  cloudlet_run --quiet "${IDLE_CONFIG}" >/dev/null
done
for ((i = 1; i <= idle_runs; ++i)); do
  for tb in "${sizes[@]}"; do
    use_chain "${tb}"
    sample="$(idle_once)"
    read -r b r p s <<<"${sample}"
    start["${tb}"]+="${b}"$'\n' rss["${tb}"]+="${r}"$'\n' private["${tb}"]+="${p}"$'\n' shared["${tb}"]+="${s}"$'\n'
  done
done
for ((i = 1; i <= rust_runs; ++i)); do
  first=""
  for tb in "${sizes[@]}"; do
    use_chain "${tb}"
    sample="$(rust_once)"
    read -r e k <<<"${sample}"
    exec["${tb}"]+="${e}"$'\n' peak["${tb}"]+="${k}"$'\n'
    first="${first:-${e}}"
    ratio["${tb}"]+="$(bc -l <<<"${e} / ${first}")"$'\n'
  done
done
chain_stop_all

echo "rss: host memory per VM (cloudlet-vmm --tcg_tb_size_mib), 256 MiB guests, accel=tcg"
echo "idle runs=${idle_runs} rust runs=${rust_runs}; MiB, median (min..max); load before: ${load_before}, after: $(load_now)"
printf '%-9s %-16s %-16s %-16s %-7s %-8s %-9s %s\n' tb-size "start RSS" \
  "idle RSS" "idle private" shared "rust s" "ratio" "rust peak"
for tb in "${sizes[@]}"; do
  name="${tb}"
  [[ "${tb}" != 0 ]] || name="0 (qemu)"
  rust_exec="-" rust_ratio="-" rust_peak="-"
  if ((rust_runs > 0)); then
    rust_exec="$(printf '%.1f' "$(median <<<"${exec[${tb}]}")")"
    rust_ratio="$(printf '%.2f' "$(median <<<"${ratio[${tb}]}")")"
    rust_peak="$(printf '%.0f' "$(median <<<"${peak[${tb}]}")")"
  fi
  printf '%-9s %-16s %-16s %-16s %-7s %-8s %-9s %s\n' "${name}" \
    "$(summary '%.0f' <<<"${start[${tb}]}")" "$(summary '%.0f' <<<"${rss[${tb}]}")" "$(summary '%.0f' <<<"${private[${tb}]}")" \
    "$(printf '%.0f' "$(median <<<"${shared[${tb}]}")")" "${rust_exec}" \
    "${rust_ratio}" "${rust_peak}"
done
