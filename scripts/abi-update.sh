#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates abi/libvsnd.abi, the ABI baseline tests/abi/abi_check.py
# compares libvsnd.so with (meson test --suite abi), from BUILD_DIR's
# libvsnd.so. Run it when a change to the ABI is meant, and commit the file
# with that change; after an incompatible change, bump the soname first.
#
# BUILD_DIR must be a gcc build with debug info and no sanitizer (the
# default debugoptimized buildtype: CC=gcc meson setup build-abi): clang's
# DWARF differs in ways abidiff reports, and the check runs on the gcc build.
# The file does not depend on where the tree or the build directory is: the
# options, the public header list (meson introspect) and the path clean-up
# are in tests/abi/abi_check.py, which the check shares.
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
