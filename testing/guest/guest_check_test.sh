#!/usr/bin/env bash
# Host driver of the check-list guest tests (guest_posix_test,
# guest_integrity_test, guest_escape_test, guest_build_test): prepares a share (and, for
# escape, a directory beside it the guest must never reach), starts the
# daemon, boots ONE guest that runs the suite's script with the static check
# programs, and collects the "ok NAME" / "FAIL NAME: expected X got Y" lines
# the guest sends over its output channel. Fails on any FAIL line, a missing
# "done" line, a failed guest script, or a host-side post-check.
#
# Usage: guest_check_test.sh --suite=posix|integrity|escape|build [--daemon=SPEC]
#                             [--vfsd-flags="FLAGS"]  (more vfsd flags, e.g. the
#                             Cloud Hypervisor guide's --thread-pool-size=4)
# A suite is guest_SUITE_check.sh (guest side), guest_SUITE_host.sh (host
# side: suite_prepare, suite_during_boot, suite_verify; may add --add files
# to `adds` and run_guest.sh flags to `suite_guest_args`, e.g. --hostroot)
# and, if it has one, SUITE_checks.c (built static, in the guest as
# $VFSD_FILES/SUITE_checks).
# Daemon: --daemon=SPEC or env VFSD_GUEST_DAEMON, as in guest_read_test.sh:
#   vfsd (default) | reference | a template with {socket} and {dir}.
# Env: VFSD_GUEST_TIMEOUT (default 300 s), VFSD_TEST_CACHE, VFSD_SEED
# (integrity workload seed, default 1), TEST_TMPDIR.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
t_start=$(date +%s.%N)
suite="" daemon_spec="${VFSD_GUEST_DAEMON:-vfsd}" vfsd_flags=""
fail() { echo "FAIL: $*" >&2; exit 1; }
for arg in "$@"; do
  case "$arg" in
    --suite=*) suite="${arg#--suite=}" ;;
    --daemon=*) daemon_spec="${arg#--daemon=}" ;;
    --vfsd-flags=*) vfsd_flags="${arg#--vfsd-flags=}" ;;
    *) fail "unknown argument '$arg' (--suite=NAME [--daemon=SPEC] [--vfsd-flags=FLAGS])" ;;
  esac
done
case "$suite" in posix|integrity|escape|build) ;; *) fail "--suite must be posix, integrity, escape or build" ;; esac
note() { echo "guest_${suite}_test: $*" >&2; }

