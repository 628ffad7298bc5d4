#!/usr/bin/env bash
# In-guest fio benchmark (not a test): for each daemon (vfsd with its
# defaults, sandbox and seccomp included; QEMU's /usr/lib/qemu/virtiofsd) and
# each cache mode (never, auto, always; the reference's none|auto|always),
# boots one --hostroot guest that runs the host's fio on the share
# (fio_bench_guest.sh): 4 KiB random reads (cold, then warm), a 1 MiB
# sequential read and a re-read of the same file, a 1 MiB sequential write
# with a final fsync. Afterwards it records how much of the share's files
# the HOST's page cache holds (fincore), and prints a markdown table.
#
# Usage: fio_bench.sh [--daemons=vfsd,reference] [--modes=never,auto,always]
#                     [--read-mb=64] [--write-mb=256] [--runtime=10]
#                     [--repeat=N] [--out=FILE] [--keep=DIR]
# Runs go mode by mode with the daemons back to back, so a change in the
# machine's load hits both sides of a comparison alike. --repeat=N: the
# whole set N times, plus a table of per-cell medians (the machine is
# shared: single runs of one cell vary by 2-3x).
# --out: also write the table there. --keep: keep each run's console, fio
# JSON and daemon log under DIR. Needs fio and util-linux's fincore on the
# host (tools/install_deps.sh), //daemon:vfsd built (./bazelw build
# //daemon:vfsd) for the vfsd rows. One guest at a time; ~1.5 min per run.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fail() { echo "fio_bench: ERROR: $*" >&2; exit 1; }
note() { echo "fio_bench: $*" >&2; }
daemons="vfsd,reference" modes="never,auto,always" read_mb=64 write_mb=256 runtime=10
out_file="" keep="" repeat=1
for arg in "$@"; do
  case "$arg" in
    --daemons=*) daemons="${arg#*=}" ;;
    --modes=*) modes="${arg#*=}" ;;
    --read-mb=*) read_mb="${arg#*=}" ;;
    --write-mb=*) write_mb="${arg#*=}" ;;
    --runtime=*) runtime="${arg#*=}" ;;
    --out=*) out_file="${arg#*=}" ;;
    --keep=*) keep="${arg#*=}" ;;
    --repeat=*) repeat="${arg#*=}" ;;
    *) fail "unknown argument '$arg' (see the header of $0)" ;;
  esac
done
case "$repeat" in ''|*[!0-9]*|0) fail "--repeat must be a positive number" ;; esac
command -v fio >/dev/null || fail "fio is not installed (tools/install_deps.sh)"
command -v fincore >/dev/null || fail "fincore (util-linux) is not installed"
command -v python3 >/dev/null || fail "python3 is needed to read fio's JSON"

TMP="$(mktemp -d /tmp/vfsd-fio.XXXXXX)" || fail "mktemp"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"; sleep 0.5; kill -KILL "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
# shellcheck source=daemon_command.sh
. "$here/daemon_command.sh"

echo "$read_mb $write_mb $runtime" >"$TMP/fio_params"
# One copy of vfsd for all its runs: a rebuild by someone else during the
# benchmark must not mix two versions in one table.
vfsd_copy=""
case ",$daemons," in
  *,vfsd,*)
    daemon_command vfsd /dev/null /dev/null "" ""
    cp "${daemon_cmd[0]}" "$TMP/vfsd" || fail "cannot copy ${daemon_cmd[0]}"
    vfsd_copy="$TMP/vfsd"
    note "vfsd: ${daemon_cmd[0]} ($(sha256sum "$vfsd_copy" | cut -c1-12), built $(stat -c %y "${daemon_cmd[0]}" | cut -d. -f1))"
    ;;
esac
results="$TMP/results.tsv"
: >"$results"
load_before="$(uptime)"
t_start=$(date +%s)

# Resident bytes of FILE in the host's page cache.
resident() { fincore --bytes --noheadings --output RES "$1" 2>/dev/null || echo 0; }

run_one() {  # run_one DAEMON MODE REP
  local daemon="$1" mode="$2" rep="$3" run="$TMP/$1-$2-$3" i ref_mode
  mkdir -p "$run/share"
  local sock="$run/s.sock"
  # The read file is written here and dropped from the host's page cache, so
  # every run starts with none of it cached anywhere.
  head -c "$((read_mb << 20))" /dev/urandom >"$run/share/r.dat"
  sync "$run/share/r.dat"
  dd if="$run/share/r.dat" iflag=nocache count=0 status=none
  daemon_command "$daemon" "$sock" "$run/share" "" ""
  [ "$daemon" = vfsd ] && daemon_cmd[0]="$vfsd_copy"
  ref_mode="$mode"; [ "$mode" = never ] && ref_mode=none
  for i in "${!daemon_cmd[@]}"; do
    case "${daemon_cmd[$i]}" in
      --cache=auto) daemon_cmd[$i]="--cache=$mode" ;;
      cache=auto) daemon_cmd[$i]="cache=$ref_mode" ;;
    esac
  done
  note "$daemon cache=$mode: ${daemon_cmd[*]} (r.dat host-cached before: $(resident "$run/share/r.dat") bytes)"
  "${daemon_cmd[@]}" >"$run/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.05; done
  [ -S "$sock" ] || { note "daemon did not start: $(tail -n 5 "$run/daemon.log")"; return 1; }
  local t0 t1 rc
  t0=$(date +%s.%N)
  VFSD_GUEST_MEM="${VFSD_GUEST_MEM:-1G}" "$here/run_guest.sh" --hostroot --socket "$sock" \
    --script "$here/fio_bench_guest.sh" --add "$TMP/fio_params" --timeout 600 \
    --console "$run/console.log" --output "$run/guest.out" --workdir "$run/guest" --watch-pid "$daemon_pid"
  rc=$?
  t1=$(date +%s.%N)
  # Host page cache right after the guest powered off, before the daemon
  # exits (its exit changes nothing in the page cache, but be exact).
  local res_r res_w
  res_r="$(resident "$run/share/r.dat")"
  res_w="$(resident "$run/share/w.dat")"
  kill -TERM "$daemon_pid" 2>/dev/null; sleep 0.3; kill -KILL "$daemon_pid" 2>/dev/null
  wait "$daemon_pid" 2>/dev/null; daemon_pid=""
  [ $rc -eq 0 ] || note "$daemon cache=$mode: the guest failed (status $rc); console: $run/console.log"
  tr -d '\r' <"$run/guest.out" >"$run/guest.clean"
  python3 - "$run/guest.clean" "$daemon" "$mode" "$rep" "$res_r" "$res_w" \
      "$(awk -v s="$t0" -v e="$t1" 'BEGIN{printf "%.0f", e-s}')" >>"$results" <<'PY'
