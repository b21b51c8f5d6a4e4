"""Audio helpers for the vsnd end-to-end tests (python3 standard library only).

The checks compare raw sample bytes: a stream that went through vsnd untouched is
found byte for byte, frame-aligned, inside what came out at the other end.
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'support'))
from vsndtest import Wav, read_wav  # noqa: E402,F401  (the WAV reader every test shares)


@dataclasses.dataclass(frozen=True)
class Fmt:
    """An ALSA sample format with its sox spelling, a rate and a channel count."""
    alsa: str
    rate: int
    channels: int

    SOX = {
        'U8': ('8', 'unsigned-integer'),
        'S8': ('8', 'signed-integer'),
        'S16_LE': ('16', 'signed-integer'),
        'S24_3LE': ('24', 'signed-integer'),
        'S32_LE': ('32', 'signed-integer'),
        'FLOAT_LE': ('32', 'floating-point'),
        'FLOAT64_LE': ('64', 'floating-point'),
    }

    @property
    def sample_bytes(self):
        return int(self.SOX[self.alsa][0]) // 8

    @property
    def frame_bytes(self):
        return self.sample_bytes * self.channels

    def sox_args(self):
        bits, enc = self.SOX[self.alsa]
        return ['-r', str(self.rate), '-c', str(self.channels), '-b', bits, '-e', enc]

    def silence_byte(self):
        return 0x80 if self.alsa == 'U8' else 0

    def frames(self, nbytes):
        return nbytes // self.frame_bytes

    def ms(self, frames):
        return 1000.0 * frames / self.rate

    def __str__(self):
        return f'{self.alsa} {self.rate} Hz {self.channels} ch'


def sox_make(path, fmt, seconds, synth, raw=True):
    """Writes a sox synth signal (e.g. 'sine 100-8000 synth whitenoise mix').

    -R makes sox's noise repeatable; -D turns dither off so the samples are exactly
    what the synth produced.
    """
    cmd = ['sox', '-R', '-D', '-n'] + fmt.sox_args()
    cmd += ['-t', 'raw' if raw else 'wav', str(path), 'synth', str(seconds)]
    cmd += synth.split() + ['gain', '-3']
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(path, 'rb') as f:
        data = f.read()
    return data if raw else read_wav(path).data


def common_prefix(a, b):
    """Length of the common prefix of two byte strings (block-wise, then byte-wise)."""
    n, step = min(len(a), len(b)), 65536
    i = 0
    while i + step <= n and a[i:i + step] == b[i:i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


def is_silence(buf, fmt):
    return buf.count(fmt.silence_byte()) == len(buf)


@dataclasses.dataclass
class Match:
    """Where a source clip was found in a recording or an output file."""
    found: bool           # the whole clip, contiguous and complete
    offset: int = -1      # frame offset of the clip's first frame
    matched: int = 0      # frames that matched from offset
    total: int = 0        # frames in the clip
    lead: int = 0         # frames before the clip
    trail: int = 0        # frames after the clip
    aligned: bool = True  # offset is a whole number of frames
    lead_silent: bool = True
    trail_silent: bool = True
    where: str = ''       # why a partial match stopped

    @property
    def lost(self):
        return self.total - self.matched


HEAD_FRAMES = 64


def locate(hay, clip, fmt):
    """Finds clip (raw frames) inside hay (raw frames of the same format).

    When the whole clip is not there, finds its first HEAD_FRAMES frames and counts
    how far the match goes, so the report says how many frames were lost and where.
    """
    fb = fmt.frame_bytes
    total = len(clip) // fb
    m = Match(found=False, total=total)
    pos = hay.find(clip)
    if pos >= 0:
        m.found, m.matched = True, total
    else:
        head = clip[:HEAD_FRAMES * fb]
        pos = hay.find(head)
        # Keep searching for an aligned occurrence: a short head can match by chance.
        while pos >= 0 and pos % fb:
            pos = hay.find(head, pos + 1)
        if pos < 0:
            return m
        m.matched = common_prefix(hay[pos:], clip) // fb
        m.where = ('output ends' if pos + m.matched * fb + fb > len(hay)
                   else f'mismatch at clip frame {m.matched}')
    m.offset = pos // fb
    m.aligned = pos % fb == 0
    end = pos + m.matched * fb
    m.lead, m.trail = pos // fb, (len(hay) - end) // fb
    m.lead_silent = is_silence(hay[:pos], fmt)
    m.trail_silent = m.found and is_silence(hay[end:], fmt)
    return m


def count_occurrences(hay, clip, fmt):
    """How many frame-aligned, non-overlapping copies of clip hay contains."""
    n, pos = 0, hay.find(clip)
    while pos >= 0:
        if pos % fmt.frame_bytes == 0:
            n += 1
            pos = hay.find(clip, pos + len(clip))
        else:
            pos = hay.find(clip, pos + 1)
    return n


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return -1
