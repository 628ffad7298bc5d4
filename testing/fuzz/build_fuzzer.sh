#!/bin/bash
# Builds one libFuzzer target with clang (ASan + UBSan + libFuzzer) straight
# from the workspace source tree, outside Bazel: Bazel's C++ toolchain is g++
# and switching it to clang in the shared output base would invalidate every
# cached action. Objects and binaries are cached under $VFSD_FUZZ_CACHE keyed
# by content hashes (compiler, flags, the .cc and every project header), so a
# rebuild only recompiles what changed and an unchanged tree links nothing.
#
# Usage: build_fuzzer.sh <workspace-root> <target> ; prints the binary path.
# Targets: vhost_user_fuzzer, virtqueue_fuzzer, fuse_session_fuzzer.
set -euo pipefail

ws="$1"
target="$2"
cache="${VFSD_FUZZ_CACHE:-/var/tmp/vfsd-fuzz-cache}"
jobs="${VFSD_FUZZ_JOBS:-2}"
CXX="${VFSD_FUZZ_CXX:-clang++}"

if ! command -v "$CXX" >/dev/null; then
  echo "build_fuzzer.sh: $CXX not found (install clang and libclang-rt-14-dev;" \
       "tools/install_deps.sh does)" >&2
  exit 2
fi

cd "$ws"
# Library sources each target links: every library .cc of the packages it
# exercises (globbed here, so files other engineers add are picked up).
# Tests, benchmarks and test utilities are left out by name and, in case a
# new one is named otherwise, by what they include.
lib_sources() {
  local dir f
  for dir in "$@"; do
    for f in $(find "$dir" -maxdepth 1 -name '*.cc' ! -name '*_test.cc' ! -name '*_test_*.cc' \
                 ! -name '*_benchmark.cc' ! -name '*_bench.cc' ! -name 'testing_*' | sort); do
      grep -qE '#include "(gtest|gmock|benchmark)/' "$f" || echo "$f"
    done
  done
}
case "$target" in
  vhost_user_fuzzer|virtqueue_fuzzer)
    sources="$(lib_sources transport) testing/fuzz/${target}.cc"
    header_dirs="transport testing/fuzz" ;;
  fuse_session_fuzzer)
    sources="$(lib_sources protocol) backends/backend.cc backends/errno_status.cc
             testing/fuzz/fuzz_backend.cc testing/fuzz/${target}.cc"
    header_dirs="protocol backends testing/fuzz" ;;
  *) echo "build_fuzzer.sh: unknown target $target" >&2; exit 2 ;;
esac

# -fsanitize=fuzzer-no-link instruments for coverage; only the link adds
# libFuzzer's main. UBSan traps nothing silently: every report aborts.
cflags="-std=c++20 -O1 -g -fno-omit-frame-pointer -D_FILE_OFFSET_BITS=64 -I. \
 -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all \
 -fno-sanitize=vptr -Wno-unused-command-line-argument"
ldflags="-fsanitize=address,undefined,fuzzer"
libs="-labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info -labsl_cord_internal \
 -labsl_cordz_functions -labsl_cordz_handle -labsl_exponential_biased \
 -labsl_bad_optional_access -labsl_bad_variant_access -labsl_str_format_internal \
 -labsl_strerror -labsl_synchronization -labsl_graphcycles_internal -labsl_stacktrace \
 -labsl_symbolize -labsl_debugging_internal -labsl_demangle_internal -labsl_malloc_internal \
 -labsl_time -labsl_civil_time -labsl_time_zone -labsl_hash -labsl_city \
 -labsl_low_level_hash -labsl_raw_hash_set -labsl_hashtablez_sampler -labsl_strings \
 -labsl_strings_internal -labsl_int128 -labsl_throw_delegate -labsl_base \
 -labsl_spinlock_wait -labsl_raw_logging_internal -labsl_log_severity \
 -lglog -lgflags -lpthread -lrt"

mkdir -p "$cache/obj" "$cache/bin"
# One build at a time per cache (parallel tests would otherwise compile the
# same objects twice and oversubscribe the cores).
exec 9>"$cache/lock"
flock 9

compiler_id="$("$CXX" --version | head -1)"
headers_hash="$(find $header_dirs -maxdepth 1 -name '*.h' -print0 | sort -z |
                xargs -0 sha256sum | sha256sum | cut -c1-16)"
objects=()
todo=()
for src in $sources; do
  key="$( { echo "$compiler_id $cflags $headers_hash $src"; cat "$src"; } | sha256sum | cut -c1-24)"
  obj="$cache/obj/$(basename "$src" .cc)-$key.o"
  objects+=("$obj")
  [[ -f "$obj" ]] || todo+=("$src $obj")
done
if ((${#todo[@]})); then
  echo "build_fuzzer.sh: compiling ${#todo[@]} files for $target" >&2
  printf '%s\n' "${todo[@]}" |
    xargs -P "$jobs" -L 1 sh -c \
      "$CXX $cflags -c \"\$0\" -o \"\$1.tmp.\$\$\" && mv -f \"\$1.tmp.\$\$\" \"\$1\"" ||
    { echo "build_fuzzer.sh: compilation failed" >&2; exit 1; }
fi
bin_key="$( { echo "$ldflags $libs"; printf '%s\n' "${objects[@]}"; } | sha256sum | cut -c1-24)"
bin="$cache/bin/$target-$bin_key"
if [[ ! -x "$bin" ]]; then
  "$CXX" $ldflags "${objects[@]}" $libs -o "$bin.tmp.$$"
  mv -f "$bin.tmp.$$" "$bin"
  # Keep the cache small: drop this target's older binaries.
  find "$cache/bin" -name "$target-*" ! -path "$bin" -delete
fi
echo "$bin"
