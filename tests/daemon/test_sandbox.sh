#!/usr/bin/env bash
# The vsnd seccomp sandbox and --user: on by default for the built-in
# backends (/proc/PID/status says Seccomp: 2), off with --sandbox=off; a
# forbidden system call (execve) kills vsnd with one log line and exit
# status 159; a refused one (socket) fails with EPERM and vsnd goes on; as
# root, --user drops to that user after binding and hands it both sockets
# (the frontend's and --control's, still 0600), and that user's vsnd-ctl
# reaches the control socket; a --control path that is a symlink is refused.
# Usage: test_sandbox.sh VSND [VSND_CTL]
set -uo pipefail
vsnd=$1
ctl=${2:-}
dir=$(mktemp -d)
chmod 755 "$dir"
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# start [ENV=VAL...] -- ARGS: vsnd on $dir/s, backend null; waits for the socket
start() {
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -f "$dir/s"
  env "${envs[@]}" "$vsnd" --socket "$dir/s" --backend null "$@" >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q 'sandbox: \|running as\|forbidden' "$dir/log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  sleep 0.2
}
# stop: SIGTERM, returns vsnd's exit status
stop() {
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"
  local rc=$?
  pid=
  return $rc
}
seccomp_mode() { awk '/^Seccomp:/ {print $2}' "/proc/$pid/status"; }

start --
if [ "$(seccomp_mode)" = 2 ]; then ok "sandbox on by default (Seccomp: 2)"; else bad "default: Seccomp: $(seccomp_mode)"; cat "$dir/log"; fi
grep -q 'sandbox: seccomp allowlist active' "$dir/log" && ok "logged" || bad "no sandbox log line"
stop && ok "exits 0 on SIGTERM under the sandbox" || bad "exit status $? on SIGTERM under the sandbox"

start -- --sandbox=off
if [ "$(seccomp_mode)" = 0 ]; then ok "--sandbox=off: Seccomp: 0"; else bad "--sandbox=off: Seccomp: $(seccomp_mode)"; fi
stop || bad "--sandbox=off: exit status $?"

start VSND_SANDBOX_SELFTEST=exec --
wait "$pid"; rc=$?; pid=
if [ $rc = 159 ]; then ok "execve kills vsnd (exit status 159)"; else bad "execve: exit status $rc, want 159"; fi
if grep -q 'vsnd: sandbox: forbidden system call [0-9]*, exiting' "$dir/log"; then
  ok "and logs: $(grep -o 'forbidden system call [0-9]*' "$dir/log")"
else bad "no log line for the forbidden call"; cat "$dir/log"; fi

start VSND_SANDBOX_SELFTEST=socket --
if grep -q 'socket() = -1 (Operation not permitted)' "$dir/log"; then ok "socket() refused with EPERM"; else bad "socket() not refused"; cat "$dir/log"; fi
kill -0 "$pid" 2>/dev/null && ok "vsnd still running after a refused call" || bad "vsnd died after a refused call"
stop || bad "after a refused call: exit status $?"

"$vsnd" --socket "$dir/s" --sandbox=maybe >"$dir/log" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "'--sandbox' takes on or off" "$dir/log" && ok "--sandbox=maybe is a usage error" || bad "--sandbox=maybe: status $rc"

ln -s "$dir/elsewhere" "$dir/c-link"
"$vsnd" --socket "$dir/s" --backend null --control "$dir/c-link" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then bad "--control on a symlink: vsnd runs"; stop
else
  wait "$pid"; pid=
  grep -q 'c-link is a symbolic link' "$dir/log" && [ ! -e "$dir/elsewhere" ] &&
    ok "--control on a symlink refused, nothing created at its target" ||
    { bad "--control on a symlink"; cat "$dir/log"; }
fi
rm -f "$dir/c-link"

# owner_mode PATH: "user mode", e.g. "nobody 600"
owner_mode() { stat -c '%U %a' "$1"; }
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  start -- --user nobody --control "$dir/c"
  uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$pid/status")
  want=$(id -u nobody)
  [ "$uid" = "$want$want$want$want" ] && ok "--user nobody: every uid is $want" || bad "--user nobody: Uid: $uid"
  [ "$(awk '/^Groups:/ {print $2}' "/proc/$pid/status")" = "" ] && ok "no supplementary groups" || bad "groups kept"
  for sock in s c; do
    [ -S "$dir/$sock" ] && [ "$(owner_mode "$dir/$sock")" = "nobody 600" ] &&
      ok "socket $sock: nobody's, mode 0600" || bad "socket $sock: $(owner_mode "$dir/$sock" 2>&1)"
  done
  [ "$(seccomp_mode)" = 2 ] && ok "and sandboxed" || bad "--user: not sandboxed"
  if [ -n "$ctl" ] && command -v runuser >/dev/null; then
    # no frontend yet: the daemon answers so, which only a reachable socket can
    out=$(runuser -u nobody -- "$ctl" "$dir/c" status 2>&1)
    case $out in
    *"no frontend connected"*) ok "vsnd-ctl status as nobody reaches the daemon" ;;
    *) bad "vsnd-ctl status as nobody: $out" ;;
    esac
    out=$(runuser -u daemon -- "$ctl" "$dir/c" status 2>&1)
    case $out in
    *"no frontend connected"*) bad "another user (daemon) reaches the control socket" ;;
    *) ok "another user is kept out: ${out%%$'\n'*}" ;;
    esac
  else
    echo "skip: vsnd-ctl as nobody (no vsnd-ctl given or no runuser)"
  fi
  stop || bad "--user: exit status $?"
else
  echo "skip: --user (not root)"
fi

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
