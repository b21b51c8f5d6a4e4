#!/usr/bin/env python3
"""Fault injection against the vsnd daemon with a fast frontend (vsnd-drive,
a user-space virtio-snd driver over vhost-user: no guest to boot).

- frontend killed mid-playback (SIGKILL, as when QEMU dies): vsnd stays up,
  finalizes the WAV it was writing (a valid header, every frame it got),
  serves the next frontend;
- N connect/disconnect cycles (info, and a short playback every 5th): the
  daemon's fd count is the same after as before and its RSS stays flat;
- backend failure: the output file on a read-only filesystem (a read-only
  tmpfs when we may mount one, else a path under a regular file): the
  driver gets IO_ERR at PREPARE, within its 1 s control timeout, vsnd logs
  it and keeps serving;
- the output filesystem fills up mid-playback: the stream keeps real time,
  the failure is logged once, the WAV holds a bit-exact prefix, and the
  next stream is whole once there is room again.

Usage: test_fault.py VSND VSND_DRIVE [--cycles N]
"""
import argparse
import math
import os
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'support'))
import vsndtest as T  # noqa: E402

TALLY = T.Tally()
check = TALLY.check


def write_clip(path, seconds):
    frames = int(48000 * seconds)
    T.write_wav(path, b''.join(struct.pack('<hh', v, -v) for v in
                               (int(8000 * math.sin(i / 7)) for i in range(frames))))
    return frames


class Daemon(T.Daemon):
    """vsnd, and how many frontends this test has sent it (settle)."""

    def __init__(self, exe, workdir, backend):
        env = dict(os.environ)
        # An ASan build holds freed memory in quarantine: RSS would grow
        # with every connection without any leak. Ignored by other builds.
        env['ASAN_OPTIONS'] = ':'.join(o for o in [os.environ.get('ASAN_OPTIONS', ''),
                                                   'quarantine_size_mb=0'] if o)
        super().__init__(exe, workdir, args=['--backend', backend], env=env)
        self.connections = 0

    def settle(self):
        """Wait until vsnd has seen every frontend we started go away."""
        T.wait_for(lambda: self.log().count('frontend disconnected') >= self.connections, 5,
                   'vsnd to notice a frontend leaving', step=0.01)
        # "before" and "after" compare idle states
        self.settled_fds(step=0.1, timeout=2)

    def stopped_cleanly(self):
        """SIGTERM: did it exit 0 (a leak under ASan exits otherwise)?"""
        return not self.stop() and self.rc == 0


def drive(args, d, *cmd, timeout=30):
    d.connections += 1
    return subprocess.run([args.drive, str(d.sock)] + list(cmd), capture_output=True,
                          text=True, timeout=timeout)


def frontend_killed(args, work):
    """SIGKILL the frontend 0.6 s into a 2 s playback."""
    clip = os.path.join(work, 'clip2s.wav')
    write_clip(clip, 2.0)
    d = Daemon(args.vsnd, work, 'file,out=' + os.path.join(work, 'out-%n.wav'))
    try:
        p = subprocess.Popen([args.drive, d.sock, 'play', clip, '-q'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.6)
        p.kill()
        p.wait()
        time.sleep(0.2)
        check(d.alive(), 'frontend killed mid-playback: vsnd still running')
        out = os.path.join(work, 'out-0.wav')
        try:
            with wave.open(out) as w:
                n, rate = w.getnframes(), w.getframerate()
            size = os.path.getsize(out)
            check(rate == 48000 and 0 < n < 96000 and size == 44 + 4 * n,
                  f'output finalized at once: {n} frames ({n / 48000:.2f} s) in a valid WAV '
                  f'of {size} bytes')
        except (OSError, wave.Error, EOFError) as e:
            check(False, f'output finalized: {e}')
        r = drive(args, d, 'info')
        check(r.returncode == 0 and d.alive(), 'the next frontend is served (info)')
    finally:
        check(d.stopped_cleanly(), 'vsnd exits 0 on SIGTERM after the killed frontend')


def cycles(args, work):
    clip = os.path.join(work, 'clip50ms.wav')
    write_clip(clip, 0.05)
    d = Daemon(args.vsnd, work, 'null')
    try:
        for _ in range(5):      # warm-up: allocator arenas, lazy init
            drive(args, d, 'info')
            drive(args, d, 'play', clip, '-q')
        d.settle()
        fds0, rss0 = d.fds(), d.rss_kib()
        bad = 0
        t0 = time.monotonic()
        for i in range(args.cycles):
            r = drive(args, d, 'info') if i % 5 else drive(args, d, 'play', clip, '-q')
            bad += r.returncode != 0
        dt = time.monotonic() - t0
        d.settle()
        fds1, rss1 = d.fds(), d.rss_kib()
        check(bad == 0 and d.alive(),
              f'{args.cycles} connect/disconnect cycles in {dt:.1f} s, {bad} failed')
        check(fds1 == fds0, f'fd count before {fds0}, after {fds1}')
        check(rss1 - rss0 <= 256, f'RSS before {rss0} KiB, after {rss1} KiB '
              f'(growth {rss1 - rss0} KiB, limit 256)')
    finally:
        check(d.stopped_cleanly(), 'vsnd exits 0 on SIGTERM after the cycles')


def readonly_dir(work):
    """A read-only filesystem if we may mount one; else a path no one can create."""
    ro = os.path.join(work, 'ro')
    os.mkdir(ro)
    if os.geteuid() == 0 and subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=64k',
                                             'vsnd-fault', ro],
                                            capture_output=True).returncode == 0:
        return ro, 'read-only tmpfs', lambda: subprocess.run(['umount', ro])
    if os.geteuid() != 0:
        os.chmod(ro, 0o555)
        return ro, 'read-only directory', lambda: None
    return os.devnull + '/vsnd', 'path under a regular file', lambda: None


