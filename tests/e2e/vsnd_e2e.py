#!/usr/bin/env python3
"""vsnd end-to-end tests: a real Linux guest (virtio_snd driver, aplay/arecord) in
QEMU 10 talks to the vsnd daemon through vhost-user-snd-pci, and the audio that
comes out at the other end is checked byte for byte.

One guest boot per backend configuration ("suite"); each boot runs several cases.
The host writes a plan (one step a line) and the test signals onto a raw virtio
disk; the guest runs the plan (scripts/guest/tests/plan.sh), reports on the serial
console ("@@vsnd ..." lines) and writes its recordings and dmesg onto a second disk.

Exit status: 0 all cases passed, 1 a case failed, 77 skipped (QEMU with
vhost-user-snd-pci or a guest image prerequisite is missing; with --require that
is a failure instead).

python3 standard library only.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e_audio as au  # noqa: E402
from e2e_guest import Daemon, Failure, add_guest_option, log, prepare, run_guest  # noqa: E402
import vsndtest as T  # noqa: E402  (on the path e2e_guest set)

# Silence around a played clip in vsnd's output must stay under one buffer (aplay's
# default buffer time is 500 ms): aplay pads its last period, and the guest driver
# may play one more period of silence while draining. More than that is a bug.
PAD_LIMIT_MS = 500
PACING_TOLERANCE = 0.02


# --- checks -----------------------------------------------------------------------------

class Ctx:
    """What a finished boot left behind, for the cases to check."""

    def __init__(self, workdir, console, gout):
        self.workdir, self.console, self.gout = Path(workdir), console, gout
        self.outputs = []
        for p in sorted(self.workdir.glob('vsnd-out-*.wav')):
            try:
                self.outputs.append((p, au.read_wav(p)))
            except (ValueError, OSError, IndexError) as e:
                log(f'warning: {p.name}: {e}')

    def step(self, kind, ident):
        f = self.console.find(kind, ident)
        if f is None:
            raise Failure(f'the guest did not report {kind} {ident}')
        if f.get('rc') != '0':
            errs = [r for f2, r in self.console.all('stderr') if f2.get('id') == ident]
            raise Failure(f'guest {kind} {ident} failed (rc={f.get("rc")}): ' + '; '.join(errs))
        return f


def describe_output(m, fmt):
    return (f'lead {fmt.ms(m.lead):.1f} ms{"" if m.lead_silent else " (NOT silence)"}, '
            f'trail {fmt.ms(m.trail):.1f} ms{"" if m.trail_silent else " (NOT silence)"}')


# The 6.1 driver queues every period of its buffer at START and requeues each
# at once (virtsnd_pcm_msg_send, virtsnd_pcm_msg_complete), and its ALSA core
# has no drain silence (6.5 added it): when a drain ends, the next period,
# holding audio one buffer old, is already with the device, and plays until
# the driver's STOP arrives, as on a sound card whose DMA runs until stopped.
# Excused on that guest only, and only so: a few ms of the clip's own
# earlier audio right after it.
STALE_TRAIL_GUESTS = ('6.1',)
STALE_TRAIL_MAX_MS = 5
STALE_BUFFER_S = 0.5  # aplay's default buffer time, what the cases play with
stale_trail_ok = False  # set by main() from --guest


def stale_trail(hay, end, clip, fmt):
    """The non-silent frames after the clip (which ends at byte `end`), if they
    are at most STALE_TRAIL_MAX_MS of the clip's own audio from one buffer
    (STALE_BUFFER_S, within 1 %) earlier: (frames, how many frames earlier);
    else None."""
    fb, sil = fmt.frame_bytes, fmt.silence_byte()
    tail = hay[end:]
    loud = [i for i in range(0, len(tail) - fb + 1, fb) if tail[i:i + fb].count(sil) != fb]
    if not loud:
        return None
    seg = tail[loud[0]:loud[-1] + fb]
    if fmt.ms(len(seg) // fb) > STALE_TRAIL_MAX_MS:
        return None
    buffer = STALE_BUFFER_S * fmt.rate
    at = clip.find(seg)
    while at >= 0:
        back = (len(clip) + loud[0] - at) // fb
        if at % fb == 0 and abs(back - buffer) <= buffer / 100:
            return len(seg) // fb, back
        at = clip.find(seg, at + 1)
    return None


def check_played(ctx, clip, fmt, label):
    """Finds the clip the guest played in vsnd's output files; returns a message."""
    best, best_path = None, None
    for path, wav in ctx.outputs:
        m = au.locate(wav.data, clip, fmt)
        if m.offset >= 0 and (best is None or m.matched > best.matched):
            best, best_path = m, path
            if m.found:
                break
    total = len(clip) // fmt.frame_bytes
    if best is None:
        names = ', '.join(p.name for p, _ in ctx.outputs) or 'none'
        raise Failure(f'{label}: not found in any output (frames lost: {total} of {total}; '
                      f'outputs: {names})')
    wav = dict((p, w) for p, w in ctx.outputs)[best_path]
    info = (f'{best_path.name} ({wav.channels} ch {wav.rate} Hz {wav.bits} bit'
            f'{", " + wav.note if wav.note else ""})')
    if not best.found:
        raise Failure(f'{label}: frames lost: {best.lost} of {total} ({best.where}) in {info}')
    problems, note = [], ''
    trail_ok = best.trail_silent
    if not trail_ok and stale_trail_ok:
        stale = stale_trail(wav.data, (best.offset + total) * fmt.frame_bytes, clip, fmt)
        if stale:
            trail_ok = True
            note = (f'; after it {stale[0]} frames of its own audio from {stale[1]} frames '
                    f'earlier (the 6.1 driver\'s queued period, a known limit)')
    if not best.aligned:
        problems.append('clip not frame-aligned in the output')
    if not (best.lead_silent and trail_ok):
        problems.append('non-silent data around the clip')
    if fmt.ms(best.lead) > PAD_LIMIT_MS or fmt.ms(best.trail) > PAD_LIMIT_MS:
        problems.append(f'padding over {PAD_LIMIT_MS} ms')
    msg = f'{label}: frames lost: 0 of {total}, {describe_output(best, fmt)}, in {info}{note}'
    if problems:
        raise Failure(msg + ': ' + '; '.join(problems))
    return msg


class Case:
    name = ''

    def plan(self):
        return []

    def files(self):
        return {}

    def out_bytes(self):
        return 0

    def duration(self):
        return 0.0

    def check(self, ctx):
        raise NotImplementedError


# Distinct non-trivial signals: sweeps mixed with noise, repeatable (sox -R).
SYNTHS = [
    'sine 100-9000 synth whitenoise mix',
    'square 50-2000 synth pinknoise mix',
    'sine 8000-200 synth brownnoise mix',
    'triangle 300-7000 synth whitenoise mix',
    'sawtooth 2000-100 synth pinknoise mix',
    'sine 440-880 synth whitenoise mix',
    'sine 1000-3000 synth pinknoise mix',
    'sine 5000-500 synth whitenoise mix',
    'square 3000-300 synth brownnoise mix',
]


