#include "protocol/cache_policy.h"

#include <linux/fuse.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vfsd {
namespace {
// One day, virtiofsd's "cache forever" timeout.
constexpr uint64_t kLongTimeout = 86400;
}  // namespace

absl::StatusOr<CacheMode> ParseCacheMode(absl::string_view text) {
  if (text == "never") return CacheMode::kNever;
  if (text == "metadata") return CacheMode::kMetadata;
  if (text == "auto") return CacheMode::kAuto;
  if (text == "always") return CacheMode::kAlways;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown cache mode \"", text, "\" (expected never, metadata, auto or always)"));
}

absl::string_view CacheModeName(CacheMode mode) {
  switch (mode) {
    case CacheMode::kNever:
      return "never";
    case CacheMode::kMetadata:
      return "metadata";
    case CacheMode::kAuto:
      return "auto";
    case CacheMode::kAlways:
      return "always";
  }
  return "auto";
}

uint64_t CacheTimeoutSeconds(CacheMode mode) {
  switch (mode) {
    case CacheMode::kNever:
      return 0;
    case CacheMode::kAuto:
      return 1;
    case CacheMode::kMetadata:
    case CacheMode::kAlways:
      return kLongTimeout;
  }
  return 1;
}

uint32_t OpenReplyFlags(CacheMode mode, const OpenResult& result, bool directory) {
  uint32_t flags = 0;
  if (result.direct_io) flags |= FOPEN_DIRECT_IO;
  if (result.keep_cache) flags |= FOPEN_KEEP_CACHE;
  if (result.nonseekable) flags |= FOPEN_NONSEEKABLE;
  if (result.cache_dir && directory) flags |= FOPEN_CACHE_DIR;
  switch (mode) {
    case CacheMode::kNever:
      // Direct I/O only on files: the kernel ignores it for directories.
      if (!directory) flags |= FOPEN_DIRECT_IO;
      break;
    case CacheMode::kMetadata:
      flags |= directory ? (FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR) : FOPEN_DIRECT_IO;
      break;
    case CacheMode::kAuto:
      break;
    case CacheMode::kAlways:
      flags |= FOPEN_KEEP_CACHE;
      if (directory) flags |= FOPEN_CACHE_DIR;
      break;
  }
  return flags;
}

}  // namespace vfsd
