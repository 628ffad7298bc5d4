#!/usr/bin/env bash
# End-to-end read test against a real Linux guest: builds a host tree (nested
# dirs, a 5 MB random file, symlinks, a hard link, a fifo, a 2000-entry dir,
# files with distinct modes/owners/mtimes), serves it with a virtio-fs daemon,
# boots one QEMU guest that mounts it and prints a canonical view of it
# (canonical_view.sh), and requires that view to equal the host's exactly.
#
# Daemon under test: --daemon=SPEC, else env VFSD_GUEST_DAEMON
#   unset / "vfsd"  //daemon:vfsd from the runfiles (or bazel-bin by hand)
#   "reference"     /usr/lib/qemu/virtiofsd (QEMU's C daemon)
#   anything else   a command template; {socket} and {dir} are replaced, e.g.
#                   "/path/to/vfsd --socket-path={socket} --shared-dir={dir}"
# Other env: VFSD_GUEST_TIMEOUT (guest boot limit, s, default 300),
# VFSD_TEST_CACHE (kernel cache dir), TEST_TMPDIR (scratch, set by Bazel).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
t_start=$(date +%s.%N)
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "guest_read_test: $*" >&2; }

# --- scratch space, cleaned up on every exit path -----------------------------
base_tmp="${TEST_TMPDIR:-${TMPDIR:-/tmp}}"
TMP="$(mktemp -d "$base_tmp/guest_read.XXXXXX")" || fail "mktemp in $base_tmp"
# sun_path holds 108 bytes; Bazel's TEST_TMPDIR can be longer than that.
sockdir="$TMP"
if [ ${#sockdir} -gt 90 ]; then
  sockdir="$(mktemp -d /tmp/vfsd-gt.XXXXXX)" || fail "mktemp for the socket"
fi
SOCK="$sockdir/vhost-user-fs.sock"
SHARE="$TMP/share"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
  fi
  # Keep the evidence where Bazel collects it (bazel-testlogs/.../outputs).
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    cp "$TMP"/*.log "$TMP"/*.view "$TMP"/*.diff "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
  fi
  [ "$sockdir" != "$TMP" ] && rm -rf "$sockdir"
  rm -rf "$TMP"
}
trap cleanup EXIT
# run_guest.sh and the daemon are killed by their own traps/cleanup.
trap 'exit 1' INT TERM HUP

# --- which daemon -------------------------------------------------------------
daemon_spec="${VFSD_GUEST_DAEMON:-vfsd}"
for arg in "$@"; do
  case "$arg" in
    --daemon=*) daemon_spec="${arg#--daemon=}" ;;
    *) fail "unknown argument '$arg' (only --daemon=SPEC)" ;;
  esac
done
# shellcheck source=daemon_command.sh
. "$here/daemon_command.sh"
daemon_command "$daemon_spec" "$SOCK" "$SHARE" "" ""
note "daemon: ${daemon_cmd[*]}"

# --- the host tree --------------------------------------------------------------
# Every kind of entry a read-only client meets, with attributes chosen so a
# daemon that drops or mangles one (nanoseconds, setuid bits, owners, nlink)
# shows up in the diff.
build_tree() {
  set -e
  mkdir -p "$SHARE"
  cd "$SHARE"
  mkdir -p nested/a/b/c/d empty_dir many
  echo "deepest file" >nested/a/b/c/d/deep.txt
  echo "level b" >nested/a/b/b.txt
  printf 'no trailing newline' >nested/a/a.txt
  head -c 5242880 /dev/urandom >big.bin
  head -c 1234567 /dev/urandom >nested/a/odd_size.bin   # not a page multiple
  : >empty_file
  ln -s nested/a/b/c/d/deep.txt link
  ln -s nested/a/b dirlink
  ln -s does/not/exist dangling
  ln -s "$(printf 'x%.0s' $(seq 1 200))" long_target_link   # 200-byte target
  echo "two names" >hard1
  ln hard1 nested/hard2
  mkfifo fifo
  # 2000 entries: many READDIRPLUS replies. Mostly empty files: every
  # non-empty file costs an OPEN/READ/RELEASE round trip in the (slow) guest.
  (cd many && seq -f 'f%04g' 0 1998 | xargs touch)
  for i in 0000 0100 0999 1998; do echo "entry $i" >"many/f$i"; done
  mkdir many/subdir
  echo "mode 600" >mode600; chmod 600 mode600
  echo "mode 755" >mode755; chmod 755 mode755
  echo "mode 444" >mode444; chmod 444 mode444
  echo "setuid"   >mode4755; chmod 4755 mode4755
  echo "sticky"   >mode1640; chmod 1640 mode1640
  chmod 700 empty_dir
  touch -h -d '2001-02-03 04:05:06.123456789 UTC' mode600 link
  touch -d '1999-12-31 23:59:59.999999999 UTC' mode755
  touch -d '2038-01-19 03:14:08.5 UTC' mode444            # past 32-bit time_t
  touch -d '1970-01-02 00:00:00 UTC' empty_file
  if [ "$(id -u)" -eq 0 ]; then
    echo "owned by 1234:5678" >owned; chown 1234:5678 owned
    chown -h 4321:8765 dangling
  else
    echo "NOTE: not root, so no files with foreign owners (uid/gid passthrough untested)" >&2
  fi
  # Directory mtimes last: creating entries above changed them.
  touch -d '2010-10-10 10:10:10.010101010 UTC' nested/a/b/c empty_dir many
}
t0=$(date +%s.%N)
# Not `( build_tree ) || fail`: bash ignores set -e inside a tested command.
( build_tree )
[ $? -eq 0 ] || fail "could not build the host tree in $SHARE"
[ "$(ls -A "$SHARE/many" | wc -l)" -eq 2000 ] || fail "host tree: many/ does not have 2000 entries"
host_sha="$(sha256sum "$SHARE/big.bin" | cut -d' ' -f1)"

# The host's view, taken with the same busybox and script the guest uses.
(cd "$SHARE" && TZ=UTC busybox sh "$here/canonical_view.sh" .) >"$TMP/host.view" 2>"$TMP/host_view.log" \
  || fail "canonical_view.sh failed on the host: $(cat "$TMP/host_view.log")"

# --- the daemon -------------------------------------------------------------------
"${daemon_cmd[@]}" >"$TMP/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 200); do
  [ -S "$SOCK" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.05
done
if [ ! -S "$SOCK" ]; then
  kill -0 "$daemon_pid" 2>/dev/null && state="still running" || state="exited"
  fail "daemon did not create $SOCK within 10s ($state); its log:
$(tail -n 30 "$TMP/daemon.log")"
fi

# --- one boot for every check -------------------------------------------------------
t1=$(date +%s.%N)
"$here/run_guest.sh" --socket "$SOCK" --script "$here/guest_read_check.sh" \
  --add "$here/canonical_view.sh" --timeout "${VFSD_GUEST_TIMEOUT:-300}" \
  --console "$TMP/console.log" --output "$TMP/guest.view.gz" --workdir "$TMP/guest" \
  --watch-pid "$daemon_pid"
guest_rc=$?
t2=$(date +%s.%N)
secs() { awk -v s="$1" -v e="$2" 'BEGIN{printf "%.1f", e-s}'; }
note "tree setup $(secs "$t0" "$t1")s, guest boot+checks $(secs "$t1" "$t2")s"

daemon_tail() { echo "---- daemon log tail ($TMP/daemon.log) ----"; tail -n 30 "$TMP/daemon.log"; }
# Every problem found, so one failing run explains as much as it can.
problems=()
problem() { problems+=("$*"); }

case $guest_rc in
  0)
    # run_guest.sh shows the console only when something failed; show the
    # sample on success too (without SeaBIOS's terminal escapes).
    echo "---- guest console (ttyS0) ----" >&2
    tr -d '\r' <"$TMP/console.log" | sed 's/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g' >&2
    echo "----" >&2
    ;;
  124) daemon_tail >&2; fail "the guest timed out (VFSD_GUEST_TIMEOUT=${VFSD_GUEST_TIMEOUT:-300}s)" ;;
  125) daemon_tail >&2; fail "the guest never reported its status: the daemon died, the guest kernel panicked or QEMU failed (see above)" ;;
  200) daemon_tail >&2; fail "the guest could not load the virtio-fs modules" ;;
  201) daemon_tail >&2; fail "the guest could not mount the virtio-fs share" ;;
  202) fail "harness bug: the guest script was not in the initramfs" ;;
  203) problem "the guest could not unmount the share" ;;
  *) problem "a command failed in the guest (status $guest_rc; its errors are on the console above)" ;;
esac

# --- compare ------------------------------------------------------------------------
# The guest gzips its view: serial output is slow under TCG.
if [ ! -s "$TMP/guest.view.gz" ]; then
  problem "the guest produced no view (serial channel empty)"
elif ! gunzip -c "$TMP/guest.view.gz" >"$TMP/guest.view" 2>"$TMP/gunzip.log"; then
  problem "the guest's view did not arrive intact over ttyS1: $(cat "$TMP/gunzip.log")"
else
  if ! diff -u "$TMP/host.view" "$TMP/guest.view" >"$TMP/view.diff"; then
    echo "---- host view (-) vs guest view (+), first 80 diff lines ----" >&2
    head -n 80 "$TMP/view.diff" >&2
    problem "the guest's view of the share differs from the host's ($(grep -c '^[-+][^-+]' "$TMP/view.diff") differing lines)"
  fi
  guest_sha="$(sed -n 's|^\([0-9a-f]\{64\}\)  \./big\.bin$|\1|p' "$TMP/guest.view")"
  [ "$guest_sha" = "$host_sha" ] \
    || problem "big.bin sha256: guest '$guest_sha', host (coreutils) '$host_sha'"
  guest_many="$(grep -c '^\./many/[^/|]*|' "$TMP/guest.view")"
  [ "$guest_many" -eq 2000 ] || problem "the guest lists $guest_many entries in many/, the host 2000"
fi

# A read-only workload must leave the host tree exactly as it was (atime aside).
(cd "$SHARE" && TZ=UTC busybox sh "$here/canonical_view.sh" .) >"$TMP/host_after.view" 2>/dev/null
diff -u "$TMP/host.view" "$TMP/host_after.view" >"$TMP/host_changed.diff" \
  || problem "the host tree changed during the guest's reads: $(head -n 20 "$TMP/host_changed.diff")"

if [ ${#problems[@]} -gt 0 ]; then
  daemon_tail >&2
  for p in "${problems[@]}"; do echo "FAIL: $p" >&2; done
  exit 1
fi
note "PASS: guest view == host view ($(wc -l <"$TMP/guest.view") lines), big.bin sha256 $host_sha; total $(secs "$t_start" "$(date +%s.%N)")s"
