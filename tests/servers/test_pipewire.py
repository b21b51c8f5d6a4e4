#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The pipewire backend against a real PipeWire that this test starts with
WirePlumber on a session D-Bus of its own (private runtime dir, no
hardware): playback into a null sink recorded by pw-record, capture from the monitor
of a null sink that pw-play feeds (also through a 50 ms stall of the capturing
process), and the server killed and restarted
mid-playback."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402
from test_pulse import CH, RATE, write_s16  # noqa: E402

NODES = [('vsnd_null', 'Audio/Sink'), ('vsnd_src', 'Audio/Sink')]


class PipeWire:
    def __init__(self, procs, work):
        self.procs, self.work = procs, work
        run = os.path.join(work, 'run')
        os.makedirs(run, exist_ok=True)
        self.env = dict(os.environ, XDG_RUNTIME_DIR=run, HOME=work,
                        PIPEWIRE_RUNTIME_DIR=run)
        for k in ('PIPEWIRE_REMOTE', 'DISPLAY', 'PULSE_SERVER'):
            self.env.pop(k, None)
        self.dbus = self.procs.start(['dbus-daemon', '--session', '--nofork',
                                      '--print-address=1'], env=self.env,
                                     stdout=subprocess.PIPE)
        self.env['DBUS_SESSION_BUS_ADDRESS'] = self.dbus.stdout.readline().decode().strip()
        self.pw = self.wp = None
        self.nstarts = 0

    def log(self, name):
        return open(os.path.join(self.work, '%s-%d.log' % (name, self.nstarts)), 'w')

    def start(self):
        self.nstarts += 1
        with self.log('pipewire') as f:
            self.pw = self.procs.start(['pipewire'], env=self.env, stderr=f)
        S.wait_for(lambda: self.cli(['info', '0']).returncode == 0, 10, 'pipewire')
        with self.log('wireplumber') as f:
            self.wp = self.procs.start(['wireplumber'], env=self.env, stderr=f)
        for name, cls in NODES:
            r = self.cli(['create-node', 'adapter',
                          '{ factory.name=support.null-audio-sink node.name=%s '
                          'media.class=%s object.linger=true audio.position=[FL FR] '
                          'audio.rate=%d }' % (name, cls, RATE)])
            if r.returncode != 0:
                raise S.Failure('pw-cli create-node %s: %s' % (name, r.stderr))
        S.wait_for(lambda: all(n in self.cli(['ls', 'Node']).stdout for n, _ in NODES), 10,
                   'the null nodes')
        time.sleep(1.0)  # WirePlumber settles its defaults

    def cli(self, args):
        return subprocess.run(['pw-cli'] + args, env=self.env, capture_output=True, text=True,
                              timeout=10)

    def kill(self):
        self.procs.stop(self.wp, signal.SIGKILL)
        self.procs.stop(self.pw, signal.SIGKILL)

    def signal(self, sig):
        os.kill(self.pw.pid, sig)

    def record(self, path, target):
        return self.procs.start(['pw-record', '--target', target, '-P',
                                 '{ stream.capture.sink=true }', '--rate', str(RATE),
                                 '--channels', str(CH), '--format', 's16', path],
                                env=self.env)

    def play(self, path, target):
        return self.procs.start(['pw-play', '--target', target, path], env=self.env)


read_wav_s16 = S.recorded_s16


def write_wav_s16(path, samples):
    S.write_wav(path, samples, CH, RATE)


def case_playback(args, pw, work):
    S.log('-- playback into a null sink, recorded by pw-record')
    ref = S.noise_s16(2.0, RATE, CH, seed=5)
    src, rec = os.path.join(work, 'play.raw'), os.path.join(work, 'play-rec.wav')
    write_s16(src, ref)
    recorder = pw.record(rec, 'vsnd_null')
    time.sleep(0.7)
    res, err = S.run_drive(args.drive, ['pipewire,target=vsnd_null,name=test', 'play', 's16',
                                        str(RATE), str(CH), '960', src], pw.env)
    time.sleep(0.5)
    pw.procs.stop(recorder, signal.SIGINT)
    S.log('     drive: %s' % res)
    S.compare(read_wav_s16(rec), ref, CH, 'playback')
    S.check(res['xruns'] == 0, 'playback: no underrun (%d)' % res['xruns'])
    S.check(abs(res['elapsed_ms'] - 2000) < 200,
            'playback: 2 s completed in %.0f ms (graph-paced)' % res['elapsed_ms'])
    S.check('stream 0: connected' in err, 'playback: connection logged')


