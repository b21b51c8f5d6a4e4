#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/tiny-vmm plays a WAV through the virtio-mmio card and the file
backend: the output must hold the input bit-exact (then only underrun
silence), at the device's pace. Usage: test_tiny_vmm.py TINY_VMM"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import vsndtest as T  # noqa: E402


def where_broken(got, data, log):
    """Say where the output first leaves the input, and what is there."""
    at, zeros = T.first_difference(got, data, 4)
    return ("output differs from the input at frame %d of %d: %d frames of silence "
            "there (device: %s)" % (at, len(data) // 4, zeros,
                                    log.strip().splitlines()[-1:] or "no report"))


def main():
    tmp = tempfile.mkdtemp(prefix="vsnd-tiny-vmm-")
    try:
        src, out = os.path.join(tmp, "in.wav"), os.path.join(tmp, "out.wav")
        data = T.write_wav(src, T.noise_bytes(44100 * 4 // 2, 11), rate=44100)  # 0.5 s
        t0 = time.monotonic()
        r = subprocess.run([sys.argv[1], src, out], capture_output=True, text=True, timeout=30)
        wall = time.monotonic() - t0
        print(r.stderr, end="")
        assert r.returncode == 0, "tiny-vmm exit %d" % r.returncode
        w = T.read_wav(out)
        assert (w.channels, w.bits, w.rate) == (2, 16, 44100)
        got = w.data
        assert got[:len(data)] == data, where_broken(got, data, r.stderr)
        tail = got[len(data):]
        assert tail == bytes(len(tail)) and len(tail) <= 44100 * 4 // 50, \
            "%d bytes after the clip" % len(tail)
        assert 0.45 <= wall <= 1.0, "played 0.5 s in %.3f s" % wall
        print("ok: tiny-vmm played 0.5 s bit-exact in %.3f s" % wall)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
