#!/usr/bin/env bash
# Boots a Linux guest under QEMU (TCG) with a vhost-user-fs-pci device on a
# daemon's socket, runs a shell script inside it with the share mounted on
# /mnt, and exits with that script's status, read from the console marker.
#
# Usage: run_guest.sh --socket SOCK --script FILE [options]
#   --socket SOCK     vhost-user socket; the daemon must already be listening
#                     (QEMU is the client).
#   --script FILE     busybox sh script run in the guest, cwd = the share.
#                     Environment: VFSD_MNT=/mnt, VFSD_OUT=/dev/ttyS1 (raw
#                     channel to --output), VFSD_FILES=/vfsd (the --add files).
#   --add FILE        extra file for the guest, as /vfsd/<basename> (repeatable).
#   --timeout SECS    wall-clock limit for the whole boot (default 120).
#   --console FILE    where the console (ttyS0) goes (default: a temp file).
#   --output FILE     where the guest's $VFSD_OUT bytes go (default: a temp file).
#   --workdir DIR     scratch dir (default: mktemp under $TMPDIR).
#   --watch-pid PID   the daemon: if it dies while the guest runs, stop the
#                     guest after a 5 s grace (a daemon may exit by itself when
#                     QEMU disconnects) instead of waiting for --timeout.
#   --hostroot        also export the host's / read-only over 9p and give the
#                     script a chroot of it (overlay on a guest tmpfs, the
#                     share bind-mounted at /mnt): `in-hostroot CMD...` runs a
#                     host program (gcc, make, fio) there. Same as
#                     VFSD_GUEST_HOSTROOT=1. Costs ~1 MB of initramfs, a
#                     second device and a few seconds of boot; off by default.
#
# Exit status: the guest script's status; 124 on timeout; 125 when the guest
# ended without a marker line (panic, QEMU error) or the harness failed.
# Whatever goes wrong, the reason and the console's tail go to stderr.
# Env: VFSD_TEST_CACHE (kernel cache), VFSD_GUEST_KERNEL_ARGS (extra kernel
# command line), VFSD_GUEST_QEMU (qemu binary), VFSD_GUEST_MEM (default 512M),
# VFSD_GUEST_HOSTROOT (1 = --hostroot).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { echo "run_guest: $*" >&2; }
die() { say "ERROR: $*"; exit 125; }

socket="" script="" timeout=120 console="" output="" workdir="" watch_pid=""
hostroot="${VFSD_GUEST_HOSTROOT:-0}"
adds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --socket) socket="$2"; shift 2 ;;
    --script) script="$2"; shift 2 ;;
    --add) adds+=("$2"); shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --console) console="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    --workdir) workdir="$2"; shift 2 ;;
    --watch-pid) watch_pid="$2"; shift 2 ;;
    --hostroot) hostroot=1; shift ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
[ -n "$socket" ] || die "--socket is required"
[ -n "$script" ] || die "--script is required"
[ -S "$socket" ] || die "$socket is not a listening unix socket (start the daemon first)"
case "$timeout" in ''|*[!0-9]*) die "--timeout must be whole seconds" ;; esac
case "$watch_pid" in *[!0-9]*) die "--watch-pid must be a pid" ;; esac
case "$hostroot" in 0|1) ;; *) die "VFSD_GUEST_HOSTROOT must be 0 or 1" ;; esac

# kill -0 succeeds on a zombie, and a dead daemon stays a zombie until its
# parent (the caller, not us) reaps it: look at the process state instead.
process_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}

own_workdir=0
if [ -z "$workdir" ]; then
  workdir="$(mktemp -d "${TMPDIR:-/tmp}/vfsd-guest.XXXXXX")" || die "mktemp failed"
  own_workdir=1
fi
mkdir -p "$workdir"
[ -n "$console" ] || console="$workdir/console.log"
[ -n "$output" ] || output="$workdir/guest-output"
: >"$console"; : >"$output"

qemu_pid=""
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill -KILL "$qemu_pid" 2>/dev/null
    wait "$qemu_pid" 2>/dev/null
  fi
  [ $own_workdir -eq 1 ] && rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 125' INT TERM HUP

fetch_args=()
[ "$hostroot" -eq 1 ] && fetch_args=(--hostroot)
kdir="$("$here/fetch_kernel.sh" "${fetch_args[@]}")" || die "fetch_kernel.sh failed"
base="$("$here/make_initramfs.sh" base "$kdir")" || die "make_initramfs.sh base failed"
"$here/make_initramfs.sh" overlay "$workdir/overlay.cpio" "$script" "${adds[@]}" \
  || die "make_initramfs.sh overlay failed"
