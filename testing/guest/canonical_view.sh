# Prints a canonical, order-independent description of the tree under DIR
# (default "."): every entry's metadata, every symlink target, a long listing
# of every subdirectory, the bytes of every small file, a SHA-256 of every
# larger one, and checksums of reads at odd offsets.
#
# Usage: busybox sh canonical_view.sh [DIR]
#
# The same script runs on the host (over the shared dir) and in the guest
# (over the virtio-fs mount), and it calls every tool as `busybox <applet>`,
# so both sides use the same binary and output format: any difference in the
# two outputs is a difference in what the file system reports, not in tools.
# Access times are left out on purpose: the guest's reads change them.
# Names must not contain whitespace (the test tree's do not).

cd "${1:-.}" || exit 1
export TZ=UTC LC_ALL=C
set -o pipefail   # a failing find/stat must not hide behind sort's status 0
status=0

# name | size | mode | type | links | uid | gid | blocks | mtime (ns) | ctime (ns)
# stat (not -L) describes symlinks themselves, like lstat.
echo "== stat"
busybox find . -exec busybox stat -c '%n|%s|%a|%F|%h|%u|%g|%b|%y|%z' {} + \
  | busybox sort || status=1

echo "== readlink"
for l in $(busybox find . -type l | busybox sort); do
  t="$(busybox readlink "$l")" || { status=1; t="READLINK-FAILED"; }
  echo "$l -> $t"
done

# One long listing per subdirectory: exercises READDIR(PLUS) + LOOKUP/GETATTR
# the way ls does. The root is left out: its '..' is outside the share.
echo "== ls"
for d in $(busybox find . -mindepth 1 -type d | busybox sort); do
  echo "-- $d"
  busybox ls -lan --full-time "$d" || status=1
done

# File contents, each non-empty file opened once (opens are the slow part
# under TCG): small files in full, so a diff points at the bad bytes; larger
# ones as SHA-256. Empty files' size 0 is already in the stat section.
echo "== content"
busybox find . -type f ! -empty -size -257c | busybox sort \
  | busybox xargs -r busybox head -v -c 256 || status=1
echo
busybox find . -type f -size +256c | busybox sort \
  | busybox xargs -r busybox sha256sum || status=1

# Reads that are not whole-file sequential: through a symlink (the kernel
# resolves it with READLINK + LOOKUP), and at unaligned offsets of large files
# (READ with offset/size that straddle pages, and a read past EOF).
echo "== reads"
for l in $(busybox find . -type l | busybox sort); do
  [ -f "$l" ] || continue
  sum="$(busybox head -c 256 "$l" | busybox sha256sum)" || status=1
  echo "-- via $l: $sum"
done
for f in $(busybox find . -type f -size +1024k | busybox sort); do
  size="$(busybox stat -c %s "$f")"
  for skip in 0 3 4097 $((size / 1000 - 1)) $((size / 1000 + 5)); do
    sum="$(busybox dd if="$f" bs=1000 skip="$skip" count=3 2>/dev/null | busybox sha256sum)" \
      || status=1
    echo "-- $f bs=1000 skip=$skip: $sum"
  done
done

exit $status
