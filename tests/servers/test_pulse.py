#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The pulse backend against a real PulseAudio server that this test starts
(private runtime dir, null sinks, no hardware): playback over TCP recorded
from the sink's monitor, capture from a source the test feeds, and the server
killed and restarted mid-playback."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402

RATE, CH = 48000, 2


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Pulse:
    def __init__(self, procs, work):
        self.procs, self.work = procs, work
        self.sock = os.path.join(work, 'pulse.sock')
        self.port = free_port()
        self.env = dict(os.environ, XDG_RUNTIME_DIR=os.path.join(work, 'run'),
                        HOME=os.path.join(work, 'home'),
                        PULSE_SERVER='tcp:127.0.0.1:%d' % self.port)
        self.env.pop('DISPLAY', None)
        for d in ('run', 'home'):
            os.makedirs(os.path.join(work, d), exist_ok=True)
        self.proc = None
        self.nstarts = 0

    def start(self):
        """A new server; one still running from before (a kill case's
        restart) goes first, or the new one could not take its socket."""
        if self.proc and self.proc.poll() is None:
            self.kill()
        self.nstarts += 1
        logf = open(os.path.join(self.work, 'pulseaudio-%d.log' % self.nstarts), 'w')
        self.proc = self.procs.start(
            ['pulseaudio', '-n', '--daemonize=no', '--exit-idle-time=-1', '--disallow-exit',
             '--use-pid-file=no', '--log-target=stderr',
             '--load=module-native-protocol-tcp port=%d listen=127.0.0.1 auth-anonymous=1'
             % self.port,
             '--load=module-null-sink sink_name=vsnd_null rate=%d' % RATE,
             '--load=module-null-sink sink_name=vsnd_src rate=%d' % RATE],
            env=self.env, stderr=logf)
        logf.close()
        S.wait_for(self.ready, 10, 'pulseaudio to answer')
        if self.short_sinks:
            self.keep_sinks_short()
        # The unix socket the backend uses in the kill case (after the
        # sinks are short, if they are to be, so nothing reconnects to a
        # long block). Unless a test asks, nothing here asks the null sinks
        # for low latency: left alone they render 2 s ahead, as a user's
        # would, and vsnd must cope (pulse.c).
        subprocess.run(['pactl', 'load-module', 'module-native-protocol-unix',
                        'socket=%s' % self.sock, 'auth-anonymous=1'], env=self.env, check=True,
                       capture_output=True)

    # Tests whose sound card is another client of this server set this:
    # every start then keeps the null sinks short (keep_sinks_short).
    short_sinks = False

    def keep_sinks_short(self):
        """Low-latency monitor readers on both null sinks, so they render
        10 ms ahead instead of 2 s: for tests whose sound card is a client
        of this server other than vsnd's pulse backend (alsa-plugins' pulse
        PCM), which meets the long block as any client does."""
        for sink in ('vsnd_null', 'vsnd_src'):
            self.procs.start(['parec', '--raw', '--latency-msec=10', '-d', sink + '.monitor'],
                             env=self.env)
        time.sleep(2.2)  # the block rendered before they joined runs out

    def ready(self):
        r = subprocess.run(['pactl', 'list', 'short', 'sinks'], env=self.env,
                           capture_output=True, text=True)
        return r.returncode == 0 and 'vsnd_null' in r.stdout

    def kill(self):
        self.procs.stop(self.proc, signal.SIGKILL)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def record(self, path, device):
        f = open(path, 'wb')
        p = self.procs.start(['parec', '--raw', '--format=s16le', '--rate=%d' % RATE,
                              '--channels=%d' % CH, '--latency-msec=20', '-d', device],
                             env=self.env, stdout=f)
        f.close()
        return p

    def play(self, path, device):
        return self.procs.start(['pacat', '--playback', '--raw', '--format=s16le',
                                 '--rate=%d' % RATE, '--channels=%d' % CH, '-d', device, path],
                                env=self.env)


