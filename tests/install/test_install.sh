#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a packager does: `meson install` into a temporary DESTDIR, then use
# only what was installed. The installed vsnd runs (--version, --help, and a
# frontend over socket activation); a program built with the installed
# pkg-config file, headers and library (shared, then static) runs; the man
# page and the systemd units are there and name the installed binary.
# libvsnd is sealed (issue 14): exactly the public headers are installed,
# the .so has its soname and exports what they declare (tests/abi), and an
# embedder's program with functions of the same names as libvsnd's internal
# ones (tests/install/clash.c) links and runs, shared and static.
# With --e2e, the installed vsnd also serves a real guest (tests/e2e).
#
# Usage: test_install.sh [--e2e] BUILD_DIR SOURCE_DIR CC PREFIX BINDIR LIBDIR
#        INCLUDEDIR MANDIR UNITDIR VERSION LIBVERSION
set -u

E2E=0
if [ "${1:-}" = --e2e ]; then E2E=1; shift; fi
BUILD=$(realpath "$1") SRC=$(realpath "$2") CC=$3 PREFIX=$4
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PREFIX/$1" ;; esac; }
BINDIR=$(abs "$5") LIBDIR=$(abs "$6") INCLUDEDIR=$(abs "$7") MANDIR=$(abs "$8")
UNITDIR=$9 VERSION=${10} LIBVERSION=${11}
# The public headers, exactly (sorted): vsnd/virtio_snd.h is internal (its
# VIRTIO_SND_* clash with <linux/virtio_snd.h>), vsnd/version.h generated.
PUBLIC_HEADERS="backend.h mmio.h pcm.h ring.h version.h vsnd.h"
# libvsnd.so's soname: the library version's major part (meson.build
# moves both together on an incompatible change).
SONAME=libvsnd.so.${LIBVERSION%%.*}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
D=$TMP/dest
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
# build OUT WHAT CC-ARGS...: compile OUT; pass, or fail with the compiler's
# messages. The status says whether there is something to run.
build() {
	local out=$1 what=$2
	shift 2
	if "$CC" -o "$out" "$@" 2>"$TMP/cc.log"; then pass "$what"; return 0; fi
	cat "$TMP/cc.log"
	fail "$what"
	return 1
}
CLASH="an embedder with its own iov_size, iov_memset, ring_init, log_msg"

if ! meson install -C "$BUILD" --destdir "$D" --no-rebuild --quiet >"$TMP/install.log" 2>&1; then
	cat "$TMP/install.log"
	echo "FAIL: meson install --destdir"
	exit 1
fi
pass "meson install --destdir $D"

# ---- what was installed ----------------------------------------------------
check "vsnd installed in $BINDIR" test -x "$D$BINDIR/vsnd"
for prog in src/ctl/vsnd-ctl src/drive/vsnd-drive; do
	if [ -x "$BUILD/$prog" ]; then
		check "${prog##*/} installed in $BINDIR" test -x "$D$BINDIR/${prog##*/}"
	fi
done
check "libvsnd shared library installed" test -e "$D$LIBDIR/libvsnd.so.$LIBVERSION"
check "libvsnd.so link for -lvsnd" test -L "$D$LIBDIR/libvsnd.so"
check "libvsnd static library installed" test -f "$D$LIBDIR/libvsnd.a"
check "libvsnd.so has the soname $SONAME" test \
	"$(readelf -d "$D$LIBDIR/libvsnd.so" 2>&1 | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" = "$SONAME"
check "$SONAME link installed" test -L "$D$LIBDIR/$SONAME"
for h in $PUBLIC_HEADERS; do
	check "header vsnd/$h installed" test -f "$D$INCLUDEDIR/vsnd/$h"
done
check "vsnd/virtio_snd.h not installed (it clashes with <linux/virtio_snd.h>)" \
	test ! -e "$D$INCLUDEDIR/vsnd/virtio_snd.h"
