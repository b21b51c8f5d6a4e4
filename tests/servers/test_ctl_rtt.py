#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The device thread never waits: the control-request round trip, measured
by vsnd-drive play --ctl-probe (a SET_PARAMS, PREPARE, START, STOP, RELEASE
cycle and a PCM_INFO query on the input stream every 10 ms while a clip
plays on the output stream) against the real vsnd, for each server backend
(pulse and pipewire against a server this test starts; alsa and portaudio
through alsa-plugins' pulse PCM into the test's PulseAudio), with the
server absent, starting, live, stopped (SIGSTOP) and killed. In every state:
no failed request, p99 < 5 ms, worst < 20 ms, and the play's wall time (the
guest's clock) within 0.5 s of its audio. The played stream's jack (read
through vsnd-ctl during the play) is off while the server is absent or
killed, on while it is live, and off while the host unplugged it whatever
the server does (it starts meanwhile)."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib as S  # noqa: E402

RATE, CH = 48000, 2
P99_MS, MAX_MS, WALL_SLACK_S = 5.0, 20.0, 0.5
BACKENDS = ('pulse', 'pipewire', 'alsa', 'portaudio')
TOOLS = {'pulse': ('pulseaudio', 'pactl', 'parec'),
         'pipewire': ('pipewire', 'wireplumber', 'pw-cli', 'dbus-daemon')}
# state: (seconds played, server running when the play starts, what happens
# to the server when: [(s into the play, action)])
STATES = {
    'absent': (4.0, False, []),
    'starting': (4.0, False, [(1.0, 'start')]),
    'live': (4.0, True, []),
    'stopped': (5.0, True, [(1.0, 'pause'), (4.0, 'resume')]),
    'killed': (4.0, True, [(1.0, 'kill')]),
}
# state: [(s into the play, what the played stream's jack reads then, or
# what vsnd-ctl does to it)]. While the server starts, the host unplugs
# the jack: the server's coming does not plug it (the live state's look,
# after the host plugged it again, sees it on).
JACK_STEPS = {'absent': [(2.0, False)], 'starting': [(0.5, 'unplug'), (3.0, False), (3.2, 'plug')],
              'live': [(2.0, True)], 'killed': [(2.5, False)]}


def server_kind(backend):
    return 'pipewire' if backend == 'pipewire' else 'pulse'


def pulse_pcm_found():
    from test_alsa import PLUGIN_DIRS
    return any(os.path.exists(os.path.join(d, 'libasound_module_pcm_pulse.so'))
               for d in PLUGIN_DIRS)


def missing(backend):
    """Why this backend cannot be tested here, or None."""
    for tool in TOOLS[server_kind(backend)]:
        if shutil.which(tool) is None:
            return '%s not installed' % tool
    if backend in ('alsa', 'portaudio') and not pulse_pcm_found():
        return 'alsa-plugins pulse PCM (libasound2-plugins) not installed'
    return None


class Server:
    """The test's sound server, with what the states do to it."""

    def __init__(self, kind, procs, work, short_sinks=False):
        if kind == 'pulse':
            from test_pulse import Pulse
            self.srv = Pulse(procs, work)
            # alsa-plugins' pulse PCM meets the idle null sink's 2 s block
            # as any client does (vsnd's pulse backend copes; test_pulse.py)
            self.srv.short_sinks = short_sinks
        else:
            from test_pipewire import PipeWire
            self.srv = PipeWire(procs, work)
        self.kind, self.env, self.running, self.paused = kind, self.srv.env, False, False

    def pid(self):
        return (self.srv.proc if self.kind == 'pulse' else self.srv.pw).pid

    def start(self):
        self.srv.start()
        self.running = True

    def kill(self):
        self.resume()
        self.srv.kill()
        self.running = False

    def pause(self):
        os.kill(self.pid(), signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.paused:
            os.kill(self.pid(), signal.SIGCONT)
            self.paused = False

    def has_playback(self):
        """Does the server carry a client's playback stream now? (Only
        vsnd plays into the test's server.) False when it does not answer
        at once (stopped)."""
        if not self.running or self.paused:
            return False
        if self.kind == 'pulse':
            cmd = ['pactl', 'list', 'short', 'sink-inputs']
        else:
            cmd = ['pw-cli', 'ls', 'Node']
        try:
            r = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=1)
        except subprocess.TimeoutExpired:
            return False
        if self.kind == 'pulse':
            return bool(r.stdout.strip())
        return 'Stream/Output/Audio' in r.stdout

    def ensure(self, running):
        if running and not self.running:
            self.start()
        elif not running and self.running:
            self.kill()


