# SPDX-License-Identifier: MIT
"""What every Python test of vsnd shares (python3 standard library only):

- reporting: log, check (fails at once), Tally (counts, fails at the end),
  Failure, Skip, SKIP (the exit status meson reads as skipped);
- processes: Procs (all stopped at the end), wait_for, listening, Daemon (a
  vsnd on a socket of its own, its log, its /proc figures);
- WAV files: write_wav, read_wav (also one a killed writer left unfinished);
- S16 signals and measures: noise, sine, pack and unpack, level, alignment,
  correlation, where a recording first leaves its source.

A test finds it with
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'support'))
    import vsndtest as T
"""
import dataclasses
import math
import os
import random
import signal
import struct
import subprocess
import time
from pathlib import Path

SKIP = 77  # meson's exit status for a skipped test


# ---- reporting ----

def log(msg=''):
    print(msg, flush=True)


class Failure(Exception):
    """The test failed: the message says what was seen."""


class Skip(Exception):
    """A prerequisite is missing: the test is skipped unless it is required."""


def check(cond, msg):
    """A check the rest of the test depends on: fails it at once."""
    log(('ok: ' if cond else 'FAIL: ') + msg)
    if not cond:
        raise Failure(msg)


class Tally:
    """Checks that go on after a failure; exit_status() sums them up."""

    def __init__(self):
        self.failed = []

    def check(self, cond, msg):
        log(('ok: ' if cond else 'FAIL: ') + msg)
        if not cond:
            self.failed.append(msg)
        return cond

    def exit_status(self):
        if self.failed:
            log('%d check(s) failed:\n  %s' % (len(self.failed), '\n  '.join(self.failed)))
            return 1
        return 0


# ---- processes ----

class Procs:
    """Processes of one test, all stopped at the end (also on failure)."""

    def __init__(self):
        self.procs = []

    def start(self, args, env=None, stdout=None, stderr=None, cwd=None):
        p = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=stdout or subprocess.DEVNULL,
                             stderr=stderr or subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=5):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)


def wait_for(pred, timeout, what, step=0.05):
    """Until pred() holds; Failure after timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(step)
    raise Failure('timed out waiting for ' + what)


def listening(path):
    """Is a socket bound at path listening yet? (/proc/net/unix: flag
    __SO_ACCEPTCON; vsnd binds before it listens, and a stale socket file
    from an earlier daemon may still be there.)"""
    try:
        with open('/proc/net/unix') as f:
            for line in f:
                cols = line.split()
                if len(cols) >= 8 and cols[7] == str(path) and int(cols[3], 16) & 0x10000:
                    return True
    except OSError:
        pass
    return False


class Daemon:
    """vsnd on a socket of its own in workdir, its output in workdir/NAME.log.

    args: its other options (--backend ...); env: its environment; procs: a
    Procs that stops it with the test's other processes (else stop() does);
    start=False to start it later (start()). The socket is workdir/NAME.sock."""

    def __init__(self, exe, workdir, args=(), env=None, procs=None, name='vsnd', start=True):
        # It runs in workdir: a path to it must not be relative to ours.
        self.exe = os.path.abspath(exe) if os.sep in str(exe) else str(exe)
        self.workdir = Path(workdir)
        self.args, self.env, self.procs = [str(a) for a in args], env, procs
        self.sock = self.workdir / (name + '.sock')
        self.logpath = self.workdir / (name + '.log')
        self.proc, self.rc = None, None
        if start:
            self.start()

    def command(self):
        return [self.exe, '--socket', str(self.sock)] + self.args

    def start(self, timeout=10):
        """Starts it and waits until its socket listens."""
        with open(self.logpath, 'wb') as f:
            if self.procs:
                self.proc = self.procs.start(self.command(), env=self.env, stdout=f, stderr=f,
                                             cwd=self.workdir)
            else:
                self.proc = subprocess.Popen(self.command(), env=self.env, cwd=self.workdir,
                                             stdin=subprocess.DEVNULL, stdout=f,
                                             stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while not listening(self.sock):
            if self.proc.poll() is not None:
                raise Failure('vsnd exited with %d before listening\n%s'
                              % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > end:
                raise Failure('vsnd did not listen on %s within %g s\n%s'
                              % (self.sock, timeout, self.log_tail()))
            time.sleep(0.01)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM; '' when it exited cleanly, else what went wrong. Its exit
        status is then in rc."""
        if self.proc is None:
            return ''
        if self.proc.poll() is not None:
            self.rc = self.proc.returncode
            return 'vsnd died during the test (exit status %d)' % self.rc
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait()
            return 'vsnd did not exit within %g s of SIGTERM' % timeout
        if self.rc not in (0, -signal.SIGTERM):
            return 'vsnd exited with status %d on SIGTERM' % self.rc
        return ''

    def log(self):
        try:
            return self.logpath.read_text(errors='replace')
        except OSError:
            return ''

    def log_tail(self, n=40):
        return '\n'.join('vsnd| ' + line for line in self.log().splitlines()[-n:])

    def wait_log(self, text, count=1, timeout=5.0):
        """Until its log holds text count times; the seconds that took."""
        t0 = time.monotonic()
        while self.log().count(text) < count:
            if not self.alive():
                raise Failure('vsnd died (exit status %s)\n%s'
                              % (self.proc.returncode, self.log_tail()))
            if time.monotonic() - t0 > timeout:
                raise Failure('vsnd did not log "%s" within %g s\n%s'
                              % (text, timeout, self.log_tail()))
            time.sleep(0.01)
        return time.monotonic() - t0

    def status(self, key):
        """A field of /proc/PID/status (VmRSS, Seccomp, ...), or None."""
        try:
            with open('/proc/%d/status' % self.proc.pid) as f:
                for line in f:
                    if line.startswith(key + ':'):
                        return line.split()[1]
        except OSError:
            pass
        return None

    def rss_kib(self):
        return int(self.status('VmRSS') or 0)

    def fds(self):
        return len(os.listdir('/proc/%d/fd' % self.proc.pid))

    def settled_fds(self, step=0.1, timeout=3.0):
        """Its fd count once that holds still (a session's fds close after
        its log line says the frontend left)."""
        last, deadline = -1, time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = self.fds()
            if n == last:
                break
            last = n
            time.sleep(step)
        return last


