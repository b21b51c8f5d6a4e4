#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vsnd started the ways a service manager starts it: systemd socket
activation (systemd-socket-activate, no running systemd needed), --socket-fd
with a listening socket, --socket-fd with one connected frontend; the errors
for fds that cannot work; the messages that say what to do (a busy socket, a
backend left out of the build). Each time a vhost-user GET_FEATURES must be
answered, and vsnd must never remove a socket file it did not create.

Usage: test_activation.py [--only-activation] PATH/TO/vsnd.
python3 standard library only.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), '..', 'support'))
import vsndtest as T  # noqa: E402

GET_FEATURES = 1
FLAG_VERSION, FLAG_REPLY = 0x1, 0x4
F_PROTOCOL_FEATURES, F_VERSION_1 = 1 << 30, 1 << 32

TALLY = T.Tally()
check = TALLY.check


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError('vsnd closed the connection')
        buf += chunk
    return buf


def get_features(s):
    """One GET_FEATURES round trip; returns the feature bits."""
    s.settimeout(5)
    s.sendall(struct.pack('<III', GET_FEATURES, FLAG_VERSION, 0))
    req, flags, size = struct.unpack('<III', recv_exact(s, 12))
    if req != GET_FEATURES or flags != FLAG_VERSION | FLAG_REPLY or size != 8:
        raise ValueError(f'bad reply header req={req} flags={flags:#x} size={size}')
    return struct.unpack('<Q', recv_exact(s, 8))[0]


def answers(path, what):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        f = get_features(s)
        check(f & F_VERSION_1 and f & F_PROTOCOL_FEATURES,
              f'{what}: GET_FEATURES answered ({f:#x}: VERSION_1, PROTOCOL_FEATURES)')
    except (OSError, ValueError) as e:
        check(False, f'{what}: GET_FEATURES: {e}')
    finally:
        s.close()


def exit_status(p, timeout=5):
    """p's exit status, or 'still running' (then it is killed) after timeout s."""
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return 'still running'


def stop(p, what):
    """SIGTERM; vsnd must exit 0 within 5 s."""
    p.send_signal(signal.SIGTERM)
    rc = exit_status(p)
    check(rc == 0, f'{what}: clean exit on SIGTERM (got {rc})')


def wait_log(log, text, timeout=5.0):
    def seen():
        with open(log) as f:
            return text in f.read()
    try:
        T.wait_for(seen, timeout, text)
        return True
    except T.Failure:
        return False


def socket_activation(vsnd, tmp):
    tool = shutil.which('systemd-socket-activate')
    if not check(tool is not None, 'systemd-socket-activate found (Debian package systemd)'):
        return
    sock, log = os.path.join(tmp, 'sa.sock'), os.path.join(tmp, 'sa.log')
    with open(log, 'w') as lf:
        # the tool execs vsnd: p is vsnd itself once running
        # the tool passes vsnd no environment but what -E names
        env_args = ['-E', 'LD_LIBRARY_PATH'] if 'LD_LIBRARY_PATH' in os.environ else []
        p = subprocess.Popen([tool, '-l', sock] + env_args + [vsnd, '--backend', 'null'],
                             stdout=lf, stderr=lf)
    try:
        T.wait_for(lambda: T.listening(sock), 5, 'vsnd to listen')
        # the tool starts vsnd on the first connection, as systemd does
        answers(sock, 'socket activation')
        check(wait_log(log, '(socket activation)'), 'vsnd says it runs socket-activated')
        # QEMU reconnects after a restart: the same listener serves again
        answers(sock, 'socket activation, second connection')
    finally:
        stop(p, 'socket activation')
    check(os.path.exists(sock), 'the activated socket file is left to its owner')
    with open(log) as f:
        check('LISTEN_FDS' not in f.read(), 'no activation error logged')


def listening_fd(vsnd, tmp):
    sock = os.path.join(tmp, 'fd.sock')
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(sock)
    ls.listen(4)
    fd = ls.fileno()
    p = subprocess.Popen([vsnd, '--socket-fd', str(fd), '--backend', 'null'], pass_fds=[fd],
                         stderr=subprocess.DEVNULL)
    try:
        answers(sock, f'--socket-fd {fd} (listening)')
    finally:
        stop(p, '--socket-fd (listening)')
        ls.close()
    check(os.path.exists(sock), '--socket-fd: the socket file is not removed')


