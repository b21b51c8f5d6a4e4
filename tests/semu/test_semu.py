#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""libvsnd inside a real emulator: semu (RV32) with its sound card replaced by
libvsnd's virtio-mmio transport (integrations/semu), booting its own Linux 6.12
whose /init (integrations/semu/guest/vsnd-guest.c) plays and records through the
ALSA PCM ioctls as aplay does. The audio is checked at the other end.

Cases, one semu boot each:
  file       the guest probes the card (no kernel error), plays a 5 s clip through
             the file backend (bit-exact, no lost tail, guest wall time within 2 %
             of the clip) and records 3 s from the backend's in= WAV (bit-exact);
  portaudio  the default backend, over PortAudio's ALSA host API into a test-local
             file PCM clocked by a PulseAudio null sink (as tests/servers does);
  layout     the 'car' layout with controls: four PCM devices, volume and switch
             controls, one jack per stream, as the guest lists them.
With --compare, the same guest and clip also run against semu's own virtio-snd
(built from the same tarball) and a table of both is printed.

Exit status: 0 passed, 1 failed, 77 skipped with a one-line reason: no semu
tarball (../shared/third_party, or $VSND_SHARED/third_party), or no RV32 cross
compiler or kernel source (with --require that is a failure: install-deps.sh
installs them).
"""
import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / 'tests' / 'e2e'))
sys.path.insert(0, str(REPO / 'tests' / 'servers'))
import e2e_audio as au  # noqa: E402
import srvlib as S  # noqa: E402
from test_alsa import alsa_conf, alsa_env  # noqa: E402
from test_pulse import Pulse  # noqa: E402

TARBALL_NAME = 'semu-fd08129.tar.gz'
# Where the semu snapshot may be: $VSND_SHARED, the shared folder beside the
# repository, and this workplace's own (a clone elsewhere still finds it).
SHARED_DIRS = [os.environ.get('VSND_SHARED', ''), str(REPO.parent / 'shared'), '/work/shared']
# The job disk of vsnd-guest.c: job text at 0, results at 4 KiB, input WAV at
# 1 MiB, recorded WAV at 32 MiB.
RES_OFF, RES_END, WAV_IN_OFF, WAV_OUT_OFF, DISK_BYTES = 4096, 65536, 1 << 20, 32 << 20, 64 << 20
STEREO = au.Fmt('S16_LE', 48000, 2)
MONO = au.Fmt('S16_LE', 48000, 1)
BOOT_TIMEOUT = 180
WALL_TOLERANCE = 0.02


class Skip(Exception):
    pass


def find_tarball():
    """The semu source, or a Skip: it cannot be installed, only be there."""
    for d in SHARED_DIRS:
        if d and (Path(d) / 'third_party' / TARBALL_NAME).exists():
            return Path(d) / 'third_party' / TARBALL_NAME
    raise Skip(f'no {TARBALL_NAME} in third_party/ of ' +
               ', '.join(d for d in SHARED_DIRS if d) + ' (set VSND_SHARED)')


def prerequisites(require):
    why = None
    if subprocess.run(['which', 'riscv64-linux-gnu-gcc'], capture_output=True).returncode:
        why = 'no RV32 cross compiler (gcc-riscv64-linux-gnu; scripts/install-deps.sh)'
    elif not Path('/usr/src/linux-source-6.12.tar.xz').exists():
        why = 'no kernel source for the guest (linux-source-6.12; scripts/install-deps.sh)'
    if why:
        if require:
            raise S.Failure(why)
        raise Skip(why)


def run_quiet(cmd, env=None, what=''):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode:
        sys.stdout.write(r.stdout[-3000:] + r.stderr[-3000:])
        raise S.Failure(f'{what or cmd[0]} failed (exit {r.returncode})')
    return r.stdout.strip().splitlines()


def build_semu(build_dir, tarball, seed=False):
    """semu against this build's libvsnd (or its own device): (semu, dtb)."""
    out = Path(build_dir) / 'semu-test' / ('semu-seed' if seed else 'semu')
    env = dict(os.environ, VSND_MESON_BUILD=str(build_dir), SEMU_OUT=str(out))
    t0 = time.monotonic()
    lines = run_quiet([str(REPO / 'integrations/semu/build.sh')] + (['--seed'] if seed else []) +
                      [str(tarball)], env, 'integrations/semu/build.sh')
    S.log(f'semu{" (seed device)" if seed else ""} built in {time.monotonic() - t0:.0f} s')
    return lines[-2], lines[-1]


