#!/bin/bash
# CI wrapper for one libFuzzer target (an sh_test; see README.md): builds the
# target with clang from the workspace source tree (build_fuzzer.sh, cached
# across runs), replays the seed corpus, fuzzes for a bounded time, and
# fails on any crash, leak, timeout or invariant violation, printing the
# reproducer so it can be replayed by hand.
#
# Usage: fuzz_test.sh <target> <seconds>
#        fuzz_test.sh <target> known-bugs   replays corpus/known_bugs/<target>-*
#          with the harness' known-bug workarounds off; fails until fixed.
# VFSD_FUZZ_SECONDS overrides <seconds> (--config=fuzz sets it).
set -euo pipefail

target="$1"
seconds="${VFSD_FUZZ_SECONDS:-${2:-20}}"
[[ "${2:-}" == known-bugs ]] && seconds=known-bugs

# The runfiles entry of this script is a symlink chain ending in the source
# tree (tests run with --spawn_strategy=local); its grandparent's parent is
# the workspace root.
self="$(readlink -f "${BASH_SOURCE[0]}")"
ws="$(cd "$(dirname "$self")/../.." && pwd)"
if [[ ! -f "$ws/transport/virtqueue.h" || ! -f "$ws/protocol/fuse_session.h" ]]; then
  echo "fuzz_test.sh: cannot find the workspace from $self" >&2
  exit 1
fi

tmp="${TEST_TMPDIR:-$(mktemp -d)}"
if [[ -z "${VFSD_FUZZ_CACHE:-}" ]]; then
  export VFSD_FUZZ_CACHE=/var/tmp/vfsd-fuzz-cache
  # A sandboxed or read-only /var/tmp just costs a full build each run.
  mkdir -p "$VFSD_FUZZ_CACHE" 2>/dev/null && [[ -w "$VFSD_FUZZ_CACHE" ]] ||
    VFSD_FUZZ_CACHE="$tmp/fuzz-cache"
fi

bin="$("$ws/testing/fuzz/build_fuzzer.sh" "$ws" "$target")"

if [[ "$seconds" == known-bugs ]]; then
  status=0
  for input in "$ws/testing/fuzz/corpus/known_bugs/$target"-*; do
    [[ -f "$input" ]] || continue
    echo "=== replaying $input"
    VFSD_FUZZ_KNOWN_BUGS=1 "$bin" -timeout=10 "$input" 2>&1 | tail -n 30 || status=1
  done
  exit "$status"
fi

artifacts="${TEST_UNDECLARED_OUTPUTS_DIR:-$tmp}"
work="$tmp/corpus-$target"
mkdir -p "$work" "$artifacts"
case "$target" in
  virtqueue_fuzzer) max_len=65560 ;;  # header + two 32 KiB regions
  *) max_len=8192 ;;
esac
log="$tmp/$target.log"
set +e
# New units go to $work (first dir); the checked-in seeds are only read.
# -timeout: one input taking 10 s is a hang. ASan's leak checker is on.
# A fixed seed keeps CI runs comparable; VFSD_FUZZ_SEED=0 picks a random one.
"$bin" -seed="${VFSD_FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
  -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$work" "$ws/testing/fuzz/corpus/$target" >"$log" 2>&1
rc=$?
set -e
grep -E '^(#[0-9]+ +(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb|Done )' \
  "$log" || true
if ((rc != 0)); then
  echo "=== $target FAILED (exit $rc); last lines of the log:" >&2
  tail -n 60 "$log" >&2
  for crash in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* \
               "$artifacts"/oom-* "$artifacts"/slow-unit-*; do
    [[ -f "$crash" ]] || continue
    echo "=== reproducer $crash (base64):" >&2
    base64 -w0 "$crash" >&2
    echo >&2
    echo "replay: $bin $crash   (or see testing/fuzz/README.md)" >&2
  done
  exit 1
fi
echo "$target: OK ($(grep -c . <(ls "$work")) new units in ${seconds}s)"