class PlaybackCase(Case):
    """aplay a clip; the clip's samples must be in vsnd's output WAV, all of them."""

    def __init__(self, ident, fmt, clip):
        self.name, self.id, self.fmt, self.clip = f'playback {fmt}', ident, fmt, clip
        self.seconds = fmt.frames(len(clip)) / fmt.rate

    def plan(self):
        f = self.fmt
        return [f'play {self.id} {f.alsa} {f.rate} {f.channels} {self.id}.raw']

    def files(self):
        return {f'{self.id}.raw': self.clip}

    def duration(self):
        return self.seconds

    def check(self, ctx):
        ctx.step('play', self.id)
        return check_played(ctx, self.clip, self.fmt, self.id)


class PacingCase(PlaybackCase):
    """aplay of a long clip takes the clip's duration (within 2 %) in the guest."""

    def __init__(self, ident, fmt, clip):
        super().__init__(ident, fmt, clip)
        self.name = f'pacing {self.seconds:g} s'

    def check(self, ctx):
        f = ctx.step('play', self.id)
        wall = int(f['wall_us']) / 1e6
        ratio = wall / self.seconds
        msg = (f'aplay wall time {wall:.3f} s for a {self.seconds:.3f} s clip: '
               f'ratio {ratio:.4f} (limit 1 +- {PACING_TOLERANCE})')
        try:
            msg += '; ' + check_played(ctx, self.clip, self.fmt, self.id)
        except Failure as e:
            raise Failure(f'{msg}; {e}') from None
        if abs(ratio - 1) > PACING_TOLERANCE:
            raise Failure(msg)
        return msg


def check_recording(rec, ref, fmt, label):
    """The guest's recording must be the reference's first frames (then silence)."""
    fb = fmt.frame_bytes
    n = len(rec) // fb
    exp = ref[:len(rec)]
    exp += bytes([fmt.silence_byte()]) * (len(rec) - len(exp))
    if rec == exp:
        return f'{label}: {n} frames bit-exact ({fmt.ms(n):.0f} ms), first frame = first frame of the source'
    same = au.common_prefix(rec, exp) // fb
    m = au.locate(rec, ref[:min(len(ref), len(rec))], fmt)
    where = (f'source starts at recording frame {m.offset}' if m.offset >= 0
             else 'source not found in the recording')
    raise Failure(f'{label}: recording differs from frame {same} of {n}; {where}')


class CaptureCase(Case):
    """arecord gets exactly what the file backend reads from its in= WAV."""

    def __init__(self, ident, fmt, seconds, ref):
        self.name, self.id, self.fmt, self.seconds, self.ref = f'capture {fmt}', ident, fmt, seconds, ref
        self.frames = int(seconds * fmt.rate)

    def plan(self):
        f = self.fmt
        return [f'record {self.id} {f.alsa} {f.rate} {f.channels} {self.frames}']

    def out_bytes(self):
        return self.frames * self.fmt.frame_bytes

    def duration(self):
        return self.seconds

    def check(self, ctx):
        ctx.step('record', self.id)
        rec = (ctx.gout / f'{self.id}.raw').read_bytes()
        if len(rec) != self.frames * self.fmt.frame_bytes:
            raise Failure(f'{self.id}: recorded {len(rec)} bytes, expected '
                          f'{self.frames * self.fmt.frame_bytes}')
        return check_recording(rec, self.ref, self.fmt, self.id)


class CyclesCase(Case):
    """N open/play/close and N open/record/close cycles, all succeeding."""

    def __init__(self, n, fmt, workdir):
        self.name, self.n, self.fmt = f'{n}+{n} open/close cycles', n, fmt
        self.clip = au.sox_make(Path(workdir) / 'cyc.raw', fmt, 0.25, SYNTHS[7])
        self.frames = fmt.rate // 4

    def plan(self):
        f = self.fmt
        return [f'cycle-play cyp {self.n} {f.alsa} {f.rate} {f.channels} cyc.raw',
                f'cycle-record cyr {self.n} {f.alsa} {f.rate} {f.channels} {self.frames}']

    def files(self):
        return {'cyc.raw': self.clip}

    def out_bytes(self):
        return self.n * self.frames * self.fmt.frame_bytes

    def duration(self):
        return self.n * 2 * 1.5

    def check(self, ctx):
        msgs = []
        for ident, kind in (('cyp', 'play'), ('cyr', 'record')):
            f = ctx.console.find('cycles', ident)
            if f is None:
                raise Failure(f'no report of the {kind} cycles')
            if f.get('fails') != '0':
                errs = [r for f2, r in ctx.console.all('stderr') if f2.get('id', '').startswith(ident)]
                raise Failure(f'{f.get("fails")} of {self.n} {kind} cycles failed: ' + '; '.join(errs[:5]))
            msgs.append(f'{self.n} {kind} cycles ok')
        found = sum(au.count_occurrences(w.data, self.clip, self.fmt) for _, w in ctx.outputs)
        if found != self.n:
            raise Failure(f'the cycle clip is {found} times in the outputs, expected {self.n}')
        msgs.append(f'cycle clip complete {found} times in the outputs')
        want = self.frames * self.fmt.frame_bytes
        sizes = [au.file_size(ctx.gout / f'cyr-{k}.raw') for k in range(1, self.n + 1)]
        bad = [k + 1 for k, s in enumerate(sizes) if s != want]
        if bad:
            raise Failure(f'recordings of cycles {bad} are not {want} bytes')
        msgs.append(f'{self.n} recordings of {self.frames} frames')
        return ', '.join(msgs)


