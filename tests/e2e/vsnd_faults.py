#!/usr/bin/env python3
"""vsnd fault injection with the real guest (Linux virtio_snd in QEMU 10).

Suites:
  qemu-kill  QEMU is SIGKILLed N times (default 50) against one vsnd, in turn
             while QEMU starts (vhost-user negotiation), as the guest's driver
             probes, with the card up and idle, and while aplay is playing. After each, vsnd must still run and notice the
             frontend leaving; after a kill mid-playback the WAV it was writing
             must be finalized at once and hold exactly the frames the guest
             sent (a bit-exact prefix of the clip). Then a new QEMU plays a
             clip bit-exact, the daemon's fd count is what it was before the
             first QEMU, and its RSS stayed flat from cycle 10 to the end.
  reload     the guest unloads and reloads virtio_snd N times (default 20)
             while aplay and arecord are running (the unbind runs the
             driver's remove with both streams open, the device is reset),
             then plays a clip that must come out bit-exact; no stuck stream
             (a hang fails by timeout), no guest kernel complaint, and the
             daemon's fd count and RSS are the same after as before.

Exit status: 0 passed, 1 failed, 77 skipped (prerequisite missing; with
--require a failure). python3 standard library only.
"""

import argparse
import sys
import tempfile
import time
import shutil
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e_audio as au  # noqa: E402
from e2e_guest import Daemon, Failure, Guest, add_guest_option, log, prepare  # noqa: E402
from vsnd_e2e import (S16_48K_2, SYNTHS, Ctx, PlaybackCase, check_dmesg,  # noqa: E402
                      device_args)

RSS_GROWTH_KIB = 1024


class Results:
    def __init__(self):
        self.items = []

    def add(self, name, ok, msg):
        self.items.append((name, ok, msg))
        log(f'{"PASS" if ok else "FAIL"} {name}: {msg}')

    def ok(self):
        return all(ok for _, ok, _ in self.items)


# --- qemu-kill ----------------------------------------------------------------------------

def newest_output(w, before):
    outs = [p for p in w.glob('vsnd-out-0-*.wav') if p not in before]
    return max(outs, key=lambda p: p.stat().st_mtime) if outs else None


