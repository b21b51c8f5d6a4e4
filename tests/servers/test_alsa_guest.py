#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real Linux guest plays and records through vsnd's alsa backend (or, with
--backend portaudio, the portaudio backend over PortAudio's ALSA host API),
whose PCM is alsa-plugins' pulse PCM into a PulseAudio server this test
starts, named in a test-local alsa-lib configuration the daemon inherits
(ALSA_CONFIG_PATH): playback into the null sink vsnd_null, capture from the
monitor of vsnd_src that pacat feeds with a pattern. The cases, the parec
witness of the sink's monitor and the run are test_pulse_guest.py's (two
boots: 20 ms buffers, then ALSA's defaults with the outages). Exit 77 when
QEMU 10, the guest image or alsa-plugins' pulse PCM is missing."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402
import test_pulse_guest as G  # noqa: E402
from test_alsa import alsa_env, pulse_pcm_installed  # noqa: E402
from test_pulse import Pulse  # noqa: E402


class CardPulse(Pulse):
    """The test's PulseAudio as the alsa-plugins pulse PCM's server: that
    PCM stands in for a sound card and, unlike vsnd's pulse backend, waits
    out an idle null sink's 2 s block, so the sinks are kept short."""
    short_sinks = True


def pulse_pcm(pa, device):
    return '{ type pulse server "unix:%s" device "%s" }' % (pa.sock, device)


def write_conf(path, pa, backend):
    """pcm.vsnd_guest: playback into vsnd_null, capture from vsnd_src's
    monitor (one PCM name for both, as the backends open one device). The
    alsa backend opens it through plug; PortAudio's default device is the
    asym itself (plug in front fails PortAudio's device probe: test_alsa.py)."""
    asym = ('{\n  type asym\n  playback.pcm %s\n  capture.pcm %s\n}'
            % (pulse_pcm(pa, 'vsnd_null'), pulse_pcm(pa, 'vsnd_src.monitor')))
    with open(path, 'w') as f:
        f.write('pcm.vsnd_guest {\n  type plug\n  slave.pcm %s\n}\n' % asym)
        if backend == 'portaudio':
            f.write('pcm.!default %s\n' % asym)


def setup_for(backend):
    def setup(pa, rec, w, procs):
        conf = str(w / 'asound.conf')
        write_conf(conf, pa, backend)
        # vsnd (started by the harness) inherits this environment: the
        # config, and a PulseAudio client setup that only reaches our server
        os.environ.clear()
        os.environ.update(alsa_env(pa, conf))
        # the pattern feeder and the capture case are the pulse test's
        _, cases = G.pulse_setup(pa, rec, w, procs)
        if backend == 'alsa':
            return 'alsa,device=vsnd_guest', cases
        return 'portaudio', cases
    return setup


def main():
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument('--backend', choices=('alsa', 'portaudio'), default='alsa')
    args, rest = ap.parse_known_args()
    sys.argv[1:] = rest  # guest_main parses the rest
    if not pulse_pcm_installed():
        S.log('SKIP: alsa-plugins pulse PCM (libasound2-plugins) not installed')
        return S.SKIP
    return G.guest_main(args.backend, ('pulseaudio', 'pactl', 'parec', 'pacat'), CardPulse,
                        G.Recorder, setup_for(args.backend))


if __name__ == '__main__':
    sys.exit(main())