class LoopbackCase(Case):
    """What the guest plays it records (loopback backend), bit-exact; prints the delay."""

    def __init__(self, ident, fmt, seconds, workdir):
        self.name, self.id, self.fmt, self.seconds = f'loopback {fmt}', ident, fmt, seconds
        self.clip = au.sox_make(Path(workdir) / f'{ident}.raw', fmt, seconds, SYNTHS[8])
        self.frames = int((seconds + 2) * fmt.rate)

    def plan(self):
        f = self.fmt
        return [f'duplex {self.id} {f.alsa} {f.rate} {f.channels} {self.id}.raw {self.frames}']

    def files(self):
        return {f'{self.id}.raw': self.clip}

    def out_bytes(self):
        return self.frames * self.fmt.frame_bytes

    def duration(self):
        return self.seconds + 2

    def check(self, ctx):
        play = ctx.step('play', f'{self.id}-play')
        rec_f = ctx.step('record', f'{self.id}-rec')
        rec = (ctx.gout / f'{self.id}-rec.raw').read_bytes()
        m = au.locate(rec, self.clip, self.fmt)
        total = len(self.clip) // self.fmt.frame_bytes
        if m.offset < 0:
            raise Failure(f'played clip not found in the recording (frames lost: {total} of {total})')
        offset_ms = self.fmt.ms(m.offset)
        # The recording's frame 0 was captured at the capture START, the clip's
        # frame 0 entered at the playback START: the delay is what remains of the
        # clip's offset once the time between the two STARTs is taken out.
        trig = ctx.console.find('trigger', self.id) or {}
        try:
            gap_ms = (float(trig['play']) - float(trig['capture'])) * 1000
            how = 'playback START'
        except (KeyError, ValueError):
            gap_ms = (int(play['start_us']) - int(rec_f['start_us'])) / 1000
            how = 'aplay launch (START times unknown)'
        delay = (f'loopback delay {offset_ms - gap_ms:.1f} ms (clip at {offset_ms:.1f} ms in '
                 f'the recording, {how} {gap_ms:.1f} ms after capture START)')
        if not m.found:
            raise Failure(f'frames lost: {m.lost} of {total} ({m.where}); {delay}')
        if not m.aligned:
            raise Failure('clip not frame-aligned in the recording; ' + delay)
        return f'frames lost: 0 of {total}, {delay}'


class RoundTripCase(Case):
    """What an application hears back through the loopback backend: alsabat
    plays a sine and captures until it returns (one process, 40 ms buffers
    of 10 ms periods). It must come back within the playback buffer plus a
    capture period, and no sooner than a capture period (a device that
    handed out capture data before its frames were played would)."""

    BUFFER, PERIOD, RATE = 1920, 480, 48000

    def __init__(self, ident):
        self.name, self.id = 'round trip an application hears (alsabat, 40/10 ms)', ident

    def plan(self):
        return [f'latency {self.id} {self.BUFFER} {self.PERIOD}']

    def out_bytes(self):
        return 1 << 16

    def duration(self):
        return 15.0

    def check(self, ctx):
        f = ctx.console.find('latency', self.id) or {}
        text = ctx.gout / f'{self.id}.txt'
        if f.get('rc') != '0' or not f.get('ms', '').isdigit():
            raise Failure(f'alsabat failed ({f}): '
                          + (text.read_text(errors='replace')[-600:] if text.exists() else ''))
        ms = int(f['ms'])
        lo = self.PERIOD * 1000 // self.RATE
        hi = (self.BUFFER + self.PERIOD) * 1000 // self.RATE
        msg = f'{ms} ms, mean of 5 (bounds {lo}..{hi} ms: a capture period, the buffer plus one)'
        if not lo <= ms <= hi:
            raise Failure(msg)
        return msg


DMESG_BAD = re.compile(r'virtio_snd|virtio-snd|snd_pcm|timeout|timed out|fail|error|'
                       r'BUG|WARNING|Oops|Call Trace', re.I)
# Not the device's: the 6.1 guest's virtio_snd is built out of tree, and
# unsigned, and Debian's kernel says both once when it loads it.
DMESG_OUT_OF_TREE = ('loading out-of-tree module taints kernel',
                     'module verification failed: signature and/or required key missing')


def check_dmesg(ctx):
    """No driver complaint in the guest's kernel log after the sound modules loaded."""
    path = ctx.gout / 'dmesg.txt'
    if not path.exists():
        raise Failure('no dmesg from the guest')
    lines = path.read_text(errors='replace').splitlines()
    start = next((i for i, line in enumerate(lines) if 'vsnd-guest: loading sound modules' in line), 0)
    bad = [line for line in lines[start + 1:]
           if DMESG_BAD.search(line) and not any(s in line for s in DMESG_OUT_OF_TREE)]
    if bad:
        raise Failure('guest kernel log: ' + ' | '.join(bad[:10]))
    return f'{len(lines) - start - 1} kernel log lines after module load, no error'


# --- suites -----------------------------------------------------------------------------

PLAYBACK_FORMATS = [
    ('pb-s16-48k-2', au.Fmt('S16_LE', 48000, 2)),
    ('pb-s16-44k-1', au.Fmt('S16_LE', 44100, 1)),
    ('pb-u8-22k-1', au.Fmt('U8', 22050, 1)),
    ('pb-s32-96k-2', au.Fmt('S32_LE', 96000, 2)),
    ('pb-float-48k-2', au.Fmt('FLOAT_LE', 48000, 2)),
]
S16_48K_2 = au.Fmt('S16_LE', 48000, 2)


def suite_file(workdir, args):
    w = Path(workdir)
    # The capture source: what vsnd's file backend reads for stream 1.
    ref = au.sox_make(w / 'vsnd-in-1.wav', S16_48K_2, 4, SYNTHS[6], raw=False)
    cases = [PlaybackCase(i, f, au.sox_make(w / f'{i}.raw', f, args.clip_seconds, SYNTHS[k]))
             for k, (i, f) in enumerate(PLAYBACK_FORMATS)]
    pacing = au.sox_make(w / 'pacing.raw', S16_48K_2, args.pacing_seconds, SYNTHS[5])
    cases.append(PacingCase('pacing', S16_48K_2, pacing))
    cases.append(CaptureCase('cap', S16_48K_2, 3, ref))
    cases.append(CyclesCase(args.cycles, S16_48K_2, w))
    backend = f'file,out={w}/vsnd-out-%u-%n.wav,in={w}/vsnd-in-%u.wav'
    return backend, cases


def suite_file_controls(workdir, args):
    """The file suite with vsnd's mixer controls on (at unity, so still bit-exact),
    and the guest's listing of them."""
    backend, cases = suite_file(workdir, args)
    return backend, cases + [ControlListCase()], {'daemon_args': ['--controls'], 'controls': True}


def suite_loopback(workdir, args):
    cases = [LoopbackCase('lb', S16_48K_2, 3, workdir)]
    if getattr(args, 'guest', '6.12') != 'i386':  # the i386 image has no alsabat
        cases.append(RoundTripCase('rt'))
    return 'loopback', cases


# --- layouts, controls, jacks (issue 6) -------------------------------------------------

S16_48K_6 = au.Fmt('S16_LE', 48000, 6)


def six_channel_clip(seconds):
    """Every channel different (a tone of its own plus noise), so a channel swap,
    a dropped channel or a shifted frame cannot match."""
    import math
    import random
    import struct
    rnd = random.Random(6)
    n = int(seconds * 48000)
    out = bytearray()
    for i in range(n):
        out += struct.pack('<6h', *(int(6000 * math.sin(2 * math.pi * (220 * (c + 1)) * i / 48000))
                                    + rnd.randint(-3000, 3000) for c in range(6)))
    return bytes(out)


