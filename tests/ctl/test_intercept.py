#!/usr/bin/env python3
"""vsnd-ctl inject, tap, wait and status --json without a VM: vsnd (file backend)
with a --control socket, vsnd-drive as the frontend and the guest's driver.

- inject --mix into a capture of a noise file: outside the clip the recording is the
  noise bit-exact, inside it the clipped sum of noise and clip, sample by sample;
- inject of a 44.1 kHz mono file into the 48 kHz stereo stream: converted (both
  channels equal, the file's length at the new rate), then the noise again;
- tap --seconds 0.5 of a playback: exactly 24000 frames, a contiguous run of the clip;
- wait: times out with no frontend and on a stream that does not start, returns
  for one that does; status --json follows its schema;
- bad commands are refused with the reason.

Usage: test_intercept.py VSND VSND_CTL VSND_DRIVE. python3 standard library only.
"""
import json
import random
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'support'))
import vsndtest as T  # noqa: E402

VSND, CTL, DRIVE = sys.argv[1:4]
TALLY = T.Tally()
check = TALLY.check


def write_wav(path, samples, rate=48000, channels=2):
    T.write_wav(path, samples, channels, rate)


def read_wav(path):
    """(samples, rate, channels) of an S16 WAV."""
    w = T.read_wav(path)
    return w.s16(), w.rate, w.channels


def noise(n, seed, amp=20000):
    rnd = random.Random(seed)
    return [rnd.randint(-amp, amp) for _ in range(n)]


def ctl(sock, *words, timeout=30):
    return subprocess.run([CTL, sock] + [str(w) for w in words], capture_output=True,
                          text=True, timeout=timeout)


def find(hay, needle):
    """Index (in samples, frame-aligned) of needle in hay, or -1."""
    h, n = struct.pack(f'<{len(hay)}h', *hay), struct.pack(f'<{len(needle)}h', *needle)
    at = h.find(n)
    while at >= 0 and at % 4:
        at = h.find(n, at + 1)
    return at // 2 if at >= 0 else -1


def mix_case(d, sock, vs):
    clip = noise(48000, 2)                         # 0.5 s stereo
    write_wav(f'{d}/clip.wav', clip)
    rec = subprocess.Popen([VSND_DRIVE_CMD, vs, 'record', f'{d}/rec.wav', '--seconds', '2',
                            '--stream', '1', '-q'])
    r = ctl(sock, 'wait', 1, 'started', '--timeout', 10)
    check(r.returncode == 0, f'wait 1 started returns when the capture starts ({r.stdout.strip()}{r.stderr.strip()})')
    time.sleep(0.5)
    r = ctl(sock, 'inject', 1, f'{d}/clip.wav', '--mix')
    check(r.returncode == 0, f'inject --mix accepted ({r.stderr.strip()})')
    check(rec.wait(30) == 0, 'vsnd-drive record succeeded')
    got, _, _ = read_wav(f'{d}/rec.wav')
    src, _, _ = read_wav(f'{d}/noise.wav')
    src = src * 2
    diff = [i for i in range(len(got)) if got[i] != src[i]]
    if not diff:
        check(False, 'the mix changed nothing in the recording')
        return
    a, b = diff[0] - diff[0] % 2, diff[-1] + 1
    want = [max(-32768, min(32767, src[a + i] + clip[i])) for i in range(len(clip))]
    check(got[a:a + len(clip)] == want,
          f'inside the clip ({len(clip) // 2} frames from recording frame {a // 2}) the '
          f'recording is the clipped sum of noise and clip, sample for sample')
    check(b <= a + len(clip) and got[a + len(clip):] == src[a + len(clip):len(got)],
          'before and after it, the noise bit-exact')