import json, sys
path, daemon, mode, rep, res_r, res_w, secs = sys.argv[1:]
lines = open(path, errors="replace").read().split("\n")
jobs, cache, name, buf, base, gres = {}, {}, None, [], None, {}
for line in lines:
    if line.startswith("json-begin "):
        name, buf = line.split()[1], []
    elif line.startswith("json-end "):
        try:
            jobs[name] = json.loads("\n".join(buf))["jobs"][0]
        except (ValueError, KeyError, IndexError):
            pass
        name = None
    elif name is not None:
        buf.append(line)
    elif line.startswith("phase "):
        f = line.split()
        cache[f[1]] = (int(f[2]), int(f[3]))
    elif line.startswith("baseline "):
        base = int(line.split()[1])
    elif line.startswith("guest-resident "):
        f = line.split()
        gres[f[1]] = f[2] if len(f) > 2 else "-"
def rd(n, key):
    j = jobs.get(n)
    if not j: return "-"
    v = j["read"][key]
    return "%.0f" % v if key == "iops" else "%.1f" % (v / 1024.0)
def wr(n):
    j = jobs.get(n)
    return "%.1f" % (j["write"]["bw"] / 1024.0) if j else "-"
def gcache(n):  # guest page cache after phase n, MiB above the baseline
    if n not in cache or base is None: return "-"
    return "%d" % max(0, round((cache[n][1] - base) / 1024.0))
def gres_mib(f):
    v = gres.get(f, "-")
    return "%.0f" % (int(v) / 1048576.0) if v.isdigit() else "-"
mib = lambda b: "%.0f" % (int(b or 0) / 1048576.0)
print("\t".join([daemon, mode, rep, rd("randread", "iops"), rd("read", "bw"), rd("reread", "bw"),
                 rd("randread_warm", "iops"), wr("seqwrite"), gcache("reread"), gres_mib("r.dat"),
                 gcache("seqwrite"), gres_mib("w.dat"), mib(res_r), mib(res_w), secs]))
PY
  if [ -n "$keep" ]; then
    mkdir -p "$keep/$daemon-$mode-$rep"
    cp "$run/console.log" "$run/guest.clean" "$run/daemon.log" "$keep/$daemon-$mode-$rep/" 2>/dev/null
  fi
  rm -rf "$run"
  return $rc
}

status=0
for r in $(seq 1 "$repeat"); do
  for m in ${modes//,/ }; do
    for d in ${daemons//,/ }; do
      run_one "$d" "$m" "$r" || status=1
    done
  done
done
load_after="$(uptime)"

{
  echo "fio in a TCG guest (1 vCPU, ${VFSD_GUEST_MEM:-1G}), psync, direct=0, files on the share:"
  echo "randread ${read_mb} MiB file 4 KiB for ${runtime} s; read/reread 1 MiB sequential of the same file;"
  echo "seqwrite ${write_mb} MiB 1 MiB blocks + fsync. Host page cache (fincore) of r.dat (${read_mb} MiB)"
  echo "and w.dat (${write_mb} MiB) after the guest powered off. Guest page cache: /proc/meminfo Cached"
  echo "growth since a fio warm-up, after the re-read and after the write, and fincore in the guest of"
  echo "r.dat (after the re-read) and w.dat (after the write); '-' = fincore refused (cache=never: no shared mmap)."
  echo
  python3 - "$results" <<'PY'
import statistics, sys
head = ("| daemon | cache | run | randread 4k IOPS | read MiB/s | re-read MiB/s | warm randread IOPS"
        " | seq write MiB/s | guest Cached after reads MiB | guest r.dat MiB | guest Cached after write MiB"
        " | guest w.dat MiB | host r.dat MiB | host w.dat MiB | boot+run s |")
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def table(rows):
    print(head)
    print("|---|---|---|" + "---:|" * (len(head.split("|")) - 5))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
table(rows)
runs = {r[2] for r in rows}
if len(runs) > 1:
    print("Median over the %d runs:" % len(runs))
    print()
    cells = {}
    for r in rows:
        cells.setdefault((r[0], r[1]), []).append(r)
    med = []
    for (d, m), rs in cells.items():
        out = [d, m, "median"]
        for i in range(3, len(rs[0])):
            raw = [r[i] for r in rs if r[i] not in ("-", "")]
            fmt = "%.1f" if any("." in v for v in raw) else "%.0f"
            out.append(fmt % statistics.median(float(v) for v in raw) if raw else "-")
        med.append(out)
    table(med)
PY
  echo "load before: $load_before"
  echo "load after:  $load_after"
  echo "total $(( $(date +%s) - t_start )) s"
} >"$TMP/table.md"
cat "$TMP/table.md"
[ -z "$out_file" ] || cp "$TMP/table.md" "$out_file"
exit $status