def build_guest():
    t0 = time.monotonic()
    d = run_quiet([str(REPO / 'integrations/semu/guest/build.sh'), '--print-dir'],
                  what='integrations/semu/guest/build.sh')[-1]
    S.log(f'guest (RV32 Linux 6.12 + vsnd-guest) ready in {time.monotonic() - t0:.0f} s: {d}')
    return Path(d)


class Boot:
    """One semu run: its console, the guest's results and its recording."""

    def __init__(self, console, results, recorded, seconds):
        self.console, self.results, self.recorded, self.seconds = console, results, recorded, seconds

    def result(self, kind):
        """The guest's 'kind: key=value ...' line as a dict (None if absent)."""
        for line in self.results.splitlines():
            if line.startswith(kind + ': '):
                return dict(kv.split('=', 1) for kv in line.split()[1:] if '=' in kv)
        return None

    def lines(self, prefix):
        return [ln for ln in self.console.splitlines() if ln.startswith(prefix)]


def make_disk(path, job, wav=None):
    with open(path, 'wb') as f:
        f.truncate(DISK_BYTES)
        f.write(job.encode() + b'\0')
        if wav:
            f.seek(WAV_IN_OFF)
            f.write(wav)


def read_recording(disk):
    with open(disk, 'rb') as f:
        f.seek(WAV_OUT_OFF)
        head = f.read(44)
        if head[:4] != b'RIFF' or head[36:40] != b'data':
            return None
        return f.read(int.from_bytes(head[40:44], 'little'))