def energy(data, fmt):
    import array
    a = array.array('h')
    a.frombytes(data[:len(data) // 2 * 2])
    return sum(x * x for x in a)


class StepCase(Case):
    """A guest step that must succeed (amixer, contents, a host wait)."""

    def __init__(self, kind, ident, line):
        self.name, self.kind, self.id, self.line = f'{kind} {ident}', kind, ident, line

    def plan(self):
        return [self.line]

    def out_bytes(self):
        return 1 << 16

    def check(self, ctx):
        ctx.step(self.kind, self.id)
        return 'ok'


class LevelCase(Case):
    """The n-th output file holds the clip scaled by the mixer: energy ratio in dB."""

    def __init__(self, ident, fmt, clip, nth, want_db):
        self.name = f'mixer level {ident} (want {want_db} dB)'
        self.id, self.fmt, self.clip, self.nth, self.want_db = ident, fmt, clip, nth, want_db

    def plan(self):
        f = self.fmt
        return [f'play {self.id} {f.alsa} {f.rate} {f.channels} {self.id}.raw']

    def files(self):
        return {f'{self.id}.raw': self.clip}

    def duration(self):
        return len(self.clip) / self.fmt.frame_bytes / self.fmt.rate

    def check(self, ctx):
        import math
        ctx.step('play', self.id)
        path = ctx.workdir / f'vsnd-out-0-{self.nth}.wav'
        out = au.read_wav(path).data
        e_out, e_in = energy(out, self.fmt), energy(self.clip, self.fmt)
        if self.want_db is None:
            if e_out:
                raise Failure(f'{path.name}: muted playback is not silent (energy {e_out})')
            return f'{path.name}: muted playback is exact silence'
        got = 10 * math.log10(e_out / e_in) if e_out else -999
        msg = f'{path.name}: level {got:+.2f} dB against the clip (want {self.want_db:+.1f} +- 0.2)'
        if abs(got - self.want_db) > 0.2:
            raise Failure(msg)
        return msg


def jack_states(text):
    """(name, on) of every jack control in amixer contents, in numid order."""
    states, name = [], None
    for line in text.splitlines():
        m = re.match(r"numid=\d+,iface=\w+,name='(.*Jack.*)'", line)
        if m:
            name = m.group(1)
            continue
        if name and line.strip().startswith(': values='):
            states.append((name, line.strip().endswith('on')))
            name = None
    return states


class JackCase(Case):
    """vsnd-ctl unplugs jack 0 and plugs it back while the guest watches."""
    name = 'jack hotplug seen by the guest'

    def plan(self):
        return ['contents j0', 'wait-host unplug 3', 'contents j1', 'wait-host plug 3', 'contents j2']

    def out_bytes(self):
        return 3 << 16

    def check(self, ctx):
        seen = []
        for i in range(3):
            ctx.step('contents', f'j{i}')
            seen.append(jack_states((ctx.gout / f'j{i}.txt').read_text()))
        if not seen[0]:
            raise Failure('the guest shows no jack controls')
        first = [s[0][1] for s in seen]
        msg = f'{seen[0][0][0]}: ' + ' -> '.join('on' if x else 'off' for x in first)
        if first != [True, False, True]:
            raise Failure(msg + ' (want on -> off -> on)')
        return msg + f'; {len(seen[0])} jack controls'


class ChmapCase(Case):
    """The guest's channel-map controls list the standard maps of the layout
    (read from the amixer contents the jack case saves first)."""
    name = 'channel maps seen by the guest'
    want = {'Playback Channel Map': ['FL,FR', 'FL,FR,LFE', 'FL,FR,RL,RR', 'FL,FR,RL,RR,FC',
                                     'FL,FR,RL,RR,FC,LFE'],
            'Capture Channel Map': ['FL,FR']}

    def check(self, ctx):
        text = (ctx.gout / 'j0.txt').read_text()
        got, cur = {}, None
        for line in text.splitlines():
            m = re.match(r"numid=\d+,iface=\w+,name='(.*Channel Map)'", line)
            if m:
                cur = got.setdefault(m.group(1), [])
            elif line.startswith('numid='):
                cur = None
            elif cur is not None and 'chmap-fixed=' in line:
                cur.append(line.split('chmap-fixed=', 1)[1].strip())
        if got != self.want:
            raise Failure(f'channel maps {got}, want {self.want}')
        return '; '.join(f'{k}: {" | ".join(v)}' for k, v in got.items())


class ContentsCase(Case):
    """Checks what the guest's `amixer contents` and /proc/asound/pcm show."""
    ident = ''

    def plan(self):
        return [f'contents {self.ident}']

    def out_bytes(self):
        return 1 << 16

    def contents(self, ctx):
        ctx.step('contents', self.ident)
        return (ctx.gout / f'{self.ident}.txt').read_text()


def mixer_controls(text):
    """{name: (type and range line, value line, dB line)} of the MIXER controls in
    amixer contents."""
    got, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"numid=\d+,iface=(\w+),name='(.*)'", line)
        if m:
            cur = got.setdefault(m.group(2), ['', '', '']) if m.group(1) == 'MIXER' else None
        elif cur is not None and line.strip()[:1] in (';', ':', '|'):
            cur[';:|'.index(line.strip()[0])] = line.strip()[1:].strip()
    return {k: tuple(v) for k, v in got.items()}


class ControlListCase(ContentsCase):
    """The guest's amixer lists vsnd's controls as vsnd describes them in CTL_INFO:
    names, types, range and dB scale. A guest that reads the record with another
    layout of its value union (32-bit x86 packs it at offset 68, not 72) would
    show another range."""
    name = 'mixer controls listed by the guest'
    vol = ('type=INTEGER,access=rw---R--,values=1,min=0,max=100,step=0', 'values=100',
           'dBscale-min=-50.00dB,step=0.50dB,mute=1')
    switch = ('type=BOOLEAN,access=rw------,values=1', 'values=on', '')
    want = {'Master Playback Volume': vol, 'Master Playback Switch': switch,
            'Capture Volume': vol, 'Capture Switch': switch}
    ident = 'ctl'

    def check(self, ctx):
        got = mixer_controls(self.contents(ctx))
        if got != self.want:
            raise Failure(f'controls {got}, want {self.want}')
        return '; '.join(f'{k}: {v[0]}' for k, v in got.items())


def ctl_hook(args, workdir):
    """Runs vsnd-ctl when the guest waits for the host."""
    import subprocess
    ctl = Path(args.vsnd).parent / 'src' / 'ctl' / 'vsnd-ctl'
    sock = Path(workdir) / 'control.sock'
    actions = {'unplug': ['jack', '0', 'unplug'], 'plug': ['jack', '0', 'plug']}

    def hook(kind, fields):
        if kind == 'wait' and fields.get('id') in actions:
            r = subprocess.run([str(ctl), str(sock)] + actions[fields['id']],
                               capture_output=True, text=True)
            log(f'host| vsnd-ctl {" ".join(actions[fields["id"]])}: {r.stdout.strip()}{r.stderr.strip()}')
    return [hook]


def suite_layout(workdir, args):
    """5.1 layout with mixer controls: a 6-channel clip bit-exact; amixer at 50 %
    is -25 dB in vsnd's output, mute is silence, back to 100 % is bit-exact;
    jack hotplug from vsnd-ctl reaches the guest's jack control."""
    w = Path(workdir)
    six = six_channel_clip(args.clip_seconds)
    stereo = au.sox_make(w / 'lvl.raw', S16_48K_2, 2, SYNTHS[0])
    cases = [PlaybackCase('six', S16_48K_6, six),
             StepCase('amixer', 'half', 'amixer half sset Master 50%'),
             LevelCase('half-play', S16_48K_2, stereo, 1, -25.0),
             StepCase('amixer', 'mute', 'amixer mute sset Master 100% mute'),
             LevelCase('mute-play', S16_48K_2, stereo, 2, None),
             StepCase('amixer', 'unmute', 'amixer unmute sset Master unmute'),
             PlaybackCase('full', S16_48K_2, stereo),
             JackCase(), ChmapCase()]
    opts = {'daemon_args': ['--streams', '5.1', '--controls', '--control', str(w / 'control.sock')],
            'controls': True, 'hooks': ctl_hook(args, workdir)}
    return f'file,out={w}/vsnd-out-%u-%n.wav', cases, opts


class PcmListCase(ContentsCase):
    """/proc/asound/pcm shows one device per function group, with the right directions."""
    name = 'multi-zone PCM devices'
    want = {'00': (True, True), '01': (True, True), '02': (True, False), '03': (True, False)}
    ident = 'pcms'

    def check(self, ctx):
        text = self.contents(ctx).split('--- /proc/asound/pcm', 1)[-1]
        got = {}
        for line in text.splitlines():
            m = re.match(r'\d+-(\d+): ', line)
            if m:
                got[m.group(1)] = ('playback' in line, 'capture' in line)
        if got != self.want:
            raise Failure(f'devices {got}, want {self.want}')
        return 'devices ' + ', '.join(f'{d} ({"p" if p else ""}{"c" if c else ""})'
                                      for d, (p, c) in sorted(got.items()))


class ZonePlayCase(PlaybackCase):
    """aplay on PCM device DEV lands in that stream's own output file, bit-exact."""

    def __init__(self, ident, dev, fmt, clip):
        super().__init__(ident, fmt, clip)
        self.name, self.dev = f'zone {dev} playback', dev

    def plan(self):
        f = self.fmt
        return [f'play-dev {self.id} {self.dev} {f.alsa} {f.rate} {f.channels} {self.id}.raw']

    def check(self, ctx):
        ctx.step('play', self.id)
        ctx.outputs = [(p, wv) for p, wv in ctx.outputs if p.name.startswith(f'vsnd-out-{self.dev}-')]
        return check_played(ctx, self.clip, self.fmt, self.id)


def suite_zones(workdir, args):
    """The 'car' layout: four output zones and two inputs as the guest sees them."""
    w = Path(workdir)
    clip = au.sox_make(w / 'hp.raw', S16_48K_2, args.clip_seconds, SYNTHS[3])
    cases = [PcmListCase(), ZonePlayCase('hp', 2, S16_48K_2, clip)]
    return (f'file,out={w}/vsnd-out-%u-%n.wav', cases, {'daemon_args': ['--streams', 'car']})


class PauseCase(PlaybackCase):
    """The VM is paused (QEMU 'stop') for PAUSE_S in the middle of an aplay and
    resumed ('cont'): aplay succeeds and every frame arrives. The guest's clock
    stands still while the VM is stopped, so in guest time the play takes the
    clip's duration plus the usual drain period: no jump, no catch-up."""
    PAUSE_S = 1.5

    def __init__(self, ident, fmt, clip):
        super().__init__(ident, fmt, clip)
        self.name = f'VM paused {self.PAUSE_S} s mid-playback'

    def plan(self):
        return ['wait-host pause 0'] + super().plan()

    def check(self, ctx):
        f = ctx.step('play', self.id)
        wall = int(f['wall_us']) / 1e6
        msg = check_played(ctx, self.clip, self.fmt, self.id)
        extra = wall - self.seconds
        msg += f'; aplay took {wall:.3f} s for {self.seconds:.3f} s of audio (+{extra:.3f} s)'
        if not -0.1 < extra < 0.5:
            raise Failure(msg + ': want the clip\'s duration in guest time (+0 to 0.5 s)')
        return msg


def pause_hook(workdir):
    import socket
    import threading
    import time
    mon = Path(workdir) / 'monitor.sock'

    def pause():
        time.sleep(1.5)
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(mon))
        s.sendall(b'stop\n')
        log('host| QEMU monitor: stop')
        time.sleep(PauseCase.PAUSE_S)
        s.sendall(b'cont\n')
        log('host| QEMU monitor: cont')
        time.sleep(0.2)
        s.close()

    def hook(kind, fields):
        if kind == 'wait' and fields.get('id') == 'pause':
            threading.Thread(target=pause, daemon=True).start()
    return [hook]


