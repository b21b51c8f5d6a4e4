#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A man page documents everything its program's --help lists: every option
# (-x, --name), and every entry of the lists --help prints (backends, stream
# layout presets, commands: the first word of each entry line).
# Usage: test_manpage.sh PATH/TO/PROGRAM man/PROGRAM.1.scd
set -u
PROG=$1 PAGE=$2
FAILS=0
help=$("$PROG" --help) || { echo "FAIL: $PROG --help"; exit 1; }

# documented WHAT REGEX: the page has REGEX, or say what to add where
documented() {
	if grep -qE -- "$2" "$PAGE"; then echo "ok: $1"; else
		echo "FAIL: $1 is in $(basename "$PROG") --help but not in $PAGE: document it there"
		FAILS=$((FAILS + 1))
	fi
}

# options as --help prints them; scdoc writes them in bold: *--name*
opts=$(grep -oE -- '(^|[ ,(|[])--?[a-zA-Z][a-zA-Z-]*' <<<"$help" | grep -oE -- '--?[a-zA-Z][a-zA-Z-]*' | sort -u)
[ -n "$opts" ] || { echo "FAIL: no option in --help"; exit 1; }
for o in $opts; do documented "option $o" "\*$o\*"; done

# list entries: under a heading line ending in ':', the lines indented by
# exactly two spaces, up to a blank line; the page has *entry* in bold
entries=$(awk '/:$/ { inlist = 1; next } /^$/ { inlist = 0 }
	inlist && /^  [^ -]/ { print $1 }' <<<"$help" | sort -u)
for e in $entries; do documented "entry $e" "\*$(sed 's/[.]/[.]/g' <<<"$e")\*"; done
[ "$FAILS" = 0 ] && echo "all of --help documented"
exit $((FAILS > 0))
