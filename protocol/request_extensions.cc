#include "protocol/request_extensions.h"

#include <linux/fuse.h>
#include <linux/limits.h>  // XATTR_NAME_MAX

#include <cerrno>
#include <cstring>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"
#include "protocol/arg_reader.h"
#include "protocol/iovec_io.h"

namespace vfsd {
namespace {

constexpr absl::string_view kSecurityPrefix = "security.";
// Record types below this are a fuse_secctx_header (type = nr_secctx).
constexpr uint32_t kFirstExtType = 32;
// An extension block is never larger than one xattr value (the security
// context is stored as one) plus its headers and name.
constexpr size_t kMaxExtensionBlock = kMaxXattrValue + 4096;

absl::Status Malformed(const char* what) {
  LOG_EVERY_N(WARNING, 100) << "malformed request extension: " << what;
  return ErrnoStatus(EINVAL, what);
}

template <typename T>
bool Take(absl::string_view& in, T* out) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(out, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

}  // namespace

absl::StatusOr<ParsedExtensions> ParseSecctxBlock(absl::string_view block) {
  fuse_secctx_header header;
  absl::string_view rest = block;
  if (!Take(rest, &header)) return Malformed("short fuse_secctx_header");
  if (header.size < sizeof(header) || header.size > block.size()) {
    return Malformed("fuse_secctx_header size");
  }
  rest = block.substr(sizeof(header), header.size - sizeof(header));
  ParsedExtensions parsed;
  parsed.has_secctx_header = true;
  if (header.nr_secctx == 0) return parsed;  // no LSM labels files in the guest
  // The kernel sends at most one (fuse_dir.c get_security_context); more
  // would need a choice we have no basis for.
  if (header.nr_secctx > 1) return Malformed("more than one security context");
  fuse_secctx secctx;
  if (!Take(rest, &secctx)) return Malformed("short fuse_secctx");
  if (secctx.size == 0 || secctx.size > kMaxXattrValue) return Malformed("security context size");
  const size_t nul = rest.find('\0');
  if (nul == absl::string_view::npos) return Malformed("unterminated security context name");
  const absl::string_view name = rest.substr(0, nul);
  if (name.size() <= kSecurityPrefix.size() || name.size() > XATTR_NAME_MAX ||
      name.substr(0, kSecurityPrefix.size()) != kSecurityPrefix) {
    // Only the security namespace: this must not become a way to set
    // trusted.* or system.* (ACL) xattrs on new files.
    return Malformed("security context name");
  }
  rest.remove_prefix(nul + 1);
  if (rest.size() < secctx.size) return Malformed("security context value");
  // What follows the value is padding to 8 bytes (FUSE_REC_ALIGN).
  parsed.security_context = SecurityContext{name, rest.substr(0, secctx.size)};
  return parsed;
}

absl::StatusOr<ParsedExtensions> ParseExtensionRecords(absl::string_view block,
                                                       bool secctx_allowed) {
  ParsedExtensions parsed;
  while (!block.empty()) {
    fuse_ext_header header;
    absl::string_view peek = block;
    if (!Take(peek, &header)) return Malformed("short fuse_ext_header");
    // Records are 8-byte aligned and at least a header long; anything else
    // would make the walk skip into the middle of a record or loop.
    if (header.size < sizeof(header) || header.size % 8 != 0 || header.size > block.size()) {
      return Malformed("fuse_ext_header size");
    }
    const absl::string_view record = block.substr(0, header.size);
    block.remove_prefix(header.size);
    if (header.type >= kFirstExtType) {
      // FUSE_EXT_GROUPS or newer: only sent for features we never offer.
      VLOG(1) << "request extension type " << header.type << " ignored";
      continue;
    }
    if (!secctx_allowed) return Malformed("security context not negotiated");
    if (parsed.has_secctx_header) return Malformed("second security context record");
    absl::StatusOr<ParsedExtensions> secctx = ParseSecctxBlock(record);
    if (!secctx.ok()) return secctx.status();
    parsed.has_secctx_header = true;
    parsed.security_context = secctx->security_context;
  }
  return parsed;
}

absl::StatusOr<std::unique_ptr<LabelledContext>> ReadSecurityContext(FuseRequest& req,
                                                                     bool offered) {
  const bool secctx_allowed = offered && req.minor() >= 36;
  const size_t ext_length = size_t{req.header().total_extlen} * 8;
  std::unique_ptr<LabelledContext> labelled;
  std::optional<SecurityContext> secctx;
  if (ext_length > 0) {
    // 7.38+: records after the arguments, still in guest memory; copy them
    // once so the guest cannot change them between validation and use.
    if (ext_length > kMaxExtensionBlock) return Malformed("extension block too large");
    labelled = std::make_unique<LabelledContext>();
    labelled->storage.resize(ext_length);
    const size_t offset = sizeof(fuse_in_header) + req.in_args_length();
    if (CopyFromIovecs(req.in(), offset, labelled->storage.data(), ext_length) != ext_length) {
      return Malformed("extension block past the request");
    }
    absl::StatusOr<ParsedExtensions> parsed =
        ParseExtensionRecords(labelled->storage, secctx_allowed);
    if (!parsed.ok()) return parsed.status();
    secctx = parsed->security_context;
  } else if (secctx_allowed && req.minor() < 38 && !req.args().rest().empty()) {
    // 7.36/7.37: the block is what follows the names in the arguments,
    // which the request already holds a private copy of.
    absl::StatusOr<ParsedExtensions> parsed = ParseSecctxBlock(req.args().rest());
    if (!parsed.ok()) return parsed.status();
    secctx = parsed->security_context;
  }
  if (!secctx.has_value()) return nullptr;  // no allocation kept without a label
  if (labelled == nullptr) labelled = std::make_unique<LabelledContext>();
  labelled->ctx = req.context();
  labelled->secctx = *secctx;
  labelled->ctx.security_context = &labelled->secctx;
  return labelled;
}

bool ReadSecurityContextOrReply(FuseRequest& req, bool offered,
                                std::unique_ptr<LabelledContext>* label) {
  absl::StatusOr<std::unique_ptr<LabelledContext>> read = ReadSecurityContext(req, offered);
  if (!read.ok()) {
    req.ReplyStatus(read.status());
    return false;
  }
  *label = *std::move(read);
  return true;
}

}  // namespace vfsd
