#!/usr/bin/env bash
# Builds the Linux guest used by the vsnd end-to-end tests and the demo:
#   <dir>/vmlinuz          bookworm-backports kernel (has virtio_snd as a module)
#   <dir>/initramfs.cpio   busybox + aplay/arecord/amixer/speaker-test + ALSA config,
#                          the sound and virtio_blk modules, /init and the guest scripts
#   <dir>/share/           files baked into the image that the host also needs
#                          (the demo tone the guest plays, to compare with what vsnd wrote)
#   /selftests in the image: the kernel's own ALSA selftests (pcm-test, mixer-test
#                          and their conf.d), built from Debian's linux-source-6.12
# <dir> is $VSND_GUEST_DIR, else $XDG_CACHE_HOME/vsnd-guest, else ~/.cache/vsnd-guest:
# outside git, because the kernel package is ~100 MB.
#
# Idempotent: the kernel is fetched once (delete <dir>/kernel or set
# VSND_GUEST_REFRESH=1 to fetch the newest again); the initramfs is rebuilt only
# when this directory's files or the host tools it copies change.
#
# Options: --print-dir (print <dir> and exit), --force (rebuild the initramfs).
# Exit status: 0 built or up to date; 77 a prerequisite is missing (the e2e
# tests turn that into a skip); anything else is a real failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${VSND_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vsnd-guest}
# Load order matters: busybox insmod does not resolve dependencies. Anything these
# need is found with modinfo and loaded first.
WANT_MODULES=(soundcore snd snd-timer snd-pcm virtio_snd virtio_blk)
TOOLS=(aplay arecord amixer speaker-test)
# The kernel's ALSA selftests: their folder of Debian's kernel source package.
SELFTEST_TAR=/usr/src/linux-source-6.12.tar.xz
SELFTESTS=(pcm-test mixer-test)
# The demo tone: 12 s, 440 Hz, S16_LE 48 kHz stereo, raw (the demo's stream format).
DEMO_TONE_ARGS=(-r 48000 -c 2 -b 16 -e signed-integer)

log() { echo "build-guest: $*" >&2; }
missing() { log "missing prerequisite: $*"; exit 77; }

FORCE=0
for a in "$@"; do
  case "$a" in
    --print-dir) echo "$DIR"; exit 0 ;;
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) log "unknown option $a"; exit 2 ;;
  esac
done

MODINFO=$(command -v modinfo || echo /sbin/modinfo)
check_prereqs() {
  local t
  for t in apt-get apt-cache dpkg-deb dpkg-query tar cpio xz sox ldd sha256sum flock; do
    command -v "$t" >/dev/null || missing "$t (run scripts/install-deps.sh)"
  done
  [ -x "$MODINFO" ] || missing "modinfo (package kmod)"
  for t in "${TOOLS[@]}"; do
    command -v "$t" >/dev/null || missing "$t (package alsa-utils)"
  done
  BUSYBOX=$(command -v busybox || true)
  [ -n "$BUSYBOX" ] || missing "busybox (package busybox-static)"
  # A dynamic busybox would need its own libraries; the static one is self-contained.
  if ldd "$BUSYBOX" >/dev/null 2>&1; then missing "a static busybox (package busybox-static)"; fi
  [ -d /usr/share/alsa ] || missing "/usr/share/alsa (package alsa-utils)"
  [ -f "$SELFTEST_TAR" ] || missing "$SELFTEST_TAR (package linux-source-6.12)"
  pkg-config --exists alsa || missing "alsa-lib's headers (package libasound2-dev)"
}

# --- kernel ---------------------------------------------------------------------------

