#!/usr/bin/env bash
# Builds the Cloudlet guest kernel.
#
#   build-kernel.sh OUT_DIR
#
# Writes OUT_DIR/bzImage and OUT_DIR/config (the final .config) and nothing else.
# Inputs: Debian's linux-source-6.1 tarball (CLOUDLET_LINUX_TARBALL overrides the
# path), guest.patch next to this script (applied to the source), and
# config.fragment next to it, merged on top of `make tinyconfig`.
# Fails, naming the option, if olddefconfig drops any `=y` line of the fragment.
set -euo pipefail

readonly TARBALL="${CLOUDLET_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly FRAGMENT="${SCRIPT_DIR}/config.fragment"
readonly PATCH="${SCRIPT_DIR}/guest.patch"

die() {
  echo "kernel: error: $*" >&2
  exit 1
}

[[ $# -eq 1 ]] || die "usage: $0 OUT_DIR"
readonly OUT_DIR="$1"
[[ -r "${TARBALL}" ]] || die "kernel source tarball not readable: ${TARBALL}"
[[ -r "${FRAGMENT}" ]] || die "config fragment not readable: ${FRAGMENT}"
[[ -r "${PATCH}" ]] || die "kernel patch not readable: ${PATCH}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cloudlet-kernel.XXXXXX")"
readonly WORK
trap 'rm -rf -- "${WORK}"' EXIT
readonly LOG="${WORK}/build.log"

# Runs a build step with its output in the log; on failure shows the log's tail.
run_logged() {
  if ! "$@" >>"${LOG}" 2>&1; then
    tail -n 40 "${LOG}" >&2
    die "step failed: $*"
  fi
}

# Fixed build identity so that two builds of the same inputs are byte-identical.
export KBUILD_BUILD_TIMESTAMP="1970-01-01 00:00:00 UTC"
export KBUILD_BUILD_USER=cloudlet
export KBUILD_BUILD_HOST=cloudlet
export KBUILD_BUILD_VERSION=1
export LC_ALL=C
readonly MAKE_ARGS=(ARCH=x86_64 LOCALVERSION=)

echo "kernel: extracting $(basename "${TARBALL}")"
mkdir "${WORK}/src"
run_logged tar -xf "${TARBALL}" -C "${WORK}/src" --strip-components=1
cd "${WORK}/src"

echo "kernel: applying $(basename "${PATCH}")"
run_logged patch -p1 --forward --no-backup-if-mismatch -i "${PATCH}"

echo "kernel: configuring (tinyconfig + config.fragment)"
run_logged make "${MAKE_ARGS[@]}" tinyconfig
run_logged scripts/kconfig/merge_config.sh -m .config "${FRAGMENT}"
run_logged make "${MAKE_ARGS[@]}" olddefconfig

echo "kernel: verifying merged config"
missing=0
while IFS= read -r line; do
  if [[ "${line}" =~ ^(CONFIG_[A-Za-z0-9_]+)=y$ ]]; then
    if ! grep -qx "${BASH_REMATCH[1]}=y" .config; then
      echo "kernel: error: ${BASH_REMATCH[1]}=y was dropped by olddefconfig" \
        "(missing dependency or parent option?)" >&2
      missing=1
    fi
  elif [[ "${line}" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
    if grep -q "^${BASH_REMATCH[1]}=" .config; then
      echo "kernel: error: ${BASH_REMATCH[1]} must be unset but is enabled" >&2
      missing=1
    fi
  fi
done <"${FRAGMENT}"
[[ "${missing}" -eq 0 ]] || die "merged .config does not match config.fragment"

echo "kernel: compiling bzImage with $(nproc) jobs"
run_logged make "${MAKE_ARGS[@]}" -j"$(nproc)" bzImage

echo "kernel: installing into ${OUT_DIR}"
mkdir -p -- "${OUT_DIR}"
cp -- arch/x86/boot/bzImage "${OUT_DIR}/bzImage"
cp -- .config "${OUT_DIR}/config"
echo "kernel: done ($(stat -c %s "${OUT_DIR}/bzImage") bytes)"