def backend_failure(args, work):
    clip = os.path.join(work, 'clip50ms.wav')
    write_clip(clip, 0.05)
    where, kind, undo = readonly_dir(work)
    d = Daemon(args.vsnd, work, 'file,out=' + os.path.join(where, 'out-%n.wav'))
    try:
        for attempt in range(2):
            t0 = time.monotonic()
            r = drive(args, d, 'play', clip, '-q', timeout=5)
            dt = time.monotonic() - t0
            check(r.returncode != 0 and 'IO_ERR' in r.stderr and dt < 1.0,
                  f'output on a {kind}, attempt {attempt + 1}: the driver got IO_ERR in '
                  f'{dt * 1000:.0f} ms ({r.stderr.strip()})')
        check('could not open' in d.log(), 'vsnd logged the backend failure')
        r = drive(args, d, 'info')
        check(r.returncode == 0 and d.alive(), 'vsnd keeps serving after the failures')
    finally:
        check(d.stopped_cleanly(), 'vsnd exits 0 on SIGTERM after the backend failures')
        undo()


def clip_frames(path):
    with wave.open(path) as w:
        return w.readframes(w.getnframes())


def full_filesystem(args, work):
    """The output filesystem fills up mid-playback: the stream keeps its real
    time (the guest hears nothing wrong but silence in the file's place), the
    failure is logged once, the WAV that was written is valid and bit-exact
    as far as it goes, and once there is room again the next stream is whole."""
    if os.geteuid() != 0:
        print('skip: mounting a small tmpfs needs root', flush=True)
        return
    full = os.path.join(work, 'full')
    os.mkdir(full)
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=128k', 'vsnd-full', full],
                      capture_output=True).returncode != 0:
        print('skip: cannot mount a tmpfs here', flush=True)
        return
    clip = os.path.join(work, 'clip2s.wav')
    write_clip(clip, 2.0)
    want = clip_frames(clip)
    d = Daemon(args.vsnd, work, 'file,out=' + os.path.join(full, 'out-%n.wav'))
    try:
        t0 = time.monotonic()
        r = drive(args, d, 'play', clip, '-q', timeout=10)
        dt = time.monotonic() - t0
        check(r.returncode == 0 and 1.9 < dt < 3.0,
              f'filesystem full after ~0.3 s of a 2 s stream: play rc {r.returncode} in '
              f'{dt:.2f} s, paced in real time ({r.stderr.strip()})')
        d.settle()
        fails = d.log().count('file: writing')
        check(fails == 1, f'the write failure logged once ({fails} times)')
        out = os.path.join(full, 'out-0.wav')
        try:
            got = clip_frames(out)
            check(0 < len(got) < len(want) and want.startswith(got),
                  f'the full file is a valid WAV holding a bit-exact prefix: '
                  f'{len(got) // 4} of {len(want) // 4} frames')
        except (OSError, wave.Error, EOFError) as e:
            check(False, f'the full file is a valid WAV: {e}')
        os.unlink(out)
        short = os.path.join(work, 'clip50ms.wav')
        write_clip(short, 0.05)
        r = drive(args, d, 'play', short, '-q', timeout=10)
        d.settle()
        try:
            got, ref = clip_frames(os.path.join(full, 'out-1.wav')), clip_frames(short)
            # After the last period the clock may play a little silence before
            # the driver's STOP arrives: the file records it like a card would.
            pad = got[len(ref):]
            ok = got.startswith(ref) and pad.count(0) == len(pad) and len(pad) < 48000 * 4 // 50
        except (OSError, wave.Error, EOFError):
            ok = False
        check(r.returncode == 0 and ok, 'with room again, the next stream is written whole '
                                        '(bit-exact, then under 20 ms of silence)')
    finally:
        check(d.stopped_cleanly(), 'vsnd exits 0 on SIGTERM after the full filesystem')
        subprocess.run(['umount', full])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('vsnd')
    ap.add_argument('drive')
    ap.add_argument('--cycles', type=int, default=50)
    args = ap.parse_args()
    args.vsnd, args.drive = os.path.abspath(args.vsnd), os.path.abspath(args.drive)
    with tempfile.TemporaryDirectory(prefix='vsnd-fault-') as work:
        for name, fn in [('frontend killed mid-playback', frontend_killed),
                         ('connect/disconnect cycles', cycles),
                         ('backend failure', backend_failure),
                         ('full filesystem', full_filesystem)]:
            print(f'-- {name}', flush=True)
            sub = os.path.join(work, fn.__name__)
            os.mkdir(sub)
            fn(args, sub)
    return TALLY.exit_status()


if __name__ == '__main__':
    sys.exit(main())
