# Host side of guest_build_test, sourced by guest_check_test.sh. The guest
# builds source_tree/ (a small C program: 4 .c, 4 .h, a Makefile, a data
# file) on the share with the host's gcc and make, through the host-root
# chroot (run_guest.sh --hostroot). The oracle is the same tree built
# natively here: the guest's objects and binary must be byte-identical to
# it, its program must print the same, its `find` listings must match.
suite_guest_args=(--hostroot)
# suite_prepare runs in a subshell: name its outputs for the guest here.
adds+=(--add "$TMP/guest/source_tree.tar" --add "$TMP/guest/wordstat_expected.txt"
       --add "$TMP/guest/find_source.txt" --add "$TMP/guest/find_built.txt")
suite_prepare() {
  set -e
  local src="$TMP/source_tree" native="$TMP/native"
  # Runfiles are symlinks: copy the contents (-L), with fresh mtimes.
  mkdir -p "$src"
  cp -rL "$here/source_tree/." "$src/"
  tar -C "$src" --format=ustar -cf "$TMP/guest/source_tree.tar" .
  (cd "$src" && find . | LC_ALL=C sort) >"$TMP/guest/find_source.txt"
  cp -a "$src" "$native"
  make -s -C "$native" >"$TMP/native_make.log" 2>&1 \
    || { echo "the host cannot build source_tree: $(tail -n 5 "$TMP/native_make.log")" >&2; return 1; }
  (cd "$native" && ./bin/wordstat data/input.txt) >"$TMP/guest/wordstat_expected.txt"
  (cd "$native" && find . | LC_ALL=C sort) >"$TMP/guest/find_built.txt"
  (cd "$native" && sha256sum build/*.o bin/wordstat) >"$TMP/native.sums"
}
suite_during_boot() { :; }
# The guest's build products (as it reported their checksums) must equal the
# native build's, and the share must be empty again after its rm -rf.
suite_verify() {
  local rc=0 left
  sed -n 's/^build-sum //p' "$TMP/results.clean.txt" >"$TMP/guest.sums"
  if [ -s "$TMP/guest.sums" ] && diff -u "$TMP/native.sums" "$TMP/guest.sums" >"$TMP/sums.diff.txt"; then
    echo "ok host_objects_identical"
  else
    echo "FAIL host_objects_identical: expected the native build's sha256s got: $(head -n 8 "$TMP/sums.diff.txt" 2>/dev/null)"
    rc=1
  fi
  left="$(ls -A "$SHARE")"
  if [ -z "$left" ]; then echo "ok host_share_empty"
  else echo "FAIL host_share_empty: expected nothing got: $(echo "$left" | head -n 5 | tr '\n' ' ')"; rc=1; fi
  return $rc
}
