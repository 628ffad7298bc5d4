# Host side of guest_escape_test, sourced by guest_check_test.sh.
# suite_prepare: $OUTSIDE (beside the share, outside the daemon's root) gets
# a secret file the guest must never read or change; the share gets symlinks
# pointing at it (absolute, relative, /etc/passwd, dangling ones whose
# targets are outside) and the number of the host's root disk for the
# device-node check. Everything outside the share is snapshotted before the
# boot and compared afterwards.
SECRET="HOST-OUTSIDE-SECRET-$RANDOM$RANDOM$RANDOM"
snapshot() {
  # Every entry beside and outside the share with ns times (ctime catches
  # chmod/chown/xattr changes), file hashes, and /etc/passwd's metadata.
  find "$TMP/box" -path "$SHARE" -prune -o -print0 | LC_ALL=C sort -z \
    | xargs -0 stat -c '%n|%F|%s|%a|%u|%g|%i|%h|%y|%z' 
  find "$OUTSIDE" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  stat -c '%n|%s|%a|%u|%g|%y|%z' /etc/passwd; sha256sum /etc/passwd
  if command -v getfattr >/dev/null; then getfattr -R -h -d -m - "$OUTSIDE" 2>/dev/null; fi
}
suite_prepare() {
  set -e
  mkdir -p "$OUTSIDE/keep"
  printf '%s\n' "$SECRET" >"$OUTSIDE/secret.txt"
  chmod 640 "$OUTSIDE/secret.txt"
  echo "keep me" >"$OUTSIDE/keep/file"
  ln -s "$OUTSIDE/secret.txt" "$SHARE/abs_link"
  ln -s ../outside/secret.txt "$SHARE/rel_link"
  ln -s /etc/passwd "$SHARE/etc_link"
  ln -s ../outside/created_by_guest "$SHARE/dangling_out"
  stat -c '%Hd:%Ld' / >"$SHARE/hostdev"
  snapshot >"$TMP/outside_before.txt"
}
suite_during_boot() {
  "$TMP/guest/escape_checks" host-race "$SHARE" "${VFSD_GUEST_TIMEOUT:-300}" >"$TMP/racer.log" 2>&1 &
  racer_pid=$!
}
suite_verify() {
  local rc=0
  snapshot >"$TMP/outside_after.txt"
  if diff -u "$TMP/outside_before.txt" "$TMP/outside_after.txt" >"$TMP/outside.diff.txt"; then
    echo "ok host_outside_unchanged"
  else
    echo "FAIL host_outside_unchanged: expected no change outside the share got: $(head -n 12 "$TMP/outside.diff.txt")"; rc=1
  fi
  local stray
  stray="$(find "$TMP" -path "$SHARE" -prune -o \( -name 'pwned*' -o -name 'created_by_guest' -o -name 'hl_*' \) -print)"
  if [ -z "$stray" ]; then echo "ok host_no_files_created_outside"
  else echo "FAIL host_no_files_created_outside: expected none got $stray"; rc=1; fi
  if grep -qF "$SECRET" "$TMP/results.txt" "$TMP/console.log"; then
    echo "FAIL host_secret_not_in_guest_output: expected absent got the secret in the guest's output"; rc=1
  else echo "ok host_secret_not_in_guest_output"; fi
  echo "note device nodes left in the share: $(find "$SHARE" \( -type b -o -type c \) -printf '%p %Y %#m %U:%G ' 2>/dev/null | sed "s|$SHARE/||g")$(find "$SHARE" \( -type b -o -type c \) -exec stat -c '(%t:%T)' {} + | tr '\n' ' ')"
  return $rc
}
