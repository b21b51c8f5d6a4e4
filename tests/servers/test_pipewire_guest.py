#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real Linux guest plays through vsnd's pipewire backend, against a PipeWire
(with WirePlumber) this test starts: a clip, ten short clips in a row with
ALSA's defaults and a longer clip, each bit-exact in pw-record's witness of
the null sink, with no frame lost at either end; and PipeWire killed -9
during an 8 s aplay and restarted (aplay still succeeds in real time, the
clip resumes bit-exact after the restart). The cases and the run are
test_pulse_guest.py's. Exit 77 when QEMU 10 or the guest image is missing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pulse_guest as G  # noqa: E402
from test_pipewire import PipeWire  # noqa: E402


class WavRecorder(G.Recorder):
    """pw-record of the null sink (a WAV; what follows its data chunk header)."""
    SUFFIX, TARGET = 'wav', 'vsnd_null'

    def samples(self, raw):
        i = raw.find(b'data')
        return raw[i + 8:] if i >= 0 else b''


def pipewire_setup(pw, rec, w, procs):
    # the backend finds the server as any client does, by the runtime
    # directory vsnd inherits (pulse names its server in the spec instead)
    for k in ('XDG_RUNTIME_DIR', 'PIPEWIRE_RUNTIME_DIR'):
        os.environ[k] = pw.env[k]
    return 'pipewire,target=vsnd_null,name=e2e', []


if __name__ == '__main__':
    sys.exit(G.guest_main('pipewire', ('pipewire', 'wireplumber', 'dbus-daemon', 'pw-cli',
                                       'pw-record'), PipeWire, WavRecorder, pipewire_setup))
