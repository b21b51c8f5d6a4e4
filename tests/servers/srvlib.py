# SPDX-License-Identifier: MIT
"""Helpers for the sound-server tests: alignment, measurements, the
servers' own runs and checks. Pure python (no numpy)."""
import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'support'))

# What every Python test shares (reporting, processes, S16 signals) comes
# from tests/support/vsndtest.py; the server tests reach it as S.name too.
from vsndtest import (SKIP, Daemon, Failure, Procs, check, listening, log,  # noqa: E402,F401
                      noise_s16, pack_s16, recorded_data, recorded_s16, sine_s16,
                      unpack_s16, wait_for, write_wav)


SERVER_ABORT = re.compile(r"Assertion '.*' failed at [^ ]+, function [^ ]+\. Aborting")


def server_aborts(work):
    """The server's own assertions that aborted it, in the logs of work so
    far (PulseAudio 16.1 aborts now and then on its own: memblock.c:780,
    n_imported, when a client goes while the server holds its blocks)."""
    found = set()
    for p in Path(work).glob('*.log'):
        if not p.name.startswith(('vsnd', 'console')):
            found.update('%s: %s' % (p.name, m.group(0))
                         for m in SERVER_ABORT.finditer(p.read_text(errors='replace')))
    return found


def aborted_since(work, seen, what):
    """True, with a WARN, if the server aborted on its own assertion since
    server_aborts(work) was `seen`: then `what` says nothing of vsnd and
    runs once more with a new server."""
    new = server_aborts(work) - seen
    if new:
        log('WARN the server aborted on its own assertion (%s): %s says nothing of vsnd; '
            'once more with a new server' % ('; '.join(sorted(new)), what))
    return bool(new)


def rms(x):
    return math.sqrt(sum(v * v for v in x) / len(x)) if x else 0.0


def db(a, b):
    return 20 * math.log10(a / b) if a > 0 and b > 0 else float('-inf')


def first_loud(x, thresh=300):
    for i, v in enumerate(x):
        if abs(v) > thresh:
            return i
    return -1


def dot_at(rec, ref, lag, n):
    return sum(rec[lag + i] * ref[i] for i in range(n))


def decimate(x, channels, factor):
    """First channel, averaged over `factor` frames: a low-passed envelope
    that still correlates for noise, 16x cheaper to search."""
    step = channels * factor
    return [sum(x[i:i + step:channels]) for i in range(0, len(x) - step + 1, step)]


def best_lag(rec, ref, lags, n, step=1):
    best, at = None, -1
    for lag in lags:
        if lag < 0 or lag + n * step > len(rec):
            continue
        d = sum(rec[lag + i * step] * ref[i * step] for i in range(n))
        if best is None or d > best:
            best, at = d, lag
    return at


