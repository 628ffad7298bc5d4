#!/usr/bin/env bash
# Fetches Debian's guest kernel (vmlinuz + the virtio-fs module chain) into a
# cache dir keyed by kernel version, and prints that dir on stdout.
#
# Usage: fetch_kernel.sh [--hostroot]
#   --hostroot  also make sure the host-root modules (9p over virtio and
#               overlayfs, for run_guest.sh --hostroot) are in the cache dir.
#
# Cache layout ($VFSD_TEST_CACHE, default /var/tmp/vfsd-guest-cache):
#   kernel-<version>/vmlinuz
#   kernel-<version>/modules/<name>.ko     (decompressed: busybox insmod has no xz)
#   kernel-<version>/modules.order         (insmod order, dependencies first)
#   kernel-<version>/.complete             (written last: a half-filled dir is never used)
#   kernel-<version>/hostroot/modules/*.ko, hostroot/modules.order, hostroot/.complete
#                                          (9p + overlay, minus what the base set loads;
#                                           added to an older cache dir on first --hostroot)
#   resolved-package                       (last `apt-cache depends linux-image-amd64`
#                                           answer; reused until the apt lists change)
#
# Idempotent: once the dir is complete nothing is downloaded again (the kernel
# package is ~70 MB). Installs qemu-system-x86, busybox-static, cpio if missing.
# Everything but the cache path goes to stderr.
set -euo pipefail

CACHE="${VFSD_TEST_CACHE:-/var/tmp/vfsd-guest-cache}"
# The modules virtio-fs needs; their dependencies are resolved below with
# `modinfo -F depends`, so a future kernel that splits them differently works.
WANTED_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci fuse virtiofs)
# The host's / in the guest (run_guest.sh --hostroot): a 9p share over virtio
# (6.1's 9p also needs netfs and fscache) under an overlay with a tmpfs upper.
HOSTROOT_MODULES=(9pnet_virtio 9p overlay)

want_hostroot=0
case "${1:-}" in
  "") ;;
  --hostroot) want_hostroot=1 ;;
  *) echo "fetch_kernel: ERROR: usage: fetch_kernel.sh [--hostroot]" >&2; exit 1 ;;
esac

log() { echo "fetch_kernel: $*" >&2; }
die() { echo "fetch_kernel: ERROR: $*" >&2; exit 1; }

mkdir -p "$CACHE"
# Serialise concurrent runs (two tests starting at once must not both unpack).
exec 9>"$CACHE/.lock"
flock 9

apt_updated=0
apt_update_once() {
  if [ $apt_updated -eq 0 ]; then
    log "running apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    apt_updated=1
  fi
}

# --- host tools -------------------------------------------------------------
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
# The guest has no libc: it needs the static busybox, not Debian's dynamic one.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
command -v modinfo >/dev/null || missing+=(kmod)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; then
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 \
      || die "cannot install ${missing[*]}"
  fi
fi

# --- which kernel -----------------------------------------------------------
# A cache dir is usable when its base set is complete and, if asked, its
# host-root set too.
usable() {
  [ -f "$1/.complete" ] && { [ $want_hostroot -eq 0 ] || [ -f "$1/hostroot/.complete" ]; }
}
# apt-cache takes seconds; reuse the last answer until the apt lists change.
resolved="$CACHE/resolved-package"
if [ -s "$resolved" ] && [ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$resolved" \
       -name '*Packages*' -print -quit 2>/dev/null)" ]; then
  dest="$CACHE/kernel-$(sed 's/^linux-image-//' "$resolved")"
  if usable "$dest"; then
    echo "$dest"
    exit 0
  fi
fi

kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
pkg="$(kernel_pkg || true)"
if [ -z "$pkg" ]; then
  apt_update_once
  pkg="$(kernel_pkg || true)"
fi
if [ -z "$pkg" ]; then
  # Offline and no apt lists: fall back to any complete cached kernel.
  cached=""
  for d in $(ls -d "$CACHE"/kernel-* 2>/dev/null | sort -V); do
    usable "$d" && cached="$d"
  done
  [ -n "$cached" ] || die "cannot resolve linux-image-amd64 (no apt lists, nothing cached)"
  log "apt cannot resolve the kernel package; using cached $cached"
  echo "$cached"
  exit 0
