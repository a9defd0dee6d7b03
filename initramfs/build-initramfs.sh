#!/usr/bin/env bash
# Builds the Cloudlet initramfs.
#
#   build-initramfs.sh INIT_BINARY AGENT_BINARY OUT_FILE
#
# Writes OUT_FILE, an uncompressed newc cpio archive holding /init
# (INIT_BINARY, cloudlet-init from guest_init/), /bin/busybox with a symlink
# per applet (the shell of an image-less guest), /dev/console and
# /cloudlet-agent (AGENT_BINARY). Both binaries must be statically linked. Every
# entry is owned by 0:0 with mtime 0 and inode numbers in order, so the output
# depends only on the inputs, and building it needs no root.
# CLOUDLET_BUSYBOX overrides the busybox binary (default /bin/busybox, from
# Debian's busybox-static).
set -euo pipefail

readonly BUSYBOX="${CLOUDLET_BUSYBOX:-/bin/busybox}"

die() {
  echo "initramfs: error: $*" >&2
  exit 1
}

[[ $# -eq 3 ]] || die "usage: $0 INIT_BINARY AGENT_BINARY OUT_FILE"
readonly INIT="$1"
readonly AGENT="$2"
readonly OUT_FILE="$3"

# Succeeds if FILE is an x86-64 ELF executable without a program interpreter.
is_static_elf() {
  local file="$1" magic phoff phentsize phnum i type
  magic="$(od -An -c -N 4 -- "${file}" | tr -d ' ')"
  [[ "${magic}" == '177ELF' ]] || return 1
  phoff="$(od -An -t u8 -j 32 -N 8 -- "${file}" | tr -d ' ')"
  phentsize="$(od -An -t u2 -j 54 -N 2 -- "${file}" | tr -d ' ')"
  phnum="$(od -An -t u2 -j 56 -N 2 -- "${file}" | tr -d ' ')"
  for ((i = 0; i < phnum; i++)); do
    type="$(od -An -t u4 -j $((phoff + i * phentsize)) -N 4 -- "${file}" | tr -d ' ')"
    [[ "${type}" != 3 ]] || return 1 # PT_INTERP: dynamically linked
  done
}

for input in "${INIT}" "${BUSYBOX}" "${AGENT}"; do
  [[ -f "${input}" && -r "${input}" ]] || die "not a readable file: ${input}"
done
is_static_elf "${BUSYBOX}" || die "busybox is not a static ELF binary: ${BUSYBOX}"
is_static_elf "${INIT}" || die "init is not a static ELF binary: ${INIT}"
is_static_elf "${AGENT}" || die "agent is not a static ELF binary: ${AGENT}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cloudlet-initramfs.XXXXXX")"
readonly WORK
trap 'rm -rf -- "${WORK}"' EXIT
readonly ARCHIVE="${WORK}/initrd.cpio"

# --- a minimal newc writer: header fields are 8 hex digits, name and data are
# --- each padded to a multiple of 4 bytes.
inode=0

# Writes the zero bytes that pad LENGTH up to a multiple of 4 (builtins only:
# this runs for every entry).
pad4() {
  case $(($1 % 4)) in
    1) printf '\0\0\0' ;;
    2) printf '\0\0' ;;
    3) printf '\0' ;;
  esac
}

# Writes one header and name: NAME MODE SIZE [RDEV_MAJOR RDEV_MINOR].
header() {
  local name="$1" mode="$2" size="$3" rmajor="${4:-0}" rminor="${5:-0}"
  local namesize=$((${#name} + 1)) nlink=1
  inode=$((inode + 1))
  [[ $((mode & 0170000)) -ne 0040000 ]] || nlink=2
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    "${inode}" "${mode}" 0 0 "${nlink}" 0 "${size}" 0 0 \
    "${rmajor}" "${rminor}" "${namesize}" 0
  printf '%s\0' "${name}"
  pad4 $((110 + namesize))
}

add_dir() { header "$1" $((0040000 | $2)) 0; }
add_char_dev() { header "$1" $((0020000 | $2)) 0 "$3" "$4"; }
add_symlink() {
  header "$1" 0120777 "${#2}"
  printf '%s' "$2"
  pad4 "${#2}"
}
add_file() { # NAME PERMISSIONS SOURCE
  local size
  size="$(stat -L -c %s -- "$3")"
  header "$1" $((0100000 | $2)) "${size}"
  cat -- "$3"
  pad4 "${size}"
}
add_trailer() { header 'TRAILER!!!' 0 0; }

# The guest needs no symbols: stripping takes the agent from ~45 MB to
# ~9 MB, which the kernel would otherwise copy and unpack on every boot (slow
# under TCG). Debug both on the host, where the unstripped binaries are.
readonly STRIPPED_INIT="${WORK}/init"
readonly STRIPPED_AGENT="${WORK}/cloudlet-agent"
strip --strip-all -o "${STRIPPED_INIT}" -- "${INIT}"
strip --strip-all -o "${STRIPPED_AGENT}" -- "${AGENT}"

echo "initramfs: packing $(basename "${INIT}"), busybox and $(basename "${AGENT}")"
mapfile -t applets < <("${BUSYBOX}" --list | LC_ALL=C sort)
{
  for dir in bin dev dev/pts dev/shm mnt mnt/lower mnt/root mnt/rw proc root run sys; do
    add_dir "${dir}" 0755
  done
  add_dir tmp 01777
  add_char_dev dev/console 0600 5 1
  add_file init 0755 "${STRIPPED_INIT}"
  add_file bin/busybox 0755 "${BUSYBOX}"
  for applet in "${applets[@]}"; do
    [[ "${applet}" == busybox || "${applet}" == */* ]] ||
      add_symlink "bin/${applet}" busybox
  done
  add_file cloudlet-agent 0755 "${STRIPPED_AGENT}"
  add_trailer
} >"${ARCHIVE}"

cp -- "${ARCHIVE}" "${OUT_FILE}"
echo "initramfs: done ($(stat -c %s -- "${OUT_FILE}") bytes)"
