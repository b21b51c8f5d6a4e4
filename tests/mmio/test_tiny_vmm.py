#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/tiny-vmm plays a WAV through the virtio-mmio card and the file
backend: the output must hold the input bit-exact (then only underrun
silence), at the device's pace. Usage: test_tiny_vmm.py TINY_VMM"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import wave


def where_broken(got, data, log):
    """Say where the output first leaves the input, and what is there."""
    i = next((k for k in range(min(len(got), len(data))) if got[k] != data[k]),
             min(len(got), len(data)))
    zeros = len(got[i:]) - len(got[i:].lstrip(b"\0"))
    return ("output differs from the input at frame %d of %d: %d frames of silence "
            "there (device: %s)" % (i // 4, len(data) // 4, zeros // 4,
                                    log.strip().splitlines()[-1:] or "no report"))


def main():
    tmp = tempfile.mkdtemp(prefix="vsnd-tiny-vmm-")
    try:
        src, out = os.path.join(tmp, "in.wav"), os.path.join(tmp, "out.wav")
        rnd = random.Random(11)
        data = bytes(rnd.getrandbits(8) for _ in range(44100 * 4 // 2))  # 0.5 s
        with wave.open(src, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(44100)
            w.writeframes(data)
        t0 = time.monotonic()
        r = subprocess.run([sys.argv[1], src, out], capture_output=True, text=True, timeout=30)
        wall = time.monotonic() - t0
        print(r.stderr, end="")
        assert r.returncode == 0, "tiny-vmm exit %d" % r.returncode
        with wave.open(out, "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 44100)
            got = w.readframes(w.getnframes())
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