fi
version="${pkg#linux-image-}"
dest="$CACHE/kernel-$version"
if usable "$dest"; then
  echo "$pkg" >"$resolved"
  echo "$dest"
  exit 0
fi

# --- download and unpack ----------------------------------------------------
work="$(mktemp -d "$CACHE/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "downloading $pkg (one time, ~70 MB)"
if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2); then
  apt_update_once
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) \
    || die "apt-get download $pkg failed"
fi
deb="$(ls "$work"/*.deb)"
dpkg -x "$deb" "$work/root"

kver="$(ls "$work/root/lib/modules")"
[ -n "$kver" ] || die "no lib/modules in $pkg"
moddir="$work/root/lib/modules/$kver"
vmlinuz="$work/root/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "no boot/vmlinuz-$kver in $pkg"

# Module name -> path of its file (modules use '_' or '-' interchangeably).
find_module() {
  local name="$1" alt="${1//_/-}"
  find "$moddir/kernel" \( -name "$name.ko*" -o -name "$alt.ko*" \) -print -quit
}

# Depth-first: dependencies are appended before the module that needs them.
# Writes into $mod_out/<name>.ko and appends to the array `order`; modules
# already in `seen` are skipped (the host-root set skips the base set's).
add_module() {
  local name="$1" file deps dep
  [ -n "${seen[$name]:-}" ] && return 0
  seen[$name]=1
  file="$(find_module "$name")"
  [ -n "$file" ] || die "module $name not found in $pkg (built in? check config-$kver)"
  deps="$(modinfo -F depends "$file")" || die "modinfo -F depends $file failed"
  for dep in ${deps//,/ }; do add_module "$dep"; done
  case "$file" in
    *.ko.xz | *.ko.zst) command -v "${file##*.ko.}" >/dev/null \
      || die "$file is compressed: install ${file##*.ko.} (xz-utils / zstd)" ;;
  esac
  case "$file" in
    *.ko.xz) xz -dc "$file" >"$mod_out/$name.ko" ;;
    *.ko.zst) zstd -qdc "$file" >"$mod_out/$name.ko" ;;
    *.ko.gz) gzip -dc "$file" >"$mod_out/$name.ko" ;;
    *) cp "$file" "$mod_out/$name.ko" ;;
  esac
  order+=("$name")
}
declare -A seen=()
base_order=()
if [ -f "$dest/.complete" ]; then
  # Only the host-root set is missing: keep the base dir as it is.
  while read -r m; do seen[$m]=1; done <"$dest/modules.order"
else
  stage="$work/out"
  mod_out="$stage/modules"; mkdir -p "$mod_out"
  order=()
  for m in "${WANTED_MODULES[@]}"; do add_module "$m"; done
  base_order=("${order[@]}")
  printf '%s\n' "${order[@]}" >"$stage/modules.order"
  cp "$vmlinuz" "$stage/vmlinuz"
  echo "$kver" >"$stage/kernel.release"
fi
# The host-root set is small (~1 MB): unpack it with every download.
hr_stage="$work/hostroot"
mod_out="$hr_stage/modules"; mkdir -p "$mod_out"
order=()
for m in "${HOSTROOT_MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${order[@]}" >"$hr_stage/modules.order"
touch "$hr_stage/.complete"
if [ -f "$dest/.complete" ]; then
  rm -rf "$dest/hostroot"
  mv "$hr_stage" "$dest/hostroot"
  echo "$pkg" >"$resolved"
  log "added the host-root modules to $dest (${order[*]})"
  echo "$dest"
  exit 0
fi
mv "$hr_stage" "$stage/hostroot"
touch "$stage/.complete"

rm -rf "$dest"
mv "$stage" "$dest"
echo "$pkg" >"$resolved"
log "cached $pkg in $dest (modules: ${base_order[*]}; host root: ${order[*]})"
echo "$dest"
