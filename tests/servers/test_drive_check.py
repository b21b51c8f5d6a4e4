#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vsnd-drive's conformance run (`check`, src/drive/check.c) against the real
daemon (sandboxed, its default) with a server backend, against a server this
test starts: pulse (PulseAudio with its null sinks, test_pulse.py's),
pipewire (PipeWire and WirePlumber, test_pipewire.py's), alsa and portaudio
(alsa-plugins' pulse PCM into that PulseAudio, named in a test-local
alsa-lib configuration: test_alsa_guest.py's). Twice: the plain run, and
with control elements (--controls); both with host jack events through
vsnd-ctl. Every clause must pass: the stream state machine, RX held until
START and its first period completed at the real rate, TX pacing with the
Linux and the Haiku patterns, XRUN and jack events. Each run's pacing and RX
lines are printed with their figures."""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402

TOOLS = {'pulse': ('pulseaudio', 'pactl', 'parec'),
         'pipewire': ('pipewire', 'wireplumber', 'pw-cli', 'dbus-daemon')}
TOOLS['alsa'] = TOOLS['portaudio'] = TOOLS['pulse']
# Clauses that must have run and passed (a SKIP is not a pass for these).
MUST_PASS = ('pcm.state', 'pcm.release-flush', 'io.rx-before-start', 'io.rx-status',
             'io.rx-pacing', 'io.tx-pacing', 'event.xrun', 'event.jack')


def start_server(kind, procs, work):
    """The server, the backend spec and vsnd's environment."""
    if kind == 'pipewire':
        from test_pipewire import PipeWire
        pw = PipeWire(procs, work)
        pw.start()
        # capture from the sink's monitor: the graph's clock, as for playback
        return pw, 'pipewire,target=vsnd_null,monitor=on,name=check', pw.env
    from test_pulse import Pulse
    pa = Pulse(procs, work)
    # alsa-plugins' pulse PCM (the alsa and portaudio cases' card) waits out
    # an idle null sink's 2 s block, unlike vsnd's pulse backend
    pa.short_sinks = kind != 'pulse'
    pa.start()
    if kind == 'pulse':
        return (pa, 'pulse,server=unix:%s,sink=vsnd_null,source=vsnd_src.monitor,name=check'
                % pa.sock, pa.env)
    from test_alsa import alsa_env
    from test_alsa_guest import write_conf
    conf = os.path.join(work, 'asound.conf')
    write_conf(conf, pa, kind)
    env = alsa_env(pa, conf)
    if kind == 'portaudio' and 'ASAN_OPTIONS' in env:
        env['ASAN_OPTIONS'] += ':detect_leaks=0'  # alsa-plugins' own leaks: see test_alsa.py
    return pa, ('alsa,device=vsnd_guest' if kind == 'alsa' else 'portaudio'), env


def show_log(d):
    S.log('vsnd log (%s):\n%s' % (d.logpath, d.log()[-4000:]))


def run_check(args, spec, env, work, controls):
    """vsnd with the backend, vsnd-drive check against it; returns its lines
    and the daemon."""
    tag = 'controls' if controls else 'plain'
    ctl = os.path.join(work, 'vsnd-%s.ctl' % tag)
    d = S.Daemon(args.vsnd, work, name='vsnd-' + tag, env=env,
                 args=['--backend', spec, '--control', ctl, '-v']
                 + (['--controls'] if controls else []))
    try:
        S.wait_for(lambda: S.listening(ctl) or not d.alive(), 10, 'vsnd to listen')
        t0 = time.monotonic()
        r = subprocess.run([args.drive, str(d.sock), 'check', '--jack-cmd',
                            '%s %s jack' % (args.ctl, ctl)]
                           + (['--controls'] if controls else []), env=env,
                           capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
    finally:
        stop_err = d.stop()
    lines = r.stdout.splitlines()
    fails = [ln for ln in lines if ln.startswith('FAIL')]
    for ln in lines:
        if ln.startswith('FAIL') or any(c in ln for c in ('io.tx-pacing', 'io.rx-pacing')):
            S.log('     ' + ln)
    S.log('     %s (%.1f s)' % (lines[-1] if lines else r.stderr.strip()[-300:], took))
    ok = r.returncode == 0 and not fails and bool(lines) and ' 0 failed' in lines[-1]
    if not ok:
        show_log(d)
    S.check(ok, '%s: vsnd-drive check%s passes in full%s'
            % (args.server, ' --controls' if controls else '',
               '' if ok else ' (%s)' % (fails[0] if fails else 'exit %d' % r.returncode)))
    S.check(not stop_err and d.rc == 0, '%s: vsnd exits 0 on SIGTERM (%s)'
            % (args.server, stop_err or d.rc))
    return lines, d


def check_run(args, spec, env, work, controls):
    lines, d = run_check(args, spec, env, work, controls)
    for clause in MUST_PASS:
        passed = any(ln.startswith('PASS') and clause in ln for ln in lines)
        if not passed:  # why: its SKIP or FAIL lines, and what vsnd said
            for ln in lines:
                if clause in ln:
                    S.log('     ' + ln)
            show_log(d)
        S.check(passed, '%s: clause %s ran and passed' % (args.server, clause))
    S.check(sum(1 for ln in lines if 'io.tx-pacing' in ln) == 2,
            '%s: both pacing patterns ran (Linux, Haiku)' % args.server)


# A run in which the server aborted on its own assertion says nothing of
# vsnd; one that fails for another reason fails the test at once.
ATTEMPTS = 3


def check_once_more(args, server, spec, env, work, controls):
    """check_run, and once more with a new server (up to ATTEMPTS runs in
    all) while the server aborted on its own assertion meanwhile."""
    before = []
    for attempt in range(1, ATTEMPTS + 1):
        seen = S.server_aborts(work)
        if attempt > 1:
            server.start()
        try:
            check_run(args, spec, env, work, controls)
            return
        except S.Failure as e:
            if attempt == ATTEMPTS or not S.aborted_since(work, seen, 'this run'):
                raise S.Failure('%s%s' % (e, ''.join(
                    ' (and before, with a server that aborted: %s)' % b for b in before)))
            before.append(str(e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vsnd', required=True)
    ap.add_argument('--drive', required=True, help='vsnd-drive')
    ap.add_argument('--ctl', required=True, help='vsnd-ctl')
    ap.add_argument('--server', choices=('pulse', 'pipewire', 'alsa', 'portaudio'),
                    default='pulse')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    for tool in TOOLS[args.server]:
        if shutil.which(tool) is None:
            S.log('SKIP: %s not installed' % tool)
            sys.exit(S.SKIP)
    if args.server in ('alsa', 'portaudio'):
        from test_alsa import pulse_pcm_installed
        if not pulse_pcm_installed():
            S.log('SKIP: alsa-plugins pulse PCM (libasound2-plugins) not installed')
            sys.exit(S.SKIP)
    args.vsnd, args.drive, args.ctl = (os.path.abspath(a) for a in (args.vsnd, args.drive,
                                                                     args.ctl))
    work = S.tmpdir('vsnd-check-%s-' % args.server)
    procs = S.Procs()
    ok = False
    try:
        server, spec, env = start_server(args.server, procs, work)
        S.log('-- vsnd --backend %s' % spec)
        failed = []
        for controls in (False, True):
            try:
                check_once_more(args, server, spec, env, work, controls)
            except S.Failure as e:
                failed.append(str(e))  # the other run still says what it sees
        if failed:
            raise S.Failure('; '.join(failed))
        ok = True
    finally:
        S.finish(procs, work, ok, args.keep)
    S.log('all %s check runs passed' % args.server)


if __name__ == '__main__':
    S.main_wrapper(main)
