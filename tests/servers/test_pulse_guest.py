#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real Linux guest (tests/e2e's QEMU harness) plays and records through
vsnd's pulse backend, against a PulseAudio server this test starts. Two
boots, each with a new vsnd, so that each buffer size has its first stream:
  - a 20 ms buffer of 10 ms periods: aplay of a 3 s clip, then ten 1 s clips
    in a row; arecord of 3 s, then ten 1 s recordings in a row;
  - ALSA's defaults (500 ms, 125 ms periods): the same, and a 6 s clip; the
    server stopped (SIGSTOP) for 3 s during an 8 s aplay (aplay succeeds in
    real time, the clip's end is bit-exact); the server killed -9 during an
    8 s aplay and restarted (aplay succeeds in real time, the driver logs
    no error, the clip's later part is in the recording after the restart).
Every clip is in the null sink's monitor recording, bit-exact (with a 20 ms
buffer an underrun may leave a gap or drop a few frames mid-clip: then none
of its first 10 ms may be lost and its last frame must be heard, and the
damage is reported); every recording is the fed source, bit-exact (with a
20 ms buffer it may skip ahead in it after an overrun, reported, but hold
nothing else, and end on the source). The guest's time, from its stream's START to aplay's or
arecord's exit, must not run fast nor 0.25 s past the bound of 2 % of the
audio plus one period, and is reported against that bound (check_wall).
Exit 77 when QEMU 10 or the guest image is missing (as tests/e2e)."""
import argparse
import os
import signal
import subprocess
import shutil
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / 'e2e'))
import srvlib as S  # noqa: E402
from test_pulse import Pulse  # noqa: E402
import e2e_audio as au  # noqa: E402
import vsnd_e2e as E  # noqa: E402
from e2e_guest import EXIT_SKIP, Skip, build_guest, find_qemu, probe_accel  # noqa: E402

FMT = E.S16_48K_2
Failure = E.Failure
# An outage case's aplay from its START: the clip, its drain (a period and
# the server's latency) and the stall's detection, as tests/e2e's pause case.
EXTRA_S = (-0.1, 0.5)


def guest_wall(ctx, kind, ident):
    """(aplay's or arecord's wall time, the time from its stream's START to
    its exit, the stream's period in frames): the second is what the device
    sets. A first aplay in a TCG guest spends 0.1-0.25 s being loaded before
    it opens the card, which no device can help."""
    f = ctx.step(kind, ident)
    st = ctx.console.find('start', ident) or {}
    try:
        trig, period = float(st['trigger']), int(st['period'])
    except (KeyError, ValueError):
        raise Failure('%s: the guest saw no START (%s)' % (ident, st or 'no report')) from None
    end = (int(f['start_us']) + int(f['wall_us'])) / 1e6
    return int(f['wall_us']) / 1e6, end - trig, period


# The bound (check_wall), per stream: (id, ms over it or 0).
WALLS = []
# What fails a case: a guest clock that runs fast, or LATE_S past the bound (a
# stall): for the 6 s clip +0.495 s from START, within the +0.5 s it had from
# aplay's launch.
LATE_S = 0.25


def check_wall(ctx, kind, ident, seconds):
    """The guest's time, from its stream's START to aplay's or arecord's
    exit, against the issue's bound: within 2 % of the audio plus one
    period. A 6.5+ guest ends a drain with a period of silence it queued
    itself (ALSA's drain silence) and waits for it to be played: that is the
    period. Playback through a server completes when heard, so what the
    server holds and a new stream's start must fit in the 2 %: they do for
    some backends and clips and not for others (20 ms of a 1 s clip, while
    the null backend alone takes 5-15 ms to exit and a server holds 5-40 ms),
    so the bound is reported (WALLS, a WARN line), and a case fails only when
    the guest's clock ran fast or LATE_S past the bound."""
    wall, run, period = guest_wall(ctx, kind, ident)
    limit = 0.02 * seconds + period / FMT.rate
    over = max(0.0, run - seconds - limit)
    msg = ('%s %.3f s, %.3f s from its START, for %.3f s of audio (period %.0f ms, '
           'bound +%.3f s%s)' % ('aplay' if kind == 'play' else 'arecord', wall, run, seconds,
                                 period * 1000 / FMT.rate, limit,
                                 ', %.0f ms over' % (over * 1000) if over else ''))
    WALLS.append((ident, over * 1000))
    if over:
        S.log('WARN %s: %s' % (ident, msg))
    if not -0.02 * seconds < run - seconds < limit + LATE_S:
        raise Failure(msg)
    return msg


def report_walls():
    n_over = sum(1 for _, o in WALLS if o)
    worst = max([o for _, o in WALLS] + [0])
    S.log('walls: %d of %d streams within 2 %% of their audio plus a period from their START'
          '%s' % (len(WALLS) - n_over, len(WALLS),
                  ' (worst %.0f ms over)' % worst if n_over else ''))


class Recorder:
    """A witness of the null sink's monitor (parec here), one file per server
    lifetime, running until the test reads it."""
    SUFFIX, TARGET, PREFIX = 'raw', 'vsnd_null.monitor', 'monitor'

    def __init__(self, server, work):
        self.server, self.work, self.files, self.proc = server, work, [], None
        self.marks = {}  # case id: the file that holds what it checks

    def start(self):
        path = os.path.join(self.work, '%s-%d.%s' % (self.PREFIX, len(self.files) + 1,
                                                      self.SUFFIX))
        self.files.append(path)
        self.proc = self.server.record(path, self.TARGET)

    def stop(self):
        if self.proc:
            self.server.procs.stop(self.proc, signal.SIGINT)
            self.proc = None

    def samples(self, raw):
        return raw

    def data(self, i):
        self.stop()
        with open(self.files[i], 'rb') as f:
            return self.samples(f.read())


SMALL_BUFS = (480, 960)  # a 20 ms buffer of 10 ms periods (frames)


def with_bufs(bufs, steps):
    """Plan steps run with ALSA asked for bufs (period, buffer frames), or
    with its defaults when bufs is None."""
    return ['bufs %d %d' % bufs] + steps + ['bufs 0 0'] if bufs else steps


class PlayCase(E.PlaybackCase):
    """aplay of a clip (ALSA's defaults, or BUFS = (period, buffer) frames):
    every frame in the witness recording, bit-exact, and the guest's time
    within the bound (check_wall)."""

    def __init__(self, ident, clip, rec, bufs=None):
        super().__init__(ident, FMT, clip)
        self.rec, self.bufs = rec, bufs
        self.rec_ix = len(rec.files) - 1  # the witness file it plays into
        self.name = 'playback %s%s' % (FMT, ', %d ms buffer of %d ms periods' % (
            bufs[1] * 1000 // FMT.rate, bufs[0] * 1000 // FMT.rate) if bufs else '')

    def plan(self):
        step = ['play-timed ' + super().plan()[0].split(' ', 1)[1]]
        return with_bufs(self.bufs, step)

    def check(self, ctx):
        ctx.step('play', self.id)
        heard = self.rec.data(self.rec_ix)
        m = au.locate(heard, self.clip, FMT)
        total = len(self.clip) // FMT.frame_bytes
        wall = check_wall(ctx, 'play', self.id, self.seconds)
        if m.found:
            return '%s: all %d frames bit-exact in the sink monitor; %s' % (self.id, total, wall)
        msg = '%s: %s frames of %d in the monitor recording (%s)' % (
            self.id, m.matched, total, m.where or 'not found')
        if not self.bufs:
            raise Failure(msg)
        # A 20 ms buffer whose periods complete only once heard leaves a few
        # ms to refill it, and to vsnd's server thread to answer the server
        # (PulseAudio asks for 5 ms): a TCG guest or a loaded host is
        # sometimes later, and the server plays silence (an underrun; a
        # frame written after PulseAudio's read position has passed it is
        # dropped). Reported; what must hold is the clip's first 10 ms,
        # bit-exact, and its last frame heard (nothing lost at the start,
        # no lost tail).
        w = walk(heard, self.clip)
        if w is None:
            raise Failure(msg + '; its first frames are not there')
        gaps, lost = w
        what = '%d silent gap(s) inserted, %d frame(s) lost%s' % (
            len(gaps), sum(n for _, n in lost),
            ' (at frames %s)' % ', '.join('%d+%d' % x for x in lost[:4]) if lost else '')
        if lost and lost[0][0] < FMT.rate // 100:
            raise Failure('%s; %s: frames lost in its first 10 ms' % (msg, what))
        if lost and sum(lost[-1]) >= total:
            raise Failure('%s; %s: its last frame was not heard' % (msg, what))
        S.log('WARN %s; %s (an underrun)' % (msg, what))
        return ('%s: none of its first 10 ms lost, its last frame heard, %s; %s'
                % (self.id, what, wall))


def walk(heard, clip):
    """Follows the clip through `heard` from its first 64 frames (None when
    they are not there, bit-exact): ([heard positions of inserted silence],
    [(clip frame, frames lost)]). A loss is resynchronised on the next 64
    frames of the clip found within 0.5 s."""
    fb, n = FMT.frame_bytes, len(clip) // FMT.frame_bytes
    j = heard.find(clip[:64 * fb])
    while j >= 0 and j % fb:
        j = heard.find(clip[:64 * fb], j + 1)
    if j < 0:
        return None
    zero, span = bytes(fb), FMT.rate // 2 * fb
    i, gaps, lost = 0, [], []
    while i < n:
        if heard[j:j + fb] == clip[i * fb:(i + 1) * fb]:
            i, j = i + 1, j + fb
            continue
        k = j
        while k < len(heard) and k - j < span and heard[k:k + fb] == zero:
            k += fb
        if k > j and heard[k:k + fb] == clip[i * fb:(i + 1) * fb]:
            gaps.append(j // fb)
            j = k
            continue
        # one frame at a time, then a block at a time (finds are costly)
        for d in list(range(1, 64)) + list(range(64, FMT.rate // 2, 64)):
            probe = clip[(i + d) * fb:(i + d + 64) * fb]
            if len(probe) < 16 * fb:
                break
            pos = heard.find(probe, j, j + span)
            while pos >= 0 and (pos - j) % fb:
                pos = heard.find(probe, pos + 1, j + span)
            if pos >= 0:
                break
        else:
            pos = -1
        if pos < 0:
            lost.append((i, n - i))
            break
        lost.append((i, d))
        i, j = i + d, pos
    return gaps, lost


class LoopCaptureCase(E.Case):
    """arecord of a source fed with `pattern` over and over (ALSA's defaults,
    or BUFS): bit-exact, and the guest's time within the bound."""

    def __init__(self, ident, pattern, seconds, bufs=None):
        self.name, self.id, self.pattern = 'capture %s' % FMT, ident, pattern
        self.frames, self.bufs = int(seconds * FMT.rate), bufs
        if bufs:
            self.name += ', %d ms buffer of %d ms periods' % (bufs[1] * 1000 // FMT.rate,
                                                              bufs[0] * 1000 // FMT.rate)

    def plan(self):
        step = ['record-timed %s %s %d %d %d' % (self.id, FMT.alsa, FMT.rate, FMT.channels,
                                                 self.frames)]
        return with_bufs(self.bufs, step)

    WHAT = 'pattern'

    def references(self, nbytes):
        """What the recording must be a piece of (any one of them)."""
        return [self.pattern * (nbytes // len(self.pattern) + 2)]

    @staticmethod
    def align(body, pat):
        """(frames of body bit-exact in pat from where its start is, pat, that
        byte offset), or None when its first 64 frames are not in pat."""
        fb = FMT.frame_bytes
        at = pat.find(body[:64 * fb])
        while at >= 0 and at % fb:
            at = pat.find(body[:64 * fb], at + 1)
        return (au.common_prefix(body, pat[at:]) // fb, pat, at) if at >= 0 else None

    def out_bytes(self):
        return self.frames * FMT.frame_bytes

    def duration(self):
        return self.frames / FMT.rate

    def check(self, ctx):
        ctx.step('record', self.id)
        rec = (ctx.gout / ('%s.raw' % self.id)).read_bytes()
        fb = FMT.frame_bytes
        # Skip the stream's start (silence until the server's first fragment).
        skip = FMT.rate // 10 * fb
        body = rec[skip:]
        found = [m for m in (self.align(body, pat) for pat in self.references(len(body))) if m]
        if not found:
            raise Failure('%s: the fed %s is not in the recording' % (self.id, self.WHAT))
        same, pat, at = max(found, key=lambda m: m[0])
        msg = '%s: %d of %d frames after the first 100 ms bit-exact' % (
            self.id, same, len(body) // fb)
        wall = check_wall(ctx, 'record', self.id, self.duration())
        if same == len(body) // fb:
            return msg + '; ' + wall
        if not self.bufs:
            raise Failure(msg)
        # With 20 ms the guest has a few ms to take each period: one taken
        # late overflows the ring (an overrun, reported to the guest), and
        # the recording skips what did not fit. It may skip; it may hold
        # nothing that was not fed, and its last frame must be the source's.
        w = walk(pat[at:], body)
        if w is None or (w[1] and sum(w[1][-1]) >= len(body) // fb):
            raise Failure(msg + '; its start or its end is not the source')
        S.log('WARN %s; the recording skips ahead in the source %d time(s) (an overrun)'
              % (msg, len(w[1]) + len(w[0])))
        return msg + ', the rest the source in order with a skip; ' + wall


class OutageCase(E.PlaybackCase):
    """The server goes 2 s into an 8 s aplay: killed and back 1 s later
    (kill), or stopped with SIGSTOP for 3 s (stop). The guest's clock keeps
    running either way, and the clip resumes bit-exact once the server is
    back."""
    NAMES = {'kill': 'server killed and restarted during aplay',
             'stop': 'server stopped (SIGSTOP) for 3 s during aplay'}

    def __init__(self, ident, clip, rec):
        super().__init__(ident, FMT, clip)
        self.rec = rec
        self.name = self.NAMES[ident]

    def plan(self):
        return ['wait-host %s 0' % self.id, 'play-timed ' + super().plan()[0].split(' ', 1)[1]]

    def check(self, ctx):
        wall, run, _ = guest_wall(ctx, 'play', self.id)
        msg = 'aplay succeeded in %.3f s, %.3f s from its START, for %.3f s of audio' % (
            wall, run, self.seconds)
        if not EXTRA_S[0] < run - self.seconds < EXTRA_S[1]:
            raise Failure(msg + ': not real time (want +%g to +%g s)' % EXTRA_S)
        after = self.rec.data(self.rec.marks.get(self.id, len(self.rec.files) - 1))
        fb, rate = FMT.frame_bytes, FMT.rate
        # 100 ms of the clip from 0.6 s before its end (well after the
        # server came back), bit-exact in what was recorded since.
        at = int(self.seconds * rate - 0.6 * rate) * fb
        if after.find(self.clip[at:at + rate // 10 * fb]) < 0:
            raise Failure(msg + '; the clip after the server came back is not in the recording')
        return msg + '; the clip at %.2f s, after the server came back, bit-exact' % (
            at / fb / rate)


def outage_hooks(server, rec):
    def kill():
        time.sleep(2.0)
        rec.stop()
        server.kill()
        S.log('host| server killed')
        time.sleep(1.0)
        server.start()
        rec.start()
        rec.marks['kill'] = len(rec.files) - 1
        S.log('host| server restarted')

    def stop():
        time.sleep(2.0)
        rec.marks['stop'] = len(rec.files) - 1
        server.signal(signal.SIGSTOP)
        S.log('host| server stopped')
        time.sleep(3.0)
        server.signal(signal.SIGCONT)
        S.log('host| server continued')

    def hook(kind, fields):
        if kind == 'wait' and fields.get('id') in ('kill', 'stop'):
            threading.Thread(target=kill if fields['id'] == 'kill' else stop,
                             daemon=True).start()
    return [hook]


def row_synth(i):
    """The i-th clip of the row, each unlike the others: the witness check
    finds a clip's first copy in the recording, so a tenth clip equal to the
    first (nine synths) would pass on the first one's audio."""
    n = len(E.SYNTHS)
    return E.SYNTHS[i % n] + ' reverse' * (i // n)


def play_row(w, rec, prefix, seconds, synth_at, bufs=None):
    """A clip, then ten 1 s clips in a row, each a new stream that may lose
    no frame at either end."""
    def clip(ident, secs, synth):
        return PlayCase(ident, au.sox_make(w / (ident + '.raw'), FMT, secs, synth), rec, bufs)
    # Each with a gain of its own: clips of one synth begin alike whatever
    # their length (small and smallrow0 shared their first 464 frames, and
    # the witness check, which finds a clip's first copy, followed row0
    # into small's audio and reported it lost), and the boot's other clips
    # (pace, stop, kill) use these synths as they are.
    series = [clip('%srow%d' % (prefix, i), 1,
                   row_synth(i + synth_at) + ' gain -%.1f' % (0.1 * (i + 1)))
              for i in range(10)]
    for i, c in enumerate(series):
        c.name += ', %d of 10 in a row' % (i + 1)
    return [clip(prefix or 'pb', seconds, E.SYNTHS[synth_at])] + series


def small_cases(w, rec, more):
    """The second boot, a new vsnd: all with a 20 ms buffer of 10 ms periods,
    the first stream of each direction after vsnd started, then ten in a row."""
    caps = [c for c in more if isinstance(c, LoopCaptureCase)]
    return play_row(w, rec, 'small', 3, 1, SMALL_BUFS) + (
        capture_cases(caps[0].pattern, 'small', SMALL_BUFS, type(caps[0])) if caps else [])


def daemon_log_ok(path):
    """One kill, one stop: a stall seen anywhere else would have played a
    live server's audio out as silence."""
    if not path.exists():
        return True
    text, ok = path.read_text(errors='replace'), True
    for what in ('server gone', 'server stalled'):
        n = text.count(what)
        S.log('%s vsnd log: "%s" %d time(s)' % ('PASS' if n == 1 else 'FAIL', what, n))
        ok = ok and n == 1
    return ok


def guest_main(name, tools, server_cls, recorder_cls, setup):
    """A real guest through vsnd's `name` backend against a server this test
    starts. setup(server, rec, w, procs) returns (backend spec, cases to run
    after the playback cases and before the kill)."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--vsnd', required=True)
    ap.add_argument('--require', action='store_true')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--only', choices=('small', 'defaults'),
                    help="one boot: the 20 ms buffers' or ALSA's defaults'")
    args = ap.parse_args()
    args.vsnd, args.device, args.guest = os.path.abspath(args.vsnd), 'vhost-user', '6.12'
    for tool in tools + ('sox',):
        if subprocess.run(['which', tool], capture_output=True).returncode != 0:
            S.log('SKIP: %s not installed' % tool)
            return EXIT_SKIP
    try:
        qemu = find_qemu('vhost-user-snd-pci', args.guest)
        gdir = build_guest(args.guest)
    except Skip as e:
        S.log('SKIP: %s' % e)
        return 1 if args.require else EXIT_SKIP
    accel = probe_accel(qemu, gdir)
    work = S.tmpdir('vsnd-e2e-%s-' % name)
    procs = S.Procs()
    ok = False
    try:
        server = server_cls(procs, work)
        server.start()
        rec = recorder_cls(server, work)
        rec.start()
        w = Path(work)
        env = {'backend': None, 'more': None}

        def ready():
            env['backend'], env['more'] = setup(server, rec, w, procs)

        def boot(tag, make_cases, opts=None):
            """One boot, and once more with a new server if the server
            aborted on its own assertion meanwhile (PulseAudio 16.1 did,
            once in about ten runs: memblock.c:780, n_imported). The boot's
            daemon log and console are kept as vsnd-TAG.log, console-TAG.log
            (the next boot writes vsnd.log anew)."""
            for attempt in (1, 2):
                seen = S.server_aborts(w)
                results, _ = E.run_cases(args, qemu, gdir, accel, work, env['backend'],
                                         make_cases(), opts=opts)
                for f in ('vsnd', 'console'):
                    if (w / (f + '.log')).exists():
                        shutil.copyfile(w / (f + '.log'), w / ('%s-%s.log' % (f, tag)))
                if attempt == 2 or not S.aborted_since(w, seen, 'this boot'):
                    return results
                rec.stop()
                server.start()
                rec.start()
                ready()

        ready()
        ok = True
        if args.only != 'defaults':
            # First: the kill at the end of the other boot ends the feeders.
            ok = E.report(boot('small', lambda: small_cases(w, rec, env['more'])))
            rec.start()
        if args.only != 'small':
            results = boot('defaults', lambda: play_row(w, rec, '', 3, 0) + [
                PlayCase('pace', au.sox_make(w / 'pace.raw', FMT, 6, E.SYNTHS[5]), rec)] +
                env['more'] + [
                OutageCase('stop', au.sox_make(w / 'stop.raw', FMT, 8, E.SYNTHS[4] + ' reverse'),
                           rec),
                OutageCase('kill', au.sox_make(w / 'kill.raw', FMT, 8, E.SYNTHS[3]), rec)],
                opts={'hooks': outage_hooks(server, rec)})
            ok = E.report(results) and daemon_log_ok(w / 'vsnd.log') and ok
        report_walls()
    finally:
        S.finish(procs, work, ok, args.keep)
    return 0 if ok else 1


def pulse_setup(pa, rec, w, procs):
    """Capture from a null sink's monitor that pacat feeds with a pattern."""
    pattern = au.sox_make(w / 'pattern.raw', FMT, 1, E.SYNTHS[6])
    procs.start(['sh', '-c', 'while :; do cat "$0"; done | pacat --raw --format=s16le '
                 '--rate=48000 --channels=2 -d vsnd_src', str(w / 'pattern.raw')], env=pa.env)
    backend = 'pulse,server=unix:%s,sink=vsnd_null,source=vsnd_src.monitor,name=e2e' % pa.sock
    return backend, capture_cases(pattern)


def capture_cases(pattern, prefix='', bufs=None, cls=LoopCaptureCase):
    """arecord of what is fed: once for 3 s (as the first playback), then
    ten 1 s recordings in a row, each a new stream, bit-exact after its
    first 100 ms."""
    series = [cls('%scaprow%d' % (prefix, i), pattern, 1, bufs) for i in range(10)]
    for i, c in enumerate(series):
        c.name += ', %d of 10 in a row' % (i + 1)
    return [cls(prefix + 'cap', pattern, 3, bufs)] + series


if __name__ == '__main__':
    sys.exit(guest_main('pulse', ('pulseaudio', 'pactl', 'parec', 'pacat'), Pulse, Recorder,
                        pulse_setup))
