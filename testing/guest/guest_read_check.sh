# Guest side of guest_read_test (runs as /vfsd/test.sh, cwd = the virtio-fs
# mount): writes the canonical view of the share to the host over $VFSD_OUT,
# and a short human-readable sample to the console for the test log.
# The host compares the view with its own; this script only fails when a
# command fails (an error the diff might not show, e.g. EIO on a read).
status=0
echo "--- guest: ls -la /mnt"
ls -la . || status=1
echo "--- guest: stat big.bin link"
stat big.bin link || status=1
echo "--- guest: cat link"
cat link || status=1
echo "--- guest: find . | wc -l"
find . | wc -l || status=1
echo "--- guest: canonical view -> host"
set -o pipefail
# gzip: the serial channel moves ~200 KB/s under TCG; the view compresses ~10x.
busybox sh "$VFSD_FILES/canonical_view.sh" . | gzip -1 >"$VFSD_OUT" || {
  echo "canonical_view.sh failed in the guest (see errors above)"
  status=1
}
exit $status
