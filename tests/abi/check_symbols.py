#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""libvsnd's symbols are sealed: the shared library exports exactly what
the public headers declare, every export carries the version node, and
every global symbol in the static library is vsnd_-prefixed.

Usage: check_symbols.py [options] LIBVSND_SO LIBVSND_A HEADERS_DIR CC

HEADERS_DIR is the folder holding vsnd/*.h: the installed include directory
or the source include/. Every vsnd/*.h in it (and in each --headers-dir) is
a public header. CC is a C compiler command (gcc or clang; it may have
arguments, e.g. "ccache gcc"); it parses the headers:
  - gcc: -aux-info lists every function prototype with its file; extern data
    declarations come from the headers' preprocessed text;
  - clang: -Xclang -ast-dump=json gives both.

Fails, naming the symbols, when:
  - the .so exports a symbol no public header declares (make it static or
    hidden, or leave it out of the version script);
  - a public header declares a function or variable the .so does not export;
  - an export is not under the version node (VSND_1, or those given);
  - a public header declares a name without the vsnd_ prefix, or a vsnd__
    (internal) one;
  - a global symbol defined in the .a lacks the vsnd_ prefix (it would clash
    with the embedder's own: QEMU defines iov_size, iov_memset, ...), or is
    internal (not declared in a public header) and not named vsnd__;
  - with --soname, the .so's DT_SONAME differs.
Prints the counts on success. python3 standard library only; needs nm and
readelf (binutils).
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

PREFIX = 'vsnd_'
INTERNAL = 'vsnd__'


class Fatal(Exception):
    """Something the check cannot work around: the message says what."""


def run(cmd, what):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise Fatal(f'{what}: cannot run {cmd[0]}: {e}') from e
    if r.returncode != 0:
        raise Fatal(f'{what} failed (exit {r.returncode}): {shlex.join(cmd)}\n{r.stderr.strip()}')
    return r.stdout


# ---- the public headers ------------------------------------------------------

def public_headers(dirs):
    """{realpath: 'vsnd/NAME.h'} for every vsnd/*.h in dirs (first one wins)."""
    found, names = {}, set()
    for d in dirs:
        sub = os.path.join(d, 'vsnd')
        if not os.path.isdir(sub):
            continue
        for f in sorted(os.listdir(sub)):
            if f.endswith('.h') and f not in names:
                names.add(f)
                found[os.path.realpath(os.path.join(sub, f))] = 'vsnd/' + f
    return found


def is_clang(cc):
    out = run(cc + ['-dM', '-E', '-x', 'c', os.devnull], f'{cc[0]} -dM -E')
    return re.search(r'^#define __clang__ ', out, re.M) is not None


def tu_source(headers):
    return ''.join(f'#include <{h}>\n' for h in sorted(headers.values()))


def declared_gcc(cc, incdirs, headers, tmp):
    """Function names from gcc -aux-info, data names from the preprocessed
    headers. Returns ({name: 'file:line'} functions, {name: 'file:line'} data)."""
    src = os.path.join(tmp, 'all_headers.c')
    with open(src, 'w') as f:
        f.write(tu_source(headers))
    aux = os.path.join(tmp, 'aux-info.txt')
    iargs = [a for d in incdirs for a in ('-I', d)]
    run(cc + ['-std=c11', '-fsyntax-only', '-aux-info', aux] + iargs + [src],
        'compiling the public headers (gcc -aux-info)')
    funcs = {}
    line_re = re.compile(r'^/\* (.+):(\d+):\w+ \*/ (.*)$')
    with open(aux) as f:
        for line in f:
            m = line_re.match(line.rstrip('\n'))
            if not m or os.path.realpath(m.group(1)) not in headers:
                continue
            decl = m.group(3)
            if re.match(r'\s*static\b', decl):
                continue  # a static inline helper: nothing to export
            n = re.search(r'(\w+) \((?!\*)', decl)
            if not n:
                raise Fatal(f'cannot find the function name in this -aux-info line:\n{line}')
            funcs[n.group(1)] = f'{headers[os.path.realpath(m.group(1))]}:{m.group(2)}'
    pre = run(cc + ['-std=c11', '-E'] + iargs + [src], 'preprocessing the public headers')
    data = {}
    for name, where in extern_data(pre, headers):
        if name not in funcs:
            data[name] = where
    return funcs, data


