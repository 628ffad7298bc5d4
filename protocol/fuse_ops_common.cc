// Shared decoding and reply encoding for the per-opcode handlers.
#include <linux/fuse.h>

#include <algorithm>
#include <limits>

#include "backends/errno_status.h"
#include "protocol/cache_policy.h"
#include "protocol/fuse_encode.h"
#include "protocol/fuse_ops.h"

namespace vfsd {

std::optional<absl::string_view> ReadName(FuseRequest& req, NameKind kind) {
  absl::StatusOr<absl::string_view> name = req.args().Name(kind);
  if (!name.ok()) {
    req.ReplyStatus(name.status());
    return std::nullopt;
  }
  return *name;
}

void ReplyEntry(FuseRequest& req, const absl::StatusOr<Entry>& entry) {
  if (!entry.ok()) return req.ReplyStatus(entry.status());
  fuse_entry_out out;
  EncodeEntryOut(*entry, req.timeout(), req.protocol().submounts, &out);
  req.ReplyOk(&out, EntryOutSize(req.minor()));
}

void ReplyAttr(FuseRequest& req, const absl::StatusOr<Attr>& attr) {
  if (!attr.ok()) return req.ReplyStatus(attr.status());
  fuse_attr_out out;
  EncodeAttrOut(*attr, req.timeout(), req.protocol().submounts, &out);
  req.ReplyOk(&out, AttrOutSize(req.minor()));
}

namespace {
fuse_open_out EncodeOpen(const FuseRequest& req, const OpenResult& result, bool directory) {
  fuse_open_out out = {};
  out.fh = result.handle;
  out.open_flags = OpenReplyFlags(req.cache_mode(), result, directory);
  return out;
}
}  // namespace

void ReplyOpen(FuseRequest& req, const absl::StatusOr<OpenResult>& result, bool directory) {
  if (!result.ok()) return req.ReplyStatus(result.status());
  fuse_open_out out = EncodeOpen(req, *result, directory);
  req.ReplyOk(&out, sizeof(out));
}

void ReplyCreate(FuseRequest& req, const absl::StatusOr<CreateResult>& result) {
  if (!result.ok()) return req.ReplyStatus(result.status());
  fuse_entry_out entry;
  EncodeEntryOut(result->entry, req.timeout(), req.protocol().submounts, &entry);
  fuse_open_out open = EncodeOpen(req, result->open, /*directory=*/false);
  req.ReplyOk(&entry, EntryOutSize(req.minor()), &open, sizeof(open));
}

void ReplyWriteSize(FuseRequest& req, const absl::StatusOr<size_t>& size) {
  if (!size.ok()) return req.ReplyStatus(size.status());
  fuse_write_out out = {};
  // The kernel's write/copy_file_range lengths are 32-bit (a request is at
  // most max_write / the u32 `len` the guest asked for).
  out.size = static_cast<uint32_t>(std::min<size_t>(*size, std::numeric_limits<uint32_t>::max()));
  req.ReplyOk(&out, sizeof(out));
}

}  // namespace vfsd
