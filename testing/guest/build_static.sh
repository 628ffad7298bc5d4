#!/usr/bin/env bash
# Compiles one of the guest's C check programs statically (the guest has no
# libc) and prints the binary's path. The binary is cached in
# $VFSD_TEST_CACHE/bin/<name>-<hash>, the hash covering the sources and the
# compiler, so an unchanged program is not rebuilt for every guest test.
# Usage: build_static.sh SOURCE.c [HEADER...]
set -euo pipefail
src="${1:?usage: build_static.sh SOURCE.c [HEADER...]}"
cache="${VFSD_TEST_CACHE:-/var/tmp/vfsd-guest-cache}/bin"
mkdir -p "$cache"
key="$( { cat "$@"; gcc --version; } | sha256sum | cut -c1-16)"
out="$cache/$(basename "$src" .c)-$key"
if [ ! -x "$out" ]; then
  tmp="$(mktemp "$cache/.build.XXXXXX")"
  # -I: the header sits beside the source (Bazel runfiles keep them together).
  gcc -static -O2 -Wall -Wextra -Wno-unused-function -Wno-unused-result -I"$(dirname "$src")" \
    -o "$tmp" "$src" >&2 || { rm -f "$tmp"; exit 1; }
  chmod 755 "$tmp"
  mv "$tmp" "$out"   # atomic: a concurrent test never runs half a binary
fi
echo "$out"
