#include "protocol/fuse_init.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

// The guest's page size for FUSE_MAX_PAGES (virtio-fs guests we serve are
// 4 KiB-page x86/arm64; a larger page only makes max_pages generous).
constexpr uint32_t kPageSize = 4096;
// FUSE_DIRECT_IO_ALLOW_MMAP (protocol 7.39), newer than Debian 12's
// <linux/fuse.h>; the guest offers it in flags2.
constexpr uint64_t kDirectIoAllowMmap = uint64_t{1} << 36;
// fuse_init_in as minors < 36 send it (no flags2).
constexpr size_t kInitInCompatSize = offsetof(fuse_init_in, flags2);

// Flags offered whenever the guest offers them.
constexpr uint64_t kAlwaysOffered =
    FUSE_ASYNC_READ |         // reads may be answered out of order
    FUSE_ATOMIC_O_TRUNC |     // O_TRUNC is passed in OPEN, not as SETATTR
    FUSE_BIG_WRITES |         // writes larger than a page
    FUSE_AUTO_INVAL_DATA |    // drop cached pages when mtime/size change
    FUSE_ASYNC_DIO |          // direct I/O split into parallel requests
    FUSE_PARALLEL_DIROPS |    // lookups/readdirs of one dir in parallel
    FUSE_MAX_PAGES |          // honour max_pages (1 MiB requests)
    FUSE_EXPORT_SUPPORT;      // LOOKUP of "." and ".." for NFS export

uint64_t WantedFlags(const FuseSessionOptions& options) {
  uint64_t want = kAlwaysOffered;
  if (options.posix_locks) want |= FUSE_POSIX_LOCKS;
  if (options.flock) want |= FUSE_FLOCK_LOCKS;
  if (options.dont_mask) want |= FUSE_DONT_MASK;
  if (options.readdirplus) want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
  if (options.writeback) want |= FUSE_WRITEBACK_CACHE;
  if (options.announce_submounts) want |= FUSE_SUBMOUNTS;
  if (options.killpriv_v2) want |= FUSE_HANDLE_KILLPRIV_V2;
  if (options.direct_io_allow_mmap) want |= kDirectIoAllowMmap;
  if (options.posix_acl) {
    // The kernel reads and writes ACLs through the xattr operations.
    if (options.xattr) {
      want |= FUSE_POSIX_ACL;
    } else {
      LOG(WARNING) << "posix_acl needs xattr support; not offering FUSE_POSIX_ACL";
    }
  }
  if (options.xattr) {
    // The 16-byte fuse_setxattr_in, whose setxattr_flags carry
    // FUSE_SETXATTR_ACL_KILL_SGID (handled in HandleSetXattr).
    want |= FUSE_SETXATTR_EXT;
  }
  if (options.security_label) {
    // CREATE/MKDIR/MKNOD/SYMLINK/TMPFILE then carry the new inode's security
    // context (request_extensions.h), which backends store as an xattr.
    want |= FUSE_SECURITY_CTX;
  }
  return want;
}

}  // namespace

absl::StatusOr<InitReply> NegotiateInit(absl::string_view args,
                                        const FuseSessionOptions& options) {
  fuse_init_in in = {};
  if (args.size() < kInitInCompatSize) {
    return ErrnoStatus(EINVAL, "short fuse_init_in");
  }
  std::memcpy(&in, args.data(), std::min(args.size(), sizeof(in)));

  InitReply reply;
  reply.out.major = kFuseMajor;
  reply.out.minor = kFuseMaxMinor;
  if (in.major < kFuseMajor) {
    LOG_EVERY_N(ERROR, 100) << "guest speaks FUSE " << in.major << "." << in.minor << ", need 7.x";
    return ErrnoStatus(EPROTO, "unsupported FUSE major");
  }
  if (in.major > kFuseMajor) {
    // Tell the guest our version; it retries with major 7 (libfuse, kernel
    // process_init_reply).
    reply.size = sizeof(fuse_init_out);
    reply.initialised = false;
    return reply;
  }

  const uint32_t minor = std::min(in.minor, kFuseMaxMinor);
  uint64_t offered = in.flags;
  const bool init_ext = (in.flags & FUSE_INIT_EXT) != 0 && args.size() >= sizeof(in.flags2) +
                                                                               kInitInCompatSize;
  if (init_ext) offered |= static_cast<uint64_t>(in.flags2) << 32;
  uint64_t flags = offered & WantedFlags(options);
  if (init_ext) flags |= FUSE_INIT_EXT;

  const uint32_t max_write = std::max(options.max_write, kMinMaxWrite);
  reply.out.minor = minor;
  reply.out.max_readahead = in.max_readahead;
  reply.out.flags = static_cast<uint32_t>(flags);
  reply.out.flags2 = init_ext ? static_cast<uint32_t>(flags >> 32) : 0;
  // As virtiofsd: let the guest keep many requests in flight; the queue
  // size bounds them anyway.
  reply.out.max_background = std::numeric_limits<uint16_t>::max();
  reply.out.congestion_threshold = std::numeric_limits<uint16_t>::max() / 4 * 3;
  reply.out.max_write = max_write;
  reply.out.time_gran = 1;  // nanosecond timestamps
  if (flags & FUSE_MAX_PAGES) {
    reply.out.max_pages = static_cast<uint16_t>(
        std::min<uint32_t>((max_write + kPageSize - 1) / kPageSize,
                           std::numeric_limits<uint16_t>::max()));
  }
  reply.out.map_alignment = 0;  // no DAX window

  if (minor < 5) {
    reply.size = FUSE_COMPAT_INIT_OUT_SIZE;
  } else if (minor < 23) {
    reply.size = FUSE_COMPAT_22_INIT_OUT_SIZE;
  } else {
    reply.size = sizeof(fuse_init_out);
  }
  reply.initialised = true;
  reply.protocol.minor = minor;
  reply.protocol.submounts = (flags & FUSE_SUBMOUNTS) != 0;
  reply.protocol.setxattr_ext = (flags & FUSE_SETXATTR_EXT) != 0;
  reply.backend_options.writeback_cache = (flags & FUSE_WRITEBACK_CACHE) != 0;
  reply.backend_options.posix_acl = (flags & FUSE_POSIX_ACL) != 0;
  reply.backend_options.handle_killpriv_v2 = (flags & FUSE_HANDLE_KILLPRIV_V2) != 0;
  reply.backend_options.security_context = (flags & FUSE_SECURITY_CTX) != 0;
  VLOG(1) << "FUSE INIT: guest " << in.major << "." << in.minor << " flags 0x" << std::hex
          << offered << ", negotiated 7." << std::dec << minor << " flags 0x" << std::hex << flags;
  return reply;
}

}  // namespace vfsd
