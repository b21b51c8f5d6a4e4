#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build semu (an RV32 system emulator) with its virtio-snd device replaced
# by libvsnd (semu.patch + vsnd-semu.c), or with --seed its own device.
#
#   integrations/semu/build.sh [--seed] [SEMU_SRC]
#
# SEMU_SRC is a semu tarball or checkout (default: the repository's
# ../shared/third_party/semu-fd08129.tar.gz). It is copied, never modified.
# libvsnd: an installed one when PKG_CONFIG_PATH finds it, else this
# repository's own build in build-semu/ (configured and compiled if needed).
# The last two lines on stdout are the semu binary and its minimal.dtb.
#
# Environment: VSND_MESON_BUILD (default REPO/build-semu), SEMU_OUT (default
# VSND_MESON_BUILD/semu, or semu-seed), SEMU_MAKE_FLAGS (extra make arguments).
# Quiet: each step logs to SEMU_OUT.log, whose tail is printed on failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
seed=0
src=
for arg in "$@"; do
	case $arg in
	--seed) seed=1 ;;
	-h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "build.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
	*) [ -z "$src" ] || { echo "build.sh: one SEMU_SRC only" >&2; exit 2; }; src=$arg ;;
	esac
done

tarball=$repo/../shared/third_party/semu-fd08129.tar.gz
if [ -z "$src" ]; then
	[ -f "$tarball" ] || {
		echo "build.sh: no semu source: $tarball is missing; pass a semu tarball or checkout" >&2
		exit 1
	}
	src=$tarball
fi
[ -e "$src" ] || { echo "build.sh: $src: no such file or directory" >&2; exit 1; }
src=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")

meson_build=${VSND_MESON_BUILD:-$repo/build-semu}
if [ "$seed" = 1 ]; then out=${SEMU_OUT:-$meson_build/semu-seed}; else out=${SEMU_OUT:-$meson_build/semu}; fi
mkdir -p "$(dirname "$out")"
log=$out.log
: >"$log"

fail() {
	echo "build.sh: $1 failed; the end of $log:" >&2
	tail -n 30 "$log" >&2
	exit 1
}
need() {
	command -v "$1" >/dev/null 2>&1 || { echo "build.sh: $1 not found (install $2)" >&2; exit 1; }
}
need make make
need patch patch
need dtc device-tree-compiler
need pkg-config pkg-config
need python3 python3

# One build of a tree at a time (tests may run this in parallel).
exec 9>"$out.lock"
flock 9

# ---- libvsnd ----------------------------------------------------------------
make_vsnd=
if [ "$seed" = 1 ]; then
	pkg-config --exists portaudio-2.0 ||
		{ echo "build.sh: --seed needs PortAudio (apt install portaudio19-dev)" >&2; exit 1; }
elif [ -n "${PKG_CONFIG_PATH:-}" ] && pkg-config --exists libvsnd; then
	echo "libvsnd: installed, $(pkg-config --variable=prefix libvsnd)" >>"$log"
else
	need meson meson
	need ninja ninja-build
	if [ ! -f "$meson_build/build.ninja" ]; then
		meson setup "$meson_build" "$repo" -Dtests=false -De2e=disabled -Dman=disabled \
			>>"$log" 2>&1 || fail "meson setup"
	fi
	meson compile -C "$meson_build" >>"$log" 2>&1 || fail "meson compile (libvsnd)"
	pc_dir=$meson_build/meson-uninstalled
	# Meson's uninstalled .pc names the source and build roots, not the
	# include/ directories below them: name those here.
	make_vsnd="VSND_CFLAGS=-I$repo/include -I$meson_build/include
VSND_LIBS=$(PKG_CONFIG_PATH=$pc_dir pkg-config --libs libvsnd-uninstalled)"
fi

# ---- the semu tree ------------------------------------------------------------
if [ -d "$src" ]; then
	# metadata of the checkout's files, cheap to compute
	what=$(cd "$src" && find . -path ./.git -prune -o -type f -printf '%P %s %T@\n' | sort | sha256sum)
else
	what=$(sha256sum <"$src")
fi
if [ "$seed" = 1 ]; then patchfile=$here/seed.patch; else patchfile=$here/semu.patch; fi
stamp=$(printf '%s\n%s\n%s\n' "$src" "$what" "$(sha256sum <"$patchfile")" | sha256sum | cut -c1-64)
if [ "$(cat "$out/.vsnd-stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$out"
	mkdir -p "$out"
	if [ -d "$src" ]; then
		cp -a "$src/." "$out/" || fail "copying $src"
	else
		tar -xzf "$src" -C "$out" --strip-components=1 >>"$log" 2>&1 || fail "unpacking $src"
	fi
	if [ ! -f "$out/main.c" ] || [ ! -f "$out/Makefile" ]; then
		echo "build.sh: $src does not look like semu" >&2
		exit 1
	fi
	(cd "$out" && patch -p1 --forward <"$patchfile") >>"$log" 2>&1 ||
		fail "applying $(basename "$patchfile") (made for semu fd08129)"
	echo "$stamp" >"$out/.vsnd-stamp"
fi

# ---- semu ---------------------------------------------------------------------
jobs=$(nproc 2>/dev/null || echo 2)
# SEMU_MAKE_FLAGS and the libvsnd flags may hold spaces: pass them line by line.
set -- ENABLE_VIRTIOSND=1 ENABLE_VIRTIONET=0 ENABLE_SDL=0 ENABLE_EXTERNAL_ROOT=0
if [ "$seed" = 0 ]; then
	set -- "$@" "VSND_SEMU_DIR=$here"
	if [ -n "$make_vsnd" ]; then
		old_ifs=$IFS
		IFS='
'
		# shellcheck disable=SC2086
		set -- "$@" $make_vsnd
		IFS=$old_ifs
	fi
fi
# shellcheck disable=SC2086
make -C "$out" -j"$jobs" "$@" ${SEMU_MAKE_FLAGS:-} semu minimal.dtb >>"$log" 2>&1 || fail "make (semu)"
if [ ! -x "$out/semu" ] || [ ! -f "$out/minimal.dtb" ]; then fail "make (semu)"; fi
echo "$out/semu"
echo "$out/minimal.dtb"
