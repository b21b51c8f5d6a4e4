#!/usr/bin/env bash
# Builds the Linux guest used by the vsnd end-to-end tests and the demo:
#   <dir>/vmlinuz          the flavor's kernel (below)
#   <dir>/initramfs.cpio   busybox + aplay/arecord/amixer/speaker-test + ALSA config,
#                          the sound and virtio_blk modules, /init and the guest scripts
#   <dir>/share/           files baked into the image that the host also needs
#                          (the demo tone the guest plays, to compare with what vsnd wrote)
#   /selftests in the image: the kernel's own ALSA selftests (pcm-test, mixer-test
#                          and their conf.d), built from Debian's linux-source-6.12
# Flavors (--flavor or $VSND_GUEST_FLAVOR):
#   6.12 (default)  x86_64, bookworm-backports' kernel, virtio_snd a module of it
#   6.1             x86_64, bookworm's stock kernel; Debian builds it without
#                   CONFIG_SND_VIRTIO, so virtio_snd is built from linux-source-6.1
#                   against the installed linux-headers-6.1.0-N-amd64 (same N)
#   i386            32-bit: a kernel built from linux-source-6.12 with i386.config
#                   (Debian has no 32-bit kernel with virtio_snd's controls) and
#                   bookworm's i386 busybox and alsa-utils; no selftests
# <dir> is $VSND_GUEST_DIR, else $XDG_CACHE_HOME/vsnd-guest, else ~/.cache/vsnd-guest,
# with -6.1 or -i386 appended for those flavors: outside git, because the kernel
# package is ~100 MB.
#
# Idempotent: the kernel is fetched once (delete <dir>/kernel or set
# VSND_GUEST_REFRESH=1 to fetch the newest again); the initramfs is rebuilt only
# when this directory's files or the host tools it copies change.
#
# Options: --flavor 6.12|6.1|i386, --print-dir (print <dir> and exit),
# --force (rebuild the initramfs).
# Exit status: 0 built or up to date; 77 a prerequisite is missing (the e2e
# tests turn that into a skip); anything else is a real failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Load order matters: busybox insmod does not resolve dependencies. Anything these
# need is found with modinfo and loaded first.
WANT_MODULES=(soundcore snd snd-timer snd-pcm virtio_snd virtio_blk)
TOOLS=(/usr/bin/aplay /usr/bin/arecord /usr/bin/amixer /usr/bin/speaker-test)
# alsabat measures the round trip an application hears (bench/); not in the
# i386 image, whose user space would need its FFT library too.
NATIVE_TOOLS=(/usr/bin/alsabat)
# Debian's 6.12 kernel source: the kernel's ALSA selftests are built from its
# folder, and the i386 kernel from all of it.
LINUX_612_TAR=/usr/src/linux-source-6.12.tar.xz
SELFTESTS=(pcm-test mixer-test)
# Our own guest tools (tools/*.c, against alsa-lib; not in the i386 image):
# pcmclock logs the card's clock as a guest application sees it (bench/).
GUEST_TOOLS=(pcmclock)
# The demo tone: 12 s, 440 Hz, S16_LE 48 kHz stereo, raw (the demo's stream format).
DEMO_TONE_ARGS=(-r 48000 -c 2 -b 16 -e signed-integer)

log() { echo "build-guest: $*" >&2; }
missing() { log "missing prerequisite: $*"; exit 77; }

FORCE=0
PRINT_DIR=0
FLAVOR=${VSND_GUEST_FLAVOR:-6.12}
while [ $# -gt 0 ]; do
  case "$1" in
    --flavor) FLAVOR=${2:-}; shift ;;
    --flavor=*) FLAVOR=${1#*=} ;;
    --print-dir) PRINT_DIR=1 ;;
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,29p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) log "unknown option $1"; exit 2 ;;
  esac
  shift
