# Guest side of guest_integrity_test (runs as /vfsd/test.sh, cwd = the share):
# the seeded random workload and the parallel writers (integrity_checks),
# then a source-tree workload with busybox (untar, find, cp -a, compare,
# rm -rf). Every result goes to the host as an ok/FAIL/note line on $VFSD_OUT;
# checksums go as "model-sum" / "tree-sum" lines for the host to compare.
out="$VFSD_OUT"
check() {  # check NAME COMMAND...: one ok/FAIL line for a command's status
  name="$1"; shift
  if "$@" >/tmp/check.log 2>&1; then echo "ok $name" >"$out"
  else echo "FAIL $name: expected success got status $? ($(head -c 200 /tmp/check.log | tr '\n' ' '))" >"$out"; fi
}
mkdir -p /tmp/model
seed="$(cat seed)"
"$VFSD_FILES/integrity_checks" model "$seed" 2000 /tmp/model >"$out" 2>&1
"$VFSD_FILES/integrity_checks" parallel 4 >"$out" 2>&1
(cd /tmp/model && sha256sum model_*.bin) | sed 's/^/model-sum /' >"$out"

mkdir tree
check tree_untar tar -C tree -xf tree.tar
entries="$(find tree | wc -l)"
echo "note tree entries $entries" >"$out"
(cd tree && find . -type f | LC_ALL=C sort | xargs sha256sum) | sed 's/^/tree-sum /' >"$out"
check tree_cp_a cp -a tree tree_copy
# cp -a must keep contents, modes, mtimes, symlink targets: same listing.
# One stat/sha256sum process per tree: every exec is slow under TCG.
listing() { (cd "$1" && { find . ! -type l -exec stat -c '%n %F %a %s %Y' {} + | LC_ALL=C sort
  find . -type l | LC_ALL=C sort | while read -r p; do echo "$p -> $(readlink "$p")"; done
  find . -type f | LC_ALL=C sort | xargs sha256sum; }); }
listing tree >/tmp/tree.list
listing tree_copy >/tmp/copy.list
check tree_copy_identical diff /tmp/tree.list /tmp/copy.list
check tree_rm_rf rm -rf tree_copy
check tree_rm_rf_gone test ! -e tree_copy
echo "done integrity_script" >"$out"
exit 0