def alsa_rtt_conf(path, pa, default):
    """pcm.vsnd_rtt: alsa-plugins' pulse PCM into the test server, playing
    into its null sink and capturing that sink's monitor (the plugin takes
    one device name for both directions, and a sink's name is no source:
    hence asym); no file PCM, only the timing matters here. With default
    (PortAudio lists only the PCMs it knows), also pcm.!default."""
    pcm = ('{ type asym'
           ' playback.pcm { type pulse server "unix:%s" device "vsnd_null" }'
           ' capture.pcm { type pulse server "unix:%s" device "vsnd_null.monitor" } }'
           % (pa.sock, pa.sock))
    with open(path, 'w') as f:
        f.write('pcm.vsnd_rtt %s\n' % pcm)
        if default:
            f.write('pcm.!default %s\n' % pcm)


def backend_setup(backend, server, work):
    """The --backend spec and the environment vsnd runs in."""
    if backend == 'pulse':
        return ('pulse,server=unix:%s,sink=vsnd_null,source=vsnd_src.monitor,name=rtt'
                % server.srv.sock, server.env)
    if backend == 'pipewire':
        return 'pipewire,target=vsnd_null,monitor=on,name=rtt', server.env
    from test_alsa import alsa_env
    conf = os.path.join(work, 'asound.conf')
    alsa_rtt_conf(conf, server.srv, backend == 'portaudio')
    env = alsa_env(server.srv, conf)
    if backend == 'portaudio' and 'ASAN_OPTIONS' in env:
        env['ASAN_OPTIONS'] += ':detect_leaks=0'  # see test_alsa.py
    return ('alsa,device=vsnd_rtt' if backend == 'alsa' else 'portaudio'), env


def first_streams(drive, sock, env):
    """The ids of the first output stream (played) and input one (probed)."""
    streams = drive_info(drive, sock, env)['streams']
    ids = [[s['id'] for s in streams if s['direction'] == d] for d in ('output', 'input')]
    if not ids[0] or not ids[1]:
        raise S.Failure('vsnd needs an output and an input stream here')
    return ids[0][0], ids[1][0]


def clip(work, seconds):
    path = os.path.join(work, 'sine-%g.wav' % seconds)
    if not os.path.exists(path):
        S.write_wav(path, S.sine_s16(seconds, RATE, CH, 1000.0, amp=0.1), CH, RATE)
    return path


def parse_summary(out):
    """{'play': {...}, 'probe': {...}} from vsnd-drive's two summary lines."""
    res = {}
    for line in out.splitlines():
        for key, tag in (('play', 'play:'), ('probe', 'ctl-probe:')):
            if line.startswith(tag):
                toks = line[len(tag):].split()
                res[key] = {k: S.parse_result('x=' + v)['x'] for k, v in zip(toks[::2],
                                                                            toks[1::2])}
    return res


def run_timeline(server, events, t0, p):
    """The state's events on time; meanwhile, until the play ends, look
    every 200 ms for vsnd's playback stream on the server. Returns whether
    it was ever seen."""
    seen = False
    events = list(events)
    while p.poll() is None or events:
        now = time.monotonic()
        if events and now >= t0 + events[0][0]:
            what = events.pop(0)[1]
            what() if callable(what) else getattr(server, what)()
            continue
        seen = seen or (p.poll() is None and server.has_playback())
        wait = 0.2 if not events else min(0.2, t0 + events[0][0] - now)
        time.sleep(max(0.0, wait))
    return seen