done
DIR=${VSND_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vsnd-guest}
SYSROOT=             # i386: the unpacked i386 packages the user space comes from
SELFTESTS_WANTED=1
case "$FLAVOR" in
  6.12) ;;
  6.1)
    DIR+=-6.1
    # Debian's 6.1 has virtio and virtio-pci as modules too (6.12 builds them in).
    WANT_MODULES=(virtio_pci "${WANT_MODULES[@]}")
    LINUX_61_TAR=/usr/src/linux-source-6.1.tar.xz ;;
  i386)
    DIR+=-i386
    SYSROOT=$DIR/userland/root
    # alsa-utils' other libraries are for alsamixer and alsabat, not these tools.
    I386_PKGS=(busybox-static alsa-utils libasound2 libc6 libgcc-s1)
    I386_CONFIG=$HERE/i386.config
    # The i386 user space would need its own alsa-lib to build against.
    SELFTESTS_WANTED=0 ;;
  *) log "unknown flavor $FLAVOR (6.12, 6.1 or i386)"; exit 2 ;;
esac
[ "$PRINT_DIR" = 0 ] || { echo "$DIR"; exit 0; }

MODINFO=$(command -v modinfo || echo /sbin/modinfo)
check_prereqs() {
  local t
  for t in apt-get apt-cache dpkg-deb dpkg-query tar cpio xz sox ldd sha256sum flock; do
    command -v "$t" >/dev/null || missing "$t (run scripts/install-deps.sh)"
  done
  [ -x "$MODINFO" ] || missing "modinfo (package kmod)"
  for t in "${TOOLS[@]}" "${NATIVE_TOOLS[@]}"; do
    [ -x "$t" ] || missing "$t (package alsa-utils)"
  done
  BUSYBOX=$(command -v busybox || true)
  [ -n "$BUSYBOX" ] || missing "busybox (package busybox-static)"
  GUEST_BUSYBOX=$BUSYBOX
  [ -z "$SYSROOT" ] || GUEST_BUSYBOX=$SYSROOT/bin/busybox
  # A dynamic busybox would need its own libraries; the static one is self-contained.
  if ldd "$BUSYBOX" >/dev/null 2>&1; then missing "a static busybox (package busybox-static)"; fi
  [ -d /usr/share/alsa ] || missing "/usr/share/alsa (package alsa-utils)"
  if [ "$SELFTESTS_WANTED" = 1 ]; then
    [ -f "$LINUX_612_TAR" ] || missing "$LINUX_612_TAR (package linux-source-6.12)"
    pkg-config --exists alsa || missing "alsa-lib's headers (package libasound2-dev)"
  fi
  case "$FLAVOR" in
    6.1)
      [ -f "$LINUX_61_TAR" ] || missing "$LINUX_61_TAR (package linux-source-6.1)"
      command -v make >/dev/null || missing "make (run scripts/install-deps.sh)" ;;
    i386)
      [ -f "$LINUX_612_TAR" ] || missing "$LINUX_612_TAR (package linux-source-6.12)"
      for t in make gcc flex bison bc readelf; do
        command -v "$t" >/dev/null || missing "$t (run scripts/install-deps.sh)"
      done
      dpkg --print-foreign-architectures | grep -x i386 >/dev/null ||
        missing "the i386 package lists (run scripts/install-deps.sh)" ;;
  esac
}

# --- kernel ---------------------------------------------------------------------------