segments=("$workdir/overlay.cpio")
if [ "$hostroot" -eq 1 ]; then
  hr="$("$here/make_initramfs.sh" hostroot "$kdir")" || die "make_initramfs.sh hostroot failed"
  segments+=("$hr")
fi
# Concatenated segments, uncompressed one first (the layout early-microcode
# initrds use): the kernel finds the next archive after a compressed one only
# if the compressed size happens to be 4-byte aligned, while GNU cpio pads
# its uncompressed output to 512 bytes. The two never hold the same path.
# The host-root segment is uncompressed too, for the same reason.
cat "${segments[@]}" "$base" >"$workdir/initrd" || die "cannot write initrd"

qemu="${VFSD_GUEST_QEMU:-qemu-system-x86_64}"
mem="${VFSD_GUEST_MEM:-512M}"
# quiet: printk over an emulated UART is slow under TCG; panics still print.
cmdline="console=ttyS0 panic=-1 quiet ${VFSD_GUEST_KERNEL_ARGS:-}"
# vhost-user needs guest RAM the daemon can mmap: a shared memfd backend.
qemu_args=(
  -accel tcg -cpu max -smp 1
  -object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem -m "$mem"
  -chardev "socket,id=char0,path=$socket"
  -device vhost-user-fs-pci,queue-size=1024,chardev=char0,tag=myfs
  -nographic -no-reboot -nodefaults -display none
  -serial stdio -serial "file:$output"
  -kernel "$kdir/vmlinuz" -initrd "$workdir/initrd" -append "$cmdline"
)
if [ "$hostroot" -eq 1 ]; then
  # readonly: the guest can never change the host; its writes land in the
  # overlay's tmpfs. multidevs=remap: / spans several host file systems, so
  # QEMU must remap inode numbers or two files could share one in the guest.
  qemu_args+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap")
fi

start=$(date +%s.%N)
"$qemu" "${qemu_args[@]}" </dev/null >"$console" 2>&1 &
qemu_pid=$!

deadline=$(( $(date +%s) + timeout ))
timed_out=0 daemon_gone_at="" daemon_died=0
while kill -0 "$qemu_pid" 2>/dev/null; do
  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then
    timed_out=1
    kill -KILL "$qemu_pid" 2>/dev/null
    break
  fi
  if [ -n "$watch_pid" ] && [ -z "$daemon_gone_at" ] && ! process_alive "$watch_pid"; then
    daemon_gone_at=$now
  fi
  if [ -n "$daemon_gone_at" ] && [ $((now - daemon_gone_at)) -ge 5 ]; then
    daemon_died=1
    kill -KILL "$qemu_pid" 2>/dev/null
    break
  fi
  sleep 0.2
done
wait "$qemu_pid" 2>/dev/null
qemu_rc=$?
qemu_pid=""
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')

show_tail() {
  say "---- last 40 console lines ($console) ----"
  clean_console | tail -n 40 >&2
  say "----"
}

# The console is a tty (lines end in \r\n) that SeaBIOS and QEMU also send
# terminal escapes to, possibly on the marker's line: strip both.
clean_console() {
  tr -d '\r' <"$console" | sed 's/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g'
}
marker="$(clean_console | sed -n 's/^VFSD-GUEST-RESULT: \([0-9][0-9]*\)$/\1/p' | tail -n1)"
clean_console | grep '^VFSD-GUEST-ERROR: ' >&2
if [ $daemon_died -eq 1 ] && [ -z "$marker" ]; then
  say "the daemon (pid $watch_pid) exited while the guest was running; QEMU killed after ${elapsed}s"
  show_tail
  exit 125
fi
if [ $timed_out -eq 1 ]; then
  say "TIMEOUT: guest did not finish within ${timeout}s; QEMU killed"
  show_tail
  exit 124
fi
if [ -z "$marker" ]; then
  say "guest ended without a 'VFSD-GUEST-RESULT:' line (QEMU exit $qemu_rc after ${elapsed}s): kernel panic, QEMU error or lost daemon connection"
  show_tail
  exit 125
fi
say "guest finished in ${elapsed}s: script status $marker"
[ "$marker" -eq 0 ] || show_tail
exit "$marker"
