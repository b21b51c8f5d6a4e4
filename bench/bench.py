#!/usr/bin/env python3
"""vsnd benchmarks: pacing, correctness, cost, scale, density and loopback latency.

Run through bench/run.sh, which builds build-bench (release) first. Writes
bench/results.md and the PNG plots next to it. The guest runs reuse the
end-to-end harness in tests/e2e (guest image, QEMU command line, daemon,
console markers, audio comparison); python3 standard library plus gnuplot.
"""

import argparse
import contextlib
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.dont_write_bytecode = True   # no __pycache__ in tests/e2e
sys.path.insert(0, str(ROOT / 'tests' / 'e2e'))
sys.path.insert(0, str(ROOT / 'tests' / 'support'))
import vsndtest as T  # noqa: E402
import e2e_audio as au  # noqa: E402
import vsnd_e2e as e2e  # noqa: E402
from e2e_guest import (GUEST_MEM, Daemon, Failure, Skip, build_guest, find_qemu, log,  # noqa: E402
                       probe_accel, run_guest)

TICK = os.sysconf('SC_CLK_TCK')
S16_48K_2 = au.Fmt('S16_LE', 48000, 2)


# --- process accounting -----------------------------------------------------------------

@contextlib.contextmanager
def environ(env):
    """os.environ as env (None: as it is) while the block runs, for a child
    that takes ours (run_guest's QEMU)."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cpu_seconds(pid):
    """CPU time of a live process in seconds (None once it is gone): the scheduler's
    nanosecond run time from /proc/PID/schedstat, else utime + stime in clock ticks
    (10 ms steps, too coarse for a few seconds of one stream)."""
    try:
        return int(Path(f'/proc/{pid}/schedstat').read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def max_rss_kib(pid):
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def find_pid(needle):
    """The process whose command line contains needle (QEMU, found by its disk path)."""
    for d in Path('/proc').iterdir():
        if d.name.isdigit():
            try:
                if needle in (d / 'cmdline').read_bytes().decode(errors='replace'):
                    return int(d.name)
            except OSError:
                continue
    return None


# --- statistics ---------------------------------------------------------------------------

def pct(values, p):
    if not values:
        return float('nan')
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def spread(values, fmt='{:.3f}'):
    """'mean (min..max, n=N)' for a figure measured over several runs."""
    vals = [v for v in values if v is not None]
    if not vals:
        return 'n/a'
    m = statistics.mean(vals)
    if len(vals) == 1:
        return fmt.format(m) + ' (n=1)'
    return f'{fmt.format(m)} ({fmt.format(min(vals))}..{fmt.format(max(vals))}, n={len(vals)})'


def read_trace(path):
    """{stream: [(t_ns, bytes, latency_bytes)]} from a vsnd --trace file."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith('#') or not line.strip():
            continue
        sid, t, b, lat = (int(x) for x in line.split())
        out.setdefault(sid, []).append((t, b, lat))
    return out


def deviations(events, byte_rate):
    """Each completion's deviation (ms) from the ideal schedule t0 + bytes_so_far / rate,
    t0 = first completion minus its own period. A gap of over 10 periods starts a new
    segment (a new START): each segment has its own t0. Returns [(t_s, dev_ms)]."""
    res, t0, cum, prev = [], None, 0, None
    if not events:
        return res
    origin = events[0][0]
    for t, b, _ in events:
        period_ns = b * 1e9 / byte_rate
        if prev is None or t - prev > 10 * max(period_ns, 1e6):
            t0, cum = t - period_ns, 0
        cum += b
        res.append(((t - origin) / 1e9, (t - (t0 + cum * 1e9 / byte_rate)) / 1e6))
        prev = t
    return res


def dev_stats(devs):
    """mean, p99 and max of |deviation| in ms."""
    a = [abs(d) for _, d in devs]
    if not a:
        return None
    return {'mean': statistics.mean(a), 'p99': pct(a, 99), 'max': max(a)}


def drift_ppm(events, byte_rate):
    """The stream's rate error against CLOCK_MONOTONIC, in ppm, from a
    least-squares fit of completion time against the bytes completed by
    then (+: the device's frames take longer than the nominal rate says),
    and the p99 residual from that fit (ms). Only the first segment (one
    START) counts, from its second second on: drift is the long-run rate,
    and a first period's start-up (a millisecond late) would read as 1.7
    ppm over 10 minutes."""
    segs, cum, prev = [], 0, None
    for t, b, _ in events:
        if prev is not None and t - prev > 10 * max(b * 1e9 / byte_rate, 1e6):
            break
        cum += b
        if t - events[0][0] >= 1e9:
            segs.append((cum, t / 1e9))
        prev = t
    if len(segs) < 3:
        return None
    n = len(segs)
    mx = sum(x for x, _ in segs) / n
    my = sum(y for _, y in segs) / n
    sxx = sum((x - mx) ** 2 for x, _ in segs)
    slope = sum((x - mx) * (y - my) for x, y in segs) / sxx
    resid = [abs(y - (my + slope * (x - mx))) * 1e3 for x, y in segs]
    return {'ppm': (slope * byte_rate - 1) * 1e6, 'p99_resid': pct(resid, 99),
            'seconds': segs[-1][1] - segs[0][1], 'n': n}


def drift_table(rows, what='backend'):
    """Drift rows [(backend or device, direction, fit)] as a table with the goal."""
    md = [f'| {what} | direction | seconds fitted | completions | rate error (ppm) | '
          'p99 residual (ms) | goal |', '|---|---|---|---|---|---|---|']
    for name, cmd, f in rows:
        if not f:
            md.append(f'| {name} | {cmd} | - | - | - | - | MISS (no completions) |')
            continue
        md.append(f'| {name} | {cmd} | {f["seconds"]:.1f} | {f["n"]} | {f["ppm"]:+.3f} | '
                  f'{f["p99_resid"]:.3f} | {"PASS" if abs(f["ppm"]) <= 1 else "MISS"} |')
    return md


def sine_wav(path, secs):
    """A 440 Hz sine, 48 kHz S16 stereo, for the drift runs."""
    subprocess.run(['sox', '-R', '-D', '-n', '-r', '48000', '-c', '2', '-b', '16', str(path),
                    'synth', str(secs), 'sine', '440', 'gain', '-3'],
                   check=True, capture_output=True)
    return path


def pcmclock_events(text):
    """pcmclock's "NS FRAMES" lines as drift_ppm's events: (time, frames
    played since the line before, in frames: byte_rate 48000)."""
    events, last = [], None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            continue
        t, frames = int(parts[0]), int(parts[1])
        if last is not None and frames > last:
            events.append((t, frames - last, None))
        last = frames
    return events


def missing_blocks(rec, clip, fb, block):
    """How many of the clip's blocks (block frames each) the recording does
    not hold bit-exact, in order, of how many, and the first one missing.
    Each block is looked for right after the last one found, then within a
    second after it: a glitch costs the blocks it touched, not the rest."""
    size = block * fb
    n = len(clip) // size
    pos, missing, first = rec.find(clip[:size]), 0, None
    for i in range(n):
        want = clip[i * size:(i + 1) * size]
        if pos >= 0 and rec[pos:pos + size] == want:
            pos += size
            continue
        at = rec.find(want, max(pos, 0), max(pos, 0) + 48000 * fb + size) if pos >= 0 \
            else rec.find(want)
        while at >= 0 and at % fb:
            at = rec.find(want, at + 1)
        if at >= 0:
            pos = at + size
            continue
        missing += 1
        first = i if first is None else first
    return missing * block, n * block, first or 0


def density_lateness(w, i, traced):
    """Stream i of a density run (ms): each completion's lateness as the driver
    saw it, and with a device trace, as vsnd completed it (its trace time
    against the same deadlines: the difference is the driver's wake-up)."""
    lines = (w / f'density-{i}.txt').read_text().split('\n')
    head = lines[0].split()
    t0, period = int(head[2]), int(head[4])
    seen = [int(x) / 1e6 for x in lines[1:] if x]
    if not traced:
        return seen, []
    events = read_trace(w / f'trace{i}.txt').get(0, [])[:len(seen)]
    return seen, [(t - t0 - k * period) / 1e6 for k, (t, _, _) in enumerate(events, 1)]


# --- gnuplot --------------------------------------------------------------------------------

def gnuplot(script, outdir):
    if not shutil.which('gnuplot'):
        log('warning: gnuplot not found; no plot (bench/run.sh installs gnuplot-nox)')
        return False
    r = subprocess.run(['gnuplot'], input=script, text=True, cwd=outdir,
                       capture_output=True)
    if r.returncode != 0:
        log('warning: gnuplot failed: ' + r.stderr.strip())
    return r.returncode == 0


def plot_pacing(devs, outdir, name, title):
    dat = Path(outdir) / f'{name}.dat'
    dat.write_text(''.join(f'{t:.6f} {d:.4f}\n' for t, d in devs))
    ok = gnuplot(f"""set terminal pngcairo size 900,420 noenhanced
set output '{name}.png'
set title '{title}'
set xlabel 'time since the first completion (s)'
set ylabel 'deviation from the ideal period schedule (ms)'
set grid
plot '{dat.name}' using 1:2 with points pt 7 ps 0.4 title 'TX completion'
""", outdir)
    dat.unlink()
    return ok


def plot_xy(rows, outdir, name, title, xlabel, ylabel, logx=False):
    """rows: [(x, y_mean, y_min, y_max)] drawn as points with error bars."""
    dat = Path(outdir) / f'{name}.dat'
    dat.write_text(''.join(f'{x} {m} {lo} {hi}\n' for x, m, lo, hi in rows))
    ok = gnuplot(f"""set terminal pngcairo size 700,420 noenhanced
set output '{name}.png'
set title '{title}'
set xlabel '{xlabel}'
set ylabel '{ylabel}'
set grid
{'set logscale x 2' if logx else ''}
plot '{dat.name}' using 1:2:3:4 with yerrorlines pt 7 title 'mean (min..max)'
""", outdir)
    dat.unlink()
    return ok