# --- scratch space, cleaned up on every exit path -----------------------------
base_tmp="${TEST_TMPDIR:-${TMPDIR:-/tmp}}"
TMP="$(mktemp -d "$base_tmp/guest_$suite.XXXXXX")" || fail "mktemp in $base_tmp"
sockdir="$TMP"
# sun_path holds 108 bytes; Bazel's TEST_TMPDIR can be longer than that.
if [ ${#sockdir} -gt 90 ]; then sockdir="$(mktemp -d /tmp/vfsd-gc.XXXXXX)" || fail "mktemp"; fi
SOCK="$sockdir/vhost-user-fs.sock"
# The share and, beside it, what the escape suite guards: the reference
# daemon's chroot and vfsd's --shared-dir are both $SHARE, so anything under
# $OUTSIDE is "the host" to the guest.
SHARE="$TMP/box/share"
OUTSIDE="$TMP/box/outside"
mkdir -p "$SHARE" "$OUTSIDE" "$TMP/guest"
daemon_pid="" racer_pid=""
stop_pid() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  stop_pid "$racer_pid"
  stop_pid "$daemon_pid"
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    cp "$TMP"/*.log "$TMP"/*.txt "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
  fi
  [ "$sockdir" != "$TMP" ] && rm -rf "$sockdir"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- which daemon -------------------------------------------------------------
# vfsd with its default sandbox (namespace + pivot_root) and seccomp filter.
# shellcheck source=daemon_command.sh
. "$here/daemon_command.sh"
# Later flags win, so --vfsd-flags may override --cache=auto.
daemon_command "$daemon_spec" "$SOCK" "$SHARE" "--xattr $vfsd_flags" \
  "-o xattr -o posix_lock -o flock"
note "daemon: ${daemon_cmd[*]}"

# --- the suite's programs and host-side preparation ---------------------------
build() {  # build_static.sh caches by source hash; copy under a stable name
  local bin
  bin="$("$here/build_static.sh" "$here/$1.c" "$here/guest_check.h")" || fail "cannot compile $1.c"
  cp "$bin" "$TMP/guest/$1"
  adds+=(--add "$TMP/guest/$1")
}
adds=()
suite_guest_args=()
[ -f "$here/${suite}_checks.c" ] && build "${suite}_checks"
source "$here/guest_${suite}_host.sh" || fail "cannot load guest_${suite}_host.sh"
t0=$(date +%s.%N)
( suite_prepare )
[ $? -eq 0 ] || fail "host preparation of the $suite suite failed"

# --- the daemon -----------------------------------------------------------------
"${daemon_cmd[@]}" >"$TMP/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 200); do
  [ -S "$SOCK" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.05
done
[ -S "$SOCK" ] || fail "daemon did not create $SOCK within 10s; its log:
$(tail -n 30 "$TMP/daemon.log")"

# --- one boot for the whole suite ------------------------------------------------
suite_during_boot   # e.g. the escape suite's host-side racer (sets racer_pid)
t1=$(date +%s.%N)
"$here/run_guest.sh" --socket "$SOCK" --script "$here/guest_${suite}_check.sh" "${adds[@]}" \
  --timeout "${VFSD_GUEST_TIMEOUT:-300}" --console "$TMP/console.log" --output "$TMP/results.txt" \
  --workdir "$TMP/guest/run" --watch-pid "$daemon_pid" "${suite_guest_args[@]}"
guest_rc=$?
t2=$(date +%s.%N)
stop_pid "$racer_pid"; racer_pid=""
secs() { awk -v s="$1" -v e="$2" 'BEGIN{printf "%.1f", e-s}'; }

problems=()
problem() { problems+=("$*"); }
case $guest_rc in
  0) ;;
  124) problem "the guest timed out (VFSD_GUEST_TIMEOUT=${VFSD_GUEST_TIMEOUT:-300}s)" ;;
  125) problem "the guest never reported its status (daemon died, panic or QEMU error)" ;;
  200|201|202|204) problem "the guest could not load the modules / mount / find its script / set up the host root (status $guest_rc)" ;;
  *) problem "the guest script failed with status $guest_rc (console: $TMP/console.log)" ;;
esac

# --- results ----------------------------------------------------------------------
tr -d '\r' <"$TMP/results.txt" >"$TMP/results.clean.txt"
echo "---- $suite checks reported by the guest ----" >&2
grep -E '^(ok|FAIL|skip|note|done) ' "$TMP/results.clean.txt" >&2
echo "----" >&2
n_ok=$(grep -c '^ok ' "$TMP/results.clean.txt")
n_fail=$(grep -c '^FAIL ' "$TMP/results.clean.txt")
grep -q '^done ' "$TMP/results.clean.txt" \
  || problem "the guest's check list ended early (no 'done' line): crash or timeout mid-suite"
[ "$n_fail" -eq 0 ] || problem "$n_fail guest check(s) failed (FAIL lines above)"
( suite_verify ) >"$TMP/host_checks.txt" 2>&1
[ $? -eq 0 ] || problem "host-side checks failed: $(grep FAIL "$TMP/host_checks.txt" | head -n 20)"
cat "$TMP/host_checks.txt" >&2

note "prepare $(secs "$t0" "$t1")s, guest boot+checks $(secs "$t1" "$t2")s, $n_ok ok, $n_fail FAIL; total $(secs "$t_start" "$(date +%s.%N)")s"
if [ ${#problems[@]} -gt 0 ]; then
  echo "---- daemon log tail ----" >&2; tail -n 20 "$TMP/daemon.log" >&2
  for p in "${problems[@]}"; do echo "FAIL: $p" >&2; done
  exit 1
fi
note "PASS"