def read_s16(path):
    with open(path, 'rb') as f:
        return S.unpack_s16(f.read())


def write_s16(path, samples):
    with open(path, 'wb') as f:
        f.write(S.pack_s16(samples))


def case_playback(args, pa, work):
    S.log('-- playback over tcp:127.0.0.1 into a null sink, recorded from its monitor')
    ref = S.noise_s16(2.0, RATE, CH, seed=1)
    src, rec = os.path.join(work, 'play.raw'), os.path.join(work, 'play-rec.raw')
    write_s16(src, ref)
    parec = pa.record(rec, 'vsnd_null.monitor')
    time.sleep(0.5)
    spec = 'pulse,server=tcp:127.0.0.1:%d,sink=vsnd_null,name=test' % pa.port
    res, err = S.run_drive(args.drive, [spec, 'play', 's16', str(RATE), str(CH), '960', src],
                           pa.env)
    time.sleep(0.3)
    pa.procs.stop(parec)
    S.log('     drive: %s' % res)
    S.compare(read_s16(rec), ref, CH, 'playback')
    S.check(res['xruns'] == 0, 'playback: no underrun (%d)' % res['xruns'])
    S.check(abs(res['elapsed_ms'] - 2000) < 200,
            'playback: 2 s completed in %.0f ms (server-paced)' % res['elapsed_ms'])
    S.check(res['delay_max'] > 0, 'playback: server latency reported (max %d frames)'
            % res['delay_max'])
    S.check('stream 0: connected' in err, 'playback: connection logged')


def case_capture(args, pa, work):
    S.log('-- capture from a null sink monitor fed by pacat')
    ref = S.noise_s16(1.0, RATE, CH, seed=2)
    src, out = os.path.join(work, 'cap-src.raw'), os.path.join(work, 'cap.raw')
    write_s16(src, ref)
    spec = 'pulse,server=unix:%s,source=vsnd_src.monitor,name=test' % pa.sock
    S.run_capture(args.drive, spec, pa.env, out, lambda: pa.play(src, 'vsnd_src'), slack=0.05)
    # pacat's own stream may lose its first milliseconds (a server rewind)
    S.compare(read_s16(out), ref, CH, 'capture', skip=0.1)


def case_kill(args, pa, work):
    S.log('-- server killed at 1.5 s and restarted at 2.5 s of an 8 s playback')
    seconds = 8.0
    ref = S.sine_s16(seconds, RATE, CH, 1000.0)
    src, rec = os.path.join(work, 'kill.raw'), os.path.join(work, 'kill-rec.raw')
    write_s16(src, ref)
    spec = 'pulse,server=unix:%s,sink=vsnd_null,name=test' % pa.sock
    drive = subprocess.Popen([args.drive, spec, 'play', 's16', str(RATE), str(CH), '960', src],
                             env=pa.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    parec = None
    try:
        time.sleep(1.5)
        pa.kill()
        time.sleep(1.0)
        pa.start()
        time.sleep(0.3)
        parec = pa.record(rec, 'vsnd_null.monitor')
        so, se = drive.communicate(timeout=30)
    finally:
        pa.procs.stop(drive)
        if parec:
            pa.procs.stop(parec)
    res = S.check_kill_run(drive.returncode, so, se, seconds)
    S.check(str(res.get('presence', '')).endswith('1,0,1'),
            'kill: the sink reported present, gone, present again (%s): the jack follows'
            % res.get('presence'))
    recorded = read_s16(rec)
    S.check(len(recorded) > RATE * CH, 'kill: %.2f s recorded after the restart'
            % (len(recorded) / RATE / CH))
    S.check_sine_resumes(recorded, ref, CH)


def main():
    S.server_test_main('pulse', ('pulseaudio', 'pactl', 'parec', 'pacat'), Pulse,
                       (case_playback, case_capture, case_kill),
                       lambda pa: dict(pa.env, PULSE_SERVER='unix:' + pa.sock))


if __name__ == '__main__':
    S.main_wrapper(main)
