#!/usr/bin/env bash
# The vfsd command line: every bad input gets one clear line on stderr and a
# non-zero exit; --help documents the flags; SIGINT/SIGTERM remove the socket
# and exit 0.
set -u
VFSD="$(cd "$(dirname "$0")" && pwd)/vfsd"
[ -x "$VFSD" ] || VFSD="${TEST_SRCDIR:-.}/vfsd/daemon/vfsd"
# Under /tmp: a unix socket path must fit in 108 bytes.
TMP="$(mktemp -d /tmp/vfsd_cli.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
mkdir -p "$TMP/share"
failures=0
passes=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

# expect_error DESCRIPTION EXPECTED_SUBSTRING ARGS...
expect_error() {
  local what="$1" want="$2"; shift 2
  local err rc
  err="$("$VFSD" "$@" 2>&1 >/dev/null)"; rc=$?
  if [ $rc -eq 0 ]; then fail "$what: exit 0"; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then fail "$what: not one line: $err"; return; fi
  case "$err" in *"$want"*) pass ;; *) fail "$what: '$err' lacks '$want'" ;; esac
}

wait_for_socket() {
  for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.05; done
  return 1
}

expect_error "unknown flag" "unknown flag '--bogus'" --bogus --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "missing shared dir flag" "--shared-dir is required" --socket-path="$TMP/s"
expect_error "missing shared dir" "No such file" --socket-path="$TMP/s" --shared-dir="$TMP/nope"
touch "$TMP/file"
expect_error "shared dir not a dir" "not a directory" --socket-path="$TMP/s" --shared-dir="$TMP/file"
expect_error "missing socket path" "--socket-path" --shared-dir="$TMP/share"
expect_error "unknown backend" "unknown backend 'nosuch'" --backend=nosuch --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "bad cache mode" "--cache" --cache=sometimes --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "bad log level" "--log-level" --log-level=loud --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "bad sandbox" "--sandbox" --sandbox=jail --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "bad seccomp" "--seccomp" --seccomp=maybe --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "unknown capability" "unknown capability 'fly'" --modcaps=+fly --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "bad inode file handles mode" "--inode-file-handles" --inode-file-handles=sometimes --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "value on a boolean flag" "--posix-acl takes no value" --posix-acl=yes --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "bad uid mapping" "--translate-uid" --translate-uid=map:1:2 --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "overlapping gid mappings" "overlaps" --translate-gid=guest:0:100:10 --translate-gid=squash-guest:9:0:1 --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "translation with ACLs" "--posix-acl" --posix-acl --translate-uid=map:0:1000:1 --socket-path="$TMP/s" --shared-dir="$TMP/share"
expect_error "unwritable socket dir" "$TMP/nodir/s" --socket-path="$TMP/nodir/s" --shared-dir="$TMP/share"

# --help lists every flag and exits 0.
help="$("$VFSD" --help)" && pass || fail "--help exit status"
for flag in --socket-path --shared-dir --backend --cache --thread-pool-size --log-level \
    --xattr --posix-acl --security-label --writeback --announce-submounts --killpriv-v2 \
    --preserve-noatime --inode-file-handles --readonly --translate-uid --translate-gid; do
  case "$help" in *"$flag"*) pass ;; *) fail "--help lacks $flag" ;; esac
done
"$VFSD" --print-capabilities | grep -q '"type": "fs"' && pass || fail "--print-capabilities"

# A socket in use by a live daemon is refused with a clear error.
"$VFSD" --socket-path="$TMP/busy.sock" --shared-dir="$TMP/share" --log-level=error &
pids+=($!)
if wait_for_socket "$TMP/busy.sock"; then
  expect_error "socket in use" "in use" --socket-path="$TMP/busy.sock" --shared-dir="$TMP/share"
else
  fail "first daemon never created its socket"
fi

# SIGTERM and SIGINT remove the socket and exit 0.
for sig in TERM INT; do
  sock="$TMP/sig$sig.sock"
  "$VFSD" --socket-path="$sock" --shared-dir="$TMP/share" --log-level=error &
  pid=$!
  pids+=($pid)
  if ! wait_for_socket "$sock"; then fail "SIG$sig: no socket"; continue; fi
  kill -s "$sig" "$pid"
  wait "$pid"; rc=$?
  [ $rc -eq 0 ] && pass || fail "SIG$sig: exit status $rc"
  [ -e "$sock" ] && fail "SIG$sig: socket left behind" || pass
done

echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