def wait_playing(w, before, guest, min_bytes, timeout=90):
    """Until this cycle's playback WAV holds min_bytes of audio."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        p = newest_output(w, before)
        if p is not None and au.file_size(p) >= 44 + min_bytes:
            return p
        if guest.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise Failure('the guest never started playing\n' + '\n'.join(guest.console.lines[-15:]))


def wait_mark(guest, kind, timeout=90):
    t0 = time.monotonic()
    while guest.console.find(kind) is None:
        if guest.proc.poll() is not None or time.monotonic() - t0 > timeout:
            raise Failure(f'the guest never reported "{kind}"\n'
                          + '\n'.join(guest.console.lines[-15:]))
        time.sleep(0.01)


def check_prefix(path, clip, fmt):
    """The WAV is finalized and holds a bit-exact prefix of the clip, after
    silence at most; returns its frame count."""
    wav = au.read_wav(path)
    if wav.note:
        raise Failure(f'{path.name}: header not finalized ({wav.note})')
    m = au.locate(wav.data, clip, fmt)
    if m.offset < 0:
        raise Failure(f'{path.name}: the clip\'s first frames are not in it')
    if not m.aligned or not m.lead_silent or not (m.found or m.where == 'output ends'):
        raise Failure(f'{path.name}: not a clean prefix of the clip (aligned {m.aligned}, '
                      f'silent lead {m.lead_silent}, {m.where}, {m.matched} frames match)')
    return m.matched


def kill_cycle(env, k, res, stats):
    w, d, clip = env['w'], env['daemon'], env['clip']
    before = set(w.glob('vsnd-out-*.wav'))
    g = Guest(env['qemu'], env['gdir'], env['accel'], w, 'plan', env['dev'],
              ['play kill S16_LE 48000 2 long.raw'], {'long.raw': clip}, quiet=True)
    # Rotate over the stages: QEMU starting (vhost-user negotiation), the
    # guest's boot marker (its driver probes right after), the card found
    # (driver up, streams idle), and aplay playing. Every other kill is an
    # early one: they cost no guest boot.
    stage = (0, 1, 0, 2, 0, 3)[k % 6]
    mid = stage == 3
    if stage == 0:
        time.sleep(0.1 + (k // 2 % 8) * 0.12)
        phase = 'QEMU starting'
    elif stage in (1, 2):
        mark = 'boot' if stage == 1 else 'card'
        wait_mark(g, mark)
        time.sleep((k // 6 % 5) * 0.05)
        phase = 'guest booted, driver probing' if stage == 1 else 'card up, streams idle'
    else:
        out = wait_playing(w, before, g, 48000 * 4 * 3 // 10)
        time.sleep((k % 7) * 0.13)
        phase = 'playing'
    t_kill = time.monotonic()
    g.kill()
    d.wait_log('frontend disconnected', k + 1)
    stats['disc'].append(time.monotonic() - t_kill)
    stats['phase'][phase] = stats['phase'].get(phase, 0) + 1
    if not mid:
        return
    frames = check_prefix(out, clip, S16_48K_2)
    stats['frames'].append(frames)
    if frames == 0:
        raise Failure(f'cycle {k + 1}: nothing played before the kill')


def suite_qemu_kill(env, args, res):
    w = env['w']
    clip = au.sox_make(w / 'long.raw', S16_48K_2, 20, SYNTHS[0])
    env['clip'] = clip
    d = Daemon(args.vsnd, w, f'file,out={w}/vsnd-out-%u-%n.wav')
    d.start()
    env['daemon'] = d
    try:
        fds0 = d.settled_fds(step=0.2)
        stats = {'disc': [], 'frames': [], 'phase': {}}
        rss10 = None
        t0 = time.monotonic()
        for k in range(args.kills):
            try:
                kill_cycle(env, k, res, stats)
            except Failure as e:
                res.add(f'kill {k + 1}', False, str(e))
                return
            if k == 9:
                d.settled_fds(step=0.2)
                rss10 = d.rss_kib()
        dt = time.monotonic() - t0
        res.add('QEMU killed', True,
                f'{args.kills} kills in {dt:.0f} s (' +
                ', '.join(f'{n} {ph}' for ph, n in sorted(stats['phase'].items())) +
                f'), vsnd up after each; it logged the frontend gone within '
                f'{max(stats["disc"]) * 1000:.0f} ms of QEMU\'s death (worst)')
        if stats['frames']:
            res.add('output finalized at kill', True,
                    f'{len(stats["frames"])} mid-playback kills: each WAV valid and a '
                    f'bit-exact prefix of the clip ({min(stats["frames"])}..'
                    f'{max(stats["frames"])} frames)')
        fds1, rss1 = d.settled_fds(step=0.2), d.rss_kib()
        res.add('fds', fds1 == fds0, f'daemon fds before the first QEMU {fds0}, after the '
                                     f'last {fds1}')
        if rss10 is not None and not args.no_rss:
            res.add('memory', rss1 - rss10 <= RSS_GROWTH_KIB,
                    f'RSS after 10 kills {rss10} KiB, after {args.kills} {rss1} KiB '
                    f'(limit +{RSS_GROWTH_KIB})')
        final_playback(env, res, 'next QEMU')
    finally:
        err = d.stop()
        res.add('vsnd exit', not err, err or 'exit status 0 on SIGTERM')


def final_playback(env, res, label, plan_before=(), files=None, timeout=300):
    """A full guest run that plays a clip; it must come out bit-exact."""
    w = env['w']
    clip = au.sox_make(w / 'final.raw', S16_48K_2, 3, SYNTHS[3])
    case = PlaybackCase('final', S16_48K_2, clip)
    g = Guest(env['qemu'], env['gdir'], env['accel'], w, 'plan', env['dev'],
              list(plan_before) + case.plan(), dict(files or {}, **case.files()),
              case.out_bytes())
    gout = g.wait(timeout)
    ctx = Ctx(w, g.console, gout)
    for name, fn in [(label + ' plays bit-exact', lambda: case.check(ctx)),
                     ('guest kernel log', lambda: check_dmesg(ctx))]:
        try:
            res.add(name, True, fn())
        except (Failure, OSError, KeyError, ValueError) as e:
            res.add(name, False, str(e))
    errs = [rest for _, rest in g.console.all('error')]
    res.add('guest errors', not errs, '; '.join(errs) or 'none')
    return g.console


# --- reload --------------------------------------------------------------------------------

def suite_reload(env, args, res):
    w = env['w']
    clip = au.sox_make(w / 'long.raw', S16_48K_2, 20, SYNTHS[1])
    d = Daemon(args.vsnd, w, f'file,out={w}/vsnd-out-%u-%n.wav')
    d.start()
    try:
        fds0, rss0 = d.settled_fds(step=0.2), d.rss_kib()
        resets0 = d.log().count('device reset')
        t0 = time.monotonic()
        console = final_playback(env, res, f'after {args.reloads} reloads',
                                 [f'reload rl {args.reloads} S16_LE 48000 2 long.raw'],
                                 {'long.raw': clip}, timeout=300 + 10 * args.reloads)
        dt = time.monotonic() - t0
        cycles = [f for f, _ in console.all('reload-cycle')]
        done = console.find('reload', 'rl')
        ok = done is not None and done.get('fails') == '0' and len(cycles) == args.reloads
        worst = max((int(f.get('unbind_us', 0)) for f in cycles), default=0)
        res.add('driver reloads', ok,
                f'{len(cycles)} of {args.reloads} reloads with aplay and arecord running, '
                f'{done.get("fails") if done else "?"} failed, in {dt:.0f} s (guest run); '
                f'slowest unbind {worst / 1000:.0f} ms (guest clock)')
        resets = d.log().count('device reset') - resets0
        res.add('device resets seen', resets >= args.reloads,
                f'vsnd detected {resets} driver resets (want >= {args.reloads})')
        d.wait_log('frontend disconnected', 1)
        fds1, rss1 = d.settled_fds(step=0.2), d.rss_kib()
        res.add('fds', fds1 == fds0, f'daemon fds before the guest {fds0}, after {fds1}')
        if not args.no_rss:
            res.add('memory', rss1 - rss0 <= RSS_GROWTH_KIB,
                    f'RSS before {rss0} KiB, after {rss1} KiB (limit +{RSS_GROWTH_KIB})')
    finally:
        err = d.stop()
        res.add('vsnd exit', not err, err or 'exit status 0 on SIGTERM')


SUITES = {'qemu-kill': suite_qemu_kill, 'reload': suite_reload}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('suite', choices=sorted(SUITES) + ['all'])
    ap.add_argument('--vsnd', help='path of the vsnd executable')
    add_guest_option(ap)
    ap.add_argument('--require', action='store_true',
                    help='missing prerequisites are a failure, not a skip')
    ap.add_argument('--workdir', help='keep everything here (default: a temp dir, '
                                      'deleted when all checks pass)')
    ap.add_argument('--kills', type=int, default=50)
    ap.add_argument('--reloads', type=int, default=20)
    ap.add_argument('--no-rss', action='store_true',
                    help='no RSS rows: a sanitizer build keeps freed memory in quarantine '
                         '(its own leak check stands in for them)')
    args = ap.parse_args()
    args.device = 'vhost-user'
    ready = prepare(args)
    if isinstance(ready, int):
        return ready
    qemu, gdir, accel = ready
    ok = True
    for s in sorted(SUITES) if args.suite == 'all' else [args.suite]:
        w = Path(args.workdir) / s if args.workdir else Path(tempfile.mkdtemp(
            prefix=f'vsnd-fault-{s}-'))
        shutil.rmtree(w, ignore_errors=True)
        w.mkdir(parents=True)
        log(f'=== fault suite {s} (workdir {w})')
        env = {'w': w, 'qemu': qemu, 'gdir': gdir, 'accel': accel,
               'dev': device_args(args, w)}
        res = Results()
        try:
            SUITES[s](env, args, res)
        except Failure as e:
            res.add(s, False, str(e))
        failed = sum(1 for _, good, _ in res.items if not good)
        log(f'{len(res.items) - failed} passed, {failed} failed')
        ok = ok and res.ok()
        if res.ok() and not args.workdir:
            shutil.rmtree(w, ignore_errors=True)
        elif not res.ok():
            log(f'files kept in {w}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
