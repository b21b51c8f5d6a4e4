#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""libvsnd's ABI against the committed baseline abi/libvsnd.abi (libabigail).

Usage: abi_check.py [--lib LIBVSND_SO] [--baseline FILE] BUILD_DIR
       abi_check.py --update BUILD_DIR      (what scripts/abi-update.sh runs)

Check: abidiff BASELINE LIBVSND_SO, the public types being those of the
headers BUILD_DIR installs in vsnd/ (from `meson introspect --installed`).
Exit 0 when nothing changed; 77 (skip) when the baseline does not exist
yet; 1 on any change, with abidiff's report and what to do: refresh the
baseline for an intended compatible change, bump the soname first for an
incompatible one (abidiff's exit status bit 8) that kept it.

Update: abidw writes the baseline from BUILD_DIR's libvsnd.so, made to not
depend on where the tree or the build is: no corpus path, no compilation
directory, no DT_NEEDED (it follows the optional backends), content-hash
type ids (a change touches only its own lines), only the exported interfaces
and the types of the public headers, file paths relative to the source tree.
Only a gcc build with debug info may write it.

Measured (gcc 12, clang 14, libabigail 2.2, on a libvsnd sealed as issue 14
asks): gcc builds give byte-identical baselines whatever the source and
build directories, -O0, -O2 or -O3, with or without ASan+UBSan. clang's
differs (DW_LANG_C99, the order of declarations); abidiff found no change
against it on the sealed library, but did on today's, where a variable
declared `T v[]` and defined `T v[] = {x}` has the declared type in gcc's
DWARF and `T[1]` in clang's. So the check runs on gcc builds only
(tests/abi/meson.build).
"""

import argparse
import json
import os
import re
import subprocess
import sys

SRC = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
BASELINE = os.path.join(SRC, 'abi', 'libvsnd.abi')
SKIP = 77

# abidiff's exit status bits (libabigail abidiff manual)
ABIDIFF_ERROR, ABIDIFF_USAGE_ERROR, ABIDIFF_ABI_CHANGE, ABIDIFF_ABI_INCOMPATIBLE_CHANGE = 1, 2, 4, 8

# Source locations stay in (abidw writes them relative to the build
# directory; update() makes them relative to the source tree): libabigail
# 2.2's abidiff, comparing a baseline with a binary, filters out real changes
# when the baseline has no locations (--no-show-locs: with --headers-dir2 it
# takes every type for a private one, and a member added to a public struct
# went unreported) or only file names (--short-locs: a public struct growing
# from 72 to 80 bytes went unreported).
ABIDW_OPTIONS = ['--no-corpus-path', '--no-comp-dir-path', '--no-elf-needed',
                 '--type-id-style', 'hash', '--drop-private-types', '--exported-interfaces-only']


class Fatal(Exception):
    pass


def run(cmd, what, ok=(0,)):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise Fatal(f'{what}: cannot run {cmd[0]}: {e}') from e
    if r.returncode not in ok:
        raise Fatal(f'{what} failed (exit {r.returncode}): {" ".join(cmd)}\n'
                    f'{(r.stdout + r.stderr).strip()}')
    return r


def introspect(build, what):
    path = os.path.join(build, 'meson-info', f'intro-{what}.json')
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise Fatal(f'{build} is not a configured meson build directory ({e})') from e


def public_headers(build):
    """The headers BUILD installs as <vsnd/...>: source (or generated) paths."""
    hdrs = sorted(src for src, dest in introspect(build, 'installed').items()
                  if re.search(r'/include/vsnd/[^/]+\.h$', dest))
    if not hdrs:
        raise Fatal(f'{build} installs no vsnd/*.h header')
    return hdrs


def shared_lib(build):
    """BUILD's libvsnd.so (the target meson installs as libvsnd.so*)."""
    for t in introspect(build, 'targets'):
        if t['type'] == 'shared library' and t['name'] == 'vsnd':
            return t['filename'][0]
    raise Fatal(f'{build} has no shared library target "vsnd"')


def soname(path):
    """The baseline's soname attribute, or the ELF file's DT_SONAME."""
    with open(path, 'rb') as f:
        head = f.read(4096)
    if head.startswith(b'\x7fELF'):
        out = run(['readelf', '--dynamic', '--wide', path], 'readelf --dynamic').stdout
        m = re.search(r'Library soname: \[([^\]]+)\]', out)
    else:
        m = re.search(r"<abi-corpus [^>]*soname='([^']*)'", head.decode('utf-8', 'replace'))
    return m.group(1) if m else None


def producer(lib):
    """The first DW_AT_producer: which compiler built the library, or None."""
    r = subprocess.run(['readelf', '--debug-dump=info', lib], capture_output=True, text=True)
    m = re.search(r'DW_AT_producer\s*:\s*(?:\([^)]*\):\s*)?(.*)', r.stdout)
    return m.group(1).strip() if m else None


def header_args(headers, flag):
    """--headers-dir (or --headers-dir2) for each folder of public headers.
    Not --header-file: libabigail 2.2 then takes the public structs for
    private ones and keeps only their declaration, which hides changes to
    them. The folders hold only public headers (test_headers.sh checks)."""
    dirs = sorted({os.path.dirname(h) for h in headers})
    return [a for d in dirs for a in (flag, d)]


def update(build, baseline):
    build = os.path.realpath(build)
    opts = {o['name']: o['value'] for o in introspect(build, 'buildoptions')}
    with open(os.path.join(build, 'meson-info', 'meson-info.json')) as f:
        src = os.path.realpath(json.load(f)['directories']['source'])
    lib = shared_lib(build)
    run(['meson', 'compile', '-C', build, 'vsnd:shared_library'], 'building libvsnd.so')
    prod = producer(lib)
    why = []
    if not opts.get('debug'):
        why.append('it has no debug info (meson configure -Ddebug=true)')
    if not prod or not prod.startswith('GNU C'):
        why.append(f'gcc did not build it (DW_AT_producer: {prod})')
    if why:
        raise Fatal(f'{build} cannot make the baseline: ' + '; '.join(why) +
                    '.\nUse a gcc debugoptimized build: CC=gcc meson setup BUILD_DIR')
    headers = public_headers(build)
    tmp = baseline + '.tmp'
    os.makedirs(os.path.dirname(baseline), exist_ok=True)
    try:
        run(['abidw'] + ABIDW_OPTIONS + header_args(headers, '--headers-dir') +
            ['--out-file', tmp, lib], 'abidw')
        with open(tmp) as f:
            xml = f.read()
        if '<abi-corpus ' not in xml or '<elf-function-symbols>' not in xml:
            raise Fatal(f'abidw wrote no ABI corpus with functions:\n{xml[:500]}')

        # meson compiles ../src/x.c from the build directory, and the
        # locations follow: name the files from the top of the source tree
        # (generated ones from the build directory's), wherever the build is
        def rel(m):
            p = m.group(2)
            if not os.path.isabs(p):
                p = os.path.normpath(os.path.join(build, p))
                if p.startswith(build + os.sep):
                    p = 'BUILD_DIR/' + os.path.relpath(p, build)
                elif p.startswith(src + os.sep):
                    p = os.path.relpath(p, src)
            return f"{m.group(1)}{p}'"
        xml = re.sub(r"(<abi-instr [^>]*?path='|filepath=')([^']*)'", rel, xml)
        with open(tmp, 'w') as f:
            f.write(xml)
        os.replace(tmp, baseline)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    nfun = len(re.findall(r"<elf-symbol [^>]*type='func-type'", xml))
    nvar = len(re.findall(r"<elf-symbol [^>]*type='object-type'", xml))
    print(f'wrote {baseline}: {soname(baseline)}, {nfun} functions, {nvar} variables, '
          f'the types of {", ".join(os.path.basename(h) for h in headers)}')
    print(f'from {lib} ({prod}); commit it with the change that made it differ')
    return 0


def check(build, lib, baseline, abidiff):
    build = os.path.realpath(build)
    rel = os.path.relpath(baseline, SRC)
    if not os.path.exists(baseline):
        print(f'SKIP: no ABI baseline {rel} yet: write it with scripts/abi-update.sh BUILD_DIR '
              '(a gcc debugoptimized build) and commit it')
        return SKIP
    lib = lib or shared_lib(build)
    headers = public_headers(build)
    cmd = ([abidiff, '--fail-no-debug-info', '--drop-private-types', '--exported-interfaces-only'] +
           header_args(headers, '--headers-dir2') + [baseline, lib])
    r = run(cmd, 'abidiff', ok=range(0, 256))
    status = r.returncode
    if status & (ABIDIFF_ERROR | ABIDIFF_USAGE_ERROR):
        raise Fatal(f'abidiff could not compare (exit {status}): {" ".join(cmd)}\n'
                    f'{(r.stdout + r.stderr).strip()}')
    if status == 0:
        with open(baseline) as f:
            xml = f.read()
        nfun = len(re.findall(r"<elf-symbol [^>]*type='func-type'", xml))
        nvar = len(re.findall(r"<elf-symbol [^>]*type='object-type'", xml))
        print(f'ok: {os.path.basename(lib)} has the ABI of {rel}: {soname(lib)}, {nfun} functions, '
              f'{nvar} variables, the types of {len(headers)} public headers')
        return 0
    print(r.stdout.rstrip())
    if r.stderr.strip():
        print(r.stderr.rstrip())
    print()
    old, new = soname(baseline), soname(lib)
    prod = producer(lib)
    if prod and not prod.startswith('GNU C'):
        print(f'note: {lib} was not built by gcc ({prod}); the baseline was, and clang\'s '
              'DWARF differs: compare gcc builds only')
    refresh = ('scripts/abi-update.sh BUILD_DIR (a gcc debugoptimized build), and commit '
               f'{rel} with the change')
    if status & ABIDIFF_ABI_INCOMPATIBLE_CHANGE:
        if old == new:
            print(f'FAIL: INCOMPATIBLE ABI change with the soname unchanged ({new}): an embedder '
                  'built against the old libvsnd would break at run time. Undo the change, or '
                  f'bump the soname (soversion in meson.build, {new} -> the next), then '
                  f'refresh the baseline: {refresh}')
        else:
            print(f'FAIL: incompatible ABI change, soname {old} -> {new}. If that is meant, '
                  f'refresh the baseline: {refresh}')
    else:
        if 'type size changed' in r.stdout:
            print('warning: a public type changed size, which abidiff does not call incompatible. '
                  'Members appended to a struct that starts with its size (vsnd.h, ABI) are '
                  'fine; any other struct an embedder allocates or embeds breaks it: then '
                  'bump the soname too.')
        print(f'FAIL: the ABI changed from {rel} (abidiff exit {status}: not incompatible by its '
              f'rules). If that is meant, refresh the baseline: {refresh}')
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('build_dir')
    ap.add_argument('--lib', help="the libvsnd.so to check (default: BUILD_DIR's)")
    ap.add_argument('--baseline', default=BASELINE)
    ap.add_argument('--abidiff', default='abidiff', help='the abidiff program')
    ap.add_argument('--update', action='store_true',
                    help='write abi/libvsnd.abi from BUILD_DIR instead of checking')
    args = ap.parse_args()
    try:
        if args.update:
            return update(args.build_dir, os.path.realpath(args.baseline))
        return check(args.build_dir, args.lib, os.path.realpath(args.baseline), args.abidiff)
    except Fatal as e:
        print(f'FAIL: {e}')
        return 1


if __name__ == '__main__':
    sys.exit(main())