def convert_case(d, sock, vs):
    mono = noise(44100 // 2, 3, 12000)             # 0.5 s, 44.1 kHz mono
    write_wav(f'{d}/mono.wav', mono, 44100, 1)
    rec = subprocess.Popen([VSND_DRIVE_CMD, vs, 'record', f'{d}/conv.wav', '--seconds', '2',
                            '--stream', '1', '-q'])
    ctl(sock, 'wait', 1, 'started', '--timeout', 10)
    r = ctl(sock, 'inject', 1, f'{d}/mono.wav')
    check(r.returncode == 0, f'inject of a 44.1 kHz mono file accepted ({r.stderr.strip()})')
    time.sleep(0.8)
    st = json.loads(ctl(sock, 'status', '--json').stdout)['streams'][1]['inject']
    check(st and st['state'] == 'done' and abs(st['frames'] - 24000) <= 64 and st['mode'] == 'replace',
          f'it ran to its end: {st}')
    rec.wait(30)
    got, _, _ = read_wav(f'{d}/conv.wav')
    src, _, _ = read_wav(f'{d}/noise.wav')
    src = src * 2
    other = [i // 2 for i in range(0, len(got), 2) if got[i] != src[i]]
    same_lr = all(got[2 * f] == got[2 * f + 1] for f in range(other[0], other[0] + 20000)) if other else False
    check(same_lr and 23900 <= other[-1] - other[0] <= 24100,
          f'the converted file spans {other[-1] - other[0] + 1 if other else 0} frames at 48 kHz '
          f'(24000 expected), the mono source on both channels')


def tap_case(d, sock, vs):
    clip = noise(48000 * 2 * 2, 4)                 # 2 s stereo
    write_wav(f'{d}/play.wav', clip)
    play = subprocess.Popen([VSND_DRIVE_CMD, vs, 'play', f'{d}/play.wav', '-q'])
    ctl(sock, 'wait', 0, 'started', '--timeout', 10)
    time.sleep(0.3)
    r = ctl(sock, 'tap', 0, f'{d}/tap.wav', '--seconds', 0.5)
    check(r.returncode == 0, f'tap --seconds 0.5 accepted ({r.stderr.strip()})')
    check(play.wait(30) == 0, 'vsnd-drive play succeeded')
    tap, rate, ch = read_wav(f'{d}/tap.wav')
    at = find(clip, tap)
    check(len(tap) == 48000 and rate == 48000 and ch == 2 and at >= 0,
          f'the tap holds {len(tap) // 2} frames (24000 wanted), a run of the clip from its '
          f'frame {at // 2}')


def wait_case(d, sock, vs):
    r = ctl(sock, 'wait', 0, 'started', '--timeout', 0.3)
    check(r.returncode == 1 and 'not started after' in r.stderr,
          f'wait times out with no frontend ({r.stderr.strip()})')
    hold = subprocess.Popen([VSND_DRIVE_CMD, vs, 'hold', '--seconds', '1.5'], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    r = ctl(sock, 'wait', 1, 'started', '--timeout', 0.3)
    check(r.returncode == 1, 'wait times out on a stream that is prepared but not started')
    st = json.loads(ctl(sock, 'status', '--json').stdout)
    s0 = st['streams'][0]
    keys = {'id', 'direction', 'state', 'format', 'channels', 'rate', 'buffer_bytes',
            'period_bytes', 'frames', 'xruns', 'held', 'latency_bytes', 'completed', 'volume',
            'muted', 'entered', 'tap'}
    check(st['version'] == 1 and set(s0) == keys and s0['state'] == 'prepared' and
          s0['entered']['prepared'] == 1 and 'inject' in st['streams'][1] and
          isinstance(st['jacks'], list), f'status --json follows the schema: {s0}')
    for words, pat in ((('inject', 0, f'{d}/clip.wav'), 'playback stream'),
                       (('tap', 1, f'{d}/x.wav'), 'capture stream'),
                       (('inject', 1, f'{d}/none.wav'), 'No such file'),
                       (('inject', 1, f'{d}/notes.txt'), 'cannot read'),
                       (('inject', 9, f'{d}/clip.wav'), 'no stream 9'),
                       (('tap', 0, '/proc/nope/x.wav'), 'cannot create'),
                       (('inject', 1), 'usage'), (('tap', 0, f'{d}/a.wav', '--bogus'), 'usage')):
        r = ctl(sock, *words)
        check(r.returncode == 1 and pat in r.stderr, f'{" ".join(map(str, words[:2]))} ...: {r.stderr.strip()}')
    hold.wait(10)


def main():
    global VSND_DRIVE_CMD
    VSND_DRIVE_CMD = DRIVE
    with tempfile.TemporaryDirectory() as d:
        write_wav(f'{d}/noise.wav', noise(48000 * 2 * 4, 1, 16000))
        with open(f'{d}/notes.txt', 'w') as f:
            f.write('not audio\n')
        sock = f'{d}/c.sock'
        daemon = T.Daemon(VSND, d, args=['--control', sock, '--backend',
                                         f'file,out={d}/out-%u-%n.wav,in={d}/noise.wav,loop=on'])
        vs = str(daemon.sock)
        try:
            T.wait_for(lambda: T.listening(sock), 5, 'the control socket')
            wait_case(d, sock, vs)
            mix_case(d, sock, vs)
            convert_case(d, sock, vs)
            tap_case(d, sock, vs)
        finally:
            check(not daemon.stop() and daemon.rc == 0, 'vsnd exits 0')
    if not TALLY.failed:
        print('inject, tap, wait: all checks passed')
    return TALLY.exit_status()


if __name__ == '__main__':
    sys.exit(main())