def connected_fd(vsnd):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fd = theirs.fileno()
    p = subprocess.Popen([vsnd, '--fd', str(fd), '--backend', 'null'], pass_fds=[fd],
                         stderr=subprocess.DEVNULL)
    theirs.close()
    try:
        f = get_features(ours)
        check(f & F_VERSION_1, f'--fd {fd} (connected): GET_FEATURES answered ({f:#x})')
    except (OSError, ValueError) as e:
        check(False, f'--fd (connected): GET_FEATURES: {e}')
    ours.close()
    rc = exit_status(p)
    check(rc == 0, f'--fd (connected): exits 0 when the frontend leaves (got {rc})')


def expect(vsnd, args, want_rc, want_text, what, pass_fds=(), env=None):
    r = subprocess.run([vsnd] + args, capture_output=True, text=True, pass_fds=pass_fds,
                       env=env, timeout=10)
    check(r.returncode == want_rc and want_text in r.stderr,
          f'{what}: exit {r.returncode} (want {want_rc}), says "{want_text}"')
    if r.returncode != want_rc or want_text not in r.stderr:
        print(r.stderr)


def errors(vsnd, tmp):
    expect(vsnd, ['--socket', 'x', '--socket-fd', '3'], 2, 'not both', '--socket with --socket-fd')
    expect(vsnd, ['--socket-fd', 'three'], 2, "'three'", 'a --socket-fd that is not a number')
    expect(vsnd, ['--socket-fd', '-1'], 2, "'-1'", 'a negative --socket-fd')
    with open(os.path.join(tmp, 'plain'), 'w') as f:
        expect(vsnd, ['--socket-fd', str(f.fileno()), '--backend', 'null'], 1, 'not a socket',
               '--socket-fd on a regular file', pass_fds=[f.fileno()])
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    expect(vsnd, ['--socket-fd', str(d.fileno()), '--backend', 'null'], 1, 'AF_UNIX stream',
           '--socket-fd on a datagram socket', pass_fds=[d.fileno()])
    d.close()
    expect(vsnd, ['--socket-fd', '63', '--backend', 'null'], 1, 'socket fd 63',
           '--socket-fd on a closed fd')
    env = dict(os.environ, LISTEN_PID='1', LISTEN_FDS='1')
    expect(vsnd, [], 2, 'socket activation', 'LISTEN_FDS meant for another process is ignored',
           env=env)
    env = dict(os.environ, LISTEN_PID='x', LISTEN_FDS='1')
    expect(vsnd, [], 2, 'malformed LISTEN_PID', 'malformed LISTEN_PID', env=env)


def messages(vsnd, tmp):
    """Errors an administrator meets say what to do."""
    sock = os.path.join(tmp, 'busy.sock')
    p = subprocess.Popen([vsnd, '--socket', sock, '--backend', 'null'], stderr=subprocess.DEVNULL)
    try:
        T.wait_for(lambda: T.listening(sock), 5, 'vsnd to listen')
        expect(vsnd, ['--socket', sock, '--backend', 'null'], 1, f'{sock} is in use',
               'a busy socket names its path')
        expect(vsnd, ['--socket', sock, '--backend', 'null'], 1, 'another --socket',
               'a busy socket says what to do')
    finally:
        stop(p, 'the vsnd holding the busy socket')
    built = subprocess.run([vsnd, '--help'], capture_output=True, text=True).stdout
    for name, pkg in (('pipewire', 'libpipewire-0.3-dev'), ('pulse', 'libpulse-dev'),
                      ('alsa', 'libasound2-dev'), ('portaudio', 'portaudio19-dev')):
        if f'\n  {name} ' in built:
            continue
        expect(vsnd, ['--socket', os.path.join(tmp, 'nb.sock'), '--backend', name], 2,
               f"install {pkg} and rebuild with 'meson configure -D{name}=enabled'",
               f'backend {name} left out of the build names its package and option')


def main():
    args = sys.argv[1:]
    only_activation = args[:1] == ['--only-activation']
    vsnd = os.path.realpath(args[-1])
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        socket_activation(vsnd, tmp)
        if not only_activation:
            listening_fd(vsnd, tmp)
            connected_fd(vsnd)
            errors(vsnd, tmp)
            messages(vsnd, tmp)
    return TALLY.exit_status()


if __name__ == '__main__':
    sys.exit(main())
