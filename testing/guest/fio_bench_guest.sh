# Guest side of fio_bench.sh (runs as /vfsd/test.sh in a --hostroot guest,
# cwd = the share): the fio phases with the host's fio (in-hostroot), each
# job's JSON and the guest's page-cache size (/proc/meminfo Cached, kB)
# before and after it, sent to the host over $VFSD_OUT:
#   baseline CACHED               (after a fio warm-up, before any phase)
#   phase NAME CACHED_BEFORE CACHED_AFTER rc=STATUS
#   guest-resident FILE BYTES|-   (fincore in the guest)
#   json-begin NAME / <fio json> / json-end NAME
# Parameters in $VFSD_FILES/fio_params: READ_MB WRITE_MB RUNTIME.
out="$VFSD_OUT"
read -r READ_MB WRITE_MB RUNTIME <"$VFSD_FILES/fio_params"
cached() { awk '/^Cached:/ {print $2}' /proc/meminfo; }
# psync, direct=0: buffered I/O as applications do it, so the cache mode
# decides what the guest's page cache may keep.
common="--ioengine=psync --direct=0 --output-format=json --numjobs=1"
phase() {  # phase NAME FIO-ARGS...
  name="$1"; shift
  before=$(cached)
  in-hostroot fio --name="$name" $common "$@" >/tmp/fio.json 2>/tmp/fio.err
  rc=$?
  after=$(cached)
  echo "phase $name $before $after rc=$rc" >"$out"
  [ $rc -eq 0 ] || echo "fio-error $name $(tr '\n' ' ' </tmp/fio.err | head -c 300)" >"$out"
  { echo "json-begin $name"; cat /tmp/fio.json; echo; echo "json-end $name"; } >"$out"
}
# Warm-up on the chroot's tmpfs: fio's binary and libraries come over 9p
# into the guest's page cache on first use; load them before the baseline
# so the Cached figures count the share's file pages, not fio's.
in-hostroot fio --name=warmup --filename=/tmp/warmup --size=1M --rw=read $common >/dev/null 2>&1
in-hostroot rm -f /tmp/warmup
echo "baseline $(cached)" >"$out"
# Exact guest page-cache residency of a share file (mincore). Fails with
# cache=never: FOPEN_DIRECT_IO files refuse the shared mmap fincore needs.
guest_resident() {
  echo "guest-resident $1 $(in-hostroot fincore --bytes --noheadings --output RES "$1" 2>/dev/null || echo -)" >"$out"
}
# r.dat was written and evicted from the host's page cache by the host.
# fio's invalidate=1 (the default) drops the guest's cached pages of the
# file before a job; the later phases pass invalidate=0 so a page cache the
# cache mode allows to survive can serve them.
phase randread --filename=r.dat --rw=randread --bs=4k --size=${READ_MB}M \
  --runtime=$RUNTIME --time_based --invalidate=1
phase read --filename=r.dat --rw=read --bs=1M --size=${READ_MB}M --invalidate=0
phase reread --filename=r.dat --rw=read --bs=1M --size=${READ_MB}M --invalidate=0
guest_resident r.dat
phase randread_warm --filename=r.dat --rw=randread --bs=4k --size=${READ_MB}M \
  --runtime=$RUNTIME --time_based --invalidate=0
# end_fsync: the figure includes getting the data to the daemon, not just
# into the guest's page cache.
phase seqwrite --filename=w.dat --rw=write --bs=1M --size=${WRITE_MB}M --end_fsync=1
guest_resident w.dat
echo "done fio" >"$out"
exit 0
