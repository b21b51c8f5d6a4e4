#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vsnd-drive against a real vsnd: info (text and JSON) with the null backend;
play and record through the file backend, the audio compared byte for byte
and the play's wall time against the clip's duration, the record's --trace
(its state changes, its first period against its START); the conformance run
(check, with and without control elements) passes against vsnd.

Usage: test_drive.py VSND VSND_DRIVE [info|play|record|check...]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import vsndtest as T  # noqa: E402

VSND, DRIVE = sys.argv[1], sys.argv[2]
TALLY = T.Tally()
check = TALLY.check
daemons = 0


def daemon(tmp, *args):
    """A vsnd of its own (a socket and log per daemon) in tmp."""
    global daemons
    daemons += 1
    return T.Daemon(VSND, tmp, args=list(args) + ["-q"], name="vsnd-%d" % daemons)


def drive(*args, timeout=30):
    return subprocess.run([DRIVE, *args], capture_output=True, text=True, timeout=timeout)


def write_wav(path, frames, channels=2, rate=48000, width=2, seed=1):
    data = T.noise_bytes(frames * channels * width, seed)
    return T.write_wav(path, data, channels, rate, width)


def test_info(tmp):
    d = daemon(tmp, "--backend", "null")
    try:
        r = drive(str(d.sock), "info")
        check(r.returncode == 0, "info exits 0")
        check("config: 2 jacks, 2 streams, 2 chmaps, 0 controls" in r.stdout,
              "info prints the config")
        check("stream 0: output" in r.stdout and "stream 1: input" in r.stdout,
              "info prints both streams")
        check("chmap 0: output, nid 0: FL FR" in r.stdout, "info prints the channel map")
        r = drive(str(d.sock), "info", "--json")
        info = json.loads(r.stdout)
        check(info["config"] == {"jacks": 2, "streams": 2, "chmaps": 2, "controls": 0},
              "json config")
        s0 = info["streams"][0]
        check(s0["direction"] == "output" and s0["channels_min"] == 1
              and s0["channels_max"] == 2, "json stream 0 direction and channels")
        check("S16" in s0["formats"] and 48000 in s0["rates"] and 44100 in s0["rates"],
              "json stream 0 formats and rates")
        check([j["connected"] for j in info["jacks"]] == [True, True], "json jacks connected")
        check(info["chmaps"][1]["positions"] == ["FL", "FR"], "json chmap positions")
        r = drive(str(d.sock), "nonsense")
        check(r.returncode == 2, "an unknown command is a usage error")
    finally:
        d.stop()
    r = drive(os.path.join(tmp, "nowhere.sock"), "info")
    check(r.returncode == 1 and "vsnd-drive" in r.stderr, "no socket: exit 1 with a message")


def test_play(tmp):
    src = os.path.join(tmp, "clip.wav")
    rate, seconds = 44100, 2
    data = write_wav(src, rate * seconds, channels=2, rate=rate, seed=7)
    d = daemon(tmp, "--backend", "file,out=" + os.path.join(tmp, "out-%u.wav"))
    try:
        t0 = time.monotonic()
        # 80 ms queued: with meson running two tests at once on two cores, a
        # 40 ms buffer underran now and then (the silence then lands in the
        # file, as it would on a sound card)
        r = drive(str(d.sock), "play", src, "--period-ms", "10", "--periods", "8")
        wall = time.monotonic() - t0
    finally:
        d.stop()
    check(r.returncode == 0, "play exits 0 (%s)" % r.stderr.strip())
    w = T.read_wav(os.path.join(tmp, "out-0.wav"))
    out = w.data
    check((w.channels, w.bits, w.rate) == (2, 16, rate),
          "the device was set to the file's format, rate and channels")
    check(out[:len(data)] == data, "played audio is bit-exact (%d bytes)" % len(data))
    # after the last buffer the device plays silence until STOP arrives
    tail = out[len(data):]
    check(tail == bytes(len(tail)) and len(tail) <= rate * 4 // 50,
          "after the clip: only underrun silence (%d bytes)" % len(tail))
    check(abs(wall - seconds) <= 0.05 * seconds,
          "play took %.3f s for a %d s clip (within 5%%)" % (wall, seconds))


