#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vsnd(1) documents every option and every backend that `vsnd --help` lists.
# Usage: test_manpage.sh PATH/TO/vsnd man/vsnd.1.scd
set -u
VSND=$1 PAGE=$2
FAILS=0
help=$("$VSND" --help) || { echo "FAIL: vsnd --help"; exit 1; }

# documented WHAT REGEX SECTION: the page has REGEX, or say where to add WHAT
documented() {
	if grep -qE -- "$2" "$PAGE"; then echo "ok: $1"; else
		echo "FAIL: $1 is in vsnd --help but not in $PAGE: document it under $3"
		FAILS=$((FAILS + 1))
	fi
}

# long options (--name) and short ones (-x) as --help prints them
opts=$(grep -oE -- '(^|[ ,(|[])--?[a-zA-Z][a-zA-Z-]*' <<<"$help" | grep -oE -- '--?[a-zA-Z][a-zA-Z-]*' | sort -u)
# the lines after "Backends in this build:", up to the next blank line
backends=$(sed -n '/^Backends in this build:/,/^$/p' <<<"$help" | awk 'NR > 1 && NF { print $1 }')
[ -n "$opts" ] && [ -n "$backends" ] || { echo "FAIL: no options or backends in --help"; exit 1; }
# scdoc writes them in bold: *--name*, *backend*
for o in $opts; do documented "option $o" "\*$o\*" OPTIONS; done
for b in $backends; do documented "backend $b" "^\*$b\*|\*$b\*," BACKENDS; done
[ "$FAILS" = 0 ] && echo "all options and backends documented"
exit $((FAILS > 0))
