#!/bin/bash
# Produces every benchmark table docs/benchmarks.md shows, in one command:
# vfsd (default namespace sandbox + seccomp, via --vfsd=) side by side with
# the reference /usr/lib/qemu/virtiofsd (--reference), every workload at
# queue depth 1 and 16, with 1 and 2 request queues, split and indirect
# descriptors, cache=auto; once more with --thread-pool-size=4 on both
# daemons (the Cloud Hypervisor guide's command line); the memcpy baseline
# (three times: start, middle, end); and a verdict on each Performance
# target of issue 4.
#
#   testing/bench/run_tables.sh [OUT.md]      (default /tmp/vfsd-bench-tables.md)
#   DURATION=2s WARMUP=100 REPS=3 testing/bench/run_tables.sh
#
# Each configuration runs REPS times (default 3; vfsd and the reference back
# to back in each): every cell is the median of the runs, and each ratio the
# median of the per-run ratios with its range, because single runs on a
# shared VM swing by ±50 %.
#
# Builds with ./bazelw, then copies the binaries to a private directory so a
# concurrent rebuild cannot swap them mid-run. Raw results (JSON, full tool
# output) are kept next to the copies; the path is printed at the end.
# Takes about 20 minutes with the defaults (2 s per run, 3 runs).
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT="${1:-/tmp/vfsd-bench-tables.md}"
DURATION="${DURATION:-2s}"
REPS="${REPS:-3}"
WARMUP="${WARMUP:-100}"

./bazelw build //daemon:vfsd //testing/bench:vfsd_bench //testing/bench:memcpy_baseline \
    //testing/bench:syscall_cost
BIN="$(mktemp -d /tmp/vfsd-bench-run-XXXXXX)"
cp bazel-bin/daemon/vfsd bazel-bin/testing/bench/vfsd_bench \
   bazel-bin/testing/bench/memcpy_baseline bazel-bin/testing/bench/syscall_cost "$BIN/"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! git diff --quiet HEAD -- 2>/dev/null; then COMMIT="$COMMIT (+ uncommitted changes)"; fi

load() { cut -d' ' -f1-3 /proc/loadavg; }

memcpy_run() {  # label
  local hot spread
  local out
  out="$("$BIN/memcpy_baseline")"
  hot="$(sed -n 's/^memcpy 128 KiB, hot.*: *\([0-9.]*\) GB\/s/\1/p' <<<"$out")"
  spread="$(sed -n 's/^memcpy 128 KiB, from.*: *\([0-9.]*\) GB\/s/\1/p' <<<"$out")"
  echo "| $1 | $(load) | $hot | $spread |" >>"$BIN/memcpy.md"
  echo "$spread" >>"$BIN/memcpy_spread.txt"
}

(cd "$BIN" && ./syscall_cost) >"$BIN/syscall_cost.txt" 2>&1 || true
: >"$BIN/memcpy.md"
: >"$BIN/memcpy_spread.txt"
START="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
LOAD_START="$(load)"
memcpy_run start

run_config() {  # queues descriptors [pool threads]
  local q="$1" d="$2" pool="${3:-0}" name="q$1_$2"
  local daemons=(--vfsd="$BIN/vfsd" --reference)
  if [ "$pool" != 0 ]; then
    name="${name}_pool$pool"
    daemons=(
      --daemon="vfsd:$BIN/vfsd --socket-path={socket} --shared-dir={dir} --cache={cache} --log-level=warn --thread-pool-size=$pool"
      --daemon="virtiofsd:/usr/lib/qemu/virtiofsd --socket-path={socket} -o source={dir} -o cache={qemu_cache} -o sandbox=chroot --thread-pool-size=$pool"
    )
  fi
  echo "=== $q request queue(s), $d descriptors, thread pool $pool (load $(load))" >&2
  echo "$(load)" >"$BIN/$name.load_before"
  local r
  for r in $(seq "$REPS"); do
    "$BIN/vfsd_bench" "${daemons[@]}" --workloads=all \
        --queue-depths=1,16 --cache=auto --queues="$q" --descriptors="$d" \
        --duration="$DURATION" --warmup-ops="$WARMUP" --json="$BIN/$name.r$r.json" \
        >"$BIN/$name.r$r.out" 2>"$BIN/$name.r$r.err" ||
      echo "vfsd_bench exited $?" >>"$BIN/$name.r$r.err"
  done
  echo "$(load)" >"$BIN/$name.load_after"
}

run_config 1 split
run_config 1 indirect
memcpy_run middle
run_config 2 split
run_config 2 indirect
run_config 1 split 4
memcpy_run end
END="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"