resolve_kernel_pkg() {
  if [ -n "${VSND_GUEST_KERNEL_PKG:-}" ]; then echo "$VSND_GUEST_KERNEL_PKG"; return; fi
  local ver
  ver=$(apt-cache madison linux-image-amd64 2>/dev/null |
        awk -F'|' '$3 ~ /bookworm-backports/ { gsub(/ /, "", $2); print $2; exit }')
  [ -n "$ver" ] || missing "linux-image-amd64 from bookworm-backports (run scripts/install-deps.sh)"
  apt-cache depends "linux-image-amd64=$ver" 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

# Prints the archive path of module $1 (dashes and underscores are interchangeable).
module_path() {
  local alt=${1//-/_} alt2=${1//_/-}
  grep -E "/(${alt}|${alt2})\.ko(\.xz|\.zst)?$" "$WORK/list" | head -n1
}

# Extracts the wanted modules and, pass by pass, whatever modinfo says they depend on.
extract_modules() {
  local pending=("${WANT_MODULES[@]}") seen=" " m p dep paths
  while [ "${#pending[@]}" -gt 0 ]; do
    paths=()
    for m in "${pending[@]}"; do
      p=$(module_path "$m")
      [ -n "$p" ] || { log "module $m not in $KPKG"; exit 1; }
      paths+=("$p")
    done
    dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK/x" "${paths[@]}"
    local next=()
    for p in "${paths[@]}"; do
      for dep in $("$MODINFO" -F depends "$WORK/x/$p" | tr ',' ' '); do
        case "$seen" in *" $dep "*) continue ;; esac
        seen+="$dep "
        next+=("$dep")
      done
    done
    for m in "${pending[@]}"; do seen+="$m "; done
    pending=()
    for dep in "${next[@]:-}"; do
      [ -n "$dep" ] || continue
      if [ -z "$(find "$WORK/x" -name "${dep//[-_]/?}.ko*" | head -n1)" ]; then pending+=("$dep"); fi
    done
  done
}

# Decompresses every extracted module to $1/<name>.ko and writes $1/load-order
# (dependencies first, in WANT_MODULES order otherwise).
install_modules() {
  local dst=$1 f name loaded=" "
  mkdir -p "$dst"
  while IFS= read -r f; do
    name=$(basename "$f"); name=${name%%.ko*}
    case "$f" in
      *.xz) xz -dc "$f" >"$dst/$name.ko" ;;
      *.zst) zstd -dcq "$f" >"$dst/$name.ko" ;;
      *) cp "$f" "$dst/$name.ko" ;;
    esac
  done < <(find "$WORK/x" -name '*.ko*')
  : >"$dst/load-order"
  visit() {
    local n=$1 file dep
    for file in "$dst/$n.ko" "$dst/${n//-/_}.ko" "$dst/${n//_/-}.ko"; do
      [ -f "$file" ] && break
    done
    n=$(basename "$file" .ko)
    case "$loaded" in *" $n "*) return ;; esac
    loaded+="$n "
    for dep in $("$MODINFO" -F depends "$file" | tr ',' ' '); do visit "$dep"; done
    echo "$n" >>"$dst/load-order"
  }
  for f in "${WANT_MODULES[@]}"; do visit "$f"; done
}

