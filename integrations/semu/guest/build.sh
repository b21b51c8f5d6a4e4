#!/usr/bin/env bash
# Builds the semu test guest: an RV32 Linux kernel (Image) with virtio_snd
# built in, and rootfs.cpio whose /init is vsnd-guest (nolibc, static).
#
#   integrations/semu/guest/build.sh [--print-dir]
#
# Needs (scripts/install-deps.sh installs them): linux-source-6.12,
# gcc-riscv64-linux-gnu, gcc, make, flex, bison, bc, xz-utils.
# Installs nothing itself.
#
# Everything is built under ${VSND_SEMU_CACHE:-~/.cache/vsnd-semu}:
#   linux-<ver>/          the unpacked kernel source (never modified)
#   build-<ver>/          the kernel build tree (O=), reconfigured and
#                         rebuilt incrementally when kernel.config changes
#   guest-<ver>-<hash>/   Image, rootfs.cpio, vsnd-guest, linux.config;
#                         <hash> covers kernel.config, vsnd-guest.c and
#                         this script, so any change rebuilds and an
#                         unchanged tree rebuilds nothing
#   build.log             the last run's full log
# The last line printed (on stdout) is the guest-* directory. With
# --print-dir, that line is the only thing on stdout; progress goes to
# stderr, so `dir=$(build.sh --print-dir)` works.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VSND_SEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vsnd-semu}
KPKG=linux-source-6.12
KTAR=/usr/src/$KPKG.tar.xz
CROSS=${CROSS_COMPILE:-riscv64-linux-gnu-}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

PRINT_DIR=0
case "${1:-}" in
  "") ;;
  --print-dir) PRINT_DIR=1 ;;
  -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build.sh: unknown option '$1' (only --print-dir)" >&2; exit 2 ;;
esac

if [ "$PRINT_DIR" = 1 ]; then exec 3>&2; else exec 3>&1; fi
say() { echo "guest: $*" >&3; }
die() { echo "guest: error: $*" >&2; exit 1; }

# --- what is needed, and which package brings it ---------------------
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2 (for $1)"); }
need "${CROSS}gcc" gcc-riscv64-linux-gnu
need gcc gcc
need make make
need flex flex
need bison bison
need bc bc
need xz xz-utils
need tar tar
need flock util-linux
[ -r "$KTAR" ] || missing+=("$KPKG (for $KTAR)")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "guest: error: missing packages; run scripts/install-deps.sh or apt-get install:" >&2
  for m in "${missing[@]}"; do echo "guest:   $m" >&2; done
  exit 1
fi

mkdir -p "$CACHE"
LOG=$CACHE/build.log
exec 9>"$CACHE/.lock"
flock 9 # one build at a time per cache

STEP=""
T0=0
step() { STEP=$1; T0=$SECONDS; echo "=== $STEP" >>"$LOG"; }
ok() { say "$STEP: ${1:-ok} ($((SECONDS - T0)) s)"; }
on_err() {
  {
    echo "guest: error: step '$STEP' failed; full log: $LOG"
    echo "guest: --- last 40 lines ---"
    tail -n 40 "$LOG" | sed 's/^/guest: | /'
  } >&2
}
trap on_err ERR
run() { "$@" >>"$LOG" 2>&1; }

# --- keys --------------------------------------------------------------
KVER=$(dpkg-query -W -f='${Version}' "$KPKG" 2>/dev/null || stat -c '%s-%Y' "$KTAR")
KVER=$(printf '%s' "$KVER" | tr -c 'A-Za-z0-9._+-' '_')
CFG=$HERE/kernel.config
PROG=$HERE/vsnd-guest.c
CFG_HASH=$(sha256sum <"$CFG" | cut -c1-12)
OUT_HASH=$(printf '%s\n' "$KVER" "$("${CROSS}gcc" --version | head -n1)" |
  cat - "$CFG" "$PROG" "$HERE/build.sh" | sha256sum | cut -c1-12)
SRC=$CACHE/linux-$KVER
KB=$CACHE/build-$KVER
OUT=$CACHE/guest-$KVER-$OUT_HASH

if [ -f "$OUT/.done" ]; then
  say "cached: Image and rootfs.cpio (linux $KVER, $OUT_HASH)"
  echo "$OUT"
  exit 0
fi

: >"$LOG"
KMAKE=(make -C "$SRC" O="$KB" ARCH=riscv CROSS_COMPILE="$CROSS")

