#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The pulse backend against pipewire-pulse, the PulseAudio server most
desktops now run: PipeWire, WirePlumber and pipewire-pulse started by this
test with their default settings (private runtime dir, the null sinks of
test_pipewire.py, no hardware), then test_pulse.py's cases: playback over TCP
recorded from the sink's monitor, capture from a monitor the test feeds, and
the servers killed and restarted mid-playback."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402
import test_pulse as P  # noqa: E402
from test_pipewire import PipeWire  # noqa: E402


class PipeWirePulse(PipeWire):
    """PipeWire with its PulseAudio server; pulse clients find it at `sock`
    (its default socket) or on TCP `port`."""

    def __init__(self, procs, work):
        super().__init__(procs, work)
        self.sock = os.path.join(self.env['XDG_RUNTIME_DIR'], 'pulse', 'native')
        self.port = P.free_port()
        self.env['PULSE_SERVER'] = 'tcp:127.0.0.1:%d' % self.port
        self.pp = None

    def start(self):
        super().start()
        with self.log('pipewire-pulse') as f:
            self.pp = self.procs.start(['pipewire-pulse'], env=self.env, stderr=f)
        local = dict(self.env, PULSE_SERVER='unix:' + self.sock)
        S.wait_for(lambda: self.pactl(local, ['info']).returncode == 0, 10, 'pipewire-pulse')
        r = self.pactl(local, ['load-module', 'module-native-protocol-tcp',
                               'port=%d' % self.port, 'listen=127.0.0.1'])
        if r.returncode != 0:
            raise S.Failure('pipewire-pulse: no TCP listener: %s' % r.stderr.strip())

    def pactl(self, env, args):
        return subprocess.run(['pactl'] + args, env=env, capture_output=True, text=True,
                              timeout=10)

    def kill(self):
        self.procs.stop(self.pp, signal.SIGKILL)
        super().kill()

    def signal(self, sig):
        """Both servers: the graph and the protocol server a client talks to."""
        os.kill(self.pp.pid, sig)
        super().signal(sig)

    record, play = P.Pulse.record, P.Pulse.play


def main():
    S.server_test_main('pulse-on-pipewire', ('pipewire', 'wireplumber', 'pipewire-pulse',
                                             'pw-cli', 'pactl', 'parec', 'pacat'),
                       PipeWirePulse, (P.case_playback, P.case_capture, P.case_kill))


if __name__ == '__main__':
    S.main_wrapper(main)