python3 - "$BIN" "$OUT" "$START" "$END" "$LOAD_START" "$COMMIT" "$DURATION" "$WARMUP" "$REPS" <<'PY'
import glob, json, os, sys, platform, statistics, subprocess
bin_dir, out, start, end, load_start, commit, duration, warmup, reps = sys.argv[1:10]

def cpu_model():
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return 'unknown'

def fmt(v, digits=0):
    return 'n/a' if v is None else f'{v:,.{digits}f}'.replace(',', '')

# (queues, descriptors as keyed below, thread pool size); the pool run is
# keyed by descriptors 'split+pool4' so the helpers below stay two-keyed.
configs = [(1, 'split', 0), (1, 'indirect', 0), (2, 'split', 0), (2, 'indirect', 0),
           (1, 'split', 4)]
def key_d(d, pool):
    return d if pool == 0 else f'{d}+pool{pool}'
def file_name(q, d, pool):
    return f'q{q}_{d}' + (f'_pool{pool}' if pool else '')
# (q, d, workload, qd, daemon) -> the run's row, per repetition.
runs = {}
for q, d0, pool in configs:
    d = key_d(d0, pool)
    for path in sorted(glob.glob(os.path.join(bin_dir, file_name(q, d0, pool) + '.r*.json'))):
        rep = path.rsplit('.r', 1)[1].split('.')[0]
        for r in json.load(open(path)):
            runs.setdefault((q, d, r['workload'], r['queue_depth'], r['daemon']), {})[rep] = r

def ok(r):
    return r is not None and not r.get('error') and not r.get('not_applicable')

# One row per cell: the median of the good runs; an error in any run shows.
results = {}
for key, by_rep in runs.items():
    rows = list(by_rep.values())
    good = [r for r in rows if ok(r)]
    if not good:
        results[key] = rows[0]
        continue
    merged = dict(good[0])
    for k in ('ops_per_second', 'ops_per_cpu_second', 'p50_us', 'p99_us'):
        merged[k] = statistics.median(r[k] for r in good)
    bad = [r for r in rows if r.get('error')]
    if bad:
        merged['error'] = bad[0]['error']
    results[key] = merged

def value(r, key):
    if not ok(r):
        return None
    return r.get(key)

def cell(r, key, digits=0):
    if r is None:
        return 'missing'
    if r.get('not_applicable'):
        return 'n/a'
    if r.get('error'):
        return 'FAILED'
    return fmt(r.get(key), digits)

def ratio(a, b):
    return None if not a or not b else a / b

def run_ratios(q, d, wl, qd, key):
    """The per-repetition vfsd/reference ratios of one cell."""
    v = runs.get((q, d, wl, qd, 'vfsd'), {})
    r = runs.get((q, d, wl, qd, 'virtiofsd'), {})
    out = []
    for rep in v:
        if ok(v[rep]) and ok(r.get(rep)):
            x = ratio(v[rep].get(key), r[rep].get(key))
            if x is not None:
                out.append(x)
    return out

def med_ratio(q, d, wl, qd, key):
    xs = run_ratios(q, d, wl, qd, key)
    return statistics.median(xs) if xs else None

def ratio_cell(q, d, wl, qd, key):
    xs = run_ratios(q, d, wl, qd, key)
    if not xs:
        return 'n/a'
    m = statistics.median(xs)
    if len(xs) == 1:
        return f'{m:.2f}×'
    return f'{m:.2f}× ({min(xs):.2f}–{max(xs):.2f})'

workloads = sorted({k[2] for k in results})
spreads = [float(x) for x in open(os.path.join(bin_dir, 'memcpy_spread.txt')).read().split() if x]
memcpy_spread = sum(spreads) / len(spreads) if spreads else None

lines = []
w = lines.append
w(f'Run {start} → {end}; commit {commit}; `--duration={duration} --warmup-ops={warmup}`, '
  f'{reps} runs per configuration: each cell is the median of the runs, each ratio the median '
  f'of the per-run ratios (range in brackets).')
w('')
w(f'* Machine: `nproc` {os.cpu_count()}, {cpu_model()}, Linux {platform.release()}.')
w(f'* Load average (1/5/15 min) at the start: {load_start}; per table below.')
w('* vfsd: `--vfsd=` (default `--sandbox=namespace --seccomp=kill`); reference: '
  '`--reference` (QEMU 7.2 virtiofsd, `-o sandbox=chroot`, its seccomp on), cache=auto.')
w('* Ratio = vfsd ÷ reference. The reference serves one request queue only '
  '(`GET_QUEUE_NUM` = 2: hiprio + 1), so its 2-queue cells are n/a.')
