# Guest side of guest_posix_test (runs as /vfsd/test.sh, cwd = the share):
# runs posix_checks in a scratch dir and sends its ok/FAIL lines to the host.
# The checks' exit status is their failure count; the host judges the lines,
# so the script fails only if the program could not run at all.
"$VFSD_FILES/posix_checks" posix.scratch >"$VFSD_OUT" 2>&1
rc=$?
echo "posix_checks exit status $rc"
[ $rc -le 100 ]
