#!/bin/busybox sh
# /init of the test guest's initramfs (PID 1): loads the virtio-fs module
# chain, mounts the share tagged "myfs" on /mnt, runs /vfsd/test.sh from the
# per-run initramfs segment, prints the marker line the host harness parses,
# and powers off.
#
# Marker protocol (on the console, ttyS0), one line, always printed last:
#   VFSD-GUEST-RESULT: <n>      n = exit status of /vfsd/test.sh, or
#                               200 module load failed, 201 mount failed,
#                               202 no /vfsd/test.sh in the initramfs,
#                               203 the script passed but umount failed,
#                               204 the host root (run_guest.sh --hostroot)
#                                   could not be set up.
# A line "VFSD-GUEST-ERROR: <why>" precedes the 20x codes.
# The test script's own output channel is ttyS1 ($VFSD_OUT), which the host
# maps to a file, so kernel messages on ttyS0 never interleave with it.

/bin/busybox mkdir -p /proc /sys /dev /mnt /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

guest_error() { echo; echo "VFSD-GUEST-ERROR: $*"; }

finish() {
  # The marker goes last so the host never reads a status before the output
  # it describes has been flushed.
  # Leading newline: the marker must start a line even if the script's last
  # output did not end with one.
  echo
  echo "VFSD-GUEST-RESULT: $1"
  sync
  poweroff -f
  # poweroff -f does not return; if it ever does, panic=-1 + -no-reboot
  # makes the kernel's exit end QEMU instead of hanging until the timeout.
  exit "$1"
}

for m in $(cat /modules.order); do
  if ! insmod "/modules/$m.ko"; then
    guest_error "insmod $m failed"
    finish 200
  fi
done

# The virtiofs driver probes the device synchronously in module init, but
# give udev-less devtmpfs/sysfs a moment in case the PCI scan is deferred.
tries=0
until mount -t virtiofs myfs /mnt; do
  tries=$((tries + 1))
  if [ $tries -ge 20 ]; then
    guest_error "mount -t virtiofs myfs /mnt failed"
    finish 201
  fi
  sleep 0.1
done

if [ ! -f /vfsd/test.sh ]; then
  guest_error "no /vfsd/test.sh in the initramfs"
  finish 202
fi

# Only a --hostroot boot has this segment: the host's / as a chroot.
hostroot=/vfsd-hostroot/hostroot.sh
if [ -f $hostroot ] && ! sh $hostroot up; then
  guest_error "host root setup failed (9p/overlay; see the messages above)"
  finish 204
fi

# ttyS1 is a raw byte pipe to a host file: no CR insertion, no echo.
if ! stty -F /dev/ttyS1 raw -echo; then
  guest_error "stty raw on ttyS1 failed: \$VFSD_OUT is not 8-bit clean"
fi

export VFSD_MNT=/mnt VFSD_OUT=/dev/ttyS1 VFSD_FILES=/vfsd TZ=UTC
(cd /mnt && sh /vfsd/test.sh)
rc=$?

# Unmount so the daemon sees the FORGETs/DESTROY of an orderly shutdown.
cd /
if [ -f $hostroot ] && ! sh $hostroot down; then
  guest_error "host root teardown failed"
  [ $rc -eq 0 ] && rc=203
fi
if ! umount /mnt; then
  guest_error "umount /mnt failed (after the test script)"
  [ $rc -eq 0 ] && rc=203
fi
finish $rc