TOKEN_RE = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[A-Za-z_]\w*|\d\w*|\S')


def header_text(pre, headers):
    """[(file, line, text)] lines of the preprocessed output that come from a
    public header, following the # LINE "FILE" markers."""
    out, cur, line = [], None, 0
    marker = re.compile(r'^# (\d+) "((?:\\.|[^"\\])*)"')
    for text in pre.splitlines():
        m = marker.match(text)
        if m:
            line, path = int(m.group(1)), m.group(2)
            cur = headers.get(os.path.realpath(path)) if not path.startswith('<') else None
            continue
        if cur:
            out.append((cur, line, text))
        line += 1
    return out


def extern_data(pre, headers):
    """(name, 'file:line') for each top-level `extern` declaration of an
    object in the public headers (functions are also found; the caller drops
    the names -aux-info knows as functions)."""
    toks = []
    for f, line, text in header_text(pre, headers):
        toks += [(t, f'{f}:{line}') for t in TOKEN_RE.findall(text)]
    stmts, cur, depth, body = [], [], 0, False
    for t, where in toks:
        if t == '{':
            # a function definition (static inline) has ')' before its body
            if depth == 0:
                body = bool(cur) and cur[-1][0] == ')'
            depth += 1
        cur.append((t, where))
        if t == '}':
            depth -= 1
            if depth == 0 and body:  # no ';' follows a function body
                stmts.append(cur)
                cur, body = [], False
        elif t == ';' and depth == 0:
            stmts.append(cur)
            cur = []
    for st in stmts:
        words = [t for t, _ in st if t != '__extension__']
        if '{' in words:
            continue
        # drop __attribute__((...)) and __asm__(...)
        clean, i = [], 0
        while i < len(words):
            if words[i] in ('__attribute__', '__asm__', 'asm', '__asm') and \
                    i + 1 < len(words) and words[i + 1] == '(':
                level, i = 0, i + 1
                while i < len(words):
                    level += {'(': 1, ')': -1}.get(words[i], 0)
                    i += 1
                    if level == 0:
                        break
                continue
            clean.append(words[i])
            i += 1
        if 'extern' not in clean:
            continue
        body = ' '.join(w for w in clean[:-1] if w != 'extern')  # nor ';'
        # one declarator per top-level comma
        parts, level, start = [], 0, 0
        for j, c in enumerate(body):
            level += {'(': 1, ')': -1, '[': 1, ']': -1}.get(c, 0)
            if c == ',' and level == 0:
                parts.append(body[start:j])
                start = j + 1
        parts.append(body[start:])
        for p in parts:
            p = re.sub(r'=.*', '', p)
            fp = re.search(r'\(\s*(?:\*\s*(?:const|volatile|restrict)?\s*)+(\w+)\s*(?:\[[^\]]*\]\s*)*\)',
                           p)
            if fp:
                name = fp.group(1)
            elif '(' in p:
                continue  # a function prototype: -aux-info has it
            else:
                ids = re.findall(r'[A-Za-z_]\w*', re.sub(r'\[[^\]]*\]', '', p))
                if not ids:
                    continue
                name = ids[-1]
            yield name, st[0][1]


