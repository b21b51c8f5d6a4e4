#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that the files of each of src/'s libraries call one another one way only.

Usage: layers.py LIB.a [LIB.a ...]

From nm's reading of an archive, file A calls file B when A uses a symbol B
defines. Fails if any two files of one library reach each other (a cycle:
for the device model, the order in src/core/dev.h is broken). In the device
model (the archive holding device.c) it also fails if a public vsnd_dev_*
entry point is defined outside device.c or called by another file (internal
code calls the internal function behind it). python3 standard library only;
needs nm.
"""
import subprocess
import sys


def read_archive(path):
    """{file: (defined, undefined)} from nm -A: 'archive:member:[addr] T sym'
    (a thin archive's members are paths: their last part names the file)."""
    out = subprocess.run(['nm', '-A', path], check=True, capture_output=True, text=True).stdout
    files = {}
    for line in out.splitlines():
        where, _, rest = line.rpartition(':')
        member = where.rsplit(':', 1)[-1].split('/')[-1].removesuffix('.o')
        fields = rest.split()
        if len(fields) < 2:
            continue
        kind, sym = fields[-2], fields[-1]
        defined, used = files.setdefault(member, (set(), set()))
        if kind == 'U':
            used.add(sym)
        elif kind in 'TDBR':
            defined.add(sym)
    return files


def calls(files):
    owner = {s: m for m, (d, _) in files.items() for s in d}
    return {m: {owner[s] for s in u if s in owner and owner[s] != m}
            for m, (_, u) in files.items()}


def reach(graph, start):
    seen, todo = set(), [start]
    while todo:
        for n in graph[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def check_archive(path):
    """The errors of one archive, and its files in calling order."""
    files = read_archive(path)
    graph = calls(files)
    errors = []
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if a in reach(graph, b):
                errors.append(f'{a} calls {b}, which calls back into {a}')
    if 'device.c' in files:
        errors += public_entry_errors(files)
    return errors, sorted(graph, key=lambda m: len(reach(graph, m)), reverse=True)


def public_entry_errors(files):
    errors = []
    for m, (defined, used) in sorted(files.items()):
        public = sorted(s for s in defined if s.startswith('vsnd_dev_'))
        if public and m != 'device.c':
            errors.append(f'{m} defines public entry points: {", ".join(public)}')
        called = sorted(s for s in used if s.startswith('vsnd_dev_'))
        if called:
            errors.append(f'{m} calls public entry points: {", ".join(called)}')
    return errors


def main():
    failed = False
    for path in sys.argv[1:]:
        name = path.rsplit('/', 1)[-1]
        errors, order = check_archive(path)
        for e in errors:
            print(f'{name}: {e}')
        failed = failed or bool(errors)
        if not errors:
            print(f'{name}: one way:', ' > '.join(order))
    return 1 if failed or len(sys.argv) < 2 else 0


if __name__ == '__main__':
    sys.exit(main())