# --- 1. kernel source --------------------------------------------------
step "unpack $KPKG $KVER"
if [ ! -f "$SRC/.vsnd-unpacked" ]; then
  rm -rf "$SRC.tmp"
  mkdir -p "$SRC.tmp"
  run tar -xJf "$KTAR" -C "$SRC.tmp" --strip-components=1
  touch "$SRC.tmp/.vsnd-unpacked"
  rm -rf "$SRC"
  mv "$SRC.tmp" "$SRC"
  ok
else
  ok cached
fi

# --- 2. kernel config: allnoconfig + kernel.config, then checked --------
step "configure kernel ($CFG_HASH)"
mkdir -p "$KB"
if [ "$(cat "$KB/.vsnd-config" 2>/dev/null)" != "$CFG_HASH" ] || [ ! -f "$KB/.config" ]; then
  rm -f "$KB/.vsnd-config" "$KB/.vsnd-built"
  run "${KMAKE[@]}" KCONFIG_ALLCONFIG="$CFG" allnoconfig
  run "${KMAKE[@]}" olddefconfig
  bad=()
  while IFS= read -r line; do
    case "$line" in
      CONFIG_*=*)
        grep -qxF "$line" "$KB/.config" || bad+=("want $line, have: $(grep -E "^(# )?${line%%=*}[= ]" "$KB/.config" || echo unset)") ;;
      "# CONFIG_"*" is not set")
        sym=${line#\# }; sym=${sym%% *}
        if grep -qE "^$sym=[ym]" "$KB/.config"; then bad+=("want $sym off, have: $(grep -E "^$sym=" "$KB/.config")"); fi ;;
    esac
  done <"$CFG"
  if [ "${#bad[@]}" -gt 0 ]; then
    trap - ERR
    echo "guest: error: kernel .config does not have what kernel.config asks for (a dependency is missing?):" >&2
    for b in "${bad[@]}"; do echo "guest:   $b" >&2; done
    exit 1
  fi
  echo "$CFG_HASH" >"$KB/.vsnd-config"
  ok
else
  ok cached
fi

# --- 3. kernel Image and uapi headers ----------------------------------
step "build kernel Image (linux $KVER, -j$JOBS)"
if [ ! -f "$KB/.vsnd-built" ]; then
  run "${KMAKE[@]}" -j"$JOBS" Image
  run "${KMAKE[@]}" headers
  test -s "$KB/arch/riscv/boot/Image"
  test -x "$KB/usr/gen_init_cpio"
  touch "$KB/.vsnd-built"
  ok
else
  ok cached
fi

# --- 4. vsnd-guest (nolibc, RV32, static) -------------------------------
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
step "build vsnd-guest (nolibc, rv32ima)"
# No libgcc for RV32 in Debian: the link fails if the program ever needs
# a 64-bit division helper, which is the check we want.
run "${CROSS}gcc" -march=rv32ima_zicsr_zifencei -mabi=ilp32 -Os -g0 \
  -Wall -Wextra \
  -static -nostdlib -nostdinc -ffreestanding -fno-stack-protector \
  -fno-pie -no-pie -fno-asynchronous-unwind-tables -fno-unwind-tables \
  -I "$SRC/tools/include/nolibc" -I "$KB/usr/include" \
  -include nolibc.h \
  -o "$OUT.tmp/vsnd-guest" "$PROG"
run "${CROSS}strip" "$OUT.tmp/vsnd-guest"
ok

# --- 5. rootfs.cpio (newc) ----------------------------------------------
step "pack rootfs.cpio"
cat >"$OUT.tmp/rootfs.list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
file /init $OUT.tmp/vsnd-guest 0755 0 0
EOF
"$KB/usr/gen_init_cpio" -t 0 "$OUT.tmp/rootfs.list" >"$OUT.tmp/rootfs.cpio" 2>>"$LOG"
test -s "$OUT.tmp/rootfs.cpio"
sed -i "s|$OUT.tmp/|./|" "$OUT.tmp/rootfs.list"
cp "$KB/arch/riscv/boot/Image" "$OUT.tmp/Image"
cp "$KB/.config" "$OUT.tmp/linux.config"
touch "$OUT.tmp/.done"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
ok "$(stat -c %s "$OUT/rootfs.cpio") bytes"

trap - ERR
say "Image $(stat -c %s "$OUT/Image") bytes, rootfs.cpio $(stat -c %s "$OUT/rootfs.cpio") bytes, log $LOG"
echo "$OUT"