def capture_witnessed(args, pw, work, label, stall_ms=0):
    """srv_drive captures the monitor of a null sink that pw-play feeds,
    while pw-record records the same monitor: the capture must be a copy of
    the reference or of pw-record's recording (pw-play itself can lose a
    few ms on a busy machine, and both recorders then hear that), with
    silent holes only where vsnd reported an overrun."""
    ref = S.noise_s16(1.0, RATE, CH, seed=6)
    src, out = os.path.join(work, 'cap-src.wav'), os.path.join(work, 'cap.raw')
    witness = os.path.join(work, 'cap-witness.wav')
    # pw-play may lose its last few ms while draining: they are padding
    write_wav_s16(src, ref + [0] * (RATE * CH // 2))
    recorder = pw.record(witness, 'vsnd_src')
    try:
        res = S.run_capture(args.drive, 'pipewire,target=vsnd_src,monitor=on,name=test', pw.env,
                            out, lambda: pw.play(src, 'vsnd_src'), stall_ms=stall_ms)
    finally:
        time.sleep(0.2)
        pw.procs.stop(recorder, signal.SIGINT)
    with open(out, 'rb') as f:
        got = S.unpack_s16(f.read())
    seen = read_wav_s16(witness)
    on, off = S.first_loud(seen) // CH * CH, (S.last_loud(seen) // CH + 1) * CH
    skip = int(0.1 * RATE) * CH  # pw-play may lose its start
    return res, S.check_capture_holes(got, [('the reference', ref, skip, len(ref)),
                                            ('pw-record\'s recording', seen, on + skip, off)],
                                      res, CH, label)


def case_capture(args, pw, work):
    S.log('-- capture from the monitor of a null sink fed by pw-play')
    res, holes = capture_witnessed(args, pw, work, 'capture')
    if holes:
        # This machine stalled vsnd (reported, and filled in real time):
        # the run says nothing of the no-stall path, so it runs again.
        S.log('     capture: stalled by the host; once more')
        res, holes = capture_witnessed(args, pw, work, 'capture')
    S.check(not holes, 'capture: bit-exact, no hole (%d overruns)' % res['xruns'])


def case_capture_stall(args, pw, work):
    S.log('-- capture while srv_drive is stopped for 50 ms (a stalled host)')
    res, holes = capture_witnessed(args, pw, work, 'stall', stall_ms=50)
    S.check(len(holes) >= 1 and res['xruns'] >= 1,
            'stall: the lost frames are silence in place, and an overrun (%d)' % res['xruns'])


def case_kill(args, pw, work):
    S.log('-- server killed at 1.5 s and restarted at 2.5 s of an 8 s playback')
    seconds = 8.0
    ref = S.sine_s16(seconds, RATE, CH, 1000.0)
    src, rec = os.path.join(work, 'kill.raw'), os.path.join(work, 'kill-rec.wav')
    write_s16(src, ref)
    drive = subprocess.Popen([args.drive, 'pipewire,target=vsnd_null,name=test', 'play', 's16',
                              str(RATE), str(CH), '960', src], env=pw.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    recorder = None
    try:
        time.sleep(1.5)
        pw.kill()
        time.sleep(1.0)
        pw.start()
        recorder = pw.record(rec, 'vsnd_null')
        so, se = drive.communicate(timeout=30)
    finally:
        pw.procs.stop(drive)
        if recorder:
            time.sleep(0.3)
            pw.procs.stop(recorder, signal.SIGINT)
    S.check_kill_run(drive.returncode, so, se, seconds)
    S.check_sine_resumes(read_wav_s16(rec), ref, CH)


def main():
    S.server_test_main('pipewire', ('pipewire', 'wireplumber', 'dbus-daemon', 'pw-cli',
                                    'pw-record', 'pw-play', 'sox'),
                       PipeWire, (case_playback, case_capture, case_capture_stall, case_kill))


if __name__ == '__main__':
    S.main_wrapper(main)