def test_record(tmp):
    src = os.path.join(tmp, "in.wav")
    rate = 48000
    data = write_wav(src, rate * 2, channels=2, rate=rate, seed=3)
    dst = os.path.join(tmp, "rec.wav")
    trace = os.path.join(tmp, "trace.txt")
    d = daemon(tmp, "--backend", "file,in=" + src, "--trace", trace)
    try:
        t0 = time.monotonic()
        r = drive(str(d.sock), "record", dst, "--seconds", "1", "--rate", str(rate))
        wall = time.monotonic() - t0
    finally:
        d.stop()
    check(r.returncode == 0, "record exits 0 (%s)" % r.stderr.strip())
    w = T.read_wav(dst)
    got = w.data
    check((w.channels, w.rate, len(got) // 4) == (2, rate, rate),
          "recorded exactly 1 s of stereo at %d Hz" % rate)
    check(got == data[:len(got)], "recorded audio is bit-exact")
    check(0.9 <= wall <= 1.3, "record was paced by the device (%.3f s)" % wall)
    check_trace(trace, 1, rate * 4)


def check_trace(path, stream, byte_rate):
    """vsnd --trace: the stream's state changes (#state lines) in order, and
    its completions between its START and STOP, the first no sooner than
    its frames can have been captured since START."""
    states, done = [], []
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "#state" and int(w[1]) == stream:
                states.append((w[3], int(w[2])))
            elif not line.startswith("#") and int(w[0]) == stream:
                done.append((int(w[1]), int(w[2])))
    names = [n for n, _ in states]
    check(names[-5:] == ["params", "prepared", "started", "stopped", "released"],
          "the trace has the stream's state changes in order (%s)" % " ".join(names))
    at = dict(states)
    if "started" not in at or "stopped" not in at or not done:
        return check(False, "the trace has the stream's START, STOP and completions")
    first = (done[0][0] - at["started"]) / 1e6
    period = done[0][1] * 1e3 / byte_rate
    check(all(at["started"] < t <= at["stopped"] for t, _ in done),
          "its %d completions are between its START and STOP" % len(done))
    check(first >= period,
          "its first capture period completed %.2f ms after START (period %.0f ms)"
          % (first, period))


def run_check(tmp, controls, streams=None):
    ctl = os.path.join(tmp, "control-%d.sock" % (daemons + 1))
    d = daemon(tmp, "--backend", "null", "--control", ctl, *(["--controls"] if controls else []),
               *(["--streams", streams] if streams else []))
    vsnd_ctl = os.path.join(os.path.dirname(VSND), "src", "ctl", "vsnd-ctl")
    try:
        r = drive(str(d.sock), "check", *(["--controls"] if controls else []),
                  "--jack-cmd", "%s %s jack" % (vsnd_ctl, ctl), timeout=60)
    finally:
        d.stop()
    lines = r.stdout.splitlines()
    fails = [l for l in lines if l.startswith("FAIL")]
    for l in fails:
        print("  " + l)
    warns = [l for l in lines if l.startswith("WARN")]
    for l in warns:
        print("  " + l)
    check(r.returncode == 0 and not fails and not warns and lines and
          " 0 failed" in lines[-1],
          "check%s%s passes against vsnd, no warning (%s)" % (
              " --controls" if controls else "", " --streams " + streams if streams else "",
              lines[-1] if lines else r.stderr.strip()))
    return lines


def test_check(tmp):
    lines = run_check(tmp, False)
    for clause in ("pcm.state", "pcm.release-flush", "io.rx-before-start", "io.rx-status",
                   "io.tx-pacing", "ctl.pcm-info", "event.xrun", "event.jack",
                   "pcm.reset-pending"):
        check(any(l.startswith("PASS") and clause in l for l in lines),
              "check ran clause " + clause)
    check(sum(1 for l in lines if "io.tx-pacing" in l) == 2, "both pacing patterns ran")
    # the TX and RX rings against what Linux may queue, then each filled
    check(sum(1 for l in lines if l.startswith("PASS") and "pcm.ring-capacity" in l) == 4,
          "ring capacity judged and filled for TX and RX")
    lines = run_check(tmp, True)
    check(sum(1 for l in lines if l.startswith("PASS") and "ctl.elem-write" in l) >= 4,
          "check --controls wrote and read back the controls")
    # Linux's rules (CVE-2026-64490's control limits, the rates it maps,
    # its 1 s per control request), with every stream of a large layout
    lines = run_check(tmp, True, "car")
    for clause in ("ctl.linux-limits", "pcm.linux-rates", "ctl.reply-time", "pcm.ring-capacity"):
        check(any(l.startswith("PASS") and clause in l for l in lines),
              "check ran clause " + clause)


TESTS = {"info": test_info, "play": test_play, "record": test_record, "check": test_check}


def main():
    tmp = tempfile.mkdtemp(prefix="vsnd-drive-")
    names = sys.argv[3:] or ["info", "play", "record"]
    try:
        for t in (TESTS[n] for n in names):
            sub = os.path.join(tmp, t.__name__)
            os.mkdir(sub)
            t(sub)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return TALLY.exit_status()


if __name__ == "__main__":
    sys.exit(main())
