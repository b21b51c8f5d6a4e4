#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real Linux guest plays and records through vsnd's pipewire backend,
against a PipeWire (with WirePlumber) this test starts: the cases and the
two boots of test_pulse_guest.py, each clip bit-exact in pw-record's witness
of the null sink; the recordings are of another null sink's monitor that
pw-play feeds a long noise, each bit-exact as pw-record's witness of that
monitor heard it. Exit 77 when QEMU 10 or the guest image is missing."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402
import test_pulse_guest as G  # noqa: E402
from test_pipewire import PipeWire  # noqa: E402


class WavRecorder(G.Recorder):
    """pw-record of the null sink (a WAV; what follows its data chunk header)."""
    SUFFIX, TARGET = 'wav', 'vsnd_null'

    def samples(self, raw):
        return S.recorded_data(raw)


class SourceWitness(WavRecorder):
    """pw-record of vsnd_src's monitor, which the guest records too."""
    TARGET, PREFIX = 'vsnd_src', 'source'

    def peek(self):
        """What it recorded so far, still recording (pw-record writes as it
        goes: a capture that ended seconds ago is in the file)."""
        with open(self.files[-1], 'rb') as f:
            return self.samples(f.read())


class WitnessedCaptureCase(G.LoopCaptureCase):
    """arecord of vsnd_src's monitor while pw-play feeds it a long noise:
    bit-exact as the witness recorded it (pw-play may glitch on a busy
    machine; both then hear the same), or as the noise itself (the witness
    is a client too, and a busy machine can make it drop what vsnd kept:
    CI saw pw-record skip 2,816 frames that the guest recorded in order)."""
    WHAT = "witness's audio"

    def references(self, nbytes):
        return [self.pattern.peek(), self.pattern.feed]


def pipewire_setup(pw, rec, w, procs):
    # the backend finds the server as any client does, by the runtime
    # directory vsnd inherits (pulse names its server in the spec instead)
    for k in ('XDG_RUNTIME_DIR', 'PIPEWIRE_RUNTIME_DIR'):
        os.environ[k] = pw.env[k]
    # non-repeating for longer than the captures take (both boots)
    feed = w / 'feed.wav'
    subprocess.run(['sox', '-n', '-R', '-r', '48000', '-c', '2', '-b', '16', str(feed),
                    'synth', '180', 'whitenoise', 'vol', '0.5'], check=True)
    witness = SourceWitness(pw, str(w))
    witness.feed = S.recorded_data(feed.read_bytes())
    witness.start()
    pw.play(str(feed), 'vsnd_src')
    return ('pipewire,target=vsnd_null,source=vsnd_src,monitor=on,name=e2e',
            G.capture_cases(witness, cls=WitnessedCaptureCase))


if __name__ == '__main__':
    sys.exit(G.guest_main('pipewire', ('pipewire', 'wireplumber', 'dbus-daemon', 'pw-cli',
                                       'pw-record'), PipeWire, WavRecorder, pipewire_setup))