fetch_kernel() {
  KPKG=$(resolve_kernel_pkg)
  [ -n "$KPKG" ] || missing "the kernel package behind linux-image-amd64 (bookworm-backports)"
  log "fetching $KPKG"
  WORK=$(mktemp -d "$DIR/kernel.tmp.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/x"
  (cd "$WORK" && apt-get download "$KPKG" >/dev/null 2>"$WORK/apt.err") ||
    { cat "$WORK/apt.err" >&2; missing "apt-get download $KPKG failed (network or apt sources)"; }
  DEB=$(ls "$WORK"/*.deb)
  dpkg-deb --fsys-tarfile "$DEB" | tar -t >"$WORK/list"
  local vmlinuz
  vmlinuz=$(grep -E '^\./boot/vmlinuz-' "$WORK/list" | head -n1)
  [ -n "$vmlinuz" ] || { log "no vmlinuz in $KPKG"; exit 1; }
  dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK/x" "$vmlinuz"
  mkdir -p "$WORK/kernel"
  mv "$WORK/x/$vmlinuz" "$WORK/kernel/vmlinuz"
  extract_modules
  install_modules "$WORK/kernel/modules"
  echo "$KPKG" >"$WORK/kernel/package"
  rm -rf "$DIR/kernel"
  mv "$WORK/kernel" "$DIR/kernel"
  rm -rf "$WORK"
  trap - EXIT
  log "kernel ready: $(cat "$DIR/kernel/package"), modules: $(tr '\n' ' ' <"$DIR/kernel/modules/load-order")"
}

# --- initramfs ------------------------------------------------------------------------

# Copies binary $1 into root $2 at the same path, with the shared libraries it needs.
copy_with_libs() {
  local bin=$1 root=$2 lib
  install -D -m 0755 "$bin" "$root$bin"
  for lib in $(ldd "$bin" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
    [ -f "$lib" ] || continue
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# The ALSA selftests (tools/testing/selftests/alsa of the kernel source, only
# that folder and the kselftest headers), built against alsa-lib into root $1.
build_selftests() {
  local root=$1 src="$DIR/selftests.tmp" t d
  rm -rf "$src"
  mkdir -p "$src"
  tar -xJf "$SELFTEST_TAR" -C "$src" --strip-components=1 --wildcards \
    '*/tools/testing/selftests/alsa/*' '*/tools/testing/selftests/kselftest*.h'
  d="$src/tools/testing/selftests/alsa"
  mkdir -p "$root/selftests/conf.d"
  for t in "${SELFTESTS[@]}"; do
    # shellcheck disable=SC2046
    gcc -O2 -w -I"$d/.." -o "$src/$t" "$d/$t.c" "$d/conf.c" $(pkg-config --cflags --libs alsa) \
      -lpthread
    install -m 0755 "$src/$t" "$root/selftests/$t"
    copy_with_libs "$src/$t" "$root.libs"
  done
  cp "$d/pcm-test.conf" "$root/selftests/"
  cp "$d"/conf.d/*.conf "$root/selftests/conf.d/"
  cp -a "$root.libs/usr" "$root/" 2>/dev/null || true
  cp -a "$root.libs/lib" "$root/" 2>/dev/null || true
  rm -rf "$src" "$root.libs"
}

input_hash() {
  {
    cat "${BASH_SOURCE[0]}" "$HERE/init" "$HERE/vsnd-guest.sh" "$HERE"/tests/*.sh
    cat "$DIR/kernel/package"
    dpkg-query -W -f='${Package} ${Version}\n' busybox-static alsa-utils libasound2 \
      libasound2-data libc6 sox linux-source-6.12 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

build_initramfs() {
  local root="$DIR/root.tmp" t
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,in,out,tests,share,lib/modules/vsnd}
  install -m 0755 "$BUSYBOX" "$root/bin/busybox"
  for t in $("$BUSYBOX" --list); do
    [ "$t" = busybox ] || ln -sf busybox "$root/bin/$t"
  done
  for t in "${TOOLS[@]}"; do copy_with_libs "$(command -v "$t")" "$root"; done
  build_selftests "$root"
  mkdir -p "$root/usr/share"
  cp -a /usr/share/alsa "$root/usr/share/alsa"
  cp "$DIR/kernel/modules/"*.ko "$DIR/kernel/modules/load-order" "$root/lib/modules/vsnd/"
  install -m 0755 "$HERE/init" "$root/init"
  install -m 0644 "$HERE/vsnd-guest.sh" "$root/lib/vsnd-guest.sh"
  install -m 0755 "$HERE"/tests/*.sh "$root/tests/"
  mkdir -p "$DIR/share"
  sox -R -D -n "${DEMO_TONE_ARGS[@]}" -t raw "$DIR/share/demo-tone.raw" \
    synth 12 sine 440 gain -6
  printf 'S16_LE 48000 2\n' >"$DIR/share/demo-tone.fmt"
  cp "$DIR/share/demo-tone.raw" "$DIR/share/demo-tone.fmt" "$root/share/"
  # Uncompressed: the kernel unpacks it faster than it would gunzip it under TCG.
  (cd "$root" && find . -print0 | LC_ALL=C sort -z |
     cpio --null -o -H newc -R 0:0 --quiet) >"$DIR/initramfs.cpio.tmp"
  mv "$DIR/initramfs.cpio.tmp" "$DIR/initramfs.cpio"
  ln -sf kernel/vmlinuz "$DIR/vmlinuz"
  rm -rf "$root"
}

main() {
  check_prereqs
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock 9   # the e2e tests and the demo may start builds at the same time
  if [ ! -f "$DIR/kernel/package" ] || [ "${VSND_GUEST_REFRESH:-0}" = 1 ]; then
    fetch_kernel
  fi
  local h
  h=$(input_hash)
  if [ "$FORCE" = 1 ] || [ ! -f "$DIR/initramfs.cpio" ] || [ ! -e "$DIR/vmlinuz" ] ||
     [ "$(cat "$DIR/stamp" 2>/dev/null)" != "$h" ]; then
    log "building initramfs"
    build_initramfs
    echo "$h" >"$DIR/stamp"
    log "initramfs ready: $(du -h "$DIR/initramfs.cpio" | cut -f1)"
  fi
  echo "$DIR"
}

main