w('')
for q, d0, pool in configs:
    d = key_d(d0, pool)
    name = file_name(q, d0, pool)
    try:
        lb = open(os.path.join(bin_dir, name + '.load_before')).read().strip()
        la = open(os.path.join(bin_dir, name + '.load_after')).read().strip()
    except OSError:
        lb = la = '?'
    pool_note = f', `--thread-pool-size={pool}` on both daemons' if pool else ''
    w(f'### {q} request queue{"s" if q > 1 else ""}, {d0} descriptors{pool_note} '
      f'(load {lb} → {la})')
    w('')
    w('| workload | QD | vfsd ops/s | ref ops/s | ops/s ratio | vfsd ops/CPU-s | ref ops/CPU-s | ops/CPU-s ratio | vfsd p50/p99 µs | ref p50/p99 µs |')
    w('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for wl in workloads:
        for qd in (1, 16):
            v = results.get((q, d, wl, qd, 'vfsd'))
            r = results.get((q, d, wl, qd, 'virtiofsd'))
            if v is None and r is None:
                continue
            lat = lambda x: (f"{cell(x, 'p50_us')} / {cell(x, 'p99_us')}"
                             if value(x, 'p50_us') is not None else cell(x, 'p50_us'))
            w(f"| {wl} | {qd} | {cell(v, 'ops_per_second')} | {cell(r, 'ops_per_second')} | "
              f"{ratio_cell(q, d, wl, qd, 'ops_per_second')} | {cell(v, 'ops_per_cpu_second')} | "
              f"{cell(r, 'ops_per_cpu_second')} | {ratio_cell(q, d, wl, qd, 'ops_per_cpu_second')} | "
              f"{lat(v)} | {lat(r)} |")
    w('')
    errs = [x for x in (results.get((q, d, wl, qd, dm)) for wl in workloads for qd in (1, 16)
                        for dm in ('vfsd', 'virtiofsd')) if x and x.get('error')]
    for x in errs:
        w(f"* FAILED: {x['daemon']} {x['workload']} QD {x['queue_depth']}: {x['error']}")
    if errs:
        w('')

w('### System call costs (`syscall_cost`, ns per call)')
w('')
w('The floor under each request: GETATTR is one statx, READ one preadv (or its share of a')
w('batched io_uring_enter), WRITE one pwritev, whatever the daemon.')
w('')
for line in open(os.path.join(bin_dir, 'syscall_cost.txt')).read().splitlines():
    w(f'* {line}')
w('')
w('### memcpy baseline (128 KiB)')
w('')
w('| when | load | same buffers (cache-hot) GB/s | 64 MiB source → 16 rotating buffers GB/s |')
w('|---|---|---:|---:|')
lines.extend(open(os.path.join(bin_dir, 'memcpy.md')).read().splitlines())
w('')

# Verdicts on issue 4's Performance targets, from this run.
w('### Targets (QD 16, one request queue: the only setting both daemons serve)')
w('')
w('| target | descriptors | workload | measured | met |')
w('|---|---|---|---|---|')
small = ['getattr', 'lookup', 'read4k', 'write4k', 'create']
for d in ('split', 'indirect', 'split+pool4'):
    for wl in small + ['readdir1000', 'readdir1000-noplus']:
        rs = med_ratio(1, d, wl, 16, 'ops_per_second')
        rc = med_ratio(1, d, wl, 16, 'ops_per_cpu_second')
        if wl in small:
            need_s, need_c, what = 1.5, 2.0, '≥1.5× ops/s and ≥2× ops/CPU-s'
        else:
            need_s, need_c, what = 1.0, 1.0, 'faster than the reference (ops/s and ops/CPU-s)'
        met = rs is not None and rc is not None and rs >= need_s and rc >= need_c
        w(f"| {what} | {d} | {wl} | {fmt(rs, 2)}× ops/s, {fmt(rc, 2)}× ops/CPU-s | "
          f"{'yes' if met else '**no**'} |")
    v = results.get((1, d, 'read128k', 16, 'vfsd'))
    gbs = value(v, 'ops_per_second')
    gbs = gbs * 131072 / 1e9 if gbs else None
    frac = gbs / memcpy_spread if gbs and memcpy_spread else None
    w(f"| 128 KiB reads > 20 GB/s (as a fraction of the same-run memcpy of the same pattern) "
      f"| {d} | read128k | {fmt(gbs, 1)} GB/s = {fmt(frac * 100 if frac else None, 0)} % of "
      f"{fmt(memcpy_spread, 1)} GB/s | {'yes' if gbs and gbs > 20 else '**no**'} |")
w('')
with open(out, 'w') as f:
    f.write('\n'.join(lines) + '\n')
PY
echo "tables: $OUT"
echo "raw results and tool output: $BIN"