def align(rec, ref, channels, offset=0.0, rate=48000, search_s=0.3):
    """Sample index in rec where ref begins (a multiple of channels), or -1.
    The window matched starts `offset` seconds into ref (past a start the
    feeding side may have lost); coarse search on a 16x decimation around
    the onset guess, then sample-exact refinement."""
    on_rec, on_ref = first_loud(rec), first_loud(ref)
    if on_rec < 0 or on_ref < 0:
        return -1
    f = 16
    skip = int(offset * rate) * channels
    guess = (on_rec - on_ref) // channels  # frames
    dr, df = decimate(rec, channels, f), decimate(ref[skip:], channels, f)
    n = min(1024, len(df))
    span = int(search_s * rate) // f
    lags = range(guess // f + int(offset * rate) // f - span,
                 guess // f + int(offset * rate) // f + span + 1)
    coarse = best_lag(dr, df, lags, n)
    if coarse < 0:
        return -1
    fine = best_lag(rec, ref[skip:], [(coarse * f + k) * channels for k in range(-2 * f, 2 * f + 1)],
                    min(4096 * channels, len(ref) - skip))
    return fine - skip if fine >= skip else -1


def correlation(a, b):
    n = min(len(a), len(b))
    if n == 0:
        return 0.0
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else 0.0


def compare(rec, ref, channels, label, skip=0.0, rate=48000):
    """Align ref in rec, then correlation and level difference over ref
    (from `skip` seconds on, when the feeding side may lose its start)."""
    lag = align(rec, ref, channels, offset=skip + 0.05, rate=rate)
    check(lag >= 0, '%s: reference found in the recording' % label)
    cut = int(skip * rate) * channels
    lag, ref = lag + cut, ref[cut:]
    seg = rec[lag:lag + len(ref)]
    check(len(seg) == len(ref), '%s: the whole reference recorded (%d of %d samples)'
          % (label, len(seg), len(ref)))
    c = correlation(seg, ref)
    lvl = db(rms(seg), rms(ref))
    exact = seg == ref
    log('     %s: correlation %.5f, level %+.3f dB, bit-exact %s, offset %d frames'
        % (label, c, lvl, 'yes' if exact else 'no', lag // channels))
    if c <= 0.99:
        log('     %s: %s' % (label, where_broken(seg, ref, channels, rate)))
    check(c > 0.99, '%s: correlation %.5f > 0.99' % (label, c))
    check(abs(lvl) < 0.5, '%s: level %+.3f dB within 0.5 dB' % (label, lvl))
    return c, lvl, exact


def where_broken(seg, ref, channels, rate=48000, win_ms=10, reach=4096):
    """Where an aligned recording first stops matching ref, and how: for a
    failure message that says whose the fault may be (a hole of silence is
    the feeding side starving; a shift without one is frames lost or
    repeated on the way)."""
    w = rate * win_ms // 1000 * channels
    for i in range(0, min(len(seg), len(ref)) - w + 1, w):
        if correlation(seg[i:i + w], ref[i:i + w]) > 0.9:
            continue
        quiet = rms(seg[i:i + w]) < 0.05 * rms(ref[i:i + w])
        j = i + 2 * w  # past the break: where does the reference go on?
        probe = ref[j:j + w] if j + w <= len(ref) else []
        shifts = [(correlation(seg[j + k * channels:j + k * channels + w], probe), k)
                  for k in range(-reach, reach + 1)
                  if probe and 0 <= j + k * channels and j + k * channels + w <= len(seg)]
        c, k = max(shifts) if shifts else (0.0, 0)
        how = ('continues %+d frames later (%s)' % (k, 'frames inserted' if k > 0 else
                                                     'frames missing')
               if c > 0.9 and k else 'not found within %d frames' % reach)
        return 'first break at %.3f s%s; the reference there %s' % (
            i / channels / rate, ', the recording silent' if quiet else '', how)
    return 'no 10 ms window breaks'


def find_exact(got, needle, channels):
    """Index of the first frame-aligned exact copy of needle in got, or -1."""
    hay, pin = pack_s16(got), pack_s16(needle)
    i = hay.find(pin)
    while i >= 0 and i % (2 * channels):
        i = hay.find(pin, i + 1)
    return i // 2 if i >= 0 else -1


def last_loud(x, thresh=300):
    return next((i for i in range(len(x) - 1, -1, -1) if abs(x[i]) > thresh), -1)


def holes_only(got, truth, channels, start, end, rate=48000):
    """Does got hold truth[start:end] exactly, but for runs of digital
    silence where got's side lost data, with what follows each run in place
    (the capture kept real time)? Returns the silent runs as
    [(at_frame, frames)], or None when got differs in any other way."""
    k = find_exact(got, truth[start:start + 256 * channels], channels)
    if k < 0:
        return None
    seg = got[k:k + end - start]
    if len(seg) < end - start:
        return None
    runs = []
    for i in range(0, end - start, channels):
        a, b = seg[i:i + channels], truth[start + i:start + i + channels]
        if a == b:
            continue
        if any(a):
            return None
        f = i // channels
        if runs and f - (runs[-1][0] + runs[-1][1]) <= 64:
            runs[-1] = (runs[-1][0], f - runs[-1][0] + 1)
        else:
            runs.append((f, 1))
    return runs


def check_capture_holes(got, witnesses, res, channels, label, rate=48000, max_ms=250):
    """The capture holds the signal some witness (the reference, another
    recorder of the same source) holds: bit-exact, or with silent holes
    where the source was lost (a stalled process), which vsnd must then
    have reported as overruns and filled in real time. Returns the holes."""
    for name, truth, start, end in witnesses:
        runs = holes_only(got, truth, channels, start, end, rate)
        if runs is None:
            log('     %s: not a copy of %s' % (label, name))
            continue
        lost = sum(n for _, n in runs)
        log('     %s: a copy of %s (%d frames) with %d silent hole(s), %d frames'
            % (label, name, (end - start) // channels, len(runs), lost))
        check(not runs or res['xruns'] > 0,
              '%s: every hole reported as an overrun (%d)' % (label, res['xruns']))
        check(lost <= max_ms * rate // 1000, '%s: holes within %d ms' % (label, max_ms))
        return runs
    check(False, '%s: the capture is a copy of the signal' % label)
    return None


def parse_result(line):
    out = {}
    for kv in line.split():
        k, _, v = kv.partition('=')
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def run_drive(drive, args, env, timeout=60):
    r = subprocess.run([drive] + args, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise Failure('srv_drive %s failed (%d): %s' % (' '.join(args), r.returncode,
                                                         r.stderr.strip()))
    check_sandboxed(r.stderr, 'srv_drive %s' % args[0].split(',')[0])
    lines = r.stdout.strip().splitlines()
    return parse_result(lines[-1]), r.stderr


def check_sandboxed(stderr, who):
    """srv_drive ran in vsnd's seccomp sandbox (unless SRV_SANDBOX=off)."""
    if os.environ.get('SRV_SANDBOX') != 'off':
        check('sandbox: seccomp allowlist active' in stderr,
              '%s ran in the seccomp sandbox' % who)


def run_capture(drive, spec, env, out, feed, rate=48000, channels=2, ms=2500, slack=0.1,
                stall_ms=0):
    """srv_drive captures `ms` of S16 through backend `spec` into `out`
    while feed() (started 0.7 s in) plays into what it records; checks it
    ran and got the frames of that time. stall_ms: stop srv_drive (SIGSTOP)
    that long 0.5 s into the feed, as a host that deschedules it would.
    Returns its result line."""
    p = subprocess.Popen([drive, spec, 'capture', 's16', str(rate), str(channels), '960', out,
                          str(ms)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        time.sleep(0.7)
        fed = feed()
        if stall_ms:
            time.sleep(0.5)
            p.send_signal(signal.SIGSTOP)
            time.sleep(stall_ms / 1000)
            p.send_signal(signal.SIGCONT)
        fed.wait(10)
        so, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if p.returncode != 0:
        log(err[-3000:])
    check(p.returncode == 0, 'capture: srv_drive ran')
    res = parse_result(so.strip().splitlines()[-1])
    log('     drive: %s' % res)
    want = ms / 1000 * rate
    check(abs(res['frames'] - want) < slack * rate,
          'capture: %d frames in %.1f s at %d Hz' % (res['frames'], ms / 1000, rate))
    return res


def check_kill_run(rc, so, se, seconds):
    """srv_drive played through a server kill and restart: it ran (in the
    sandbox), in real time through the outage, logging the loss once and
    the reconnection. Returns its result line."""
    check(rc == 0, 'kill: srv_drive ran')
    check_sandboxed(se, 'kill: srv_drive')
    res = parse_result(so.strip().splitlines()[-1])
    log('     drive: %s' % res)
    check(abs(res['elapsed_ms'] - seconds * 1000) < 300,
          'kill: %.0f s completed in %.0f ms (real time through the outage)'
          % (seconds, res['elapsed_ms']))
    check(se.count('server gone') == 1, 'kill: the loss logged once')
    check(se.count('stream 0: connected') == 2, 'kill: reconnection logged')
    return res


def check_sine_resumes(recorded, ref, channels, rate=48000):
    """Half a second of the sine from 10 ms after it comes back: intact at
    one of its 48 phases (a sine aligns at any whole period), same level."""
    onset = first_loud(recorded) // channels * channels
    check(onset >= 0, 'kill: sound after the restart')
    seg = recorded[onset + rate * channels // 100:][:rate * channels // 2]
    c, k = max((correlation(seg, ref[k * channels:k * channels + len(seg)]), k)
               for k in range(48))
    lvl = db(rms(seg), rms(ref[:len(seg)]))
    log('     kill: after restart: correlation %.5f (phase %d), level %+.3f dB' % (c, k, lvl))
    check(len(seg) == rate * channels // 2 and c > 0.99 and abs(lvl) < 0.5,
          'kill: the sine resumes intact after the restart')


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)


def finish(procs, work, ok, keep):
    """Stop the test's processes; its files go unless it failed or --keep."""
    procs.stop_all()
    if ok and not keep:
        rmtree(work)
    else:
        log('files kept in %s' % work)


def server_test_main(kind, tools, make_server, cases, default_env=lambda srv: srv.env):
    """The body of a server test: options, the tools it needs (missing: a
    skip), the server started in a work dir of its own, each case(args, srv,
    work) in turn, then the daemon's default backend choice (--vsnd), and
    everything stopped whatever happens."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--drive', required=True)
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--vsnd', help='the daemon: check that its default picks this server')
    args = ap.parse_args()
    for tool in tools:
        if shutil.which(tool) is None:
            log('SKIP: %s not installed' % tool)
            sys.exit(SKIP)
    work = tmpdir('vsnd-%s-' % kind)
    procs = Procs()
    try:
        srv = make_server(procs, work)
        srv.start()
        for case in cases:
            case(args, srv, work)
        if args.vsnd:
            log('-- the daemon without --backend')
            check_default_backend(args.vsnd, default_env(srv), kind, work)
    finally:
        procs.stop_all()
        if not args.keep:
            rmtree(work)
    log('all %s cases passed' % kind)


def main_wrapper(fn):
    try:
        fn()
    except Failure as e:
        log('FAILED: %s' % e)
        sys.exit(1)


def check_default_backend(vsnd, env, expect, work):
    """vsnd without --backend picks `expect` here, and says so in the log."""
    d = os.path.join(work, 'default-' + expect)
    os.makedirs(d, exist_ok=True)
    daemon = Daemon(vsnd, d, env=env)
    daemon.stop()
    log_text = daemon.log()
    line = [ln for ln in log_text.splitlines() if 'no --backend given' in ln]
    log('     %s' % (line[0].strip() if line else log_text.strip()[-300:]))
    check(bool(line) and ('using %s backend' % expect) in line[0],
          'default backend: %s chosen and logged' % expect)