def declared_clang(cc, incdirs, headers, tmp):
    """Functions and extern variables from clang's JSON AST."""
    src = os.path.join(tmp, 'all_headers.c')
    with open(src, 'w') as f:
        f.write(tu_source(headers))
    iargs = [a for d in incdirs for a in ('-I', d)]
    out = run(cc + ['-std=c11', '-fsyntax-only', '-Xclang', '-ast-dump=json'] + iargs + [src],
              'compiling the public headers (clang -ast-dump=json)')
    ast = json.loads(out)
    funcs, data = {}, {}
    state = {'file': None, 'line': 0}

    def track(v):
        """clang prints a location's file and line only when they change:
        follow them through every location, in output order."""
        if isinstance(v, dict):
            if 'file' in v:
                state['file'] = v['file']
            if 'line' in v:
                state['line'] = v['line']
            for k, x in v.items():
                if k not in ('inner', 'includedFrom'):
                    track(x)
        elif isinstance(v, list):
            for x in v:
                track(x)

    def walk(node, top):
        track(node.get('loc'))
        f, line = state['file'], state['line']
        track(node.get('range'))
        kind = node.get('kind')
        if top and f and os.path.realpath(f) in headers and node.get('name'):
            where = f'{headers[os.path.realpath(f)]}:{line}'
            if kind == 'FunctionDecl' and node.get('storageClass') != 'static':
                funcs[node['name']] = where
            elif kind == 'VarDecl' and node.get('storageClass') == 'extern':
                data[node['name']] = where
        # extern "C" blocks (C++ only) hold top-level declarations too
        inner_top = kind in ('TranslationUnitDecl', 'LinkageSpecDecl')
        for child in node.get('inner', []):
            walk(child, inner_top)
    walk(ast, False)
    return funcs, data


# ---- the binaries --------------------------------------------------------------

def dynamic_exports(so):
    """{name: version or None, or '@VER' for a non-default version} of every
    defined global symbol in the .so's dynamic symbol table."""
    out = run(['readelf', '--dyn-syms', '--wide', so], 'readelf --dyn-syms')
    # the names of the version definitions: each has an ABS symbol of its
    # own, printed bare (binutils 2.40) or as NAME@@NAME
    vi = run(['readelf', '--version-info', '--wide', so], 'readelf --version-info')
    verdefs = set(re.findall(r'Index: \d+\s+Cnt: \d+\s+Name: (\S+)', vi))
    syms = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8 or not re.match(r'\d+:$', f[0]):
            continue
        typ, bind, ndx, name = f[3], f[4], f[6], f[7]
        if ndx == 'UND' or bind not in ('GLOBAL', 'WEAK', 'UNIQUE') or typ in ('FILE', 'SECTION'):
            continue
        m = re.match(r'([^@]+)(@@?)?(.*)$', name)
        base, at, ver = m.group(1), m.group(2), m.group(3) or None
        if ndx == 'ABS' and base in verdefs and ver in (None, base):
            continue  # the symbol naming a version definition itself
        syms[base] = ver if at != '@' else '@' + ver
    return syms


def soname(so):
    out = run(['readelf', '--dynamic', '--wide', so], 'readelf --dynamic')
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', out)
    return m.group(1) if m else None


def archive_globals(a):
    """{name: member} of the global symbols defined in the .a."""
    out = run(['nm', '-g', '--defined-only', '-A', a], 'nm -g --defined-only')
    syms = {}
    for line in out.splitlines():
        # libvsnd.a:member.o:0000000000000000 T name
        m = re.match(r'^(?:.*?):([^:]+):\s*(?:[0-9a-fA-F]+)?\s+(\S)\s+(\S+)$', line)
        if not m:
            continue
        member, typ, name = m.groups()
        if typ in 'Uwv':
            continue  # undefined, or a weak reference
        if name.startswith('__odr_asan.'):
            continue  # AddressSanitizer's indicator for one of our globals, named after it
        syms.setdefault(name, member)
    return syms


