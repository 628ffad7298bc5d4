// How much the guest may cache, as the `--cache` option selects it.
//
// Mirrors Rust virtiofsd's cache policies so guests behave the same:
//   never     entry/attr timeouts 0, files opened FOPEN_DIRECT_IO (every read
//             and write goes to the backend); READDIRPLUS off (the daemon
//             sets FuseSessionOptions::readdirplus accordingly).
//   metadata  entry/attr timeouts 86400 s; files FOPEN_DIRECT_IO (no data
//             cache), directories FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR.
//   auto      entry/attr timeouts 1 s; no open flags: the kernel's default
//             close-to-open consistency plus FUSE_AUTO_INVAL_DATA.
//   always    entry/attr timeouts 86400 s; FOPEN_KEEP_CACHE on every open,
//             FOPEN_CACHE_DIR on directories.
// Hints a backend returns in OpenResult are added to the policy's flags.
#ifndef VFSD_PROTOCOL_CACHE_POLICY_H_
#define VFSD_PROTOCOL_CACHE_POLICY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"

namespace vfsd {

enum class CacheMode { kNever, kMetadata, kAuto, kAlways };

// Parses "never", "metadata", "auto" or "always".
absl::StatusOr<CacheMode> ParseCacheMode(absl::string_view text);

// The option spelling of `mode`.
absl::string_view CacheModeName(CacheMode mode);

// Entry and attribute cache timeout (seconds; the same for both, as virtiofsd).
uint64_t CacheTimeoutSeconds(CacheMode mode);

// FOPEN_* flags for an OPEN/CREATE (`directory` false) or OPENDIR
// (`directory` true) reply, combining the policy with the backend's hints.
uint32_t OpenReplyFlags(CacheMode mode, const OpenResult& result, bool directory);

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_CACHE_POLICY_H_
