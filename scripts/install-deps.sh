#!/usr/bin/env bash
# Installs everything vsnd needs to build and test on Debian bookworm:
# the build toolchain and libraries, and (for the end-to-end tests) QEMU 10
# and guest kernels with virtio_snd (bookworm-backports, bookworm, i386).
# Idempotent: re-running only installs what is missing.
#   --bench   also QEMU's audio modules (qemu-system-gui, bookworm-backports:
#             its pa audiodev is bench/run.sh's reference for the round trip)
set -euo pipefail

bench=0
for a in "$@"; do
  case "$a" in
    --bench) bench=1 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: install-deps.sh [--bench]" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(
  meson ninja-build pkg-config gcc clang
  libsndfile1-dev libsamplerate0-dev libcmocka-dev libseccomp-dev
  scdoc
  libpulse-dev libasound2-dev libpipewire-0.3-dev portaudio19-dev
)
TEST_PKGS=(
  sox libsox-fmt-all python3 busybox-static alsa-utils cpio xz-utils
  kmod valgrind
  systemd man-db
  pulseaudio pulseaudio-utils libasound2-plugins
  pipewire pipewire-bin wireplumber dbus pipewire-pulse
  # tests/abi: the ABI baseline (abidw, abidiff), the public headers as C++
  # and next to the Linux virtio UAPI headers
  abigail-tools g++ linux-libc-dev
)
# bench/run.sh: the plots
BENCH_PKGS=(gnuplot-nox)
# scripts/guest/build-guest.sh --flavor 6.1: Debian's 6.1 kernel has no
# CONFIG_SND_VIRTIO, so virtio_snd is built from its source against the
# headers of the newest 6.1 ABI (the metapackage from bookworm, not backports)
GUEST_61_PKGS=(linux-source-6.1 linux-headers-amd64 make)
# integrations/semu/guest/build.sh: the RV32 guest kernel (Debian's 6.12
# source, cross gcc) and its nolibc /init
SEMU_GUEST_PKGS=(linux-source-6.12 gcc-riscv64-linux-gnu make flex bison bc
  # integrations/semu/build.sh: semu itself (its Makefile runs dtc and mkfs.ext4)
  device-tree-compiler e2fsprogs patch)

add_backports() {
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    $SUDO tee /etc/apt/sources.list.d/vsnd-backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
}

# build-guest.sh --flavor i386 downloads the 32-bit kernel, busybox and
# alsa-utils with apt-get download, which needs the i386 package lists.
add_i386() {
  if ! dpkg --print-foreign-architectures | grep -x i386 >/dev/null; then
    $SUDO dpkg --add-architecture i386
  fi
}

need_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

# A mirror being synced serves lists that fail their checksums for a while
# ("Mirror sync in progress?"): try again, then go on with the lists apt
# has; an install that needs a list it could not get fails below, clearly.
apt_update() {
  for i in 1 2 3; do
    $SUDO apt-get update -qq && return 0
    echo "install-deps: apt-get update failed (try $i of 3)" >&2
    [ "$i" = 3 ] || sleep 20
  done
  echo "install-deps: going on with the package lists apt already has" >&2
}

add_backports
add_i386
apt_update
missing=$(need_install "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${BENCH_PKGS[@]}" "${GUEST_61_PKGS[@]}" \
  "${SEMU_GUEST_PKGS[@]}")
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
# QEMU 10 (vhost-user-snd-pci) only exists in bookworm-backports.
if ! qemu-system-x86_64 -device help 2>/dev/null | grep vhost-user-snd-pci >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86
fi
if [ $bench = 1 ] && ! qemu-system-x86_64 -audiodev help 2>/dev/null | grep -x pa >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-gui
fi
echo "install-deps: done"
