#!/usr/bin/env python3
"""A real guest through the pulse backend against pipewire-pulse (most
desktops' PulseAudio today), with its default settings: test_pulse_guest's
cases, PipeWire's own server in place of PulseAudio."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pulse_guest as G  # noqa: E402
from test_pulse_on_pipewire import PipeWirePulse  # noqa: E402

if __name__ == '__main__':
    sys.exit(G.guest_main('pulse-on-pipewire',
                          ('pipewire', 'wireplumber', 'pipewire-pulse', 'pw-cli',
                           'pactl', 'parec', 'pacat'),
                          PipeWirePulse, G.Recorder, G.pulse_setup))
