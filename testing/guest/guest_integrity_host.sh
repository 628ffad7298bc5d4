# Host side of guest_integrity_test, sourced by guest_check_test.sh.
# suite_prepare: the workload seed, and a source-tree tarball (200 real
# headers in nested dirs, symlinks, an executable, an empty dir) whose
# checksums the guest's untarred copy must reproduce.
SEED="${VFSD_SEED:-1}"
suite_prepare() {
  set -e
  echo "$SEED" >"$SHARE/seed"
  local src="$TMP/src"
  mkdir -p "$src/include" "$src/empty_dir" "$src/bin"
  # No `| head` in the pipe: under pipefail, sort's SIGPIPE would fail it.
  (cd /usr/include && find linux -type f -name '*.h' | LC_ALL=C sort >"$TMP/headers.all")
  sed -n '1,200p' "$TMP/headers.all" >"$TMP/headers.txt"
  (cd /usr/include && xargs cp --parents -t "$src/include" <"$TMP/headers.txt")
  printf '#!/bin/sh\necho built\n' >"$src/bin/build.sh"; chmod 755 "$src/bin/build.sh"
  ln -s ../include/linux "$src/bin/linux_headers"
  ln -s build.sh "$src/bin/build"
  head -c 300000 /dev/urandom >"$src/blob.bin"
  touch -d '2020-02-02 02:02:02' "$src/blob.bin"
  tar -C "$src" --format=ustar -cf "$SHARE/tree.tar" .
  (cd "$src" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$TMP/tree.sums"
}
suite_during_boot() { :; }
# The guest's model of each random-workload file, its untarred tree and the
# host's files must agree byte for byte; cp -a's copy must be gone.
suite_verify() {
  local rc=0 want got f
  for f in 0 1 2; do
    want="$(sed -n "s|^model-sum \([0-9a-f]*\)  model_$f.bin$|\1|p" "$TMP/results.clean.txt")"
    got="$(sha256sum "$SHARE/model_$f.bin" 2>/dev/null | cut -d' ' -f1)"
    if [ -n "$want" ] && [ "$want" = "$got" ]; then echo "ok host_model_$f"
    else echo "FAIL host_model_$f: expected sha256 $want (guest model) got $got (host file)"; rc=1; fi
  done
  sed -n 's/^tree-sum //p' "$TMP/results.clean.txt" >"$TMP/guest_tree.sums"
  if diff -u "$TMP/tree.sums" "$TMP/guest_tree.sums" >"$TMP/tree_sums.diff.txt"; then echo "ok host_guest_tree_sums"
  else echo "FAIL host_guest_tree_sums: guest checksums differ: $(head -n 5 "$TMP/tree_sums.diff.txt")"; rc=1; fi
  if diff -r --no-dereference "$TMP/src" "$SHARE/tree" >"$TMP/tree.diff.txt" 2>&1; then echo "ok host_tree_matches_source"
  else echo "FAIL host_tree_matches_source: $(head -n 5 "$TMP/tree.diff.txt")"; rc=1; fi
  if [ -e "$SHARE/tree_copy" ]; then echo "FAIL host_rm_rf: expected tree_copy gone got it present"; rc=1
  else echo "ok host_rm_rf"; fi
  echo "note seed $SEED (rerun with VFSD_SEED=$SEED)"
  return $rc
}