def suite_pause(workdir, args):
    w = Path(workdir)
    clip = au.sox_make(w / 'pause.raw', S16_48K_2, 5, SYNTHS[7])
    return (f'file,out={w}/vsnd-out-%u-%n.wav', [PauseCase('paused', S16_48K_2, clip)],
            {'hooks': pause_hook(workdir),
             'qemu_args': ['-monitor', f'unix:{w / "monitor.sock"},server=on,wait=off']})


class ShortBufferCase(Case):
    """aplay or arecord with a buffer of two PERIOD-frame periods (0.27 ms and up at
    48 kHz): the device keeps completing at any period the driver accepts. Under
    load that may mean xruns (honest, counted); an I/O error means the device
    stopped completing, e.g. a whole buffer completed in one tick (a wrap the
    driver cannot tell from no progress)."""

    def __init__(self, kind, period, fmt, workdir):
        self.kind, self.period, self.fmt = kind, period, fmt
        self.id, self.name = f'{kind}-{period}', f'{kind} with 2 x {period} frames'
        self.frames = fmt.rate // 2
        self.clip = (au.sox_make(Path(workdir) / f'{self.id}.raw', fmt, 0.5,
                                 SYNTHS[period % len(SYNTHS)]) if kind == 'play' else b'')

    def plan(self):
        f = self.fmt
        step = (f'play {self.id} {f.alsa} {f.rate} {f.channels} {self.id}.raw' if self.kind == 'play'
                else f'record {self.id} {f.alsa} {f.rate} {f.channels} {self.frames}')
        return [f'bufs {self.period} {2 * self.period}', step, 'bufs 0 0']

    def files(self):
        return {f'{self.id}.raw': self.clip} if self.clip else {}

    def out_bytes(self):
        return 0 if self.clip else self.frames * self.fmt.frame_bytes

    def duration(self):
        return 0.5

    def check(self, ctx):
        f = ctx.step(self.kind, self.id)
        xruns = sum(1 for g, rest in ctx.console.all('stderr')
                    if g.get('id') == self.id and ('underrun' in rest or 'overrun' in rest))
        return f'no I/O error, {xruns} xruns reported by ALSA, wall {int(f["wall_us"]) / 1000:.0f} ms'