# --- scale: vsnd-drive against vsnd, no VM -------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.build = Path(args.build).resolve()
        self.vsnd = self.build / 'vsnd'
        self.drive = self.build / 'src' / 'drive' / 'vsnd-drive'
        self.ctl = self.build / 'src' / 'ctl' / 'vsnd-ctl'
        self.floor = self.build / 'bench' / 'vsnd-bench-floor'
        self.density_exe = self.build / 'bench' / 'vsnd-bench-density'
        self.out = Path(args.out).resolve()
        self.work = Path(tempfile.mkdtemp(prefix='vsnd-bench-'))
        self.md = []          # result sections (markdown lines)
        self.commands = []    # what was run, for the report
        self.headline = {}

    def drive_run(self, n, seconds, rate=48000, period_ms=10, tag='s'):
        """N vsnd daemons (null backend, --trace, --control), each driven by one
        vsnd-drive playing a clip. Returns a dict of figures."""
        w = self.work / f'{tag}-{n}-{rate}-{period_ms}'
        shutil.rmtree(w, ignore_errors=True)
        w.mkdir(parents=True)
        clip = w / 'clip.wav'
        subprocess.run(['sox', '-R', '-D', '-n', '-r', str(rate), '-c', '2', '-b', '16',
                        str(clip), 'synth', str(seconds), 'sine', '440', 'gain', '-3'],
                       check=True, capture_output=True)
        daemons = []
        try:
            for i in range(n):
                daemons.append(T.Daemon(self.vsnd, w, name=f'v{i}', args=[
                    '--backend', 'null', '--trace', str(w / f'trace{i}.txt'),
                    '--control', str(w / f'c{i}.sock'), '-q']))
            T.wait_for(lambda: all(T.listening(w / f'c{i}.sock') for i in range(n)), 10,
                       'vsnd\'s control sockets')
            cpu0 = [cpu_seconds(d.proc.pid) for d in daemons]
            t0 = time.monotonic()
            drives = [subprocess.Popen([str(self.drive), str(d.sock), 'play', str(clip),
                                        '--period-ms', str(period_ms), '-q'],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=open(w / f'drive{i}.log', 'wb'))
                      for i, d in enumerate(daemons)]
            # xruns while every stream is running, before the drains end them
            time.sleep(max(0.5, seconds - 0.7))
            xruns = self.xruns(w / f'c{i}.sock' for i in range(n))
            fails = sum(1 for d in drives if d.wait(seconds + 60) != 0)
            wall = time.monotonic() - t0
            cpu1 = [cpu_seconds(d.proc.pid) for d in daemons]
            rss = max(max_rss_kib(d.proc.pid) or 0 for d in daemons)
        finally:
            for d in daemons:
                d.stop()
        devs = []
        for i in range(n):
            tr = read_trace(w / f'trace{i}.txt').get(0, [])
            devs += [abs(d) for _, d in deviations(tr, rate * 4)]
        cpu = sum(b - a for a, b in zip(cpu0, cpu1))
        audio_min = n * seconds / 60
        shutil.rmtree(w, ignore_errors=True)
        return {'cpu_pct': 100 * cpu / wall, 'cpu_s_per_audio_min': cpu / audio_min,
                'xruns': xruns, 'fails': fails, 'p99': pct(devs, 99),
                'max': max(devs) if devs else float('nan'), 'rss': rss, 'wall': wall}

    def xruns(self, socks):
        """The output streams' xrun counters, summed over the daemons'
        control sockets (read while the streams run: a drain ends in one)."""
        total = 0
        for sock in socks:
            st = subprocess.run([str(self.ctl), str(sock), 'status'],
                                capture_output=True, text=True).stdout
            total += sum(int(x) for x in re.findall(r'out \w+ .*? xruns (\d+)', st))
        return total

    def repeat(self, runs, **kw):
        res = []
        for k in range(runs):
            log(f'  run {k + 1}/{runs}: {kw}')
            res.append(self.drive_run(**kw))
        return res

    def floor_run(self, n, seconds, period_ms=10, driver=False):
        """The floor (bench/floor.c) with N processes for the same time: each
        wakes on absolute timerfd deadlines at the period and makes the device
        path's system calls. Lateness against the ideal deadline, ms. driver:
        its eventfd writes wake one more process (floor.c --driver)."""
        w = self.work / f'floor-{n}'
        shutil.rmtree(w, ignore_errors=True)
        w.mkdir(parents=True)
        r = subprocess.run([str(self.floor), '--procs', str(n), '--period-ms', str(period_ms),
                            '--seconds', str(seconds), '--out', str(w)] +
                           (['--driver'] if driver else []),
                           capture_output=True, text=True, timeout=seconds + 60)
        if r.returncode != 0:
            raise Failure(f'vsnd-bench-floor failed: {r.stderr.strip()}')
        f = dict(zip(r.stdout.split()[::2], (float(x) for x in r.stdout.split()[1::2])))
        late = [int(x) / 1e6 for p in w.glob('floor-*.txt') for x in p.read_text().split()]
        shutil.rmtree(w, ignore_errors=True)
        return {'cpu_pct': 100 * f['cpu_s'] / f['wall_s'], 'p99': pct(late, 99),
                'mean': statistics.mean(late), 'max': max(late)}

    def repeat_with_floor(self, runs, n, seconds, run=None):
        """vsnd and the floor interleaved, run by run, so both meet the same machine.
        run(n, seconds): the vsnd run, drive_run by default."""
        run = run or (lambda n, seconds: self.drive_run(n=n, seconds=seconds))
        vs, fl = [], []
        for k in range(runs):
            log(f'  run {k + 1}/{runs}: {n} streams, vsnd then the floor')
            vs.append(run(n, seconds))
            fl.append(self.floor_run(n, seconds))
        return vs, fl

    def scale(self):
        a = self.args
        ns = [1] if a.smoke else [1, 8, 32, 64]
        runs = 1 if a.smoke else a.runs
        secs = 3 if a.smoke else a.scale_seconds
        self.commands.append(f'N x (`vsnd --socket vI.sock --backend null --trace traceI.txt '
                             f'--control cI.sock -q` + `vsnd-drive vI.sock play clip.wav '
                             f'--period-ms 10 -q`), {secs:g} s 48 kHz S16 stereo clip; '
                             f'xruns from `vsnd-ctl cI.sock status` {max(0.5, secs - 0.7):g} s in')
        log(f'=== scale: {ns} streams, {secs} s, {runs} runs')
        md = ['## Scale without a VM (vsnd-drive over vhost-user, null backend)', '',
              f'N concurrent 48 kHz S16 stereo streams, 10 ms periods, a {secs:g} s clip each: '
              'N vsnd processes (vsnd serves one frontend per socket), each with its own '
              'vsnd-drive. CPU % is the sum over the N vsnd processes (100 % = one core); '
              'p99/max is the completion deviation from the ideal period schedule over all '
              f'streams. {runs} runs each. The N vsnd-drive processes (the drivers) share the '
              'same 2 cores, so at high N a late driver shows up as an xrun too. '
              'The floor (bench/floor.c) runs right after each vsnd run: N processes waking '
              'on absolute timerfd deadlines at 10 ms with the device path\'s system calls '
              '(timer read and re-arm, an eventfd write and read), its lateness against the '
              'ideal deadline; the ratios compare run with run.', '',
              '| streams | vsnd CPU % | vsnd CPU s / audio min | xruns | failed plays | '
              'p99 deviation (ms) | max deviation (ms) | floor CPU % | floor p99 lateness (ms) | '
              'CPU vsnd / floor | p99 vsnd / floor |',
              '|---|---|---|---|---|---|---|---|---|---|---|']
        rows = []
        for n in ns:
            r, fl = self.repeat_with_floor(runs, n, secs)
            ratio_cpu = [v['cpu_pct'] / max(f['cpu_pct'], 1e-9) for v, f in zip(r, fl)]
            ratio_p99 = [v['p99'] / max(f['p99'], 1e-9) for v, f in zip(r, fl)]
            md.append(f'| {n} | {spread([x["cpu_pct"] for x in r], "{:.2f}")} | '
                      f'{spread([x["cpu_s_per_audio_min"] for x in r])} | '
                      f'{sum(x["xruns"] for x in r)} | {sum(x["fails"] for x in r)} | '
                      f'{spread([x["p99"] for x in r])} | {spread([x["max"] for x in r])} | '
                      f'{spread([x["cpu_pct"] for x in fl], "{:.2f}")} | '
                      f'{spread([x["p99"] for x in fl])} | {spread(ratio_cpu, "{:.1f}")} | '
                      f'{spread(ratio_p99, "{:.1f}")} |')
            c = [x['cpu_pct'] for x in r]
            rows.append((n, statistics.mean(c), min(c), max(c)))
            self.headline[f'scale{n}'] = r
            self.headline[f'floor{n}'] = fl
        if len(rows) > 1 and plot_xy(rows, self.out, 'scale-cpu',
                                     'vsnd CPU for N concurrent 48 kHz stereo streams',
                                     'streams', 'vsnd CPU % (sum, 100 = one core)', logx=True):
            md += ['', '![vsnd CPU against streams](scale-cpu.png)']
        self.md += md + ['']

    # --- density: one driver process for N devices ---------------------------------------

    def density_run(self, n, seconds, period_ms=10):
        """N vsnd daemons (null backend), all driven by one vsnd-bench-density
        (bench/density.c), one stream each. Over its measured window: the
        daemons' CPU, the driver's, the xruns (read while the streams still
        run) and each completion's lateness against its ideal deadline (ms)."""
        w = self.work / f'density-{n}'
        shutil.rmtree(w, ignore_errors=True)
        w.mkdir(parents=True)
        daemons, drv = [], None
        try:
            for i in range(n):
                trace = ['--trace', str(w / f'trace{i}.txt')] if self.args.density_trace else []
                daemons.append(T.Daemon(self.vsnd, w, name=f'd{i}', args=[
                    '--backend', 'null', '--control', str(w / f'c{i}.sock'), '-q'] + trace))
            drv = subprocess.Popen(
                [str(self.density_exe), '--period-ms', str(period_ms), '--seconds', str(seconds),
                 '--out', str(w), '--hold'] + [str(d.sock) for d in daemons],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=open(w / 'density.log', 'wb'), text=True)
            self.expect_line(drv, 'running', w)
            cpu0 = [cpu_seconds(d.proc.pid) for d in daemons]
            t0 = time.monotonic()
            self.expect_line(drv, 'measured', w)
            cpu1 = [cpu_seconds(d.proc.pid) for d in daemons]
            wall = time.monotonic() - t0
            xruns = self.xruns(w / f'c{i}.sock' for i in range(n))
            drv.stdin.close()
            out = drv.stdout.read().split()
            if drv.wait(60) != 0:
                raise Failure(f'vsnd-bench-density failed: {(w / "density.log").read_text()}')
        finally:
            if drv and drv.poll() is None:
                drv.kill()
                drv.wait()
            errs = [e for e in (d.stop() for d in daemons) if e]
        if errs:
            raise Failure(errs[0])
        own = dict(zip(out[::2], (float(x) for x in out[1::2])))
        late, dev = [], []
        for i in range(n):
            seen, at_device = density_lateness(w, i, self.args.density_trace)
            late += seen
            dev += at_device
        shutil.rmtree(w, ignore_errors=True)
        cpu = sum(b - a for a, b in zip(cpu0, cpu1))
        return {'cpu_pct': 100 * cpu / wall / n, 'drv_pct': 100 * own['cpu_s'] / own['wall_s'],
                'xruns': xruns, 'p99': pct(late, 99), 'mean': statistics.mean(late),
                'max': max(late), 'kicks': own['kicks'], 'completions': own['completions'],
                'dev_p99': pct(dev, 99) if dev else None,
                'dev_mean': statistics.mean(dev) if dev else None}

    @staticmethod
    def expect_line(proc, want, w):
        line = proc.stdout.readline().strip()
        if line != want:
            proc.wait(10)
            raise Failure(f'vsnd-bench-density said {line!r}, not {want!r}: '
                          f'{(w / "density.log").read_text().strip()}')

    def density(self):
        a = self.args
        ns = [1, 2] if a.smoke else [1, 8, 32, 64]
        runs = 1 if a.smoke else a.runs
        secs = 3 if a.smoke else a.density_seconds
        log(f'=== density: {ns} streams, one driver, {secs:g} s, {runs} runs')
        self.commands.append(f'density: N x `vsnd --socket dI.sock --backend null --control '
                             f'cI.sock -q` + one `vsnd-bench-density --period-ms 10 --seconds '
                             f'{secs:g} --hold d0.sock ... dN-1.sock`; then `vsnd-bench-floor --procs N '
                             f'--period-ms 10 --seconds {secs:g}`, and the same with `--driver`')
        md = ['## Density: one driver for N devices (no VM)', '',
              f'N vsnd processes (null backend), one 48 kHz S16 stereo stream each, 10 ms '
              f'periods, 4 in flight, {secs:g} s, all fed by ONE driver process '
              '(bench/density.c: vsnd-drive\'s frontend library, one thread, an epoll over the '
              'N call eventfds), so the devices are not competing with N drivers. Lateness: '
              'when the driver saw completion k minus (the START reply + k periods), the ideal '
              'schedule, not a fitted one; it includes the driver\'s own wake-up, as the '
              'floor\'s includes its timer wake. vsnd CPU per stream: the sum over the N '
              'daemons / N (100 % = one core); the floor (bench/floor.c, N processes on '
              'absolute 10 ms timerfd deadlines) ran right after each vsnd run, then the floor '
              'with a driver (below). '
              f'{runs} runs each.', '',
              '| streams | vsnd CPU % / stream | floor CPU % / process | CPU vsnd / floor | '
              'driver CPU % | xruns | p99 lateness vsnd (ms) | p99 floor (ms) | '
              'mean vsnd (ms) | mean floor (ms) | max vsnd (ms) | max floor (ms) |',
              '|---|---|---|---|---|---|---|---|---|---|---|---|']
        res, driven = {}, {}
        for n in ns:
            vs, fl, fd = [], [], []
            for k in range(runs):
                log(f'  run {k + 1}/{runs}: {n} streams, vsnd, the floor, the floor with a driver')
                vs.append(self.density_run(n, secs))
                fl.append(self.floor_run(n, secs))
                fd.append(self.floor_run(n, secs, driver=True))
            for f in fl + fd:
                f['cpu_proc'] = f['cpu_pct'] / n
            res[n] = (vs, fl)
            driven[n] = fd
            ratio = [v['cpu_pct'] / max(f['cpu_proc'], 1e-9) for v, f in zip(vs, fl)]
            md.append(f'| {n} | {spread([v["cpu_pct"] for v in vs])} | '
                      f'{spread([f["cpu_proc"] for f in fl])} | '
                      f'{spread(ratio, "{:.2f}")} | '
                      f'{spread([v["drv_pct"] for v in vs], "{:.2f}")} | '
                      f'{sum(v["xruns"] for v in vs)} | {spread([v["p99"] for v in vs])} | '
                      f'{spread([f["p99"] for f in fl])} | {spread([v["mean"] for v in vs])} | '
                      f'{spread([f["mean"] for f in fl])} | {spread([v["max"] for v in vs])} | '
                      f'{spread([f["max"] for f in fl])} |')
        if a.density_trace:
            md += ['', 'With --density-trace, the same lateness at the device (its --trace time '
                   'of each completion, the driver\'s wake-up left out), p99 / mean (ms): ' +
                   '; '.join(f'{n} streams {spread([v["dev_p99"] for v in vs])} / '
                             f'{spread([v["dev_mean"] for v in vs])}'
                             for n, (vs, _) in res.items())]
        md += ['', 'The floor with a driver (`vsnd-bench-floor --driver`, run right after the '
               'floor): the same N processes, but their eventfd writes are read by one more '
               'process, an epoll over the N eventfds, as vsnd\'s notifications are by the '
               'density driver: each write wakes a waiting process, and that process competes '
               'for the cores. Not a goal of the issue; it shows how much of vsnd\'s distance '
               'from the floor any device that interrupts its driver meets. Per stream count, '
               'CPU % per process, p99 lateness (ms), and vsnd against it (CPU ratio; p99 at '
               'the device against its p99):', '']
        for n, fd in driven.items():
            vs = res[n][0]
            cpu = [v['cpu_pct'] / max(f['cpu_proc'], 1e-9) for v, f in zip(vs, fd)]
            line = (f'- {n} stream{"s" if n > 1 else ""}: {spread([f["cpu_proc"] for f in fd])} %, '
                    f'p99 {spread([f["p99"] for f in fd])} ms; vsnd CPU / it '
                    f'{spread(cpu, "{:.2f}")}')
            if vs[0]['dev_p99'] is not None:
                line += ('; p99 at the device vs it per run: ' +
                         ', '.join(f'{v["dev_p99"]:.3f} vs {f["p99"]:.3f}' for v, f in zip(vs, fd)))
            md.append(line)
        goals = self.density_goals(res)
        self.headline['density'] = res
        self.headline['density_driven'] = driven
        self.headline['density_goals'] = goals
        self.md += md + ['', 'Goals (issue 19), each run against the floor of the same run:',
                         ''] + [f'- {g}' for g in goals] + ['']

    @staticmethod
    def density_goals(res):
        """The issue's goals as PASS/MISS lines, for the stream counts measured."""
        def verdict(ok):
            return 'PASS' if ok else 'MISS'
        out = []
        for n in (1, 64):
            if n not in res:
                out.append(f'NOT MEASURED: {n} streams (smoke)')
                continue
            vs, fl = res[n]
            p99 = ', '.join(f'{v["p99"]:.3f} vs {f["p99"]:.3f}' for v, f in zip(vs, fl))
            out.append(f'{verdict(all(v["p99"] <= f["p99"] for v, f in zip(vs, fl)))}: {n} '
                       f'stream{"s" if n > 1 else ""}, p99 lateness at most the floor\'s '
                       f'(ms, vsnd vs floor per run: {p99})')
            means = ', '.join(f'{v["mean"]:.3f}' for v in vs)
            out.append(f'{verdict(all(v["mean"] < 0.1 for v in vs))}: {n} '
                       f'stream{"s" if n > 1 else ""}, mean lateness under 0.1 ms '
                       f'(ms per run: {means})')
            # Like for like: the floor's lateness is its own timer wake, and
            # the device's is when it completed (its trace); the driver's
            # wake-up, which the lines above include, is a second one.
            if vs[0]['dev_p99'] is not None:
                dev = ', '.join(f'{v["dev_p99"]:.3f} vs {f["p99"]:.3f}' for v, f in zip(vs, fl))
                out.append(f'{verdict(all(v["dev_p99"] <= f["p99"] for v, f in zip(vs, fl)))}: '
                           f'{n} stream{"s" if n > 1 else ""}, p99 lateness at the device (its '
                           f'trace, without the driver\'s wake-up) at most the floor\'s (ms, '
                           f'vsnd vs floor per run: {dev})')
                dmean = ', '.join(f'{v["dev_mean"]:.3f}' for v in vs)
                out.append(f'{verdict(all(v["dev_mean"] < 0.1 for v in vs))}: {n} '
                           f'stream{"s" if n > 1 else ""}, mean lateness at the device under '
                           f'0.1 ms (ms per run: {dmean})')
        if 64 in res:
            vs, fl = res[64]
            xr = sum(v['xruns'] for v in vs)
            ratio = [v['cpu_pct'] / max(f['cpu_proc'], 1e-9) for v, f in zip(vs, fl)]
            out.append(f'{verdict(xr == 0)}: 64 streams, 0 xruns ({xr})')
            out.append(f'{verdict(all(r <= 2 for r in ratio))}: 64 streams, vsnd CPU per stream '
                       f'at most 2 x the floor\'s per process (ratio per run: '
                       f'{", ".join(f"{r:.2f}" for r in ratio)})')
        return out

    # (backend spec, vsnd-drive command): the clocked backends, each its own
    # daemon, all at once (drift is a rate, not a latency: they do not
    # disturb each other's).
    DRIFT_RUNS = (('null', 'play'), ('file,out={w}/out-%u.wav', 'play'), ('loopback', 'play'),
                  ('null', 'record'))

    def drift(self):
        """The clocked backends' rows, and (but in the smoke) the sound-server
        backends' in the same window."""
        a = self.args
        secs = 3 if a.smoke else a.drift_seconds
        w = self.work / 'drift'
        shutil.rmtree(w, ignore_errors=True)
        w.mkdir(parents=True)
        clip = sine_wav(w / 'clip.wav', secs)
        runs = [(spec, cmd, None) for spec, cmd in self.DRIFT_RUNS]
        procs = T.Procs()
        try:
            servers = [] if a.smoke else self.drift_servers(procs, w)
            log(f'=== drift: {len(runs) + len(servers)} streams for {secs:g} s')
            rows, fails = self.drift_rows(w, clip, runs + servers, secs)
        finally:
            procs.stop_all()
            shutil.rmtree(w, ignore_errors=True)
        clocked, served = rows[:len(runs)], rows[len(runs):]
        if not a.smoke and a.drift_guest_seconds > 0:
            clocked.append(self.drift_guest(a.drift_guest_seconds))
        self.commands.append(f'drift: per row `vsnd --socket dI.sock --backend B --trace traceI.txt '
                             f'-q` + `vsnd-drive dI.sock play clip.wav --period-ms 10 -q` (or '
                             f'`record recI.wav --seconds S`), {secs:g} s, all rows at once')
        md = ['## Drift (clocked backends, no VM)', '',
              f'One {secs:g} s stream per row, 48 kHz S16 stereo, 10 ms periods, all rows at '
              'once; a guest\'s aplay (ALSA\'s default buffer) in a boot of its own, where it '
              'is a row. Rate error: a least-squares fit of each completion\'s CLOCK_MONOTONIC time '
              '(vsnd --trace) against the frames completed by then, in ppm of the nominal rate; '
              'residual: how far completions stray from that fitted line. Goal: within 1 ppm.',
              ''] + drift_table(clocked)
        if served:
            md += ['', '### Through the sound servers', '',
                   'In the same window, through a PulseAudio and a PipeWire the bench starts with '
                   'their default settings (tests/servers): playback into each one\'s null sink, '
                   'capture from its monitor. A TX buffer completes when the server has played '
                   'it, so the fit is the server\'s rate as vsnd passes it on; a null sink runs '
                   'on a CLOCK_MONOTONIC timer, so it is also the error against the server\'s own '
                   'clock.', ''] + drift_table(served)
        if fails:
            md += ['', f'{fails} of {len(rows)} vsnd-drive runs failed.']
        self.headline['drift'] = clocked
        self.headline['server_drift'] = served
        self.md += md + ['']

    def drift_servers(self, procs, w):
        """The drift runs through a PulseAudio and a PipeWire started here
        (tests/servers'): [(backend spec, play or record, env)]."""
        sys.path.insert(0, str(ROOT / 'tests' / 'servers'))
        from test_pipewire import PipeWire
        from test_pulse import Pulse
        runs = []
        if shutil.which('pulseaudio'):
            (w / 'pulse').mkdir()
            pa = Pulse(procs, str(w / 'pulse'))
            pa.start()
            runs += [(f'pulse,server=unix:{pa.sock},sink=vsnd_null,source=vsnd_null.monitor',
                      cmd, pa.env) for cmd in ('play', 'record')]
        if shutil.which('pipewire') and shutil.which('wireplumber'):
            (w / 'pipewire').mkdir()
            pw = PipeWire(procs, str(w / 'pipewire'))
            pw.start()
            runs += [('pipewire,target=vsnd_null,monitor=on', cmd, pw.env)
                     for cmd in ('play', 'record')]
        if not runs:
            log('no pulseaudio or pipewire: the drift through the sound servers is left out')
        return runs

    def drift_rows(self, w, clip, runs, secs):
        """Each (backend spec, play or record, env) of runs as a vsnd and a
        vsnd-drive of its own, all at once for secs seconds, and the fit of
        each: ([(backend, cmd, fit)], how many vsnd-drive runs failed)."""
        daemons, drives = [], []
        try:
            for i, (spec, cmd, env) in enumerate(runs):
                daemons.append(T.Daemon(self.vsnd, w, name=f'd{i}', env=env, args=[
                    '--backend', spec.format(w=w), '--trace', str(w / f'trace{i}.txt'), '-q']))
                what = ([str(clip), '--period-ms', '10'] if cmd == 'play'
                        else [str(w / f'rec{i}.wav'), '--seconds', str(secs)])
                drives.append(subprocess.Popen([str(self.drive), str(daemons[-1].sock), cmd] + what
                                               + ['-q'], stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL, env=env,
                                               stderr=open(w / f'drive{i}.log', 'wb')))
            fails = sum(1 for d in drives if d.wait(secs + 60) != 0)
        finally:
            for d in daemons:
                d.stop()
        rows = []
        for i, (spec, cmd, _) in enumerate(runs):
            tr = read_trace(w / f'trace{i}.txt')
            events = max(tr.values(), key=len) if tr else []
            rows.append((spec.split(',')[0], cmd, drift_ppm(events, 48000 * 4)))
        return rows, fails

    def drift_guest(self, secs):
        """The same fit for a real guest's aplay of secs seconds (file backend)."""
        log(f'=== drift: a guest plays {secs:g} s')
        if not hasattr(self, 'qemu'):
            self.guest_setup()
        clip = au.sox_make(self.work / 'drift-clip.raw', S16_48K_2, secs, e2e.SYNTHS[6])
        try:
            res = self.guest_play('vhost-user', clip, 0)
        except Failure as e:
            log(f'FAIL: {e}')
            res = {}
        self.commands.append(f'drift, guest: `aplay` of a {secs:g} s clip in the guest, vsnd '
                             'file backend with --trace')
        return ('file (a guest\'s aplay)', 'play', res.get('drift'))

    # PCI slots of the two sound devices in the clock's one guest.
    CLOCK_SLOTS = {'vsnd': '08', 'qemu': '09'}

    def clock(self):
        """The card's clock as the guest sees it, for vsnd (file backend) and
        QEMU's built-in device (wav audiodev) in one guest, one after the
        other: pcmclock logs the guest's CLOCK_MONOTONIC time at each
        completed period and the frames played by then; the drift section's
        fit. One boot, so both share the guest clock's own error."""
        secs = self.args.drift_guest_seconds
        if secs <= 0:
            raise Skip('--drift-guest-seconds 0: no guest drift runs')
        log(f'=== drift from the guest\'s side: pcmclock plays {secs:g} s on each device')
        w = Path(tempfile.mkdtemp(prefix='clock-', dir=self.work))
        daemon = Daemon(self.vsnd, w, f'file,out={w}/vsnd-out-%u-%n.wav', ['-q'])
        daemon.start()
        slot = self.CLOCK_SLOTS
        args = ['-chardev', f'socket,id=vsnd0,path={w / "vsnd.sock"}',
                '-device', f'vhost-user-snd-pci,chardev=vsnd0,addr=0x{slot["vsnd"]}',
                '-device', f'virtio-sound-pci,audiodev=qsnd0,addr=0x{slot["qemu"]}',
                '-audiodev', f'wav,id=qsnd0,path={w / "qemu-out.wav"},out.frequency=48000,'
                'out.channels=2']
        try:
            console, gout = run_guest(self.qemu, self.gdir, self.accel, w, 'plan', args,
                                      [f'pcmclock {k} {secs:g} {v}' for k, v in slot.items()],
                                      {}, 1 << 20, int(120 + 3 * secs))
        finally:
            err = daemon.stop()
        if err:
            raise Failure(err)
        rows = [(name, self.pcmclock_fit(console, gout, key))
                for name, key in (('vsnd (file backend)', 'vsnd'),
                                  ('QEMU built-in virtio-sound (wav audiodev)', 'qemu'))]
        self.commands.append(f'drift, guest side: `pcmclock hw:C,0 {secs:g}` in one guest, on '
                             'vsnd\'s card (file backend), then on QEMU\'s virtio-sound-pci (wav '
                             'audiodev); scripts/guest/tools/pcmclock.c')
        self.headline['clock'] = rows
        self.md += self.clock_md(rows, secs) + ['']

    @staticmethod
    def pcmclock_fit(console, gout, key):
        f = console.find('pcmclock', key) or {}
        out = Path(gout) / f'{key}.txt'
        if f.get('rc') != '0' or not out.exists():
            err = Path(gout) / f'{key}.err'
            log(f'FAIL: pcmclock on {key}: {f} '
                f'{err.read_text(errors="replace").strip() if err.exists() else ""}')
            return None
        return drift_ppm(pcmclock_events(out.read_text()), 48000)

    @staticmethod
    def clock_md(rows, secs):
        md = ['## Drift from the guest\'s side (vsnd and QEMU\'s built-in device)', '',
              f'`pcmclock` (scripts/guest/tools/pcmclock.c) plays {secs:g} s of silence on the '
              'card with aplay\'s default buffer (500 ms, 125 ms periods) and logs, at each '
              'completed period, the guest\'s CLOCK_MONOTONIC time ALSA stamped on the '
              'position and the frames played by then; the drift section\'s fit. Both devices '
              'are in one guest, measured one after the other: the rate a guest application '
              'measures, the same way for both. The guest\'s clock runs on the host\'s (TCG) '
              'through the TSC frequency it calibrated at boot, whose error is in both rows '
              'alike; the host-side fit of the drift section has none. Goal: within 1 ppm.',
              ''] + drift_table([(name, 'play', f) for name, f in rows], 'device')
        return md

    def sweeps(self):
        a = self.args
        secs, runs = a.sweep_seconds, a.runs
        log('=== rate and period sweeps')
        md = ['## Cost against rate and period size (one stream, no VM)', '',
              f'One vsnd-drive stream, S16 stereo, a {secs:g} s clip, {runs} runs each. '
              'CPU seconds of vsnd per minute of audio.', '',
              '| rate (Hz) | period (ms) | vsnd CPU s / audio min | p99 deviation (ms) | xruns |',
              '|---|---|---|---|---|']
        rate_rows, period_rows = [], []
        for rate in (8000, 16000, 44100, 48000, 96000, 192000):
            r = self.repeat(runs, n=1, seconds=secs, rate=rate, tag='rate')
            c = [x['cpu_s_per_audio_min'] for x in r]
            md.append(f'| {rate} | 10 | {spread(c)} | {spread([x["p99"] for x in r])} | '
                      f'{sum(x["xruns"] for x in r)} |')
            rate_rows.append((rate, statistics.mean(c), min(c), max(c)))
        for period in (2, 5, 20, 50, 100):
            r = self.repeat(runs, n=1, seconds=secs, period_ms=period, tag='period')
            c = [x['cpu_s_per_audio_min'] for x in r]
            md.append(f'| 48000 | {period} | {spread(c)} | {spread([x["p99"] for x in r])} | '
                      f'{sum(x["xruns"] for x in r)} |')
            period_rows.append((period, statistics.mean(c), min(c), max(c)))
        # the 48 kHz 10 ms rate row is also the period sweep's 10 ms point
        period_rows = sorted(period_rows + [(10,) + rate_rows[3][1:]])
        for rows, name, title, xl in ((rate_rows, 'cost-rate', 'vsnd cost against rate (10 ms periods)',
                                       'rate (Hz)'),
                                      (period_rows, 'cost-period',
                                       'vsnd cost against period (48 kHz)', 'period (ms)')):
            if plot_xy(rows, self.out, name, title, xl, 'vsnd CPU s per audio minute', logx=True):
                md += ['', f'![{title}]({name}.png)']
        self.md += md + ['']

    # --- guest runs -------------------------------------------------------------------------

    def guest_setup(self):
        self.qemu = find_qemu('vhost-user-snd-pci', '6.12')
        find_qemu('virtio-sound-pci', '6.12')
        self.gdir = build_guest('6.12')
        self.accel = probe_accel(self.qemu, self.gdir)

    def guest_play(self, device, clip, idle_s):
        """One boot: the guest idles idle_s seconds, then aplays clip. Samples QEMU's
        (and vsnd's) CPU at the console markers around both windows."""
        w = Path(tempfile.mkdtemp(prefix=f'{device}-', dir=self.work))
        ns = argparse.Namespace(device=device)
        daemon = None
        if device == 'vhost-user':
            daemon = Daemon(self.vsnd, w, f'file,out={w}/vsnd-out-%u-%n.wav',
                            ['--trace', str(w / 'trace.txt'), '-q'])
            daemon.start()
        marks = {}
        needle = str(w / 'guest-in.tar')

        def hook(kind, fields):
            key = (kind, fields.get('id'))
            if key not in (('wait', 'idle'), ('waited', 'idle'), ('play', 'clip')):
                return
            qpid = marks.setdefault('qpid', find_pid(needle))
            marks[key] = (time.monotonic(), qpid and cpu_seconds(qpid),
                          daemon and cpu_seconds(daemon.proc.pid))
            if key == ('play', 'clip') and daemon:
                marks['rss'] = max_rss_kib(daemon.proc.pid)
        plan = [f'wait-host idle {idle_s}', 'play clip S16_LE 48000 2 clip.raw']
        try:
            console, gout = run_guest(self.qemu, self.gdir, self.accel, w, 'plan',
                                      e2e.device_args(ns, w), plan, {'clip.raw': clip},
                                      0, int(120 + 3 * (idle_s + len(clip) / 192000)), [hook])
        finally:
            err = daemon.stop() if daemon else ''
        if err:
            raise Failure(err)
        f = console.find('play', 'clip')
        if f is None or f.get('rc') != '0':
            raise Failure(f'{device}: the guest play failed: {f}')
        res = {'wall_ratio': int(f['wall_us']) / 1e6 / (len(clip) / 192000)}
        outs = sorted(w.glob('vsnd-out-*.wav'))
        best = None
        for p in outs:
            try:
                m = au.locate(au.read_wav(p).data, clip, S16_48K_2)
            except (ValueError, OSError):
                continue
            if best is None or m.matched > best.matched:
                best = m
        total = len(clip) // 4
        res['lost'] = total - (best.matched if best else 0)
        res['where'] = best.where if best else 'not found'
        res['total'] = total
        try:
            a, b, c = marks[('wait', 'idle')], marks[('waited', 'idle')], marks[('play', 'clip')]
            # both per minute of wall time (the play window lasts the clip's duration)
            res['qemu_idle'] = (b[1] - a[1]) / (b[0] - a[0]) * 60
            res['qemu_play'] = (c[1] - b[1]) / (c[0] - b[0]) * 60
            if daemon:
                res['vsnd_cpu'] = (c[2] - b[2]) / (len(clip) / 192000) * 60
                res['rss'] = marks.get('rss')
        except (KeyError, TypeError):
            log('warning: CPU samples missing (markers not seen)')
        if daemon:
            tr = read_trace(w / 'trace.txt').get(0, [])
            res['devs'] = deviations(tr, 192000)
            res['drift'] = drift_ppm(tr, 192000)
            res['period_ms'] = (tr[len(tr) // 2][1] / 192) if tr else None
        return res

    def guest(self):
        a = self.args
        clip = au.sox_make(self.work / 'clip.raw', S16_48K_2, a.clip_seconds, e2e.SYNTHS[5])
        idle = a.idle_seconds
        self.guest_setup()
        self.commands.append(
            f'guest ({self.accel}, 1 vCPU, {GUEST_MEM}): plan `wait-host idle {idle}` then '
            f'`aplay -D hw:C,D -t raw -f S16_LE -r 48000 -c 2 clip.raw` ({a.clip_seconds:g} s '
            'sox synth, tests/e2e harness); vsnd: `vsnd --socket ... --backend file,out=... '
            '--trace trace.txt -q` + `-device vhost-user-snd-pci`; QEMU built-in: `-device '
            'virtio-sound-pci,audiodev=snd0 -audiodev wav,id=snd0,path=X,out.frequency=48000,'
            'out.channels=2`')
        res = {'vhost-user': [], 'qemu-builtin': []}
        for k in range(a.guest_runs):
            for dev in res:
                log(f'=== guest {dev} run {k + 1}/{a.guest_runs}')
                try:
                    res[dev].append(self.guest_play(dev, clip, idle))
                except Failure as e:
                    log(f'FAIL: {e}')
        self.guest_report(res, a)

    def guest_report(self, res, a):
        v, q = res['vhost-user'], res['qemu-builtin']
        md = [f'## Guest playback: vsnd against QEMU\'s built-in virtio-sound ({self.accel})', '',
              f'The same {a.clip_seconds:g} s 48 kHz S16 stereo clip, aplay in the guest, '
              f'{len(v)} vsnd runs and {len(q)} QEMU built-in runs.', '',
              '### Pacing (vsnd --trace)', '']
        st = [dev_stats(r.get('devs', [])) for r in v]
        st = [s for s in st if s]
        if st:
            md += [f'Each TX completion against the ideal schedule t0 + bytes/(192000 B/s), '
                   f't0 = first completion minus one period; guest period '
                   f'{v[0].get("period_ms") or 0:.1f} ms (aplay default, buffer 500 ms).', '',
                   '| | mean abs (ms) | p99 abs (ms) | max abs (ms) |', '|---|---|---|---|',
                   f'| vsnd | {spread([s["mean"] for s in st])} | {spread([s["p99"] for s in st])}'
                   f' | {spread([s["max"] for s in st])} |', '']
            self.headline['pacing_p99'] = statistics.mean(s['p99'] for s in st)
            if plot_pacing(v[0]['devs'], self.out, 'pacing',
                           f'vsnd TX completion deviation, guest aplay of {a.clip_seconds:g} s '
                           f'(run 1 of {len(v)})'):
                md += ['![pacing](pacing.png)', '']
        md += ['### aplay wall time / clip duration, frames lost or altered', '',
               '| device | wall / duration | frames lost or altered per playback |',
               '|---|---|---|']
        for name, rs in (('vsnd (file backend)', v), ('QEMU virtio-sound-pci (wav audiodev)', q)):
            if rs:
                md.append(f'| {name} | {spread([r["wall_ratio"] for r in rs], "{:.4f}")} | '
                          f'{spread([r["lost"] for r in rs], "{:.0f}")} of {rs[0]["total"]} '
                          f'({"; ".join(sorted(set(r["where"] or "none" for r in rs)))}) |')
        md += ['', '### Cost (host CPU seconds per minute of audio)', '',
               'From /proc/PID/schedstat (run time in ns) sampled at the guest\'s console markers: '
               f'an idle window of {a.idle_seconds:g} s (guest sleeping, device present, '
               'not playing), then the playback window.', '',
               '| device | QEMU idle | QEMU playing | QEMU playing - idle | vsnd | '
               'vsnd + QEMU extra |', '|---|---|---|---|---|---|']
        for name, rs in (('vsnd', v), ('QEMU built-in', q)):
            rs = [r for r in rs if 'qemu_play' in r]
            if not rs:
                continue
            extra = [r['qemu_play'] - r['qemu_idle'] for r in rs]
            vs = [r.get('vsnd_cpu') for r in rs] if name == 'vsnd' else []
            tot = [e + c for e, c in zip(extra, vs)] if vs else []
            md.append(f'| {name} | {spread([r["qemu_idle"] for r in rs], "{:.2f}")} | '
                      f'{spread([r["qemu_play"] for r in rs], "{:.2f}")} | '
                      f'{spread(extra, "{:.2f}")} | {spread(vs, "{:.3f}") if vs else "-"} | '
                      f'{spread(tot, "{:.2f}") if tot else "-"} |')
            if name == 'vsnd':
                self.headline['vsnd_cpu'] = statistics.mean(vs)
                self.headline['vu_total'] = statistics.mean(tot)
                self.headline['rss'] = max(r.get('rss') or 0 for r in rs)
            else:
                self.headline['qemu_extra'] = statistics.mean(extra)
        if 'rss' in self.headline:
            md += ['', f'vsnd maximum resident set (VmHWM): {self.headline["rss"]} KiB.']
        self.md += md + ['']
        self.headline['wall_v'] = [r['wall_ratio'] for r in v]
        self.headline['lost_v'] = [r['lost'] for r in v]
        self.headline['lost_q'] = [r['lost'] for r in q]

    def loopback(self):
        a = self.args
        log('=== loopback latency')
        delays = []
        lat_ms = []
        per_ms = []
        for k in range(a.guest_runs):
            w = Path(tempfile.mkdtemp(prefix='lb-', dir=self.work))
            ns = argparse.Namespace(device='vhost-user', vsnd=str(self.vsnd))
            case = e2e.LoopbackCase('lb', S16_48K_2, 3, w)
            try:
                results, _ = e2e.run_cases(ns, self.qemu, self.gdir, self.accel, w, 'loopback',
                                           [case], opts={'daemon_args': ['--trace', str(w / 'trace.txt'),
                                                                         '-q']})
            except Failure as e:
                log(f'FAIL: {e}')
                continue
            msg = next((m for n, ok, m in results if n == case.name), '')
            log(f'  {msg}')
            m = re.search(r'loopback delay (-?[\d.]+) ms', msg)
            if m:
                delays.append(float(m.group(1)))
            tr = read_trace(w / 'trace.txt').get(0, [])
            if tr:
                lat_ms += [lat / 192 for _, _, lat in tr]
                per_ms.append(tr[len(tr) // 2][1] / 192)
        md = ['## Loopback round trip in the guest (loopback backend)', '',
              'The guest plays a 3 s clip while recording (aplay + arecord, default buffer '
              '500 ms); the delay is the clip\'s position in the recording minus the time '
              'between the capture and playback START triggers (tests/e2e LoopbackCase).', '',
              'Measured from the START triggers, this is the device\'s own delay (what '
              'vsnd adds between taking a period from the playback ring and handing it to '
              'capture); what an application sees adds the frames it keeps queued in its '
              'buffer (up to the 500 ms buffer, 4 periods).', '',
              f'- round trip: {spread(delays, "{:.1f}")} ms',
              f'- playback period seen by vsnd: {spread(per_ms, "{:.1f}")} ms',
              f'- latency_bytes vsnd reported at TX completions: mean '
              f'{statistics.mean(lat_ms) if lat_ms else float("nan"):.1f} ms, max '
              f'{max(lat_ms) if lat_ms else float("nan"):.1f} ms', '']
        self.headline['loop'] = delays
        self.md += md

    # (buffer, period) in frames at 48 kHz: 20/10, 40/10, 100/25 ms and what
    # aplay asks by default (500/125 ms). (alsabat's own choice, without -B,
    # is a search from 13-frame periods that fails on its retries.)
    RT_BUFS = ((960, 480), (1920, 480), (4800, 1200), (24000, 6000))

    def latency_boot(self, tag, qemu_args, daemon_spec=None, env=None):
        """One boot running alsabat's round trip for each of RT_BUFS:
        {bufs: (ms or None, what went wrong or '')}."""
        w = Path(tempfile.mkdtemp(prefix=f'rt-{tag}-', dir=self.work))
        daemon = None
        if daemon_spec:
            daemon = T.Daemon(self.vsnd, w, args=['--backend', daemon_spec, '-q'], env=env)
        plan = [f'latency {tag}-{b}-{p} {b} {p}' for b, p in self.RT_BUFS]
        try:
            # without a daemon, env is QEMU's own (its audiodev's server)
            with environ(None if daemon_spec else env):
                console, gout = run_guest(self.qemu, self.gdir, self.accel, w, 'plan',
                                          qemu_args(w), plan, {}, 1 << 20, 300)
        finally:
            err = daemon.stop() if daemon else ''
        if err:
            raise Failure(err)
        res = {}
        for b, p in self.RT_BUFS:
            f = console.find('latency', f'{tag}-{b}-{p}') or {}
            out = Path(gout) / f'{tag}-{b}-{p}.txt'
            text = out.read_text(errors='replace') if out.exists() else ''
            # After an xrun alsabat starts again with a larger period: a
            # result is the asked size's only if its last try had that size.
            got = re.findall(r'Get period size: (\d+)\s+buffer size: (\d+)', text)
            asked = not got or got[-1] == (str(p), str(b))
            if f.get('rc') == '0' and f.get('ms', '').isdigit() and asked:
                res[(b, p)] = (int(f['ms']), '')
                continue
            why = self.rt_failure(text) if text else f'no alsabat output ({f})'
            if f.get('rc') == '0' and not asked:
                why = (f'xruns at the asked size; alsabat grew it to {got[-1][1]}/{got[-1][0]} '
                       f'frames and measured {f.get("ms")} ms there')
            res[(b, p)] = (None, why)
            log(f'  {tag} {b}/{p}: {why}')
        return res

    def latency_boot_or_none(self, tag, qemu_args, daemon_spec=None, env=None):
        """latency_boot, with a boot that failed as a whole (a device that hung
        the guest) a failure at every size, not the end of the section."""
        try:
            return self.latency_boot(tag, qemu_args, daemon_spec, env)
        except Failure as e:
            log(f'  {tag}: {e}')
            return {bufs: (None, f'the boot failed: {e}') for bufs in self.RT_BUFS}

    @staticmethod
    def rt_failure(text):
        """What alsabat's log says went wrong, in a few words."""
        tests = re.findall(r'Test\d+, round trip latency (\d+)ms', text)
        xruns = text.count('Underrun') + text.count('Overrun')
        errs = [ln.strip() for ln in text.splitlines()
                if re.search(r'error|Could not|Cannot', ln)]
        bits = [f'{len(tests)} of 5 tests ({", ".join(tests)} ms)' if tests else 'no test done']
        if xruns:
            bits.append(f'{xruns} xruns')
        if errs:
            bits.append(errs[-1].rstrip('.'))
        return '; '.join(bits)

    def roundtrip(self):
        """What an application in the guest hears back: alsabat plays a sine and
        counts the captured frames until it returns, both buffers included."""
        runs = self.args.guest_runs
        log(f'=== round trip as an application hears it (alsabat in the guest), {runs} boots '
            'per path')
        vu = ['-chardev', 'socket,id=snd0,path={w}/vsnd.sock',
              '-device', 'vhost-user-snd-pci,chardev=snd0']
        paths = [('vsnd, loopback backend', 'lb', lambda w: [a.format(w=w) for a in vu],
                  'loopback', None)]
        procs = T.Procs()
        try:
            paths += self.pulse_paths(procs, vu) + self.pipewire_paths(procs, vu)
            rows = [(name, [self.latency_boot_or_none(tag, args, spec, env)
                            for _ in range(runs)])
                    for name, tag, args, spec, env in paths]
        finally:
            procs.stop_all()
            os.environ.pop('ALSA_CONFIG_PATH', None)
        md = ['## Round trip as an application hears it (in the guest)', '',
              '`alsabat --roundtriplatency` in the guest (alsa-utils; S16_LE 48 kHz stereo, '
              'one process playing and capturing on the card): a sine starts on the output '
              'and it counts the captured frames until the sine comes back, five times; its '
              f'mean in whole ms, over {runs} boots per path. Both the playback and the '
              'capture buffer are in it. alsabat listens at most a second for each sine, '
              'and gives up when one test took over twice another: with 500 ms buffers '
              '(a round trip up to 625 ms) some tests of any device end that way. '
              'The PulseAudio is the one tests/servers start (null '
              'sinks kept at 10 ms, as a sink on hardware runs), the PipeWire too (its '
              'WirePlumber and its default settings; a null sink): the guest\'s output goes to '
              'the sink, its capture reads that sink\'s monitor. Goals: loopback at most the '
              'buffer plus one period; vsnd at or under QEMU\'s built-in device on the same '
              'server.', '',
              '| path | ' + ' | '.join(self.rt_label(b) for b in self.RT_BUFS) + ' |',
              '|---|' + '---|' * len(self.RT_BUFS)]
        notes = []
        for name, boots in rows:
            cells = []
            for bufs in self.RT_BUFS:
                ms = [r[bufs][0] for r in boots if r[bufs][0] is not None]
                bad = [r[bufs][1] for r in boots if r[bufs][0] is None]
                cells.append((spread(ms, '{:.0f}') + ' ms' if ms else 'failed') +
                             (f' ({len(bad)} of {len(boots)} failed)' if bad and ms else ''))
                notes += [f'- {name}, {self.rt_label(bufs)}: {b}' for b in bad]
            md.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        md += ['', 'Goals:']
        lb = rows[0][1]
        for b, p in self.RT_BUFS:
            ms = [r[(b, p)][0] for r in lb if r[(b, p)][0] is not None]
            bound = (b + p) / 48
            failed = len(lb) - len(ms)
            md.append(f'- loopback {self.rt_label((b, p))}: worst '
                      f'{max(ms) if ms else "n/a"} ms, bound {bound:g} ms: '
                      f'{"PASS" if ms and max(ms) <= bound else "MISS"}'
                      + (f' ({failed} of {len(lb)} runs without a result, below)' if failed
                         else ''))
        md += self.rt_against_qemu(dict(rows))
        if notes:
            md += ['', 'Runs that failed, as alsabat said:'] + notes
        self.headline['roundtrip'] = rows
        self.commands.append('round trip: `alsabat -D hw:CARD,DEV --roundtriplatency -f S16_LE '
                             '-r 48000 -c 2 -B BUFFER -E PERIOD` in the guest '
                             '(scripts/guest/tests/plan.sh, step latency)')
        self.commands.append('round trip through PulseAudio: vsnd `--backend pulse,server=unix:SOCK,'
                             'sink=vsnd_null,source=vsnd_null.monitor`; QEMU built-in `-device '
                             'virtio-sound-pci,audiodev=snd0 -audiodev pa,id=snd0,server=unix:SOCK,'
                             'out.name=vsnd_null,in.name=vsnd_null.monitor` (its defaults otherwise), '
                             'or `-audiodev alsa,id=snd0,out.dev=rt_out,in.dev=rt_in` (alsa-plugins\' '
                             'pulse PCMs on the same sink and monitor)')
        self.commands.append('round trip through PipeWire: vsnd `--backend pipewire,target=vsnd_null,'
                             'monitor=on`; QEMU built-in `-device virtio-sound-pci,audiodev=snd0 '
                             '-audiodev pipewire,id=snd0,out.name=vsnd_null,in.name=vsnd_null` '
                             'with `PIPEWIRE_PROPS=\'{ stream.capture.sink=true }\'` (its capture '
                             'on the sink\'s monitor; its defaults otherwise)')
        self.md += md + ['']

    def pulse_paths(self, procs, vu):
        """The paths through a PulseAudio this bench starts (tests/servers'), its
        null sink's monitor routed back into the guest's capture: vsnd's pulse
        backend, QEMU's built-in device with its own PulseAudio audiodev (pa,
        in qemu-system-gui, which bench/run.sh installs) at its default
        settings, and with its ALSA audiodev on alsa-plugins' pulse PCM. QEMU
        finds those PCMs through ALSA_CONFIG_PATH, which roundtrip() takes
        away again."""
        sys.path.insert(0, str(ROOT / 'tests' / 'servers'))
        from test_pulse import Pulse
        if not shutil.which('pulseaudio'):
            log('no pulseaudio: the round trip through a sound server is left out')
            return []
        w = self.work / 'pulse'
        w.mkdir(exist_ok=True)
        pa = Pulse(procs, str(w))
        pa.short_sinks = True
        pa.start()
        conf = w / 'asound.conf'
        conf.write_text(''.join(
            f'pcm.rt_{n} {{ type pulse server "unix:{pa.sock}" device "{dev}" }}\n'
            for n, dev in (('out', 'vsnd_null'), ('in', 'vsnd_null.monitor'))))
        os.environ['ALSA_CONFIG_PATH'] = f'/usr/share/alsa/alsa.conf:{conf}'
        paths = [('vsnd, pulse backend', 'pa', lambda d: [a.format(w=d) for a in vu],
                  f'pulse,server=unix:{pa.sock},sink=vsnd_null,source=vsnd_null.monitor', pa.env)]
        if self.qemu_has_audiodev('pa'):
            paths.append((self.QEMU_PA, 'qp',
                          lambda d: ['-device', 'virtio-sound-pci,audiodev=snd0', '-audiodev',
                                     f'pa,id=snd0,server=unix:{pa.sock},out.name=vsnd_null,'
                                     'in.name=vsnd_null.monitor'], None, None))
        else:
            log('this QEMU has no pa audiodev (qemu-system-gui): its own PulseAudio path is '
                'left out')
        return paths + [('QEMU built-in virtio-sound, alsa audiodev on the pulse PCM', 'qb',
                         lambda d: ['-device', 'virtio-sound-pci,audiodev=snd0', '-audiodev',
                                    'alsa,id=snd0,out.dev=rt_out,in.dev=rt_in'], None, None)]

    QEMU_PA = 'QEMU built-in virtio-sound, pa audiodev'
    QEMU_PW = 'QEMU built-in virtio-sound, pipewire audiodev'

    def pipewire_paths(self, procs, vu):
        """The paths through a PipeWire this bench starts (tests/servers', its
        default quantum), its null sink's monitor routed back into the guest's
        capture: vsnd's pipewire backend, and QEMU's built-in device with its
        own PipeWire audiodev at its default settings. QEMU's audiodev has no
        option to capture a sink's monitor; PipeWire takes the stream property
        from PIPEWIRE_PROPS."""
        pw = self.pipewire_at(procs, None)
        if not pw:
            return []
        paths = [('vsnd, pipewire backend', 'pw', lambda d: [a.format(w=d) for a in vu],
                  'pipewire,target=vsnd_null,monitor=on', pw.env)]
        if not self.qemu_has_audiodev('pipewire'):
            log('this QEMU has no pipewire audiodev: its own PipeWire path is left out')
            return paths
        return paths + [(self.QEMU_PW, 'qw',
                         lambda d: ['-device', 'virtio-sound-pci,audiodev=snd0', '-audiodev',
                                    'pipewire,id=snd0,out.name=vsnd_null,in.name=vsnd_null'],
                         None, dict(pw.env, PIPEWIRE_PROPS='{ stream.capture.sink=true }'))]

    def qemu_has_audiodev(self, name):
        r = subprocess.run([self.qemu, '-audiodev', 'help'], capture_output=True, text=True)
        return name in r.stdout.split()

    def rt_against_qemu(self, rows):
        """The goal lines: vsnd's pulse and pipewire backends at or under
        QEMU's own audiodev on the same server, the mean of its boots against
        QEMU's, per size."""
        md = []
        for server, qemu, audiodev in (('pulse', self.QEMU_PA, 'pa'),
                                       ('pipewire', self.QEMU_PW, 'pipewire')):
            md += self.rt_goal_lines(rows.get(f'vsnd, {server} backend'), rows.get(qemu),
                                     f'vsnd {server} backend against QEMU\'s {audiodev} audiodev')
        return md

    def rt_goal_lines(self, vs, qb, what):
        if not vs or not qb:
            return []
        md = []
        for bufs in self.RT_BUFS:
            v = [r[bufs][0] for r in vs if r[bufs][0] is not None]
            q = [r[bufs][0] for r in qb if r[bufs][0] is not None]
            label = f'- {what}, {self.rt_label(bufs)}: '
            if not v:
                md.append(label + 'vsnd failed: MISS')
            elif not q:
                md.append(label + f'vsnd {statistics.mean(v):.0f} ms, QEMU failed: PASS')
            else:
                vm, qm = statistics.mean(v), statistics.mean(q)
                md.append(label + f'vsnd {vm:.0f} ms, QEMU {qm:.0f} ms: '
                          f'{"PASS" if vm <= qm else "MISS"}')
        return md

    @staticmethod
    def rt_label(bufs):
        b, p = bufs
        return f'{b / 48:g}/{p / 48:g} ms'

    # Periods (frames at 48 kHz) of the low-latency runs, 4 to a buffer:
    # 2.5 and 5 ms.
    LL_PERIODS = (120, 240)

    def lowlat_boot(self, tag, period, qemu_args, spec, env, seconds):
        """One boot: the guest plays a clip while recording (duplex), both with
        4 periods of `period` frames. ALSA's xrun reports and how much of the
        clip came back bit-exact in the recording."""
        w = Path(tempfile.mkdtemp(prefix=f'll-{tag}-', dir=self.work))
        clip = au.sox_make(w / 'll.raw', S16_48K_2, seconds, e2e.SYNTHS[3])
        frames = int((seconds + 2) * 48000)
        daemon = T.Daemon(self.vsnd, w, args=['--backend', spec], env=env)
        plan = [f'bufs {period} {4 * period}', f'duplex {tag} S16_LE 48000 2 ll.raw {frames}']

        def status_at_end(kind, fields):
            # Both streams are released then, their counts kept until the
            # next PREPARE: SIGUSR1 has vsnd log them.
            if (kind, fields.get('id')) == ('record', f'{tag}-rec'):
                daemon.proc.send_signal(signal.SIGUSR1)
        try:
            console, gout = run_guest(self.qemu, self.gdir, self.accel, w, 'plan', qemu_args(w),
                                      plan, {'ll.raw': clip}, frames * 4, int(120 + 3 * seconds),
                                      [status_at_end])
        finally:
            err = daemon.stop()
        if err:
            raise Failure(err)
        errs = [rest for f, rest in console.all('stderr') if f.get('id', '').startswith(tag)]
        rec = gout / f'{tag}-rec.raw'
        missing, total, first = missing_blocks(rec.read_bytes() if rec.exists() else b'', clip,
                                               S16_48K_2.frame_bytes, 480)
        steps = {k: console.find(k, f'{tag}-{i}') or {}
                 for k, i in (('play', 'play'), ('record', 'rec'))}
        dev_xruns = [int(x) for x in re.findall(r'stream \d+ (?:out|in ) \w+ .*? xruns (\d+)',
                                                daemon.log())]
        return {'xruns': sum(1 for e in errs if 'underrun' in e or 'overrun' in e),
                'dev_xruns': sum(dev_xruns) if dev_xruns else None,
                'failed': [f'{k}: rc {f.get("rc")}' for k, f in steps.items()
                           if f.get('rc') != '0'],
                'lost': missing, 'total': total,
                'where': f'first at {first * 10} ms' if missing else ''}

    def lowlat(self):
        """The guest at 2.5 and 5 ms periods, 4 of them: through the loopback
        backend, and through a PipeWire whose graph runs at quantum 128."""
        secs = self.args.lowlat_seconds
        log(f'=== low latency: {secs:g} s duplex at {self.LL_PERIODS} frame periods')
        vu = ['-chardev', 'socket,id=snd0,path={w}/vsnd.sock',
              '-device', 'vhost-user-snd-pci,chardev=snd0']
        qargs = lambda w: [a.format(w=w) for a in vu]  # noqa: E731
        rows = [(f'loopback, {p / 48:g} ms', self.lowlat_boot(f'lb{p}', p, qargs, 'loopback',
                                                               None, secs))
                for p in self.LL_PERIODS]
        procs = T.Procs()
        try:
            pw = self.pipewire_at(procs, 128)
            if pw:
                rows += [(f'pipewire at quantum 128, {p / 48:g} ms',
                          self.lowlat_boot(f'pw{p}', p, qargs,
                                           'pipewire,target=vsnd_null,monitor=on', pw.env, secs))
                         for p in self.LL_PERIODS]
        finally:
            procs.stop_all()
        md = ['## Low latency (in the guest)', '',
              f'The guest plays a {secs:g} s clip while recording it back (aplay + arecord on '
              'the card, `--period-size P --buffer-size 4P`): the xruns ALSA reported in the '
              'guest, and the clip\'s frames missing from the recording (in 10 ms blocks: '
              'a block counts as lost unless the recording holds it bit-exact, in order). '
              'PipeWire: the one tests/servers start, its graph forced to a '
              '128-frame quantum (`clock.force-quantum`), the guest recording the null sink\'s '
              'monitor. vsnd\'s xruns: both streams\' counts, as vsnd logs them on SIGUSR1 once '
              'the guest is done.', '',
              '| path | xruns (ALSA, guest) | xruns (vsnd) | frames lost of the clip | notes |',
              '|---|---|---|---|---|']
        for name, r in rows:
            note = '; '.join(r['failed'] + ([r['where']] if r['lost'] else []))
            dev = '?' if r['dev_xruns'] is None else r['dev_xruns']
            md.append(f'| {name} | {r["xruns"]} | {dev} | {r["lost"]} of {r["total"]} | {note} |')
        self.headline['lowlat'] = rows
        self.commands.append('low latency: guest plan `bufs P 4P` + `duplex` (aplay and arecord '
                             'on hw:CARD,DEV), P = 120 and 240 frames')
        self.md += md + ['']

    def pipewire_at(self, procs, quantum):
        """A PipeWire (tests/servers') with its graph at `quantum` frames (None:
        its default), or None."""
        sys.path.insert(0, str(ROOT / 'tests' / 'servers'))
        from test_pipewire import PipeWire
        if not shutil.which('pipewire') or not shutil.which('wireplumber'):
            log('no pipewire: the rows through it are left out')
            return None
        w = self.work / ('pipewire-%d' % quantum if quantum else 'pipewire')
        w.mkdir(exist_ok=True)
        pw = PipeWire(procs, str(w))
        pw.start()
        if quantum:
            subprocess.run(['pw-metadata', '-n', 'settings', '0', 'clock.force-quantum',
                            str(quantum)], env=pw.env, check=True, capture_output=True)
        return pw

    # --- report -------------------------------------------------------------------------------

    def machine(self):
        cpu = next((line.split(':', 1)[1].strip() for line in
                    Path('/proc/cpuinfo').read_text().splitlines()
                    if line.startswith('model name')), '?')
        mem = next((line.split(':', 1)[1].strip() for line in
                    Path('/proc/meminfo').read_text().splitlines()
                    if line.startswith('MemTotal')), '?')

        def ver(cmd):
            try:
                return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
            except (OSError, IndexError):
                return '?'
        load = os.getloadavg()
        commit = ver(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])
        return ['## Machine and versions', '',
                f'- CPU: {cpu}, nproc {os.cpu_count()}, memory {mem}',
                f'- load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}',
                f'- host kernel: {platform.release()}',
                f'- vsnd: {ver([str(self.vsnd), "--version"])} (git {commit}), meson '
                f'buildtype release ({self.build.name})',
                f'- QEMU: {ver([os.environ.get("QEMU", "qemu-system-x86_64"), "--version"])}',
                f'- gnuplot: {ver(["gnuplot", "--version"])}', '']

    def write(self, started):
        a = self.args
        h = ['# vsnd benchmarks', '',
             f'Written by `bench/run.sh{" --smoke" if a.smoke else ""}` on '
             f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} in {time.monotonic() - started:.0f} s.',
             '']
        if a.noisy:
            h += ['**These figures come from a shared, noisy 2-core machine** (other QEMU '
                  'guests and builds ran at the same time): CPU and timing figures are upper '
                  'bounds, rerun `bench/run.sh` on a quiet machine for clean numbers.', '']
        h += self.summary() + self.machine() + ['## Commands', ''] + \
            [f'- {c}' for c in self.commands] + ['']
        (self.out / 'results.md').write_text('\n'.join(h + self.md) + '\n')
        log(f'wrote {self.out / "results.md"}')

    def summary(self):
        h = self.headline
        out = ['## Headline', '']
        if 'pacing_p99' in h:
            out.append(f'- pacing: p99 TX completion deviation {h["pacing_p99"]:.3f} ms '
                       f'(guest aplay, vsnd file backend); aplay wall / clip '
                       f'{spread(h["wall_v"], "{:.4f}")}')
        if 'lost_v' in h:
            out.append(f'- frames lost or altered per playback: vsnd '
                       f'{spread(h["lost_v"], "{:.0f}")}, QEMU built-in '
                       f'{spread(h["lost_q"], "{:.0f}")}')
        if 'vsnd_cpu' in h and 'qemu_extra' in h:
            out.append(f'- cost per minute of 48 kHz stereo: vsnd process '
                       f'{h["vsnd_cpu"]:.3f} CPU s; QEMU built-in device (playing - idle) '
                       f'{h["qemu_extra"]:.2f} CPU s; vsnd max RSS {h.get("rss")} KiB')
        if 'vsnd_cpu' in h and 'qemu_extra' in h and h['qemu_extra'] > 0:
            out.append(f'- vsnd process / QEMU built-in device cost: '
                       f'{h["vsnd_cpu"] / h["qemu_extra"]:.3f}; whole vhost-user path (vsnd + '
                       f'QEMU playing - idle) / QEMU built-in: '
                       f'{h["vu_total"] / h["qemu_extra"]:.2f} (target: at most 0.5)')
        for n in (1, 8, 32, 64):
            r = h.get(f'scale{n}')
            if r:
                fl = h.get(f'floor{n}') or []
                floor = (f'; the floor in the same run: CPU '
                         f'{spread([x["cpu_pct"] for x in fl], "{:.2f}")} %, p99 lateness '
                         f'{spread([x["p99"] for x in fl])} ms' if fl else '')
                out.append(f'- {n} stream{"s" if n > 1 else ""} without a VM: vsnd CPU '
                           f'{spread([x["cpu_pct"] for x in r], "{:.2f}")} %, xruns '
                           f'{sum(x["xruns"] for x in r)}, p99 deviation '
                           f'{spread([x["p99"] for x in r])} ms{floor}')
        for n, (vs, fl) in sorted(h.get('density', {}).items()):
            fd = h.get('density_driven', {}).get(n, [])
            with_drv = (f'; the floor with a driver {spread([f["cpu_proc"] for f in fd])} % per '
                        f'process, p99 {spread([f["p99"] for f in fd])} ms' if fd else '')
            out.append(f'- density, {n} stream{"s" if n > 1 else ""} from one driver: vsnd CPU '
                       f'{spread([v["cpu_pct"] for v in vs])} % per stream (floor '
                       f'{spread([f["cpu_proc"] for f in fl])} % per process), xruns '
                       f'{sum(v["xruns"] for v in vs)}, p99 lateness '
                       f'{spread([v["p99"] for v in vs])} ms (floor '
                       f'{spread([f["p99"] for f in fl])} ms), mean '
                       f'{spread([v["mean"] for v in vs])} ms{with_drv}')
        out += [f'- density goal {g}' for g in h.get('density_goals', [])]
        if h.get('drift'):
            worst = max((abs(f['ppm']) for _, _, f in h['drift'] if f), default=float('nan'))
            out.append('- drift, clocked backends: ' + ', '.join(
                f'{n} {c} {f["ppm"]:+.3f} ppm' if f else f'{n} {c} n/a'
                for n, c, f in h['drift']) + f' ({"PASS" if worst <= 1 else "MISS"}: goal '
                'within 1 ppm)')
        if h.get('server_drift'):
            out.append('- drift through the sound servers: ' + ', '.join(
                f'{n} {c} {f["ppm"]:+.3f} ppm' if f else f'{n} {c} n/a'
                for n, c, f in h['server_drift']))
        if h.get('clock'):
            out.append('- drift from the guest\'s side (pcmclock): ' + ', '.join(
                f'{n} {f["ppm"]:+.3f} ppm' if f else f'{n} n/a' for n, f in h['clock']))
        for name, boots in h.get('roundtrip', []):
            cells = []
            for bufs in self.RT_BUFS:
                ms = [r[bufs][0] for r in boots if r[bufs][0] is not None]
                cells.append(f'{self.rt_label(bufs)} ' +
                             (f'{statistics.mean(ms):.0f} ms' if ms else 'failed'))
            out.append(f'- round trip an application hears, {name}: ' + ', '.join(cells))
        for name, r in h.get('lowlat', []):
            out.append(f'- low latency, {name} periods: {r["xruns"]} xruns, {r["lost"]} of '
                       f'{r["total"]} frames lost')
        if h.get('loop'):
            out.append(f'- loopback round trip in the guest: {spread(h["loop"], "{:.1f}")} ms')
        if (self.out / 'pacing.png').exists() and not self.args.smoke:
            out += ['', '![vsnd TX completion deviation over time](pacing.png)']
        return out + ['']


PARTS = ('guest', 'loopback', 'roundtrip', 'lowlat', 'scale', 'density', 'sweeps', 'drift',
         'clock')
SMOKE_PARTS = ('scale', 'density', 'drift')


def smoke_figures(h, part):
    """Did a smoke part give figures? (The ones without a check pass.)"""
    if part == 'scale':
        return bool(h.get('scale1'))
    if part == 'drift':
        return bool(h.get('drift')) and all(f for _, _, f in h['drift'])
    if part == 'density':
        return bool(h.get('density'))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build', default=str(ROOT / 'build-bench'))
    ap.add_argument('--out', default=str(ROOT / 'bench'))
    ap.add_argument('--smoke', action='store_true', help='one cheap measurement (no VM)')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--guest-runs', type=int, default=3)
    ap.add_argument('--clip-seconds', type=float, default=20)
    ap.add_argument('--idle-seconds', type=float, default=10)
    ap.add_argument('--scale-seconds', type=float, default=10)
    ap.add_argument('--sweep-seconds', type=float, default=5)
    ap.add_argument('--drift-seconds', type=float, default=600)
    ap.add_argument('--drift-guest-seconds', type=float, default=120,
                    help='the guests\' drift runs: aplay, and pcmclock on each device (0: none)')
    ap.add_argument('--density-seconds', type=float, default=10)
    ap.add_argument('--density-trace', action=argparse.BooleanOptionalAction, default=True,
                    help='density: the daemons also write --trace files, for the lateness '
                         'at the device beside the one the driver saw (they cost the '
                         'daemons little CPU: 1.72-1.78 x the floor with, 1.72-1.93 without)')
    ap.add_argument('--lowlat-seconds', type=float, default=60)
    ap.add_argument('--only', default=None,
                    help='comma-separated subset of ' + ','.join(PARTS) + ' (default: all; '
                         'with --smoke: ' + ','.join(SMOKE_PARTS) + ')')
    ap.add_argument('--noisy', action='store_true',
                    help='say in the report that the machine was shared')
    a = ap.parse_args()
    started = time.monotonic()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    b = Bench(a)
    parts = a.only.split(',') if a.only else list(SMOKE_PARTS if a.smoke else PARTS)
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f'--only: no part {", ".join(sorted(unknown))}')
    rc = 0
    try:
        for part in PARTS:
            if part not in parts:
                continue
            try:
                if part in ('loopback', 'roundtrip', 'lowlat', 'clock') and not hasattr(b, 'qemu'):
                    b.guest_setup()
                getattr(b, part)()
            except Skip as e:
                log(f'SKIP {part}: {e}')
                b.md += [f'## {part}: skipped', '', str(e), '']
            except Failure as e:
                log(f'FAIL {part}: {e}')
                b.md += [f'## {part}: failed', '', str(e), '']
                rc = 1
        b.write(started)
        if a.smoke and not all(smoke_figures(b.headline, p) for p in parts):
            log('FAIL smoke: a measurement gave no figures')
            rc = 1
    finally:
        shutil.rmtree(b.work, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
