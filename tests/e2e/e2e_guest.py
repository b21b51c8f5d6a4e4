"""Running the test guest for the vsnd end-to-end tests: QEMU, the guest image,
the vsnd daemon, the serial console and the two data disks (python3 stdlib only)."""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'support'))
import vsndtest as T  # noqa: E402
from vsndtest import Failure, Skip, log  # noqa: E402,F401  (the e2e modules' own names)

ROOT = Path(__file__).resolve().parents[2]
BUILD_GUEST = ROOT / 'scripts' / 'guest' / 'build-guest.sh'
EXIT_SKIP = 77
GUEST_MEM = '512M'
# Guest flavors (build-guest.sh --flavor) and the QEMU that boots each: the
# 32-bit guest gets the 32-bit machine, as a 32-bit host would run it.
GUESTS = {'6.12': 'qemu-system-x86_64', '6.1': 'qemu-system-x86_64', 'i386': 'qemu-system-i386'}
BOOT_TIMEOUT = 90    # seconds; the guest reaches /init in about 3 s under TCG


def add_guest_option(ap):
    ap.add_argument('--guest', choices=list(GUESTS), default='6.12',
                    help='the guest: 6.12 (x86_64, default), 6.1 (bookworm\'s stock kernel) '
                         'or i386 (32-bit kernel and user space)')


def find_qemu(device, guest):
    qemu = os.environ.get('QEMU', GUESTS[guest])
    path = shutil.which(qemu)
    if not path:
        raise Skip(f'{qemu} not found (run scripts/install-deps.sh)')
    out = subprocess.run([path, '-device', 'help'], capture_output=True, text=True).stdout
    if f'name "{device}"' not in out:
        raise Skip(f'{path} has no {device} device (QEMU 10 from bookworm-backports needed)')
    return path


def build_guest(guest):
    """Builds the guest image if needed (scripts/guest/build-guest.sh); returns its dir."""
    if not shutil.which('sox'):
        raise Skip('sox not found (run scripts/install-deps.sh)')
    r = subprocess.run(['bash', str(BUILD_GUEST), '--flavor', guest], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    sys.stdout.write(r.stderr)
    if r.returncode == EXIT_SKIP:
        raise Skip('guest image prerequisites missing')
    if r.returncode != 0:
        raise Failure(f'build-guest.sh failed ({r.returncode})')
    gdir = Path(r.stdout.strip().splitlines()[-1])
    for f in ('vmlinuz', 'initramfs.cpio'):
        if not (gdir / f).exists():
            raise Failure(f'guest image incomplete: no {gdir / f}')
    return gdir


class Daemon(T.Daemon):
    """build/vsnd on a socket in workdir, verbose (-v), stopped with SIGTERM;
    backend None: its own default. Started with start()."""

    def __init__(self, exe, workdir, backend, extra=()):
        args = (['--backend', backend] if backend is not None else []) + list(extra) + ['-v']
        super().__init__(exe, workdir, args=args, start=False)

    def start(self, timeout=10):
        log(f'$ (cd {self.workdir} && {" ".join(self.command())})')
        super().start(timeout)


class Console:
    """The guest's serial console: echoes lines and collects the @@vsnd markers."""

    MARK = re.compile(r'@@vsnd (\S+)(.*)')

    def __init__(self, hooks=()):
        self.lines = []
        self.marks = []            # (kind, {key: value}, rest-of-line)
        self.hooks = list(hooks)   # fn(kind, fields) called on every marker
        self.quiet = False         # True: keep the lines, do not echo them

    def feed(self, line):
        line = line.rstrip('\r\n')
        self.lines.append(line)
        if not self.quiet:
            log('guest| ' + line)
        m = self.MARK.search(line)
        if m:
            kind, rest = m.group(1), m.group(2).strip()
            fields = dict(kv.split('=', 1) for kv in rest.split() if '=' in kv)
            self.marks.append((kind, fields, rest))
            for hook in self.hooks:
                hook(kind, fields)

    def find(self, kind, ident=None):
        for k, f, _ in self.marks:
            if k == kind and (ident is None or f.get('id') == ident):
                return f
        return None

    def all(self, kind):
        return [(f, rest) for k, f, rest in self.marks if k == kind]


def prepare(args):
    """Checks args.vsnd, finds QEMU, builds the guest image: (qemu, guest dir,
    accel), or the exit status when something is missing."""
    try:
        if args.device == 'vhost-user':
            if not args.vsnd or not os.access(args.vsnd, os.X_OK):
                raise Failure(f'no vsnd executable at {args.vsnd}')
            args.vsnd = os.path.abspath(args.vsnd)
        qemu = find_qemu('vhost-user-snd-pci' if args.device == 'vhost-user'
                         else 'virtio-sound-pci', args.guest)
        gdir = build_guest(args.guest)
    except Skip as e:
        log(f'SKIP: {e}')
        return 1 if args.require else EXIT_SKIP
    except Failure as e:
        log(f'FAIL: {e}')
        return 1
    return qemu, gdir, probe_accel(qemu, gdir)


def probe_accel(qemu, gdir):
    """KVM if a guest boots with it here (nested KVM often fails), else TCG. Cached."""
    want = os.environ.get('VSND_E2E_ACCEL', 'auto')
    if want in ('kvm', 'tcg'):
        return want
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return 'tcg'
    ver = subprocess.run([qemu, '--version'], capture_output=True, text=True).stdout.split('\n')[0]
    key = f'{ver}|{(gdir / "kernel" / "package").read_text().strip()}'
    cache = gdir / 'accel-probe'
    if cache.exists():
        k, _, v = cache.read_text().rpartition('=')
        if k == key:
            return v.strip()
    cmd = [qemu, '-accel', 'kvm', '-cpu', 'host', '-m', '256M', '-machine', 'q35', '-nodefaults',
           '-no-user-config', '-display', 'none', '-no-reboot', '-serial', 'stdio',
           '-kernel', str(gdir / 'vmlinuz'), '-initrd', str(gdir / 'initramfs.cpio'),
           '-append', 'console=ttyS0 quiet panic=-1 vsnd.script=probe']
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL).stdout
    except subprocess.TimeoutExpired:
        out = ''
    result = 'kvm' if '@@vsnd boot' in out else 'tcg'
    cache.write_text(f'{key}={result}\n')
    return result