def suite_shortbuf(workdir, args):
    """The null backend with two-period buffers from 13 to 253 frames (issue 18)."""
    cases = [ShortBufferCase(kind, p, S16_48K_2, workdir)
             for p in (13, 32, 61, 120, 253) for kind in ('play', 'record')]
    # the completion times, to see a stall: STREAM TIME_NS BYTES LATENCY
    return 'null', cases, {'daemon_args': ['--trace', str(Path(workdir) / 'trace.txt')]}


# pcm-test's playback cases that the 6.12 driver cannot pass on any device. It
# queues whole periods only (virtsnd_pcm_msg_send adds a message once it holds
# period_bytes), so when the test's duration is not a whole number of periods
# the part past the last whole period never reaches the device, and the drain
# ends on the kernel's timeout, max(100 ms, 1.1 x the buffer time), counted from
# the last period's completion (snd_pcm_drain). time3 (3.92 periods of 22500
# frames) always fails so; time4 (187.5 periods of 512) ends about 2095 ms after
# its first write, 5 ms inside the test's 100 ms margin, and fails whenever the
# guest is a little slow. Such a `not ok` is a known driver limit only at the
# time that model predicts: a device that is late fails the suite.
SELFTEST_LATE_MS = 300  # the most a loaded TCG guest was seen to add to the model


def drain_timeout_model(rate, period, buffer, expected_ms):
    """The time pcm-test measures when the tail past the last whole period never
    leaves the guest; None when the duration is whole periods (no excuse)."""
    frames = expected_ms * rate // 1000
    whole = frames // period * period
    if whole == frames:
        return None
    return whole * 1000 / rate + max(100, buffer * 1100 / rate)


def selftest_verdicts(tap):
    """The `not ok` names of a pcm-test/mixer-test TAP output as (known, unknown);
    a known one with its time and the model's."""
    params = {m[0]: tuple(int(x) for x in m[1:]) for m in re.findall(
        r'^# (\S+) hw_params\.\w+\.\w+\.(\d+)\.\d+\.(\d+)\.(\d+) sw_params', tap, re.M)}
    known, unknown = [], []
    for name, msg in re.findall(r'^not ok \d+ (\S+)\n(?:# (.*)\n)?', tap, re.M):
        got = re.fullmatch(r'time mismatch: expected (\d+)ms got (\d+)', msg)
        model = None
        if got and name.endswith('.PLAYBACK') and name in params:
            model = drain_timeout_model(*params[name], int(got[1]))
        if model is not None and model - 100 <= int(got[2]) <= model + SELFTEST_LATE_MS:
            known.append(f'{name} ({got[2]} ms, the drain timeout predicts {model:.0f})')
        else:
            unknown.append(name + (f' ({msg})' if msg else ''))
    return known, unknown


class SelftestCase(Case):
    """One of the kernel's ALSA selftests (tools/testing/selftests/alsa, built into
    the guest image): every `not ok` must be a known driver limit, at the time
    its model predicts (selftest_verdicts)."""

    def __init__(self, prog, label):
        self.prog, self.id, self.name = prog, f'{prog}-{label}', f'{prog} ({label})'

    def plan(self):
        return [f'selftest {self.id} {self.prog}']

    def out_bytes(self):
        return 1 << 20

    def duration(self):
        return 60

    def check(self, ctx):
        # its exit status is 1 with a known 'not ok' too: the TAP decides
        if ctx.console.find('selftest', self.id) is None:
            raise Failure(f'the guest did not report selftest {self.id}')
        tap = (ctx.gout / f'{self.id}.txt').read_text(errors='replace')
        totals = re.findall(r'^# Totals: (.*)$', tap, re.M)
        if not totals:
            raise Failure(f'{self.id}: no TAP totals; the end of its output: {tap[-500:]}')
        known, unknown = selftest_verdicts(tap)
        if unknown:
            raise Failure(f'{self.id}: not ok {", ".join(unknown)} ({totals[0]})')
        return f'TAP {totals[0]}' + (f'; known driver limits: {", ".join(known)}' if known else '')


def suite_selftest(workdir, args, streams=None):
    """pcm-test and mixer-test against the null backend with controls."""
    label = streams or 'stereo'
    opts = ['--controls'] + (['--streams', streams] if streams else [])
    return ('null', [SelftestCase('mixer-test', label), SelftestCase('pcm-test', label)],
            {'daemon_args': opts, 'controls': True})


# --- inject and tap at run time (issue 20) ----------------------------------------------

class HostAction:
    """On the guest's 'wait id=ARM' the host runs, in a thread: vsnd-ctl wait for
    the stream's START (t_start), sleep `after` s, run the command (t_cmd, both
    host monotonic), then the `then` commands in order."""

    def __init__(self, ctl, sock, arm, stream, after, cmd, then=()):
        self.ctl, self.sock, self.arm, self.stream = ctl, sock, arm, stream
        self.after, self.cmd, self.then = after, cmd, then
        self.t_start = self.t_cmd = None
        self.errors = []

    def ctl_run(self, *words):
        import subprocess
        r = subprocess.run([str(self.ctl), str(self.sock)] + [str(w) for w in words],
                           capture_output=True, text=True, timeout=60)
        log(f'host| vsnd-ctl {" ".join(map(str, words))}: {(r.stdout + r.stderr).strip()}')
        if r.returncode != 0:
            self.errors.append(f'vsnd-ctl {" ".join(map(str, words))}: {r.stderr.strip()}')
        return r.returncode

    def run(self):
        import time
        if self.ctl_run('wait', self.stream, 'started', '--timeout', 60) != 0:
            return
        self.t_start = time.monotonic()
        time.sleep(self.after)
        self.t_cmd = time.monotonic()
        self.ctl_run(*self.cmd)
        for words in self.then:
            self.ctl_run(*words)

    def hook(self, kind, fields):
        import threading
        if kind == 'wait' and fields.get('id') == self.arm:
            self.thread = threading.Thread(target=self.run, daemon=True)
            self.thread.start()

    def wait(self):
        if getattr(self, 'thread', None):
            self.thread.join(60)
        if self.errors:
            raise Failure('; '.join(self.errors))
        if self.t_cmd is None:
            raise Failure('the host never saw the stream start')
        return (self.t_cmd - self.t_start)


