#!/usr/bin/env bash
# Builds the guest's initramfs in two segments, which the kernel unpacks one
# after the other when they are concatenated (overlay first; see run_guest.sh) (Documentation/driver-api/
# early-userspace/buffer-format.rst):
#
#   make_initramfs.sh base KERNEL_DIR
#       The cached base: static busybox + the kernel dir's modules + /init
#       (guest_init.sh). Written to KERNEL_DIR/initramfs-<hash>.cpio.gz, where
#       <hash> covers everything that goes in, so editing /init or upgrading
#       busybox rebuilds it; prints its path.
#   make_initramfs.sh hostroot KERNEL_DIR
#       The host-root segment (run_guest.sh --hostroot): the 9p/overlay
#       modules of KERNEL_DIR/hostroot, /vfsd-hostroot/hostroot.sh
#       (guest_hostroot.sh) and /bin/in-hostroot (guest_in_hostroot.sh), as
#       an uncompressed newc cpio KERNEL_DIR/hostroot-<hash>.cpio (it follows
#       the per-run segment, before the compressed base); prints its path.
#   make_initramfs.sh overlay OUT SCRIPT [FILE...]
#       The per-run segment: SCRIPT as /vfsd/test.sh and each FILE as
#       /vfsd/<basename>, as an uncompressed newc cpio in OUT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "make_initramfs: ERROR: $*" >&2; exit 1; }

# Deterministic archive of the tree in $1 into $2 (uncompressed newc).
pack() {
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort \
    | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$2"
}

mode="${1:-}"
case "$mode" in
  base)
    kdir="${2:?usage: make_initramfs.sh base KERNEL_DIR}"
    [ -f "$kdir/.complete" ] || die "$kdir is not a complete kernel cache dir (run fetch_kernel.sh)"
    busybox=/bin/busybox
    # The initramfs has no libc: a dynamic busybox would not even start.
    if ldd "$busybox" >/dev/null 2>&1; then
      die "$busybox is dynamically linked: install busybox-static"
    fi
    init="$here/guest_init.sh"
    key="$( { sha256sum "$init" "$busybox" "$kdir/modules.order"; \
              sha256sum "$kdir"/modules/*.ko; } | awk '{print $1}' | sha256sum | cut -c1-16)"
    out="$kdir/initramfs-$key.cpio.gz"
    if [ -f "$out" ]; then echo "$out"; exit 0; fi
    tmp="$(mktemp -d "$kdir/.initramfs.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/root/bin" "$tmp/root/modules"
    cp "$busybox" "$tmp/root/bin/busybox"
    cp "$init" "$tmp/root/init"
    chmod 755 "$tmp/root/init" "$tmp/root/bin/busybox"
    cp "$kdir"/modules/*.ko "$tmp/root/modules/"
    cp "$kdir/modules.order" "$tmp/root/modules.order"
    pack "$tmp/root" "$tmp/base.cpio"
    gzip -1 -n <"$tmp/base.cpio" >"$tmp/base.cpio.gz"
    mv "$tmp/base.cpio.gz" "$out"   # atomic: concurrent runs never see half a file
    # Drop bases of older /init or busybox versions, once no run can still be
    # about to read them.
    find "$kdir" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -name "$(basename "$out")" \
      -mmin +60 -delete 2>/dev/null || true
    echo "$out"
    ;;
  hostroot)
    kdir="${2:?usage: make_initramfs.sh hostroot KERNEL_DIR}"
    [ -f "$kdir/hostroot/.complete" ] || die "$kdir has no host-root modules (run fetch_kernel.sh --hostroot)"
    key="$( { sha256sum "$here/guest_hostroot.sh" "$here/guest_in_hostroot.sh" \
                "$kdir/hostroot/modules.order"; sha256sum "$kdir"/hostroot/modules/*.ko; } \
            | awk '{print $1}' | sha256sum | cut -c1-16)"
    out="$kdir/hostroot-$key.cpio"
    if [ -f "$out" ]; then echo "$out"; exit 0; fi
    tmp="$(mktemp -d "$kdir/.hostroot.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/root/bin" "$tmp/root/vfsd-hostroot/modules"
    cp "$kdir"/hostroot/modules/*.ko "$tmp/root/vfsd-hostroot/modules/"
    cp "$kdir/hostroot/modules.order" "$tmp/root/vfsd-hostroot/modules.order"
    cp "$here/guest_hostroot.sh" "$tmp/root/vfsd-hostroot/hostroot.sh"
    cp "$here/guest_in_hostroot.sh" "$tmp/root/bin/in-hostroot"
    chmod 755 "$tmp/root/vfsd-hostroot/hostroot.sh" "$tmp/root/bin/in-hostroot"
    pack "$tmp/root" "$tmp/hostroot.cpio"
    mv "$tmp/hostroot.cpio" "$out"
    find "$kdir" -maxdepth 1 -name 'hostroot-*.cpio' ! -name "$(basename "$out")" \
      -mmin +60 -delete 2>/dev/null || true
    echo "$out"
    ;;
  overlay)
    out="${2:?usage: make_initramfs.sh overlay OUT SCRIPT [FILE...]}"
    script="${3:?usage: make_initramfs.sh overlay OUT SCRIPT [FILE...]}"
    shift 3
    [ -f "$script" ] || die "guest script $script not found"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/vfsd"
    cp "$script" "$tmp/vfsd/test.sh"
    for f in "$@"; do
      [ -f "$f" ] || die "extra file $f not found"
      name="$(basename "$f")"
      [ "$name" != test.sh ] || die "extra file may not be named test.sh"
      cp "$f" "$tmp/vfsd/$name"
    done
    chmod -R a+rX "$tmp/vfsd"
    chmod 755 "$tmp/vfsd"/*
    pack "$tmp" "$out"
    ;;
  *)
    die "usage: make_initramfs.sh base KERNEL_DIR | hostroot KERNEL_DIR | overlay OUT SCRIPT [FILE...]"
    ;;
esac