def play_state(args, server, d, ids, state, env, work):
    """One play with the probe through what `state` does to the server.
    Returns (row, problems)."""
    seconds, running, events = STATES[state]
    server.ensure(running)
    seen_jack = []
    for at, what in JACK_STEPS.get(state, []):
        if isinstance(what, str):
            step = (lambda verb: lambda: jack_cmd(args, d, verb))(what)
        else:
            step = (lambda at, want: lambda: seen_jack.append(
                (at, want, jack_plugged(args, d))))(at, what)
        events = events + [(at, step)]
    events = sorted(events, key=lambda e: e[0])
    t0 = time.monotonic()
    p = subprocess.Popen([args.drive, d.sock, 'play', clip(work, seconds), '--ctl-probe',
                          str(ids[1]), '-q'] + args.drive_arg, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out = err = ''
    try:
        seen = run_timeline(server, events, t0, p)
        out, err = p.communicate(timeout=seconds + 60)
    finally:
        server.resume()
        if p.poll() is None:
            p.kill()
            p.wait()
    row, problems = judge(p.returncode, out, err, d)
    problems += judge_jack(state, seen_jack, d.jack)
    # A backend that never reaches the server is paced by the device alone:
    # every figure would pass without measuring the server side at all. (The
    # server is asked: vsnd's log lines are rate-limited, and the probed
    # stream's, one per 10 ms cycle, can hide the played stream's.)
    if running and not seen:
        problems.append('the played stream never reached the live server (no playback '
                        'stream of vsnd seen on it)')
    return row, problems


def drive_info(drive, sock, env):
    """vsnd-drive info's JSON (a frontend session of its own)."""
    r = subprocess.run([drive, sock, 'info', '--json'], env=env, capture_output=True, text=True,
                       timeout=20)
    if r.returncode != 0:
        raise S.Failure('vsnd-drive info: %s' % r.stderr.strip())
    return json.loads(r.stdout)


def played_jack(drive, sock, env, stream):
    """The id of stream's jack (same function group, same direction by the
    pin's default device: jack.c)."""
    info = drive_info(drive, sock, env)
    s = next(x for x in info['streams'] if x['id'] == stream)
    for j in info['jacks']:
        if j['hda_fn_nid'] == s['hda_fn_nid'] and \
                ((j['defconf'] >> 20 & 0xf) >= 8) == (s['direction'] == 'input'):
            return j['id']
    raise S.Failure('stream %d has no jack' % stream)


def jack_plugged(args, d):
    """Whether the played stream's jack reads connected now, through
    vsnd-ctl (while a frontend plays), or why it could not be read."""
    r = subprocess.run([args.ctl, d.ctl, 'status', '--json'], capture_output=True, text=True,
                       timeout=5)
    if r.returncode != 0:
        return 'vsnd-ctl status: %s' % r.stderr.strip()
    jacks = json.loads(r.stdout)['jacks']
    return next((j['plugged'] for j in jacks if j['id'] == d.jack), 'no jack %d' % d.jack)


def jack_cmd(args, d, verb):
    """The host plugs or unplugs the played stream's jack."""
    subprocess.run([args.ctl, d.ctl, 'jack', str(d.jack), verb], check=True,
                   capture_output=True, timeout=5)


def judge_jack(state, seen, jack):
    """What the played stream's jack read against what it should have."""
    return ['jack %d read %r %g s into the play, want %s (server %s)'
            % (jack, got, at, want, state) for at, want, got in seen if got is not want]


def judge(rc, out, err, d):
    res = parse_summary(out)
    play, probe = res.get('play'), res.get('probe')
    problems = []
    if rc != 0:
        problems.append('vsnd-drive exit %d: %s' % (rc, err.strip()[-300:]))
    if d.proc.poll() is not None:
        problems.append('vsnd exited (%d)' % d.proc.returncode)
    if not play or not probe:
        return None, problems + ['no summary from vsnd-drive: %r' % out[-300:]]
    if probe['failed'] or probe['stopped'] != 'no':
        problems.append('%d failed requests (%s), probe stopped: %s'
                        % (probe['failed'], probe['failures'], probe['stopped']))
    if probe['p99_ms'] >= P99_MS:
        problems.append('p99 %.3f ms >= %g ms' % (probe['p99_ms'], P99_MS))
    if probe['max_ms'] >= MAX_MS:
        problems.append('max %.3f ms >= %g ms (worst: %s)' % (probe['max_ms'], MAX_MS,
                                                              probe['worst']))
    if play['wall_s'] > play['audio_s'] + WALL_SLACK_S:
        problems.append('wall %.3f s > audio %.3f s + %g s: the guest\'s clock stalled'
                        % (play['wall_s'], play['audio_s'], WALL_SLACK_S))
    return dict(probe, **play), problems


def run_backend(args, backend, rows, fails):
    work = S.tmpdir('vsnd-rtt-%s-' % backend)
    procs = S.Procs()
    d = None
    try:
        server = Server(server_kind(backend), procs, work,
                        short_sinks=backend in ('alsa', 'portaudio'))
        spec, env = backend_setup(backend, server, work)
        ctl = os.path.join(work, 'vsnd.ctl')
        # vsnd starts in the first state's server condition (absent, by
        # default: a backend must find a server that comes later)
        server.ensure(STATES[args.states[0]][1])
        d = S.Daemon(args.vsnd, work, args=['--backend', spec, '--control', ctl], env=env,
                     procs=procs)
        d.ctl, d.backend = ctl, backend
        ids = first_streams(args.drive, d.sock, env)
        d.jack = played_jack(args.drive, d.sock, env, ids[0])
        for state in args.states:
            S.log('-- %s, server %s: %g s played on stream %d, stream %d probed'
                  % (backend, state, STATES[state][0], ids[0], ids[1]))
            row, problems = play_state(args, server, d, ids, state, env, work)
            rows.append((backend, state, row))
            for msg in problems:
                S.log('FAIL %s/%s: %s' % (backend, state, msg))
                fails.append('%s/%s: %s' % (backend, state, msg))
            if not problems:
                S.log('ok   %s/%s' % (backend, state))
    except S.Failure as e:
        fails.append('%s: %s' % (backend, e))
        S.log('FAIL %s: %s' % (backend, e))
    finally:
        if d and any(f.startswith(backend + '/') or f.startswith(backend + ':')
                     for f in fails):
            S.log('vsnd log (%s), last lines:\n%s' % (backend, d.log()[-2500:]))
        procs.stop_all()
        if not args.keep:
            S.rmtree(work)


def print_table(rows):
    S.log('%-10s %-9s %8s %8s %8s %8s %8s %6s  %s'
          % ('backend', 'server', 'p50_ms', 'p99_ms', 'max_ms', 'audio_s', 'wall_s', 'failed',
             'worst'))
    for backend, state, r in rows:
        if r is None:
            S.log('%-10s %-9s %s' % (backend, state, '(no summary)'))
            continue
        S.log('%-10s %-9s %8.3f %8.3f %8.3f %8.3f %8.3f %6d  %s'
              % (backend, state, r['p50_ms'], r['p99_ms'], r['max_ms'], r['audio_s'],
                 r['wall_s'], r['failed'], r['worst']))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vsnd', required=True)
    ap.add_argument('--drive', required=True, help='vsnd-drive')
    ap.add_argument('--ctl', required=True, help='vsnd-ctl')
    ap.add_argument('--backend', action='append', choices=BACKENDS,
                    help='a backend to measure (repeatable; default: all)')
    ap.add_argument('--states', default=','.join(STATES),
                    help='comma-separated, of: %s' % ', '.join(STATES))
    ap.add_argument('--drive-arg', action='append', default=[],
                    help='an extra vsnd-drive play argument (e.g. --periods=8: a guest '
                    'buffer of 80 ms rather than 40)')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    args.vsnd, args.drive, args.ctl = (os.path.abspath(a) for a in (args.vsnd, args.drive,
                                                                     args.ctl))
    args.states = args.states.split(',')
    if any(s not in STATES for s in args.states):
        ap.error('unknown state in --states')
    backends = []
    for b in args.backend or BACKENDS:
        why = missing(b)
        if why:
            S.log('SKIP %s: %s' % (b, why))
        else:
            backends.append(b)
    if not backends:
        sys.exit(S.SKIP)
    rows, fails = [], []
    for b in backends:
        run_backend(args, b, rows, fails)
    print_table(rows)
    if fails:
        raise S.Failure('%d problem(s):\n  %s' % (len(fails), '\n  '.join(fails)))
    S.log('control round trips within p99 %g ms, max %g ms, wall within %g s: %s'
          % (P99_MS, MAX_MS, WALL_SLACK_S, ', '.join(backends)))


if __name__ == '__main__':
    S.main_wrapper(main)
