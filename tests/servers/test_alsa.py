#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The alsa (and, with --backend portaudio, the portaudio backend over its
ALSA host API) through a test-local alsa-lib configuration: plug, then
a `file` PCM that writes what is played to a file (and, for capture, reads
what is recorded from one), then alsa-plugins' pulse PCM into the null sinks
of a PulseAudio server this test starts, which gives the device a real
clock. Checks the file against the signal, bit for bit, and the pacing."""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402
from test_pulse import CH, RATE, Pulse, read_s16, write_s16  # noqa: E402

PLUGIN_DIRS = ['/usr/lib/x86_64-linux-gnu/alsa-lib', '/usr/lib/aarch64-linux-gnu/alsa-lib',
               '/usr/lib/alsa-lib', '/usr/lib64/alsa-lib']


def pulse_pcm_installed():
    return any(os.path.exists(os.path.join(d, 'libasound_module_pcm_pulse.so'))
               for d in PLUGIN_DIRS)


def alsa_conf(path, pa, out_file, in_file, default=None):
    """vsnd_out / vsnd_in: plug over a file PCM over the pulse PCM. With
    `default` ('out' or 'in'), the default PCM is that file PCM without plug:
    PortAudio lists only the PCMs it knows (default, pulse...), and plug in
    front fails its device probe (set_period_size_near); PortAudio converts
    formats itself."""
    raw = {
        'out': ('{ type file slave.pcm { type pulse server "unix:%s" device "vsnd_null" }'
                ' file "%s" format "raw" }' % (pa.sock, out_file)),
        'in': ('{ type file slave.pcm { type pulse server "unix:%s" device "vsnd_src.monitor" }'
               ' file "/dev/null" infile "%s" format "raw" }' % (pa.sock, in_file)),
    }
    with open(path, 'w') as f:
        for d in ('out', 'in'):
            f.write('pcm.vsnd_%s {\n  type plug\n  slave.pcm %s\n}\n' % (d, raw[d]))
        if default:
            f.write('pcm.!default %s\n' % raw[default])


def alsa_env(pa, conf):
    env = dict(pa.env, ALSA_CONFIG_PATH='/usr/share/alsa/alsa.conf:' + conf)
    # Without a PULSE_SERVER to find, the pulse hook of Debian's alsa.conf.d
    # does not make the pulse PCM the default over ours (PortAudio's case).
    env.pop('PULSE_SERVER', None)
    return env


def find_start(hay, needle):
    """Index of needle's first 16 samples in hay (exact), or -1."""
    head = needle[:16]
    for i in range(0, len(hay) - 16, CH):
        if hay[i] == head[0] and hay[i:i + 16] == head:
            return i
    return -1


def spec(args, pcm):
    if args.backend == 'alsa':
        return 'alsa,device=%s,latency_ms=40' % pcm
    return args.backend  # the default device, which the config points at pcm


def case_playback(args, pa, work, env):
    S.log('-- %s playback: %sfile PCM -> pulse PCM -> null sink'
          % (args.backend, 'plug -> ' if args.backend == 'alsa' else ''))
    ref = S.noise_s16(2.0, RATE, CH, seed=3)
    src, out = os.path.join(work, 'play.raw'), os.path.join(work, 'alsa-out.raw')
    write_s16(src, ref)
    res, _ = S.run_drive(args.drive, [spec(args, 'vsnd_out'), 'play', 's16', str(RATE),
                                      str(CH), '960', src], env)
    S.log('     drive: %s' % res)
    got = read_s16(out)
    at = find_start(got, ref)
    S.check(at >= 0, 'playback: the signal is in the file PCM output')
    seg = got[at:at + len(ref)]
    S.check(seg == ref, 'playback: bit-exact (%d frames, %d frames of silence before)'
            % (len(seg) // CH, at // CH))
    S.check(all(v == 0 for v in got[:at]), 'playback: only silence before the signal')
    S.check(res['xruns'] == 0, 'playback: no underrun (%d)' % res['xruns'])
    S.check(abs(res['elapsed_ms'] - 2000) < 200,
            'playback: 2 s completed in %.0f ms (device-paced)' % res['elapsed_ms'])
    S.check(res['delay_max'] > 0, 'playback: device delay reported (max %d frames)'
            % res['delay_max'])


def case_capture(args, pa, work, env):
    S.log('-- %s capture: pulse source timing, data from the file PCM infile' % args.backend)
    ref = S.noise_s16(2.0, RATE, CH, seed=4)
    inf, out = os.path.join(work, 'alsa-in.raw'), os.path.join(work, 'cap.raw')
    write_s16(inf, ref)
    res, _ = S.run_drive(args.drive, [spec(args, 'vsnd_in'), 'capture', 's16', str(RATE),
                                      str(CH), '960', out, '1500'], env)
    S.log('     drive: %s' % res)
    got = read_s16(out)
    S.check(abs(res['frames'] - 1.5 * RATE) < 0.1 * RATE,
            'capture: %d frames in 1.5 s (device-paced)' % res['frames'])
    n = min(len(got), len(ref))
    S.check(n > RATE * CH and got[:n] == ref[:n],
            'capture: the guest side got the infile bit-exact (%d frames)' % (n // CH))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--drive', required=True)
    ap.add_argument('--backend', default='alsa')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    for tool in ('pulseaudio', 'pactl', 'parec'):
        if subprocess.run(['which', tool], capture_output=True).returncode != 0:
            S.log('SKIP: %s not installed' % tool)
            sys.exit(S.SKIP)
    if not pulse_pcm_installed():
        S.log('SKIP: alsa-plugins pulse PCM (libasound2-plugins) not installed')
        sys.exit(S.SKIP)
    work = S.tmpdir('vsnd-alsa-')
    procs = S.Procs()
    try:
        pa = Pulse(procs, work)
        # alsa-plugins' pulse PCM stands in for a sound card here; unlike
        # vsnd's pulse backend it waits out an idle null sink's 2 s block
        pa.short_sinks = True
        pa.start()
        conf = os.path.join(work, 'asound.conf')
        env = alsa_env(pa, conf)
        if args.backend == 'portaudio' and 'ASAN_OPTIONS' in env:
            # Pa_Terminate frees alsa-lib's global configuration, which
            # dlcloses the alsa-plugins modules with their own leaks still
            # reachable only from them (reported as "<unknown module>"). The
            # backend code shared with alsa is leak-checked by that test.
            env['ASAN_OPTIONS'] += ':detect_leaks=0'
        pa_default = args.backend != 'alsa'
        for case, pcm in ((case_playback, 'out'), (case_capture, 'in')):
            alsa_conf(conf, pa, os.path.join(work, 'alsa-out.raw'),
                      os.path.join(work, 'alsa-in.raw'), pcm if pa_default else None)
            case(args, pa, work, env)
    finally:
        procs.stop_all()
        if not args.keep:
            S.rmtree(work)
    S.log('all %s cases passed' % args.backend)


if __name__ == '__main__':
    S.main_wrapper(main)
