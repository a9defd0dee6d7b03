#!/usr/bin/env bash
# Builds a Cloudlet language runtime image.
#
#   build-image.sh LANGUAGE OUT_FILE [PACKAGE...]
#
# Writes OUT_FILE, an uncompressed squashfs of a Debian root filesystem:
# `mmdebstrap --variant=essential` plus the packages listed in
# images/LANGUAGE.packages next to this script, plus the PACKAGEs given (an
# image variant: a workload's [build] packages), without docs (copyright files
# kept), man pages, info pages and translations, and without apt lists and
# caches. The guest mounts it read-only as the lower layer of its overlay root.
#
# Environment:
#   CLOUDLET_DEBIAN_SUITE  Debian suite (default bookworm). With no sources file
#                          given, mmdebstrap uses deb.debian.org with the suite,
#                          its -updates and its -security archives.
#   CLOUDLET_APT_SOURCES   an apt sources file (one-line or deb822) to use instead,
#                          e.g. /etc/apt/sources.list.d/debian.sources.
# mmdebstrap runs in root mode as root and in unshare mode otherwise (which needs
# unprivileged user namespaces and a /etc/subuid range for the user).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SUITE="${CLOUDLET_DEBIAN_SUITE:-bookworm}"
readonly SOURCES="${CLOUDLET_APT_SOURCES:-}"
# Fixed timestamps: the same packages give a byte-identical image.
export SOURCE_DATE_EPOCH=1704067200 # 2024-01-01 00:00:00 UTC
export LC_ALL=C.UTF-8

die() {
  echo "image: error: $*" >&2
  exit 1
}

[[ $# -ge 2 ]] || die "usage: $0 LANGUAGE OUT_FILE [PACKAGE...]"
readonly LANGUAGE="$1"
readonly OUT_FILE="$2"
shift 2
extra_packages=()
for package in "$@"; do
  # Debian policy's names only: never an option, a list separator or a word
  # a shell would split (the VMM checks the same before it gets here).
  [[ "${package}" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "not a Debian package name: ${package}"
  extra_packages+=("${package}")
done
[[ "${LANGUAGE}" =~ ^[a-z0-9]+$ ]] || die "bad language name: ${LANGUAGE}"
readonly PACKAGE_LIST="${SCRIPT_DIR}/images/${LANGUAGE}.packages"
[[ -r "${PACKAGE_LIST}" ]] || die "unknown language ${LANGUAGE}: no ${PACKAGE_LIST}"
[[ -z "${SOURCES}" || -r "${SOURCES}" ]] || die "apt sources not readable: ${SOURCES}"
for tool in mmdebstrap sqfstar; do
  command -v "${tool}" >/dev/null || die "${tool} not found (Debian packages mmdebstrap, squashfs-tools)"
done

packages=()
while IFS= read -r line; do
  line="${line%%#*}"
  line="${line//[[:space:]]/}"
  [[ -z "${line}" ]] || packages+=("${line}")
done <"${PACKAGE_LIST}"
packages+=("${extra_packages[@]}")
include="$(
  IFS=,
  echo "${packages[*]}"
)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cloudlet-image.XXXXXX")"
readonly WORK
chmod 0755 "${WORK}" # apt's _apt user downloads into it
cleanup() {
  # An interrupted root-mode mmdebstrap may leave its chroot's mounts behind:
  # unmount them before removing anything, deepest first.
  local mounts
  mounts="$(awk -v w="${WORK}/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo |
    sort -r)" || true
  if [[ -n "${mounts}" ]]; then
    while IFS= read -r mount_point; do
      umount -l -- "${mount_point}" 2>/dev/null || true
    done <<<"${mounts}"
  fi
  rm -rf --one-file-system -- "${WORK}"
}
trap cleanup EXIT
readonly LOG="${WORK}/build.log"

# The hooks are run by mmdebstrap with sh, "$1" being the new root.
# shellcheck disable=SC2016
mmdebstrap_args=(
  --variant=essential
  --format=tar
  --dpkgopt=force-unsafe-io # no fsync per file: the tree is thrown away
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --customize-hook='rm -f "$1/etc/resolv.conf"'
  --customize-hook='echo cloudlet >"$1/etc/hostname"'
  --customize-hook='printf "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" >"$1/etc/hosts"'
  --customize-hook='rm -f "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old'
  # what the essential set unpacked before the path excludes were in place
  --customize-hook='find "$1/usr/share/doc" -mindepth 2 ! -type d ! -name copyright -delete'
  --customize-hook='find "$1/usr/share/doc" -mindepth 1 -depth -type d -empty -delete'
)
[[ -z "${include}" ]] || mmdebstrap_args+=("--include=${include}")
positional=("${SUITE}" -)
[[ -z "${SOURCES}" ]] || positional+=("${SOURCES}")

echo "image: ${LANGUAGE}: bootstrapping Debian ${SUITE} (essential${include:+ + ${include}})"
echo "image: ${LANGUAGE}: packing squashfs (uncompressed) as the tar stream arrives"
# mmdebstrap builds the tree in its own temporary directory (under TMPDIR, so
# under WORK) and streams it as a tar, which sqfstar packs without unpacking.
# Nothing is compressed (-noI -noD -noF -noX): under TCG the guest spent
# more time decompressing zstd blocks than anything else in a short run (a
# shell echo: 0.15 s -> 0.09 s; a Rust build: 18.8 s -> 15.3 s). The images
# are ~3x larger on disk, are read through the host's page cache, which all
# VMs share, and build faster.
if ! TMPDIR="${WORK}" mmdebstrap "${mmdebstrap_args[@]}" -- "${positional[@]}" \
  </dev/null 2>>"${LOG}" |
  sqfstar -noI -noD -noF -noX -quiet -no-progress -force "${WORK}/image.sqfs" \
    >>"${LOG}" 2>&1; then
  tail -n 40 "${LOG}" >&2
  die "building the ${LANGUAGE} image failed"
fi

echo "image: ${LANGUAGE}: installing into ${OUT_FILE}"
mv -f -- "${WORK}/image.sqfs" "${OUT_FILE}"
echo "image: ${LANGUAGE}: done ($(stat -c %s -- "${OUT_FILE}") bytes)"