headers=$(cd "$D$INCLUDEDIR/vsnd" 2>/dev/null && export LC_ALL=C && echo *)
check "only the public headers in $INCLUDEDIR/vsnd ($headers)" test "$headers" = "$PUBLIC_HEADERS"
# the version nodes the map declares (VSND_1, VSND_1.1, ...)
nodes=$(sed -n 's/^\(VSND_[0-9.]*\) {.*/--version-node \1/p' "$SRC/src/libvsnd.map")
# shellcheck disable=SC2086 # one word per option
if python3 "$SRC/tests/abi/check_symbols.py" "$D$LIBDIR/libvsnd.so" "$D$LIBDIR/libvsnd.a" \
	"$D$INCLUDEDIR" "$CC" $nodes >"$TMP/symbols.log" 2>&1; then
	pass "the installed libvsnd exports what the installed headers declare ($(tail -n 1 "$TMP/symbols.log" | sed "s/^ok: //"))"
else
	# the findings without the names (meson test --suite abi lists them)
	grep -v '^    ' "$TMP/symbols.log" | sed 's/^/    /'
	fail "the installed libvsnd exports what the installed headers declare (tests/abi/check_symbols.py)"
fi
check "pkg-config file installed" test -f "$D$LIBDIR/pkgconfig/libvsnd.pc"

# ---- the installed vsnd, with nothing from the build tree ------------------
export LD_LIBRARY_PATH="$D$LIBDIR"
VSND="$D$BINDIR/vsnd"
check "installed vsnd finds the installed libvsnd" \
	bash -c "ldd '$VSND' | grep -q '$D$LIBDIR/libvsnd.so'"
check "installed vsnd does not use the build tree" \
	bash -c "! ldd '$VSND' | grep -q '$BUILD'"
out=$("$VSND" --version 2>&1)
check "installed vsnd --version says $VERSION ($out)" test "$out" = "vsnd $VERSION"
"$VSND" --help >"$TMP/help" 2>&1
check "installed vsnd --help lists --socket-fd and the null backend" \
	bash -c "grep -q -- --socket-fd '$TMP/help' && grep -q '^  null ' '$TMP/help'"
check "installed vsnd serves a frontend through socket activation" \
	python3 "$SRC/tests/install/test_activation.py" --only-activation "$VSND"

# ---- a program built from the installed pkg-config file --------------------
# clash_runs PROGRAM HOW: tests/install/clash.c's own checks pass
clash_runs() {
	if env ${3:+-u LD_LIBRARY_PATH} "$1" >"$TMP/clash.out" 2>&1 &&
		tail -n 1 "$TMP/clash.out" | grep -qx 'clash ok'; then
		pass "$2: libvsnd leaves the program's iov_size, iov_memset, ring_init, log_msg alone"
	else
		sed 's/^/    /' "$TMP/clash.out"
		fail "$2: libvsnd leaves the program's iov_size, iov_memset, ring_init, log_msg alone"
	fi
}
CLASH_FLAGS="-std=c11 -Wall -Wextra -Werror -pedantic"
export PKG_CONFIG_PATH="$D$LIBDIR/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
check "pkg-config knows libvsnd $VERSION" \
	test "$(pkg-config --modversion libvsnd 2>&1)" = "$VERSION"
cflags=$(pkg-config --cflags libvsnd) libs=$(pkg-config --libs libvsnd)
check "pkg-config --cflags points into DESTDIR ($cflags)" \
	bash -c "[[ '$cflags' == *'-I$D$INCLUDEDIR'* ]]"
# shellcheck disable=SC2086
if build "$TMP/consumer" "a program compiles and links against the installed libvsnd ($libs)" \
	-std=c11 -Wall -Werror "$SRC/tests/install/consumer.c" $cflags $libs; then
	"$TMP/consumer" >"$TMP/consumer.out" 2>&1
	check "it runs and creates the null backend" \
		bash -c "grep -qx 'null 0' '$TMP/consumer.out' && grep -qx 'backend null' '$TMP/consumer.out' && grep -qx 'streams 2' '$TMP/consumer.out'"
	check "it uses the installed shared libvsnd" \
		bash -c "ldd '$TMP/consumer' | grep -q '$D$LIBDIR/libvsnd.so'"
fi
# An embedder with functions named like libvsnd's internal ones, and the
# Linux virtio UAPI headers before libvsnd's.
# shellcheck disable=SC2086
if build "$TMP/clash" "$CLASH links the shared libvsnd" \
	$CLASH_FLAGS "$SRC/tests/install/clash.c" $cflags $libs; then
	clash_runs "$TMP/clash" "shared libvsnd"