# ---- the report ------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('so')
    ap.add_argument('a')
    ap.add_argument('headers_dir')
    ap.add_argument('cc', help='C compiler command, e.g. gcc or "ccache clang"')
    ap.add_argument('--headers-dir', dest='more', action='append', default=[],
                    help='another folder with vsnd/*.h (the build include/ with the generated '
                    'vsnd/version.h), also on the include path')
    ap.add_argument('--version-node', dest='nodes', action='append',
                    help='a version node the exports may be under (repeat for VSND_1.1 ...; '
                    'default VSND_1)')
    ap.add_argument('--soname', help='the DT_SONAME the .so must have')
    args = ap.parse_args()

    cc = shlex.split(args.cc)
    incdirs = [os.path.realpath(d) for d in [args.headers_dir] + args.more]
    for p in (args.so, args.a):
        if not os.path.isfile(p):
            raise Fatal(f'{p}: no such file')
    headers = public_headers(incdirs)
    if not headers:
        raise Fatal(f'no vsnd/*.h in {", ".join(incdirs)}')
    with tempfile.TemporaryDirectory() as tmp:
        if is_clang(cc):
            funcs, data = declared_clang(cc, incdirs, headers, tmp)
        else:
            funcs, data = declared_gcc(cc, incdirs, headers, tmp)
    declared = {**data, **funcs}
    exports = dynamic_exports(args.so)
    agl = archive_globals(args.a)

    failures = 0

    def report(title, items, hint, count=None):
        nonlocal failures
        if not items:
            return
        failures += 1
        print(f'FAIL: {title} ({count or len(items)}):')
        for it in sorted(items):
            print(f'    {it}')
        print(f'  -> {hint}')

    so, a = os.path.basename(args.so), os.path.basename(args.a)
    hdrs = ', '.join(sorted(headers.values()))
    print(f'public headers: {hdrs}')
    report(f'{so} exports symbols no public header declares',
           [n for n in exports if n not in declared],
           'make them static, rename internal ones vsnd__*, and export only the version '
           "script's list")
    report(f'public headers declare names {so} does not export',
           [f'{n}  ({declared[n]})' for n in declared if n not in exports],
           'define them in libvsnd and list them in the version script, or drop the declaration')
    nodes = args.nodes or ['VSND_1']
    node = '/'.join(nodes)
    unversioned = [n for n, v in exports.items() if v not in nodes]
    count = len(unversioned)
    if exports and all(v is None for v in exports.values()):
        unversioned = [f'all of them: {so} has no symbol versions at all']
    else:
        unversioned = [f'{n}  (version: {exports[n] or "none"})' for n in unversioned]
    report(f'{so} exports not under version node {node} (as name@@{node})', unversioned,
           f'link with a version script: {nodes[0]} {{ global: vsnd_...; local: *; }};', count)
    report(f'public headers declare names without the {PREFIX} prefix, or internal {INTERNAL} ones',
           [f'{n}  ({declared[n]})' for n in declared
            if not n.startswith(PREFIX) or n.startswith(INTERNAL)],
           f'public names are {PREFIX}*, internal ones {INTERNAL}* and not in a public header')
    report(f'global symbols in {a} without the {PREFIX} prefix (they clash with the '
           "embedder's own)",
           [f'{n}  ({m})' for n, m in agl.items() if not n.startswith(PREFIX)],
           f'make them static, or rename them {INTERNAL}*')
    report(f'internal global symbols in {a} not named {INTERNAL}* (not in a public header)',
           [f'{n}  ({m})' for n, m in agl.items()
            if n.startswith(PREFIX) and not n.startswith(INTERNAL) and n not in declared],
           f'rename them {INTERNAL}*, or declare them in a public header')
    if args.soname:
        have = soname(args.so)
        report(f'{so} has the wrong DT_SONAME',
               [f'{have} (want {args.soname})'] if have != args.soname else [],
               "set the library's soversion")

    counts = (f'{len(exports)} exported, {len(declared)} declared ({len(funcs)} functions, '
              f'{len(data)} variables) in {len(headers)} public headers, {len(agl)} globals in {a} '
              f'({sum(n.startswith(INTERNAL) for n in agl)} internal {INTERNAL}*)')
    if failures:
        print(f'FAILED: {failures} check(s); {counts}')
        return 1
    print(f'ok: {counts}; every export under {node}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Fatal as e:
        print(f'FAIL: {e}')
        sys.exit(1)
