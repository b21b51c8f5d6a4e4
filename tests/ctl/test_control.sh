#!/usr/bin/env bash
# The runtime control path, end to end without a VM: vsnd with a layout and
# a --control socket, vsnd-drive as the frontend and driver, vsnd-ctl as the
# user. Checks the layout the driver sees, status while playing, jack
# hotplug, volume and mute, and every kind of bad command.
set -euo pipefail
VSND=$1 CTL=$2 DRIVE=$3
D=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect RC PATTERN -- command...
  local want=$1 pat=$2 out rc
  shift 3
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, wanted $want: $out"
  grep -qE -- "$pat" <<<"$out" || fail "'$*' printed '$out', wanted /$pat/"
}

"$VSND" --socket "$D/s.sock" --control "$D/c.sock" --backend null --streams car 2>"$D/log" &
pid=$!
for _ in $(seq 50); do [ -S "$D/c.sock" ] && [ -S "$D/s.sock" ] && break; sleep 0.1; done
[ "$(stat -c %a "$D/c.sock")" = 600 ] || fail "control socket mode is not 0600"

expect 1 'no frontend connected' -- "$CTL" "$D/c.sock" status
expect 2 'cannot connect' -- "$CTL" "$D/nope.sock" status
expect 2 'Usage' -- "$CTL" "$D/c.sock"

# the layout as the driver sees it: 6 streams, 6 jacks, one HP jack on nid 2
"$DRIVE" "$D/s.sock" info --json >"$D/info.json"
python3 - "$D/info.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
def find(key):
    if isinstance(info.get(key), list): return info[key]
    return info.get('config', {}).get(key)
streams, jacks = find('streams'), find('jacks')
assert len(streams) == 6, streams
assert len(jacks) == 6, jacks
assert sum(1 for s in streams if s.get('direction') in ('input', 'in', 1)) == 2, streams
print('layout ok:', len(streams), 'streams,', len(jacks), 'jacks')
PY

# a frontend that stays: play 3 s, and control the device meanwhile
sox -n -r 48000 -c 2 -b 16 -e signed "$D/tone.wav" synth 3 sine 440 gain -6
"$DRIVE" "$D/s.sock" play "$D/tone.wav" --stream 0 -q &
play=$!
for _ in $(seq 50); do
  "$CTL" "$D/c.sock" status 2>/dev/null | grep -q 'stream 0 out started' && break
  sleep 0.1
done
expect 0 'stream 0 out started S16_LE 2ch 48000Hz' -- "$CTL" "$D/c.sock" status
expect 0 'jack 5 plugged' -- "$CTL" "$D/c.sock" status
expect 0 '^ok' -- "$CTL" "$D/c.sock" jack 2 unplug
expect 0 'jack 2 unplugged' -- "$CTL" "$D/c.sock" status
expect 0 '^ok' -- "$CTL" "$D/c.sock" volume 0 50
expect 0 '^ok' -- "$CTL" "$D/c.sock" mute 1 on
expect 0 'stream 0 .* volume 50' -- "$CTL" "$D/c.sock" status
expect 0 'stream 1 .* muted' -- "$CTL" "$D/c.sock" status
expect 1 'no jack 9' -- "$CTL" "$D/c.sock" jack 9 plug
expect 1 'usage: jack' -- "$CTL" "$D/c.sock" jack 1 sideways
expect 1 'no stream 7' -- "$CTL" "$D/c.sock" volume 7 10
expect 1 '0..100' -- "$CTL" "$D/c.sock" volume 0 101
expect 1 'usage: mute' -- "$CTL" "$D/c.sock" mute 0 maybe
expect 1 'unknown command' -- "$CTL" "$D/c.sock" reboot
wait "$play" || fail "vsnd-drive play failed while being controlled"

# a client that connects and says nothing does not stall the daemon
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); import time; time.sleep(1)" "$D/c.sock" &
mute=$!
sleep 0.2
expect 1 'no frontend connected' -- "$CTL" "$D/c.sock" status
wait "$mute"

# clients that dribble their line a byte at a time are read as the bytes come:
# another client is answered meanwhile, and each dribbler gets its answer (a
# daemon that waited on one client would hold the others for 4 s)
python3 - "$D/c.sock" >"$D/dribble.out" <<'PY' &
import socket, sys, time
socks = []
for _ in range(4):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
for ch in b'status\n':
    for s in socks:
        s.send(bytes([ch]))
        time.sleep(0.15)
for s in socks:
    print(s.makefile().read().strip())
PY
dribble=$!
sleep 0.5
expect 1 'no frontend connected' -- timeout 2 "$CTL" "$D/c.sock" status
wait "$dribble" || fail "the dribbling clients failed"
[ "$(grep -c 'no frontend connected' "$D/dribble.out")" = 4 ] ||
  fail "dribbling clients' answers: $(cat "$D/dribble.out")"

kill -TERM "$pid"; wait "$pid" || fail "vsnd exited non-zero"; pid=
[ ! -e "$D/c.sock" ] || fail "control socket left behind"
grep -q 'control: jack 2 unplugged' "$D/log" || fail "jack change not logged"
echo "control socket: all checks passed"
