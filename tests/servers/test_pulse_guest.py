#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real Linux guest (tests/e2e's QEMU harness) plays and records through
vsnd's pulse backend, against a PulseAudio server this test starts:
  - aplay of a clip: the clip is in the null sink's monitor recording, bit-exact;
  - aplay of a longer clip takes its duration in guest time (server-paced);
  - arecord from a null sink's monitor that pacat feeds with a repeating
    pattern, once and ten times in a row: the recording is that pattern,
    bit-exact;
  - the server is stopped (SIGSTOP) for 3 s during an 8 s aplay: aplay
    still succeeds in real time (vsnd paces the stream while the server
    does not call), and the clip's end is in the recording, bit-exact;
  - the server is killed -9 during an 8 s aplay and restarted: aplay still
    succeeds in real time, the guest driver logs no error, and the clip's
    later part is in the recording made after the restart.
Exit 77 when QEMU 10 or the guest image is missing (as tests/e2e)."""
import argparse
import os
import signal
import subprocess
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
# aplay's wall time is the clip plus its drain (a period and the server's
# latency): the same window as tests/e2e's pause case.
EXTRA_S = (-0.1, 0.5)


class Recorder:
    """A witness of the null sink's monitor (parec here), one file per server
    lifetime, running until the test reads it."""
    SUFFIX, TARGET = 'raw', 'vsnd_null.monitor'

    def __init__(self, server, work):
        self.server, self.work, self.files, self.proc = server, work, [], None
        self.marks = {}  # case id: the file that holds what it checks

    def start(self):
        path = os.path.join(self.work, 'monitor-%d.%s' % (len(self.files) + 1, self.SUFFIX))
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


class PlayCase(E.PlaybackCase):
    def __init__(self, ident, clip, rec, pacing=False):
        super().__init__(ident, FMT, clip)
        self.rec, self.pacing = rec, pacing
        self.name = ('pacing %g s' % self.seconds) if pacing else 'playback %s' % FMT

    def check(self, ctx):
        f = ctx.step('play', self.id)
        m = au.locate(self.rec.data(0), self.clip, FMT)
        total = len(self.clip) // FMT.frame_bytes
        if not m.found:
            raise Failure('%s: %s frames of %d in the monitor recording (%s)'
                          % (self.id, m.matched, total, m.where or 'not found'))
        msg = '%s: all %d frames bit-exact in the sink monitor' % (self.id, total)
        if self.pacing:
            wall = int(f['wall_us']) / 1e6
            msg += '; aplay %.3f s for %.3f s of audio' % (wall, self.seconds)
            if not EXTRA_S[0] < wall - self.seconds < EXTRA_S[1]:
                raise Failure(msg + ' (want +%g to +%g s)' % EXTRA_S)
        return msg


class SmallBufferPlayCase(PlayCase):
    """aplay with a 20 ms buffer of 10 ms periods: every frame heard, bit-exact,
    and the guest's wall time within 2 % of the clip plus one period. A TX
    buffer completes only once heard, so the server's latency must fit in the
    guest's buffer."""

    PERIOD, BUFFER = 480, 960

    def __init__(self, ident, clip, rec):
        super().__init__(ident, clip, rec)
        self.name = 'playback, 20 ms buffer of 10 ms periods'

    def plan(self):
        return ['bufs %d %d' % (self.PERIOD, self.BUFFER)] + super().plan() + ['bufs 0 0']

    def check(self, ctx):
        msg = super().check(ctx)
        wall = int(ctx.step('play', self.id)['wall_us']) / 1e6
        limit = 0.02 * self.seconds + self.PERIOD / FMT.rate
        msg += '; aplay %.3f s for %.3f s of audio' % (wall, self.seconds)
        if not -0.1 < wall - self.seconds < limit:
            raise Failure(msg + ' (want -0.1 to +%.3f s)' % limit)
        return msg


