# Sourced by the guest tests: sets the array daemon_cmd to the daemon that
# serves the share, from a spec (vfsd | reference | a command template with
# {socket} and {dir}). Usage:
#   daemon_command SPEC SOCK SHARE "VFSD_EXTRA_FLAGS" "REFERENCE_EXTRA_OPTIONS"
# The extras are space-separated words (e.g. "--xattr", "-o xattr -o flock").
# Needs `here` (this directory) and `fail` from the caller.
daemon_command() {
  local spec="$1" sock="$2" share="$3" vfsd_extra="$4" ref_extra="$5" c vfsd="" i
  local -a extra
  case "$spec" in
    vfsd)
      for c in "${TEST_SRCDIR:-/nonexistent}/${TEST_WORKSPACE:-vfsd}/daemon/vfsd" \
               "$here/../../daemon/vfsd" "$here/../../bazel-bin/daemon/vfsd"; do
        [ -x "$c" ] && { vfsd="$c"; break; }
      done
      [ -n "$vfsd" ] || fail "no vfsd binary (build //daemon:vfsd, or use --daemon=reference)"
      read -r -a extra <<<"$vfsd_extra"
      daemon_cmd=("$vfsd" "--socket-path=$sock" "--shared-dir=$share" "--cache=auto" "${extra[@]}")
      ;;
    reference)
      [ -x /usr/lib/qemu/virtiofsd ] ||
        fail "/usr/lib/qemu/virtiofsd missing (apt-get install qemu-system-common)"
      read -r -a extra <<<"$ref_extra"
      daemon_cmd=(/usr/lib/qemu/virtiofsd "--socket-path=$sock" -o "source=$share"
                  -o cache=auto -o sandbox=chroot "${extra[@]}")
      ;;
    *)
      read -r -a daemon_cmd <<<"$spec"
      for i in "${!daemon_cmd[@]}"; do
        daemon_cmd[$i]="${daemon_cmd[$i]//\{socket\}/$sock}"
        daemon_cmd[$i]="${daemon_cmd[$i]//\{dir\}/$share}"
      done
      ;;
  esac
}
