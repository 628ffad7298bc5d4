# Guest side of guest_build_test (runs as /vfsd/test.sh, cwd = the share):
# a source-tree workload with the host's toolchain (in-hostroot, see
# guest_in_hostroot.sh): untar, make (objects, dependency files, a generated
# header and the binary all written to the share, two of them by rename),
# run the program, `find` the tree, an up-to-date check and an incremental
# rebuild (make compares mtimes through the daemon), make clean, rm -rf.
# Results go to the host as ok/FAIL/note lines on $VFSD_OUT; the build's
# checksums as "build-sum" lines, compared with the host's native build.
out="$VFSD_OUT"
F="$VFSD_FILES"
check() {  # check NAME COMMAND...: one ok/FAIL line for a command's status
  name="$1"; shift
  if "$@" >/tmp/check.log 2>&1; then echo "ok $name" >"$out"
  else echo "FAIL $name: expected success got status $? ($(tail -c 300 /tmp/check.log | tr '\n' ' '))" >"$out"; fi
}
expect_status() {  # expect_status NAME WANT COMMAND...
  name="$1"; want="$2"; shift 2
  "$@" >/tmp/check.log 2>&1
  got=$?
  if [ "$got" -eq "$want" ]; then echo "ok $name" >"$out"
  else echo "FAIL $name: expected status $want got $got ($(tail -c 300 /tmp/check.log | tr '\n' ' '))" >"$out"; fi
}
now() { cut -d' ' -f1 /proc/uptime; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN{printf "%.1f", e-s}'; }
listing() { (cd "$1" && find . | LC_ALL=C sort); }

t0=$(now)
mkdir proj
check untar tar -C proj -xf "$F/source_tree.tar"
listing proj >/tmp/find.txt
check find_source diff "$F/find_source.txt" /tmp/find.txt

t1=$(now)
check make in-hostroot make -C proj
t2=$(now)
echo "note make seconds $(secs "$t1" "$t2") (4 compiles + link under TCG)" >"$out"
(cd proj && in-hostroot ./bin/wordstat data/input.txt) >/tmp/wordstat.txt 2>&1
check wordstat_output diff "$F/wordstat_expected.txt" /tmp/wordstat.txt
listing proj >/tmp/find.txt
check find_built diff "$F/find_built.txt" /tmp/find.txt
(cd proj && sha256sum build/*.o bin/wordstat) | sed 's/^/build-sum /' >"$out"

# make -q: 0 = up to date, 1 = something to rebuild. Both answers depend on
# the mtimes the daemon reports for sources, objects and the binary.
expect_status make_up_to_date 0 in-hostroot make -q -C proj
# The guest's clock (TCG, no RTC sync) may lag the host's, which stamps
# the files: touch -d with a time after every object's mtime.
future="$(date -u -d @$(( $(stat -c %Y proj/bin/wordstat) + 10 )) '+%Y-%m-%d %H:%M:%S' 2>/dev/null)"
check touch_source touch -d "$future" proj/src/crc32.c
expect_status make_out_of_date 1 in-hostroot make -q -C proj
t3=$(now)
in-hostroot make -C proj >/tmp/rebuild.log 2>&1
echo "note rebuild seconds $(secs "$t3" "$(now)")" >"$out"
compiles="$(grep -c -- ' -c -o ' /tmp/rebuild.log)"
if [ "$compiles" = 1 ] && grep -q 'build/crc32.o src/crc32.c' /tmp/rebuild.log; then
  echo "ok rebuild_only_touched" >"$out"
else
  echo "FAIL rebuild_only_touched: expected 1 compile of crc32.c got $compiles: $(tr '\n' ' ' </tmp/rebuild.log | tail -c 300)" >"$out"
fi
(cd proj && in-hostroot ./bin/wordstat data/input.txt) >/tmp/wordstat.txt 2>&1
check wordstat_after_rebuild diff "$F/wordstat_expected.txt" /tmp/wordstat.txt

check make_clean in-hostroot make -C proj clean
listing proj >/tmp/find.txt
check find_after_clean diff "$F/find_source.txt" /tmp/find.txt
check rm_rf rm -rf proj
check share_empty test -z "$(ls -A .)"
echo "note workload seconds $(secs "$t0" "$(now)")" >"$out"
echo "done build_script" >"$out"
exit 0
