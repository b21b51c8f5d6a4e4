#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates abi/libvsnd.abi, the ABI baseline tests/abi/abi_check.py
# compares libvsnd.so with (meson test --suite abi), from BUILD_DIR's
# libvsnd.so. Run it when a change to the ABI is meant, and commit the file
# with that change; after an incompatible change, bump the soname first.
#
# BUILD_DIR must be a gcc build with debug info (the default debugoptimized
# buildtype: CC=gcc meson setup build-abi): clang's DWARF differs, and the
# check runs on gcc builds. Any gcc build writes the same bytes, wherever
# the tree and the build directory are. The file keeps source locations
# (without them abidiff misses changes, see abi_check.py), so moving lines
# in a public header or a new gcc (its stddef.h path) changes the file but
# not the check's result: refresh it when convenient.
# abidw's options, the public header list (meson introspect) and the path
# clean-up are in tests/abi/abi_check.py, which the check shares.
#
# Usage: scripts/abi-update.sh BUILD_DIR
set -euo pipefail
if [ $# -ne 1 ] || [ ! -d "$1/meson-info" ]; then
	echo "usage: $0 BUILD_DIR (a configured meson build directory, gcc, with debug info)" >&2
	exit 2
fi
command -v abidw >/dev/null || {
	echo "abidw not found: install abigail-tools (scripts/install-deps.sh)" >&2
	exit 1
}
exec python3 "$(dirname "$0")/../tests/abi/abi_check.py" --update "$1"
