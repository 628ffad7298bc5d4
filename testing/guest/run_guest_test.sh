#!/usr/bin/env bash
# Tests of the harness itself (run_guest.sh), against QEMU's reference
# virtiofsd so they do not depend on vfsd: the guest script's exit status and
# its $VFSD_OUT bytes reach the host intact, --add files arrive, a guest that
# never finishes is killed at --timeout (exit 124, no QEMU left behind), a
# dead --watch-pid daemon stops the guest early (125), and bad invocations
# fail fast with 125.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d "${TEST_TMPDIR:-/tmp}/run_guest_test.XXXXXX")" || exit 1
sockdir="$(mktemp -d /tmp/vfsd-rgt.XXXXXX)" || exit 1   # sun_path is 108 bytes
SOCK="$sockdir/sock"
daemon_pid=""
stop_daemon() {
  if [ -n "$daemon_pid" ]; then
    kill -KILL "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
    daemon_pid=""
  fi
  rm -f "$SOCK"
}
trap 'stop_daemon; rm -rf "$TMP" "$sockdir"' EXIT
trap 'exit 1' INT TERM HUP

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# The reference daemon serves one connection and exits: one per boot.
start_daemon() {
  stop_daemon
  /usr/lib/qemu/virtiofsd --socket-path="$SOCK" -o source="$TMP/share" -o cache=none \
    -o sandbox=chroot >>"$TMP/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 200); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
  echo "FAIL: virtiofsd did not listen on $SOCK: $(tail -n 5 "$TMP/daemon.log")" >&2
  exit 1
}

[ -x /usr/lib/qemu/virtiofsd ] || { echo "FAIL: /usr/lib/qemu/virtiofsd missing" >&2; exit 1; }
mkdir -p "$TMP/share"
printf 'from the host\n' >"$TMP/share/hello"

# 1. Status, output channel (binary-clean), --add files, the share's content.
head -c 3000 /dev/urandom >"$TMP/blob"
cat >"$TMP/status.sh" <<'EOF'
cat "$VFSD_FILES/blob" >"$VFSD_OUT"
[ "$(cat hello)" = "from the host" ] || exit 99
[ "$(pwd)" = "$VFSD_MNT" ] || exit 98
exit 7
EOF
start_daemon
"$here/run_guest.sh" --socket "$SOCK" --script "$TMP/status.sh" --add "$TMP/blob" \
  --timeout 300 --output "$TMP/out" --console "$TMP/console1" 2>"$TMP/run1.err"
rc=$?
[ $rc -eq 7 ] || fail "guest script status: got $rc, want 7 ($(cat "$TMP/run1.err"))"
cmp -s "$TMP/blob" "$TMP/out" || fail "\$VFSD_OUT bytes differ from what the guest wrote"
grep -q 'VFSD-GUEST-RESULT: 7' "$TMP/console1" || fail "no marker line on the console"

# 2. Timeout: the guest sleeps forever; QEMU must be killed and gone.
printf 'sleep 100000\n' >"$TMP/hang.sh"
start_daemon
"$here/run_guest.sh" --socket "$SOCK" --script "$TMP/hang.sh" --timeout 4 \
  --workdir "$TMP/hangwork" 2>"$TMP/run2.err"
rc=$?
[ $rc -eq 124 ] || fail "timeout: got $rc, want 124"
grep -q 'TIMEOUT' "$TMP/run2.err" || fail "timeout: no TIMEOUT reason printed"
# QEMU's command line names the initrd in the workdir we chose.
if pgrep -f "$TMP/hangwork/initrd" >/dev/null; then fail "QEMU still running after the timeout"; fi

# 3. The daemon dies mid-run: the guest is stopped long before --timeout.
start_daemon
sleep 3 &
fake_daemon=$!
# (A timeout would exit 124, so 125 + the reason proves the early stop.)
"$here/run_guest.sh" --socket "$SOCK" --script "$TMP/hang.sh" --timeout 300 \
  --watch-pid "$fake_daemon" 2>"$TMP/run3.err"
rc=$?
[ $rc -eq 125 ] || fail "dead daemon: got $rc, want 125"
grep -q "daemon (pid $fake_daemon) exited" "$TMP/run3.err" || fail "dead daemon: reason not printed"

# 4. Bad invocations fail before booting anything.
stop_daemon
"$here/run_guest.sh" --socket "$SOCK" --script "$TMP/status.sh" 2>"$TMP/run4.err"
rc=$?
[ $rc -eq 125 ] || fail "missing socket: got $rc, want 125"
grep -q 'not a listening unix socket' "$TMP/run4.err" || fail "missing socket: reason not printed"
"$here/run_guest.sh" --bogus 2>/dev/null
[ $? -eq 125 ] || fail "unknown flag: want 125"

if [ $failures -ne 0 ]; then
  echo "---- daemon log ----" >&2; tail -n 20 "$TMP/daemon.log" >&2
  exit 1
fi
echo "PASS"
