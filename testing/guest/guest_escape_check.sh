# Guest side of guest_escape_test (runs as /vfsd/test.sh, cwd = the share):
# escape_checks tries symlinks, .. chains, link(), device nodes and symlink
# races (4 s) against the host file beside the share, and reports ok/FAIL.
"$VFSD_FILES/escape_checks" guest "$(cat hostdev)" 4 >"$VFSD_OUT" 2>&1
rc=$?
echo "escape_checks exit status $rc"
[ $rc -le 100 ]
