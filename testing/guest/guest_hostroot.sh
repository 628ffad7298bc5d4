#!/bin/busybox sh
# Guest side of run_guest.sh --hostroot (in the initramfs as
# /vfsd-hostroot/hostroot.sh, called by /init): builds /sysroot, a chroot of
# the host's / (9p, read-only, tag "hostroot") under an overlay whose upper
# layer is a guest tmpfs, so host programs (gcc, make, fio) run in the guest
# and may write anywhere but the share without touching the host. The share
# (/mnt) and the --add files (/vfsd) are bind-mounted at the same paths
# inside, so a path under /mnt means the same file in and out of the chroot.
#
#   hostroot.sh up     load the 9p/overlay modules, mount everything
#   hostroot.sh down   unmount it again, innermost first: the bind mount of
#                      /mnt must go, or /init's umount /mnt would only detach
#                      one reference and the daemon would never see DESTROY.
# Commands get into the chroot with /bin/in-hostroot (guest_in_hostroot.sh).
set -u
R=/sysroot
err() { echo "hostroot: $*" >&2; }

up() {
  for m in $(cat /vfsd-hostroot/modules.order); do
    insmod "/vfsd-hostroot/modules/$m.ko" || { err "insmod $m failed"; return 1; }
  done
  mkdir -p /sysroot.lower /sysroot.rw "$R"
  # cache=loose: the host root is read-only for the whole boot, so the guest
  # may keep its pages and dentries (every 9p round trip costs under TCG).
  # msize: virtio's largest, fewer round trips for the compiler's reads.
  mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose \
    hostroot /sysroot.lower || { err "mount -t 9p hostroot failed"; return 1; }
  mount -t tmpfs -o mode=755 tmpfs /sysroot.rw || return 1
  mkdir -p /sysroot.rw/upper /sysroot.rw/work
  mount -t overlay -o lowerdir=/sysroot.lower,upperdir=/sysroot.rw/upper,workdir=/sysroot.rw/work \
    overlay "$R" || { err "mount -t overlay failed"; return 1; }
  mkdir -p "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/mnt" "$R/vfsd" || return 1
  mount -t proc proc "$R/proc" &&
    mount -t sysfs sysfs "$R/sys" &&
    mount -o bind /dev "$R/dev" &&
    mount -t tmpfs tmpfs "$R/tmp" &&
    mount -o bind /mnt "$R/mnt" &&
    mount -o bind /vfsd "$R/vfsd" || { err "mounts inside $R failed"; return 1; }
}

down() {
  rc=0
  for d in vfsd mnt tmp dev sys proc; do
    if grep -q " $R/$d " /proc/mounts; then
      umount "$R/$d" || { err "umount $R/$d failed"; rc=1; }
    fi
  done
  umount "$R" || { err "umount $R failed"; rc=1; }
  umount /sysroot.rw || rc=1
  umount /sysroot.lower || rc=1
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) err "usage: hostroot.sh up|down"; exit 2 ;;
esac