fi
# Static libvsnd, shared system libraries (what an emulator does: Debian's
# -dev packages do not carry every static dependency of libsndfile): the
# archive by name (next to the .so, -lvsnd would pick the .so), the
# Requires.private packages and libvsnd's own Libs.private.
# shellcheck disable=SC2046
slibs="$D$LIBDIR/libvsnd.a $(pkg-config --libs $(pkg-config --print-requires-private libvsnd)) \
$(sed -n 's/^Libs.private: //p' "$D$LIBDIR/pkgconfig/libvsnd.pc")"
# shellcheck disable=SC2086
if build "$TMP/consumer-static" "a program links the installed static libvsnd.a ($slibs)" \
	-std=c11 -Wall -Werror "$SRC/tests/install/consumer.c" $cflags $slibs; then
	check "the static program runs without libvsnd.so" bash -c \
		"env -u LD_LIBRARY_PATH '$TMP/consumer-static' | grep -qx 'null 0' && ! ldd '$TMP/consumer-static' | grep -q libvsnd"
fi
# shellcheck disable=SC2086
if build "$TMP/clash-static" "$CLASH links the static libvsnd.a" \
	$CLASH_FLAGS "$SRC/tests/install/clash.c" $cflags $slibs; then
	clash_runs "$TMP/clash-static" "static libvsnd.a" static
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# ---- man page and systemd units ---------------------------------------------
if [ -f "$BUILD/man/vsnd.1" ]; then
	for page in vsnd vsnd-ctl vsnd-drive; do
		check "$page(1) installed" test -f "$D$MANDIR/man1/$page.1"
	done
	check "vsnd(1) renders and documents --socket-fd" \
		bash -c "MANWIDTH=80 man -l '$D$MANDIR/man1/vsnd.1' 2>/dev/null | grep -q -- --socket-fd"
else
	echo "skip: man pages not built (scdoc missing; scripts/install-deps.sh installs it)"
fi
if [ "$UNITDIR" != no ]; then
	for u in vsnd@.socket vsnd@.service; do
		check "$u installed in $UNITDIR" test -f "$D$UNITDIR/$u"
	done
	check "vsnd@.service starts the installed vsnd" \
		grep -q "^ExecStart=$BINDIR/vsnd " "$D$UNITDIR/vsnd@.service"
	check "vsnd@.socket listens on /run/vsnd/%i.sock, mode 0600" bash -c \
		"grep -qx 'ListenStream=/run/vsnd/%i.sock' '$D$UNITDIR/vsnd@.socket' && grep -qx 'SocketMode=0600' '$D$UNITDIR/vsnd@.socket'"
	if command -v systemd-analyze >/dev/null; then
		# verify an instance against the DESTDIR tree, ExecStart included
		mkdir -p "$TMP/units"
		cp "$D$UNITDIR/vsnd@.socket" "$TMP/units/vsnd@vm1.socket"
		cp "$D$UNITDIR/vsnd@.service" "$TMP/units/vsnd@vm1.service"
		sed -i "s|^ExecStart=$BINDIR/vsnd|ExecStart=$VSND|" "$TMP/units/vsnd@vm1.service"
		if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
			"$TMP/units/vsnd@vm1.socket" "$TMP/units/vsnd@vm1.service" >"$TMP/verify.log" 2>&1 &&
			! grep -q "vsnd@" "$TMP/verify.log"; then
			pass "systemd-analyze verify accepts the units"
		else
			cat "$TMP/verify.log"
			fail "systemd-analyze verify accepts the units"
		fi
	fi
fi

# ---- the installed vsnd against a real guest ---------------------------------
if [ "$E2E" = 1 ]; then
	# The harness starts vsnd itself: a wrapper gives it the installed library.
	printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$D$LIBDIR" "$VSND" >"$TMP/vsnd"
	chmod +x "$TMP/vsnd"
	python3 "$SRC/tests/e2e/vsnd_e2e.py" --vsnd "$TMP/vsnd" --require file
	rc=$?
	if [ "$rc" = 0 ]; then pass "installed vsnd: e2e file suite with a real guest"
	else fail "installed vsnd: e2e file suite with a real guest (exit $rc)"; fi
fi

if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
echo "all install checks passed"
