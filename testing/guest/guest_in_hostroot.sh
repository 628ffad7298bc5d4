#!/bin/busybox sh
# /bin/in-hostroot in a run_guest.sh --hostroot guest: runs a host program
# in the host-root chroot (/sysroot, see guest_hostroot.sh) from the current
# directory, which must be under /mnt or /vfsd (the same paths inside).
#   in-hostroot make -j1 && in-hostroot ./prog
# Clean environment (PATH, HOME=/root, TZ=UTC, LC_ALL=C) plus VFSD_MNT,
# VFSD_OUT and VFSD_FILES, so host tools behave the same on every run.
[ $# -gt 0 ] || { echo "usage: in-hostroot PROGRAM [ARG...]" >&2; exit 2; }
[ -d /sysroot/usr ] || { echo "in-hostroot: no host root (run_guest.sh --hostroot)" >&2; exit 2; }
exec chroot /sysroot /usr/bin/env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root TZ=UTC LC_ALL=C \
  VFSD_MNT="${VFSD_MNT:-/mnt}" VFSD_OUT="${VFSD_OUT:-/dev/ttyS1}" VFSD_FILES="${VFSD_FILES:-/vfsd}" \
  /bin/sh -c 'cd "$1" || exit 125; shift; exec "$@"' in-hostroot "$(pwd)" "$@"