class LoopCaptureCase(E.Case):
    """arecord of a source fed with `pattern` over and over: bit-exact."""

    def __init__(self, ident, pattern, seconds):
        self.name, self.id, self.pattern = 'capture %s' % FMT, ident, pattern
        self.frames = int(seconds * FMT.rate)

    def plan(self):
        return ['record %s %s %d %d %d' % (self.id, FMT.alsa, FMT.rate, FMT.channels,
                                           self.frames)]

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
        pat = self.pattern * (len(body) // len(self.pattern) + 2)
        at = pat.find(body[:64 * fb])
        while at >= 0 and at % fb:
            at = pat.find(body[:64 * fb], at + 1)
        if at < 0:
            raise Failure('%s: the fed pattern is not in the recording' % self.id)
        same = au.common_prefix(body, pat[at:]) // fb
        msg = '%s: %d of %d frames after the first 100 ms bit-exact' % (
            self.id, same, len(body) // fb)
        if same != len(body) // fb:
            raise Failure(msg)
        return msg


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
        return ['wait-host %s 0' % self.id] + super().plan()

    def check(self, ctx):
        f = ctx.step('play', self.id)
        wall = int(f['wall_us']) / 1e6
        msg = 'aplay succeeded in %.3f s for %.3f s of audio' % (wall, self.seconds)
        if not EXTRA_S[0] < wall - self.seconds < EXTRA_S[1]:
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


def playback_cases(w, rec, args):
    """What every server runs: a clip, ten short ones in a row with ALSA's
    defaults (none may lose a frame at either end), optionally the 20 ms
    buffer, a longer clip for the guest's wall time."""
    series = [PlayCase('row%d' % i, au.sox_make(w / ('row%d.raw' % i), FMT, 1, row_synth(i)),
                       rec) for i in range(10)]
    for c in series:
        c.name = 'playback %s, %d of 10 in a row' % (FMT, int(c.id[3:]) + 1)
    small = [SmallBufferPlayCase('small', au.sox_make(w / 'small.raw', FMT, 3, E.SYNTHS[1]),
                                 rec)]
    return ([PlayCase('pb', au.sox_make(w / 'pb.raw', FMT, 3, E.SYNTHS[0]), rec)] +
            (small if args.small_buffers else []) + series +
            [PlayCase('pace', au.sox_make(w / 'pace.raw', FMT, 6, E.SYNTHS[5]), rec, True)])


def guest_main(name, tools, server_cls, recorder_cls, setup):
    """A real guest through vsnd's `name` backend against a server this test
    starts. setup(server, rec, w, procs) returns (backend spec, cases to run
    after the playback cases and before the kill)."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--vsnd', required=True)
    ap.add_argument('--require', action='store_true')
    ap.add_argument('--keep', action='store_true')
    # Not in CI yet (issue 16): every frame arrives, but the wall-time bound
    # (2 % plus a period) fails on pipewire (3.08-3.09 s for 3 s: a default
    # PipeWire hears a new stream's first period 54 ms after START) and
    # passes pulse by 8-18 ms only (3.05-3.06 s).
    ap.add_argument('--small-buffers', action='store_true',
                    help='also aplay with a 20 ms buffer of 10 ms periods')
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
        backend, more = setup(server, rec, w, procs)
        cases = playback_cases(w, rec, args) + more + [
            OutageCase('stop', au.sox_make(w / 'stop.raw', FMT, 8, E.SYNTHS[4] + ' reverse'),
                       rec),
            OutageCase('kill', au.sox_make(w / 'kill.raw', FMT, 8, E.SYNTHS[3]), rec)]
        results, _ = E.run_cases(args, qemu, gdir, accel, work, backend, cases,
                                 opts={'hooks': outage_hooks(server, rec)})
        ok = E.report(results)
        daemon_log = w / 'vsnd.log'
        if daemon_log.exists():
            text = daemon_log.read_text(errors='replace')
            # one kill, one stop: a stall seen anywhere else would have
            # played a live server's audio out as silence
            for what in ('server gone', 'server stalled'):
                n = text.count(what)
                S.log('%s vsnd log: "%s" %d time(s)' % ('PASS' if n == 1 else 'FAIL', what, n))
                ok = ok and n == 1
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


def capture_cases(pattern):
    """arecord of the fed pattern: once for 2 s, then ten 1 s recordings in a
    row, each a new stream, bit-exact after its first 100 ms."""
    series = [LoopCaptureCase('caprow%d' % i, pattern, 1) for i in range(10)]
    for c in series:
        c.name = 'capture %s, %d of 10 in a row' % (FMT, int(c.id[6:]) + 1)
    return [LoopCaptureCase('cap', pattern, 2)] + series


if __name__ == '__main__':
    sys.exit(guest_main('pulse', ('pulseaudio', 'pactl', 'parec', 'pacat'), Pulse, Recorder,
                        pulse_setup))