def accel_args(accel):
    return ['-accel', 'kvm', '-cpu', 'host'] if accel == 'kvm' else ['-accel', 'tcg', '-cpu', 'max']


def make_input_disk(path, plan, files):
    """A tar of plan.txt and the signals: the guest untars it from the raw disk."""
    with tarfile.open(path, 'w', format=tarfile.USTAR_FORMAT) as t:
        for name, data in [('plan.txt', ''.join(line + '\n' for line in plan).encode())] + \
                list(files.items()):
            src = Path(path).parent / ('in-' + name)
            src.write_bytes(data)
            t.add(src, arcname=name)
            src.unlink()


def read_output_disk(img, dest):
    """Unpacks the tar the guest wrote onto the output disk; False if there is none."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(img, 'r:') as t:
            for m in t.getmembers():
                if m.isfile() and '..' not in m.name and not m.name.startswith('/'):
                    t.extract(m, dest)
    except tarfile.TarError:
        return False
    return True


class Guest:
    """One QEMU running the guest; its console is read by a thread."""

    def __init__(self, qemu, gdir, accel, workdir, script, device_args, plan=None, files=None,
                 out_bytes=0, hooks=(), quiet=False):
        w = self.workdir = Path(workdir)
        in_img, self.out_img = w / 'guest-in.tar', w / 'guest-out.img'
        make_input_disk(in_img, plan or [], files or {})
        with open(self.out_img, 'wb') as f:
            f.truncate(((out_bytes + (64 << 20)) + 511) // 512 * 512)
        cmd = [qemu] + accel_args(accel) + [
            '-object', f'memory-backend-memfd,id=mem,size={GUEST_MEM},share=on',
            '-machine', 'q35,memory-backend=mem', '-m', GUEST_MEM, '-smp', '1',
            '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
            '-serial', 'stdio',
            '-kernel', str(gdir / 'vmlinuz'), '-initrd', str(gdir / 'initramfs.cpio'),
            '-append', f'console=ttyS0 quiet panic=-1 vsnd.script={script}',
            '-drive', f'file={in_img},format=raw,if=none,id=din,readonly=on',
            '-device', 'virtio-blk-pci,drive=din,serial=vsnd-in',
            '-drive', f'file={self.out_img},format=raw,if=none,id=dout',
            '-device', 'virtio-blk-pci,drive=dout,serial=vsnd-out',
        ] + device_args
        if not quiet:
            log('$ ' + ' '.join(cmd))
        self.console = Console(hooks)
        self.console.quiet = quiet
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors='replace')
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self):
        for line in self.proc.stdout:
            self.console.feed(line)

    def kill(self):
        """SIGKILL, as when QEMU crashes or is killed by the OOM killer."""
        self.proc.kill()
        self.proc.wait()
        self.reader.join(5)
        self.save_console()

    def save_console(self):
        (self.workdir / 'console.log').write_text('\n'.join(self.console.lines) + '\n')

    def wait(self, timeout):
        """Until QEMU exits; returns the dir with the guest's /out."""
        try:
            # A guest that does not even boot (wrong QEMU, broken image) fails fast.
            while self.proc.poll() is None:
                waited = time.monotonic() - self.t0
                if waited > timeout:
                    raise Failure(f'guest did not finish within {timeout} s')
                if waited > BOOT_TIMEOUT and self.console.find('boot') is None:
                    raise Failure(f'guest did not boot within {BOOT_TIMEOUT} s')
                time.sleep(0.2)
        except Failure:
            self.kill()
            raise
        self.reader.join(5)
        self.save_console()
        gout = self.workdir / 'guest-out'
        if not read_output_disk(self.out_img, gout):
            log('warning: no output from the guest disk')
        return gout


def run_guest(qemu, gdir, accel, workdir, script, device_args, plan=None, files=None,
              out_bytes=0, timeout=300, hooks=()):
    """Boots the guest once; returns (console, dir with the guest's /out)."""
    g = Guest(qemu, gdir, accel, workdir, script, device_args, plan, files, out_bytes, hooks)
    gout = g.wait(timeout)
    log(f'guest ran {time.monotonic() - g.t0:.1f} s ({accel}), QEMU exit status '
        f'{g.proc.returncode}')
    return g.console, gout
