#!/usr/bin/env bash
# The whole test suite (the README's test command; .ci/run runs it):
#   1. every test, normal build (unit, fake-VMM integration against vfsd and
#      the reference virtiofsd, real-guest tests, bounded fuzz runs);
#   2. the unit and integration tests again under ASan+UBSan;
#   3. the concurrency-heavy tests under TSan.
# Sanitizer builds use their own Bazel output bases so that switching
# configurations never throws away the normal build's cache, and create no
# bazel-* convenience symlinks (--symlink_prefix=/): a bazel-<dir> link into
# another output base would look like a source package to the main build.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SANITIZER_TARGETS=(
  //backends/... //daemon/... //protocol/... //transport/... //proto/...
  //testing:all //testing/conformance/...
)
TSAN_TARGETS=(
  //transport/... //daemon:thread_pool_test //protocol:fuse_session_test
  //testing:fake_vmm_test //testing:fuse_client_test
  //backends/passthrough:lock_waiter_test //backends/passthrough:passthrough_lock_test
  //backends/passthrough:passthrough_concurrency_test //backends/passthrough:fd_cache_test
  //backends/passthrough:passthrough_read_batch_test //daemon:fuse_request_handler_alloc_test
)

# One output base per checkout and sanitizer (an output base serves one workspace).
ws_hash="$(pwd | md5sum | cut -c1-8)"
status=0
run() {
  echo "=== $*"
  "$@" || status=1
}

run ./bazelw test //...
run ./bazelw --output_base="/var/tmp/vfsd-bazel-asan-$ws_hash" test --symlink_prefix=/ --config=asan --config=ubsan \
  "${SANITIZER_TARGETS[@]}"
run ./bazelw --output_base="/var/tmp/vfsd-bazel-tsan-$ws_hash" test --symlink_prefix=/ --config=tsan "${TSAN_TARGETS[@]}"
exit $status