resolve_kernel_pkg() {
  if [ -n "${VSND_GUEST_KERNEL_PKG:-}" ]; then echo "$VSND_GUEST_KERNEL_PKG"; return; fi
  local ver
  if [ "$FLAVOR" = 6.1 ]; then
    # The image whose ABI (N) matches the newest installed headers: the module
    # built against them loads into that kernel only.
    ver=$(dpkg-query -W -f='${Status} ${Package}\n' 'linux-headers-6.1.0-*-amd64' 2>/dev/null |
          awk '$3 == "installed" { print $4 }' | sort -V | tail -n1)
    [ -n "$ver" ] || missing "linux-headers-6.1.0-N-amd64 (run scripts/install-deps.sh)"
    echo "linux-image-${ver#linux-headers-}"
    return
  fi
  ver=$(apt-cache madison linux-image-amd64 2>/dev/null |
        awk -F'|' '!v && $3 ~ /bookworm-backports/ { gsub(/ /, "", $2); v = $2 }
                   END { if (v) print v }')
  [ -n "$ver" ] || missing "linux-image-amd64 from bookworm-backports (run scripts/install-deps.sh)"
  apt-cache depends "linux-image-amd64=$ver" 2>/dev/null |
    awk '!v && $1 == "Depends:" && $2 ~ /^linux-image-/ { v = $2 } END { if (v) print v }'
}

# Prints the archive path of module $1 (dashes and underscores are interchangeable).
module_path() {
  local alt=${1//-/_} alt2=${1//_/-}
  grep -m1 -E "/(${alt}|${alt2})\.ko(\.xz|\.zst)?$" "$WORK/list"
}

# Extracts the wanted modules and, pass by pass, whatever modinfo says they depend on
# (6.1: all but virtio_snd, which build_virtio_snd adds; the others bring its
# dependencies).
extract_modules() {
  local pending=("${WANT_MODULES[@]}") seen=" " m p dep paths
  [ "$FLAVOR" != 6.1 ] || pending=("${pending[@]/virtio_snd/}")
  while [ "${#pending[@]}" -gt 0 ]; do
    paths=()
    for m in "${pending[@]}"; do
      [ -n "$m" ] || continue
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
      if [ -z "$(find "$WORK/x" -name "${dep//[-_]/?}.ko*" -print -quit)" ]; then pending+=("$dep"); fi
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
  vmlinuz=$(grep -m1 -E '^\./boot/vmlinuz-' "$WORK/list")
  [ -n "$vmlinuz" ] || { log "no vmlinuz in $KPKG"; exit 1; }
  dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK/x" "$vmlinuz"
  mkdir -p "$WORK/kernel"
  mv "$WORK/x/$vmlinuz" "$WORK/kernel/vmlinuz"
  extract_modules
  local extra=
  if [ "$FLAVOR" = 6.1 ]; then
    build_virtio_snd
    extra=", virtio_snd from linux-source-6.1 $(dpkg-query -W -f='${Version}' linux-source-6.1)"
  fi
  install_modules "$WORK/kernel/modules"
  echo "$KPKG $(dpkg-deb -f "$DEB" Version)$extra" >"$WORK/kernel/package"
  rm -rf "$DIR/kernel"
  mv "$WORK/kernel" "$DIR/kernel"
  rm -rf "$WORK"
  trap - EXIT
  log "kernel ready: $(cat "$DIR/kernel/package"), modules: $(tr '\n' ' ' <"$DIR/kernel/modules/load-order")"
}

# 6.1: virtio_snd from sound/virtio of linux-source-6.1, built out of tree with the
# image's own headers (same ABI N, so its symbol versions match the image).
build_virtio_snd() {
  local kver=${KPKG#linux-image-} src="$WORK/virtio_snd"
  local hdr=/usr/src/linux-headers-$kver
  [ -d "$hdr" ] || missing "$hdr (package linux-headers-$kver)"
  mkdir -p "$src" "$WORK/x/built"
  tar -xJf "$LINUX_61_TAR" -C "$src" --strip-components=3 --wildcards '*/sound/virtio/*'
  make -C "$hdr" M="$src" CONFIG_SND_VIRTIO=m modules >"$WORK/kbuild.log" 2>&1 ||
    { tail -n 30 "$WORK/kbuild.log" >&2; log "building virtio_snd against $hdr failed"; exit 1; }
  cp "$src/virtio_snd.ko" "$WORK/x/built/"
}

# i386: what the kernel is built from; a different key rebuilds it.
i386_kernel_key() {
  echo "linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12) i386" \
    "config $(sha256sum <"$I386_CONFIG" | cut -c1-12)"
}

# i386: a kernel from linux-source-6.12 with i386.config, everything built in.
build_kernel_i386() {
  local src b line bad=0
  log "building the i386 kernel from linux-source-6.12 (a few minutes, once)"
  WORK=$(mktemp -d "$DIR/kernel.tmp.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  src="$WORK/linux" b="$WORK/build"
  mkdir -p "$src" "$WORK/kernel/modules"
  tar -xJf "$LINUX_612_TAR" -C "$src" --strip-components=1
  local kmake=(make -s -C "$src" O="$b" ARCH=i386)
  "${kmake[@]}" KCONFIG_ALLCONFIG="$I386_CONFIG" allnoconfig >"$WORK/kbuild.log" 2>&1
  "${kmake[@]}" olddefconfig >>"$WORK/kbuild.log" 2>&1
  # A symbol whose dependencies are missing is silently dropped: say which.
  while IFS= read -r line; do
    case "$line" in
      CONFIG_*) grep -qxF "$line" "$b/.config" || { log "i386.config: $line not set"; bad=1; } ;;
    esac
  done <"$I386_CONFIG"
  [ "$bad" = 0 ] || exit 1
  "${kmake[@]}" -j"$(nproc)" bzImage >>"$WORK/kbuild.log" 2>&1 ||
    { tail -n 30 "$WORK/kbuild.log" >&2; log "the i386 kernel build failed"; exit 1; }
  cp "$b/arch/x86/boot/bzImage" "$WORK/kernel/vmlinuz"
  cp "$b/.config" "$WORK/kernel/config"
  : >"$WORK/kernel/modules/load-order"
  i386_kernel_key >"$WORK/kernel/package"
  rm -rf "$DIR/kernel"
  mv "$WORK/kernel" "$DIR/kernel"
  rm -rf "$WORK"
  trap - EXIT
  log "kernel ready: $(cat "$DIR/kernel/package")"
}

# i386: the packages of the user space, unpacked into $SYSROOT.
fetch_userland_i386() {
  local work p
  log "fetching ${I386_PKGS[*]} (i386)"
  work=$(mktemp -d "$DIR/userland.tmp.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download "${I386_PKGS[@]/%/:i386}" >/dev/null 2>"$work/apt.err") ||
    { cat "$work/apt.err" >&2; missing "apt-get download of the i386 packages failed"; }
  mkdir -p "$work/userland/root"
  for p in "$work"/*.deb; do
    dpkg-deb -x "$p" "$work/userland/root"
    echo "$(dpkg-deb -f "$p" Package) $(dpkg-deb -f "$p" Version)" >>"$work/userland/packages"
  done
  rm -rf "$DIR/userland"
  mv "$work/userland" "$DIR/userland"
  rm -rf "$work"
  trap - EXIT
}

# --- initramfs ------------------------------------------------------------------------

# Copies binary $1 into root $2 at the same path, with the shared libraries it needs.
copy_with_libs() {
  local bin=$1 root=$2 lib
  if [ -n "$SYSROOT" ]; then copy_from_sysroot "$bin" "$root"; return; fi
  install -D -m 0755 "$bin" "$root$bin"
  for lib in $(ldd "$bin" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
    [ -f "$lib" ] || continue
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# Copies binary $1 of $SYSROOT into root $2 with its ELF interpreter and the
# libraries it needs, found in $SYSROOT: ldd cannot run a foreign binary.
copy_from_sysroot() {
  local root=$2 todo=("$1") f n d found
  while [ "${#todo[@]}" -gt 0 ]; do
    f=${todo[0]}
    todo=("${todo[@]:1}")
    [ -e "$root$f" ] && continue
    install -D -m 0755 "$(readlink -f "$SYSROOT$f")" "$root$f"
    n=$(readelf -l "$SYSROOT$f" | sed -n 's/.*interpreter: \(.*\)]$/\1/p')
    [ -z "$n" ] || todo+=("$n")
    for n in $(readelf -d "$SYSROOT$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
      found=
      for d in /lib/i386-linux-gnu /usr/lib/i386-linux-gnu /lib /usr/lib; do
        [ -e "$SYSROOT$d/$n" ] && { found=$d/$n; break; }
      done
      [ -n "$found" ] || { log "$n (needed by $f) is in none of ${I386_PKGS[*]}"; exit 1; }
      todo+=("$found")
    done
  done
}

# The ALSA selftests (tools/testing/selftests/alsa of the kernel source, only
# that folder and the kselftest headers), built against alsa-lib into root $1.
build_selftests() {
  local root=$1 src="$DIR/selftests.tmp" t d
  rm -rf "$src"
  mkdir -p "$src"
  tar -xJf "$LINUX_612_TAR" -C "$src" --strip-components=1 --wildcards \
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

# Our guest tools, built against alsa-lib into root $1 (/usr/bin).
build_tools() {
  local root=$1 t
  for t in "${GUEST_TOOLS[@]}"; do
    # shellcheck disable=SC2046
    gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$DIR/$t.tmp" "$HERE/tools/$t.c" \
      $(pkg-config --cflags --libs alsa)
    install -D -m 0755 "$DIR/$t.tmp" "$root/usr/bin/$t"
    rm -f "$DIR/$t.tmp"
  done
}

input_hash() {
  {
    cat "${BASH_SOURCE[0]}" "$HERE/init" "$HERE/vsnd-guest.sh" "$HERE"/tests/*.sh "$HERE"/tools/*.c
    cat "$DIR/kernel/package" "$DIR/userland/packages" 2>/dev/null
    dpkg-query -W -f='${Package} ${Version}\n' busybox-static alsa-utils libasound2 \
      libasound2-data libc6 sox linux-source-6.12 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

build_initramfs() {
  local root="$DIR/root.tmp" t
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,in,out,tests,share,lib/modules/vsnd}
  # The applet list is the host's: the same busybox-static version.
  install -m 0755 "$GUEST_BUSYBOX" "$root/bin/busybox"
  for t in $("$BUSYBOX" --list); do
    [ "$t" = busybox ] || ln -sf busybox "$root/bin/$t"
  done
  for t in "${TOOLS[@]}"; do copy_with_libs "$t" "$root"; done
  if [ -z "$SYSROOT" ]; then
    for t in "${NATIVE_TOOLS[@]}"; do copy_with_libs "$t" "$root"; done
    # alsabat's threads end with pthread_exit, which loads libgcc_s at run time.
    # (awk reads to the end: one that exits early can kill ldconfig with
    # SIGPIPE, which pipefail turns into this script's exit 141)
    t=$(ldconfig -p | awk '!t && /libgcc_s\.so\.1 .*x86-64/ { t = $NF } END { print t }')
    [ -n "$t" ] || missing "libgcc_s.so.1 (package libgcc-s1)"
    install -D -m 0644 "$(readlink -f "$t")" "$root$t"
  fi
  [ "$SELFTESTS_WANTED" = 0 ] || build_selftests "$root"
  [ "$SELFTESTS_WANTED" = 0 ] || build_tools "$root"
  mkdir -p "$root/usr/share"
  cp -a /usr/share/alsa "$root/usr/share/alsa"
  cp "$DIR/kernel/modules/"* "$root/lib/modules/vsnd/"   # i386: only an empty load-order
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
  if [ "$FLAVOR" = i386 ]; then
    if [ "$(cat "$DIR/kernel/package" 2>/dev/null)" != "$(i386_kernel_key)" ]; then
      build_kernel_i386
    fi
    if [ ! -f "$DIR/userland/packages" ] || [ "${VSND_GUEST_REFRESH:-0}" = 1 ]; then
      fetch_userland_i386
    fi
  elif [ ! -f "$DIR/kernel/package" ] || [ "${VSND_GUEST_REFRESH:-0}" = 1 ]; then
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