def predicted_note(frames_at, found, period, fmt):
    return (f'predicted frame {frames_at:.0f} from the host\'s clock, found at {found} '
            f'({(found - frames_at) / fmt.rate * 1000:+.1f} ms; one period is '
            f'{period / fmt.rate * 1000:.1f} ms)')


# vsnd-ctl wait looks every 5 ms; the START it reports may be that late.
WAIT_POLL_FRAMES = 48000 * 5 // 1000


class HostTimedCase(Case):
    """A guest step (`step`, on stream `self.id`) during which the host acts
    (`self.action`, a HostAction armed just before it)."""

    def plan(self):
        return [f'wait-host {self.action.arm} 0.1', self.step]

    def timing(self, ctx, kind):
        """The guest's period (frames) and the host's START-to-command time (s)."""
        ctx.step(kind, self.id)
        start = ctx.console.find('start', self.id) or {}
        return int(start.get('period', '0') or 0), self.action.wait()


class InjectCase(HostTimedCase):
    """The guest runs arecord (ALSA's defaults) on the null backend's silence;
    1 s after its START the host runs vsnd-ctl inject with a 1 s clip: the
    recording holds the clip bit-exact, within one period of where the host's
    clock puts it, and silence around it."""

    def __init__(self, fmt, workdir, action):
        self.id, self.name, self.fmt, self.action = 'inj', 'inject into a recording', fmt, action
        self.frames = 4 * fmt.rate
        self.clip = au.sox_make(Path(workdir) / 'inj.raw', fmt, 1.0, SYNTHS[3])
        write_wav(Path(workdir) / 'inj.wav', self.clip, fmt)
        self.step = f'record-timed {self.id} {fmt.alsa} {fmt.rate} {fmt.channels} {self.frames}'

    def out_bytes(self):
        return self.frames * self.fmt.frame_bytes

    def duration(self):
        return 4

    def check(self, ctx):
        f, fb = self.fmt, self.fmt.frame_bytes
        period, dt = self.timing(ctx, 'record')
        rec = (ctx.gout / f'{self.id}.raw').read_bytes()
        at = rec.find(self.clip)
        while at >= 0 and at % fb:
            at = rec.find(self.clip, at + 1)
        if at < 0:
            raise Failure(f'the injected clip is not in the recording bit-exact '
                          f'({len(rec) // fb} frames recorded)')
        found, want = at // fb, dt * f.rate
        note = predicted_note(want, found, period, f)
        if abs(found - want) > period + WAIT_POLL_FRAMES:
            raise Failure(note)
        if any(rec[:at]) or any(rec[at + len(self.clip):]):
            raise Failure('the recording is not silence around the clip; ' + note)
        return f'{len(self.clip) // fb} frames bit-exact; ' + note


