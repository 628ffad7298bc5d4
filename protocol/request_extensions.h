// Request extensions: the security context a guest attaches to creating
// requests (FUSE_SECURITY_CTX), and the generic extension records that carry
// it since protocol 7.38.
//
// Wire format (<linux/fuse.h>). Since 7.38 a request may end with
// `total_extlen * 8` bytes of records, each starting with a fuse_ext_header
// {size, type}; the session already keeps them out of the arguments. Types
// 0..31 are a fuse_secctx_header whose `type` is nr_secctx; FUSE_EXT_GROUPS
// (32) only comes with FUSE_CREATE_SUPP_GROUP, which we never offer. In 7.36
// and 7.37 the same fuse_secctx_header block was appended to the arguments
// of CREATE/MKDIR/MKNOD/SYMLINK (and TMPFILE) without any length in the
// header. Every size in here comes from the guest and is checked against
// the bytes actually present before use.
#ifndef VFSD_PROTOCOL_REQUEST_EXTENSIONS_H_
#define VFSD_PROTOCOL_REQUEST_EXTENSIONS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"
#include "protocol/fuse_request.h"

namespace vfsd {

// The extensions of one request, as views into the block they were parsed
// from.
struct ParsedExtensions {
  // A fuse_secctx_header was present (possibly with nr_secctx 0: the guest
  // has no LSM that labels files).
  bool has_secctx_header = false;
  std::optional<SecurityContext> security_context;
};

// Parses a 7.38+ extension block (a sequence of fuse_ext_header records).
// `secctx_allowed`: a security context may appear (negotiated or offered).
// Unknown record types are skipped by their size. Errors carry EINVAL.
absl::StatusOr<ParsedExtensions> ParseExtensionRecords(absl::string_view block,
                                                       bool secctx_allowed);

// Parses one fuse_secctx_header block (`nr_secctx` contexts, at most one as
// the kernel sends and Rust virtiofsd accepts). The name must be a
// non-empty "security.*" xattr name; the value is `fuse_secctx.size` bytes.
// Errors carry EINVAL.
absl::StatusOr<ParsedExtensions> ParseSecctxBlock(absl::string_view block);

// The RequestContext a creating handler passes to the backend when the
// guest attached a security context; kept alive (moved into the completion)
// until the backend completes.
struct LabelledContext {
  RequestContext ctx;
  std::string storage;  // the copied-out extension block (7.38+)
  SecurityContext secctx;
};

// Reads the security context of a creating request whose arguments have
// been consumed up to the end of its names. `offered`: the daemon offers
// FUSE_SECURITY_CTX (--security-label); guests before 7.36 cannot send one.
// Returns nullptr when there is none. Errors carry the errno for the reply.
absl::StatusOr<std::unique_ptr<LabelledContext>> ReadSecurityContext(FuseRequest& req,
                                                                     bool offered);

// ReadSecurityContext for a handler: on error replies with its errno and
// returns false; otherwise `*label` is the context or nullptr.
bool ReadSecurityContextOrReply(FuseRequest& req, bool offered,
                                std::unique_ptr<LabelledContext>* label);

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_REQUEST_EXTENSIONS_H_
