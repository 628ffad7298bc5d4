# Host side of guest_posix_test, sourced by guest_check_test.sh.
# suite_prepare: the host's statfs of the share, which the guest compares
# with the statfs it gets through virtio-fs (total bytes must match).
suite_prepare() { stat -f -c '%b %S' "$SHARE" >"$SHARE/statfs.host"; }
suite_during_boot() { :; }
# Every check runs in the guest; nothing to verify on the host.
suite_verify() { :; }