class TapCase(HostTimedCase):
    """The guest plays a 3 s clip (aplay, ALSA's defaults); 1 s after its START
    the host runs vsnd-ctl tap, and stops it once the guest released the
    stream: the tap holds exactly the rest of the clip (then at most the
    drain's silence), starting within one period of where the host's clock
    puts it."""

    def __init__(self, fmt, workdir, action):
        self.id, self.name, self.fmt, self.action = 'tap', 'tap a playback', fmt, action
        self.clip = au.sox_make(Path(workdir) / 'tap.raw', fmt, 3.0, SYNTHS[5])
        self.path = Path(workdir) / 'tap.wav'
        self.step = f'play-timed {self.id} {fmt.alsa} {fmt.rate} {fmt.channels} tap.raw'

    def files(self):
        return {'tap.raw': self.clip}

    def duration(self):
        return 3

    def check(self, ctx):
        f, fb = self.fmt, self.fmt.frame_bytes
        period, dt = self.timing(ctx, 'play')
        tap = au.read_wav(self.path).data
        head = tap[:fb * 256]
        at = self.clip.find(head)
        while at >= 0 and at % fb:
            at = self.clip.find(head, at + 1)
        if at < 0:
            raise Failure(f'the tap ({len(tap) // fb} frames) does not begin with frames of the clip')
        rest = self.clip[at:]
        if tap[:len(rest)] != rest:
            same = au.common_prefix(tap, rest) // fb
            raise Failure(f'the tap differs from the clip\'s rest at its frame {same} '
                          f'of {len(rest) // fb}')
        trail = tap[len(rest):]
        if any(trail) or len(trail) > 2 * period * fb:
            raise Failure(f'after the clip the tap holds {len(trail) // fb} frames, '
                          f'{"not " if any(trail) else ""}silence')
        note = predicted_note(dt * f.rate, at // fb, period, f)
        if abs(at // fb - dt * f.rate) > period + WAIT_POLL_FRAMES:
            raise Failure(note)
        return (f'the rest of the clip, {len(rest) // fb} frames, bit-exact, then '
                f'{len(trail) // fb} frames of silence; ' + note)


def suite_intercept(workdir, args):
    """vsnd-ctl inject and tap with the real guest (null backend)."""
    w = Path(workdir)
    ctl = Path(args.vsnd).parent / 'src' / 'ctl' / 'vsnd-ctl'
    sock = w / 'control.sock'
    inj = HostAction(ctl, sock, 'injarm', 1, 1.0, ['inject', 1, w / 'inj.wav'])
    tap = HostAction(ctl, sock, 'taparm', 0, 1.0, ['tap', 0, w / 'tap.wav'],
                     then=[['wait', 0, 'released', '--timeout', 30], ['tap', 0, '--stop']])
    cases = [InjectCase(S16_48K_2, w, inj), TapCase(S16_48K_2, w, tap)]
    return 'null', cases, {'daemon_args': ['--control', str(sock)],
                           'hooks': [inj.hook, tap.hook]}



SUITES = {'selftest': suite_selftest,
          'selftest-5.1': lambda w, a: suite_selftest(w, a, '5.1'),
          'selftest-car': lambda w, a: suite_selftest(w, a, 'car'),
          'file': suite_file, 'file-controls': suite_file_controls, 'loopback': suite_loopback,
          'layout': suite_layout, 'zones': suite_zones, 'pause': suite_pause,
          'shortbuf': suite_shortbuf, 'intercept': suite_intercept}


def write_wav(path, data, fmt):
    """A plain PCM WAV (integer formats) so a newcomer can play the recording."""
    T.write_wav(path, data, fmt.channels, fmt.rate, fmt.sample_bytes)


def run_demo(args, qemu, gdir, accel):
    """vsnd on its embedded default (file backend, current directory) with the
    guest's demo script: it plays the image's own tone and records 3 s."""
    w = Path(args.workdir or 'demo-out').resolve()
    w.mkdir(parents=True, exist_ok=True)
    inwav = w / 'vsnd-in-1.wav'
    if not inwav.exists():
        raise Failure(f'{inwav} is missing (scripts/demo.sh makes it with sox)')
    alsa, rate, ch = (gdir / 'share' / 'demo-tone.fmt').read_text().split()
    fmt = au.Fmt(alsa, int(rate), int(ch))
    tone = (gdir / 'share' / 'demo-tone.raw').read_bytes()
    src = au.read_wav(inwav)
    if (src.rate, src.channels, src.bits) != (fmt.rate, fmt.channels, fmt.sample_bytes * 8):
        raise Failure(f'{inwav.name} must be {fmt} to compare bit for bit')
    for old in list(w.glob('vsnd-out-*.wav')) + [w / 'guest-recording.wav']:
        old.unlink(missing_ok=True)
    shutil.rmtree(w / 'guest-out', ignore_errors=True)
    (w / 'guest-tone.wav').unlink(missing_ok=True)
    write_wav(w / 'guest-tone.wav', tone, fmt)
    play = PacingCase('demo-play', fmt, tone)
    play.name = 'guest plays its tone'
    rec = CaptureCase('demo-rec', fmt, 3, src.data)
    rec.name = 'guest records vsnd-in-1.wav'
    log(f'=== demo (directory {w})')
    results, ctx = run_cases(args, qemu, gdir, accel, w, None, [play, rec], script='demo')
    recording = ctx.gout / 'demo-rec.raw'
    if recording.exists():
        write_wav(w / 'guest-recording.wav', recording.read_bytes(), fmt)
    ok = report(results)
    log('')
    log('Files:')
    for name, what in [('guest-tone.wav', 'the tone the guest played (from its image)'),
                       ('vsnd-out-0.wav', 'what vsnd wrote for the guest\'s playback (stream 0)'),
                       ('vsnd-in-1.wav', 'what vsnd gave the guest\'s capture (stream 1)'),
                       ('guest-recording.wav', 'what the guest recorded (arecord, 3 s)'),
                       ('console.log', 'the guest\'s serial console'),
                       ('vsnd.log', 'the daemon\'s log')]:
        p = w / name
        log(f'  {p}{"" if p.exists() else " (missing)"}: {what}')
    return ok


def device_args(args, workdir, controls=False):
    if args.device == 'qemu-builtin':
        # QEMU's own device, for checking the guest side without vsnd; its wav
        # audiodev has no capture and loses the end of every stream, so the
        # checks are expected to fail there.
        out = Path(workdir) / 'vsnd-out-0-0.wav'
        return ['-device', 'virtio-sound-pci,audiodev=snd0',
                '-audiodev', f'wav,id=snd0,path={out},out.frequency=48000,out.channels=2']
    return ['-chardev', f'socket,id=snd0,path={Path(workdir) / "vsnd.sock"}',
            '-device', 'vhost-user-snd-pci,chardev=snd0' + (',controls=on' if controls else '')]


def run_cases(args, qemu, gdir, accel, workdir, backend, cases, script='plan', opts=None):
    opts = opts or {}
    daemon = None
    if args.device == 'vhost-user':
        daemon = Daemon(args.vsnd, workdir, backend, opts.get('daemon_args', ()))
        daemon.start()
    plan, files = [], {}
    for c in cases:
        plan += c.plan()
        files.update(c.files())
    timeout = int(90 + 3 * sum(c.duration() for c in cases))
    try:
        console, gout = run_guest(qemu, gdir, accel, workdir, script,
                                  device_args(args, workdir, opts.get('controls', False))
                                  + opts.get('qemu_args', []),
                                  plan, files, sum(c.out_bytes() for c in cases), timeout,
                                  opts.get('hooks', ()))
    finally:
        stop_err = daemon.stop() if daemon else ''
    if daemon:
        log(f'vsnd exit status {daemon.rc}; log: {daemon.logpath}')
    ctx = Ctx(workdir, console, gout)
    results = []
    done = console.find('done')
    if done is None:
        results.append(('guest', False, 'the guest did not finish its script'))
    for err in console.all('error'):
        results.append(('guest', False, 'guest error: ' + err[1]))
    if stop_err:
        results.append(('vsnd', False, stop_err))
    for c in cases + ['dmesg']:
        name = c if c == 'dmesg' else c.name
        try:
            msg = check_dmesg(ctx) if c == 'dmesg' else c.check(ctx)
            results.append((name, True, msg))
        except (Failure, OSError, KeyError, ValueError) as e:
            results.append((name, False, str(e)))
    if daemon and not all(ok for _, ok, _ in results):
        log(daemon.log_tail())
    return results, ctx


def report(results):
    log('')
    for name, ok, msg in results:
        log(f'{"PASS" if ok else "FAIL"} {name}: {msg}')
    failed = sum(1 for _, ok, _ in results if not ok)
    log(f'{len(results) - failed} passed, {failed} failed')
    return failed == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('suite', choices=sorted(SUITES) + ['all', 'demo'],
                    help='a backend configuration, all of them, or the newcomer demo')
    ap.add_argument('--vsnd', help='path of the vsnd executable')
    ap.add_argument('--device', choices=['vhost-user', 'qemu-builtin'], default='vhost-user',
                    help='qemu-builtin: QEMU\'s own virtio-sound-pci instead of vsnd '
                         '(validates the guest side only)')
    add_guest_option(ap)
    ap.add_argument('--require', action='store_true',
                    help='missing prerequisites are a failure, not a skip (meson e2e=enabled)')
    ap.add_argument('--workdir', help='keep everything here (default: a temp dir, '
                                      'deleted when all cases pass; demo-out for the demo)')
    ap.add_argument('--clip-seconds', type=float, default=3)
    ap.add_argument('--pacing-seconds', type=float, default=20)
    ap.add_argument('--cycles', type=int, default=20)
    args = ap.parse_args()
    global stale_trail_ok
    stale_trail_ok = args.guest in STALE_TRAIL_GUESTS

    ready = prepare(args)
    if isinstance(ready, int):
        return ready
    qemu, gdir, accel = ready
    if args.suite == 'demo':
        try:
            return 0 if run_demo(args, qemu, gdir, accel) else 1
        except Failure as e:
            log(f'FAIL: {e}')
            return 1
    suites = sorted(SUITES) if args.suite == 'all' else [args.suite]
    ok = True
    for s in suites:
        workdir = args.workdir and os.path.join(args.workdir, s)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
            os.makedirs(workdir)
        else:
            workdir = tempfile.mkdtemp(prefix=f'vsnd-e2e-{s}-')
        log(f'=== suite {s} (workdir {workdir})')
        try:
            backend, cases, *opts = SUITES[s](workdir, args)
            results, _ = run_cases(args, qemu, gdir, accel, workdir, backend, cases,
                                   opts=opts[0] if opts else None)
        except Failure as e:
            results = [(s, False, str(e))]
        passed = report(results)
        ok = ok and passed
        if passed and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not passed:
            log(f'files kept in {workdir}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