# ---- WAV files ----

@dataclasses.dataclass
class Wav:
    format_tag: int
    channels: int
    rate: int
    bits: int
    data: bytes
    note: str = ''

    def s16(self):
        return unpack_s16(self.data)


def write_wav(path, data, channels=2, rate=48000, width=2):
    """A PCM WAV of data: bytes, or a list of S16 samples."""
    import wave
    if not isinstance(data, (bytes, bytearray)):
        data = pack_s16(data)
    with wave.open(str(path), 'wb') as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return bytes(data)


def read_wav(path, whole=False):
    """A RIFF/WAVE file's format and data (a Wav); see parse_wav."""
    with open(path, 'rb') as f:
        return parse_wav(f.read(), str(path), whole)


def parse_wav(raw, name='WAV', whole=False):
    """The format and data of a RIFF/WAVE file's bytes. A header left
    unfinished by a writer that was stopped (data size 0 or 0xffffffff, or
    past the end) gives the rest of the file, and note says so; whole=True
    takes the rest of the file whatever the header says (a recorder still
    writing, or killed before it fixed its header)."""
    if len(raw) < 12 or raw[0:4] != b'RIFF' or raw[8:12] != b'WAVE':
        raise ValueError('%s: not a RIFF/WAVE file' % name)
    pos, fmt, note = 12, None, ''
    while pos + 8 <= len(raw):
        cid, size = raw[pos:pos + 4], struct.unpack_from('<I', raw, pos + 4)[0]
        body = pos + 8
        if cid == b'fmt ':
            if body + 16 > len(raw):
                break
            tag, ch, rate, _, _, bits = struct.unpack_from('<HHIIHH', raw, body)
            if tag == 0xFFFE and size >= 40:  # WAVE_FORMAT_EXTENSIBLE: the tag is in the GUID
                tag = struct.unpack_from('<H', raw, body + 24)[0]
            fmt = (tag, ch, rate, bits)
        elif cid == b'data':
            if fmt is None:
                raise ValueError('%s: data before fmt' % name)
            end = body + size
            if whole or size in (0, 0xFFFFFFFF) or end > len(raw):
                if not whole:
                    note = 'data size field %d but %d bytes follow' % (size, len(raw) - body)
                end = len(raw)
            return Wav(*fmt, raw[body:end], note)
        pos = body + size + (size & 1)
    raise ValueError('%s: no data chunk' % name)


def recorded_data(raw):
    """The data of a WAV a recorder is still writing, or was killed before
    it fixed its header: all that follows the data chunk's header (b'' when
    it has not written that yet)."""
    try:
        return parse_wav(raw, whole=True).data
    except ValueError:
        return b''


def recorded_s16(path):
    """The S16 samples of a WAV file a recorder has written so far."""
    try:
        with open(path, 'rb') as f:
            return unpack_s16(recorded_data(f.read()))
    except OSError:
        return []


# ---- S16 signals and measures ----

def noise_s16(seconds, rate, channels, seed, amp=0.25):
    """Reproducible white noise (a sharp correlation peak for alignment)."""
    rnd = random.Random(seed)
    n = int(seconds * rate) * channels
    peak = int(32767 * amp)
    return [rnd.randint(-peak, peak) for _ in range(n)]


def noise_bytes(n, seed):
    """n reproducible random bytes: audio whose every byte counts."""
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


def sine_s16(seconds, rate, channels, freq, amp=0.25):
    out = []
    for i in range(int(seconds * rate)):
        v = int(round(32767 * amp * math.sin(2 * math.pi * freq * i / rate)))
        out.extend([v] * channels)
    return out


def pack_s16(samples):
    return struct.pack('<%dh' % len(samples), *samples)


def unpack_s16(data):
    n = len(data) // 2
    return list(struct.unpack('<%dh' % n, data[:2 * n]))


def first_difference(got, want, frame_bytes):
    """(frame where got first leaves want, silent frames from there on): for
    a message that says where a recording broke, not only that it did."""
    n = min(len(got), len(want))
    i = next((k for k in range(n) if got[k] != want[k]), n)
    zeros = len(got[i:]) - len(bytes(got[i:]).lstrip(b'\0'))
    return i // frame_bytes, zeros // frame_bytes