def boot(semu, dtb, gdir, work, name, job, settings, env=None, wav=None, timeout=BOOT_TIMEOUT):
    disk = Path(work) / f'{name}.img'
    make_disk(disk, job, wav)
    env = dict(env or os.environ, SEMU_VSND=settings)
    console = Path(work) / f'{name}.console'
    t0 = time.monotonic()
    with open(console, 'w') as out:
        # semu reads its UART from stdin: it wants a pipe that stays open
        p = subprocess.Popen([semu, '-k', str(gdir / 'Image'), '-b', dtb, '-i',
                              str(gdir / 'rootfs.cpio'), '-d', str(disk)],
                             stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        try:
            while p.poll() is None and 'vsnd-guest: done' not in console.read_text(errors='replace'):
                if time.monotonic() - t0 > timeout:
                    raise S.Failure(f'{name}: the guest did not finish in {timeout} s '
                                    f'(console: {console})')
                time.sleep(0.2)
        finally:
            if p.poll() is None:
                p.terminate()  # the glue finalizes the WAV files on exit
            p.wait(10)
            p.stdin.close()
    seconds = time.monotonic() - t0
    with open(disk, 'rb') as f:
        f.seek(RES_OFF)
        results = f.read(RES_END - RES_OFF).split(b'\0', 1)[0].decode(errors='replace')
    return Boot(console.read_text(errors='replace'), results, read_recording(disk), seconds)


def check_probe(b, label):
    """The card is there, and neither the kernel nor vsnd complained."""
    if not b.lines('cards:  0 [SoundCard'):
        raise S.Failure(f'{label}: the guest has no virtio sound card:\n' + b.console[-2000:])
    bad = [ln for ln in b.lines('kmsg:') if re.search(r'virtio.snd|snd|ALSA', ln)
           and re.search(r'error|fail|timeout', ln, re.I)]
    bad += [ln for ln in b.lines('vsnd: ') if re.search(r'\b(error|warn)', ln)]
    bad += [ln for ln in b.results.splitlines() if ln.startswith('error:')]
    if bad:
        raise S.Failure(f'{label}: ' + '; '.join(bad))


def check_played(out, clip, fmt, label):
    """All of clip, in order and bit-exact, in out (the audio the host got)."""
    m = au.locate(out, clip, fmt)
    if not m.found:
        raise S.Failure(f'{label}: {m.lost} of {len(clip) // fmt.frame_bytes} frames lost or '
                        f'changed ({m.where})')
    return m


def check_wall(res, label):
    wall, clip = int(res['wall_ms']), int(res['clip_ms'])
    ratio = wall / clip
    if abs(ratio - 1) > WALL_TOLERANCE:
        raise S.Failure(f'{label}: the guest took {wall} ms for {clip} ms '
                        f'(ratio {ratio:.4f}, limit 1 +- {WALL_TOLERANCE})')
    return ratio


def case_file(semu, dtb, gdir, work):
    clip_wav, in_wav = work / 'clip.wav', work / 'in.wav'
    clip = au.sox_make(clip_wav, STEREO, 5, 'sine 100-9000 synth whitenoise mix', raw=False)
    ref = au.sox_make(in_wav, STEREO, 4, 'sine 300-7000 synth pinknoise mix', raw=False)
    frames = 3 * STEREO.rate
    b = boot(semu, dtb, gdir, work, 'file',
             f'play 0 0 0 0\nrecord 0 0 {frames} 48000 2 s16 0 0\n',
             f'backend=file,out={work}/out-%u-%n.wav,in={in_wav}', wav=clip_wav.read_bytes())
    check_probe(b, 'file: probe')
    play, rec = b.result('play'), b.result('record')
    if not play or not rec:
        raise S.Failure('file: the guest did not report play and record:\n' + b.results)
    outs = sorted(work.glob('out-0-*.wav'))
    if not outs:
        raise S.Failure('file: the file backend wrote no output')
    m = check_played(au.read_wav(outs[-1]).data, clip, STEREO, 'file: playback')
    ratio = check_wall(play, 'file: playback')
    S.log(f'PASS file: boot to done {b.seconds:.1f} s; playback 5 s bit-exact, 0 frames lost, '
          f'trail {STEREO.ms(m.trail):.1f} ms, guest xruns {play["xruns"]}, wall {play["wall_ms"]} '
          f'ms (ratio {ratio:.4f}), period {play["period"]}, buffer {play["buffer"]} frames')
    want = ref[:frames * STEREO.frame_bytes]
    if b.recorded != want:
        got = b.recorded or b''
        raise S.Failure(f'file: capture differs from the in= WAV from frame '
                        f'{au.common_prefix(got, want) // STEREO.frame_bytes} of {frames} '
                        f'({len(got) // STEREO.frame_bytes} frames recorded)')
    S.log(f'PASS file: capture 3 s bit-exact, guest xruns {rec["xruns"]}, '
          f'wall {rec["wall_ms"]} ms')


def case_portaudio(semu, dtb, gdir, work, procs):
    pa = Pulse(procs, str(work))
    pa.start()
    conf, raw = work / 'asound.conf', work / 'pa-out.raw'
    alsa_conf(str(conf), pa, str(raw), '/dev/null', 'out')
    env = alsa_env(pa, str(conf))
    clip_wav = work / 'pa-clip.wav'
    clip = au.sox_make(clip_wav, STEREO, 3, 'square 50-2000 synth pinknoise mix', raw=False)
    b = boot(semu, dtb, gdir, work, 'portaudio', 'play 0 0 0 0\n', 'backend=portaudio',
             env, clip_wav.read_bytes())
    check_probe(b, 'portaudio: probe')
    if 'with backend portaudio' not in b.console:
        raise S.Failure('portaudio: the glue did not start the portaudio backend:\n' +
                        '\n'.join(b.lines('vsnd: ')))
    play = b.result('play')
    if not play:
        raise S.Failure('portaudio: the guest did not report play:\n' + b.results)
    m = check_played(raw.read_bytes() if raw.exists() else b'', clip, STEREO, 'portaudio: playback')
    S.log(f'PASS portaudio: 3 s through PortAudio/ALSA into the file PCM bit-exact, 0 frames lost '
          f'(lead {STEREO.ms(m.lead):.0f} ms), guest xruns {play["xruns"]}, '
          f'wall {play["wall_ms"]} ms')


def case_layout(semu, dtb, gdir, work):
    b = boot(semu, dtb, gdir, work, 'layout', 'controls\njacks\n',
             'backend=null;streams=car;controls=on')
    check_probe(b, 'layout: probe')
    pcms = sorted(re.findall(r'^pcm: 00-(\d+): .*', b.console, re.M))
    if pcms != ['00', '01', '02', '03']:
        raise S.Failure(f'layout: PCM devices {pcms}, want 00..03 (car: four zones)')
    names = re.findall(r"name='([^']*)' index=(\d+)", b.console)
    vols = {i for n, i in names if n == 'Master Playback Volume'}
    jacks = {n for n, _ in names if n.endswith('Jack')}
    caps = {i for n, i in names if n == 'Capture Switch'}
    if len(vols) != 4 or len(caps) != 2 or len(jacks) < 3:
        raise S.Failure(f'layout: volumes {sorted(vols)}, capture switches {sorted(caps)}, '
                        f'jacks {sorted(jacks)}')
    S.log(f'PASS layout: car: PCM devices {", ".join(pcms)}; {len(vols)} playback volumes, '
          f'{len(caps)} capture switches, jacks {", ".join(sorted(jacks))}')


def compare(build_dir, tarball, dtb_vsnd, semu_vsnd, gdir, work, procs):
    """The same mono clip through semu's own device and through vsnd, both into
    the test-local file PCM: frames lost, guest wall time, capture."""
    semu_seed, dtb_seed = build_semu(build_dir, tarball, seed=True)
    clip_wav = work / 'cmp-clip.wav'
    clip = au.sox_make(clip_wav, MONO, 5, 'sine 100-9000 synth whitenoise mix', raw=False)
    (work / 'cmp-clip.raw').write_bytes(clip)
    rows = []
    for label, semu, dtb, settings in (('semu virtio-snd', semu_seed, dtb_seed, ''),
                                       ('vsnd (libvsnd)', semu_vsnd, dtb_vsnd, 'backend=portaudio')):
        res = {}
        # playback into the file PCM, then capture from it (one boot each:
        # alsa-lib's file PCM truncates its file whenever it is opened)
        for kind, job in (('play', 'play 0 0 0 0\n'), ('record', 'record 0 0 48000 48000 1 s16 0 0\n')):
            name = f'cmp-{len(rows)}-{kind}'
            pa = Pulse(procs, str(work / name))  # a server of its own: the seed may hang in it
            pa.start()
            conf, raw = work / f'{name}.conf', work / f'{name}.raw'
            alsa_conf(str(conf), pa, str(raw), str(work / 'cmp-clip.raw'),
                      'out' if kind == 'play' else 'in')
            try:
                b = boot(semu, dtb, gdir, work, name, job, settings, alsa_env(pa, str(conf)),
                         clip_wav.read_bytes(), timeout=60)
                res[kind] = b.result(kind) or {}
            except S.Failure as e:
                S.log(f'{label}: {e}')
                res[kind] = {'wall_ms': 'no end in 60 s:'}
            procs.stop(pa.proc)
            if kind == 'play':
                m = au.locate(raw.read_bytes() if raw.exists() else b'', clip, MONO)
                lost = 0 if m.found else (len(clip) // 2 if m.offset < 0 else m.lost)
        rows.append((label, lost, res['play'].get('wall_ms', '-'), res['play'].get('xruns', '-'),
                     'yes' if res['record'].get('frames') == '48000' else 'no'))
    S.log('| device | frames lost (of 240000) | guest wall time for 5 s | guest xruns | capture |')
    S.log('|---|---|---|---|---|')
    for r in rows:
        S.log('| %s | %s | %s ms | %s | %s |' % r)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build', required=True, help='the Meson build dir whose libvsnd to use')
    ap.add_argument('--require', action='store_true', help='a missing prerequisite fails')
    ap.add_argument('--compare', action='store_true', help="also run semu's own device")
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    args = ap.parse_args()
    work = Path(S.tmpdir('vsnd-semu-'))
    procs = S.Procs()
    try:
        tarball = find_tarball()
        prerequisites(args.require)
        gdir = build_guest()
        semu, dtb = build_semu(Path(args.build).resolve(), tarball)
        case_file(semu, dtb, gdir, work)
        case_portaudio(semu, dtb, gdir, work, procs)
        case_layout(semu, dtb, gdir, work)
        if args.compare:
            compare(Path(args.build).resolve(), tarball, dtb, semu, gdir, work, procs)
    except Skip as e:
        S.log(f'SKIP: {e}')
        return S.SKIP
    except S.Failure as e:
        S.log(f'FAIL {e}')
        S.log(f'files kept in {work}')
        return 1
    finally:
        procs.stop_all()
    if not args.keep:
        S.rmtree(str(work))
    S.log('all semu cases passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
