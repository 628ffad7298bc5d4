#!/usr/bin/env bash
# Installs the Debian bookworm packages vfsd needs to build, run and test.
# Idempotent: when everything is present it only runs one dpkg-query.
set -euo pipefail

PACKAGES=(
  # Build
  bazel-bootstrap bazel-rules-java bazel-platforms default-jdk-headless
  g++ pkg-config
  libabsl-dev libgoogle-glog-dev libgflags-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  librocksdb-dev libgtest-dev libgmock-dev libbenchmark-dev
  libseccomp-dev libcap-ng-dev
  # Tests: fuzzing, the real-guest harness, the reference daemon for benchmarks
  clang libclang-rt-14-dev
  qemu-system-x86 qemu-system-common busybox-static cpio gzip
  e2fsprogs util-linux procps
  # In-guest benchmarks (testing/guest/fio_bench.sh): run from the host root
  fio
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "vfsd: installing missing packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "vfsd: run as root (or install the packages above yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
