// The per-opcode handlers the session dispatches to. Each decodes and
// validates its arguments from the request's private copy, calls the
// Backend, and encodes the reply when the backend completes (on any
// thread). Handlers own the request: every path ends in exactly one reply.
//
// Grouped by file: fuse_ops_node.cc (names and nodes), fuse_ops_file.cc
// (open files), fuse_ops_dir.cc (directories), fuse_ops_fs.cc (statfs,
// access, xattrs, locks). Shared decoding/encoding helpers are below.
#ifndef VFSD_PROTOCOL_FUSE_OPS_H_
#define VFSD_PROTOCOL_FUSE_OPS_H_

#include <cerrno>
#include <cstddef>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"
#include "protocol/fuse_request.h"
#include "protocol/fuse_session_options.h"

namespace vfsd {

struct OpEnv {
  Backend& backend;
  const FuseSessionOptions& options;
};

// --- names and nodes (fuse_ops_node.cc) ---
void HandleLookup(const OpEnv& env, FuseRequestPtr req);
void HandleForget(const OpEnv& env, FuseRequestPtr req);
void HandleBatchForget(const OpEnv& env, FuseRequestPtr req);
void HandleGetAttr(const OpEnv& env, FuseRequestPtr req);
void HandleSetAttr(const OpEnv& env, FuseRequestPtr req);
void HandleReadLink(const OpEnv& env, FuseRequestPtr req);
void HandleSymlink(const OpEnv& env, FuseRequestPtr req);
void HandleMkNod(const OpEnv& env, FuseRequestPtr req);
void HandleMkDir(const OpEnv& env, FuseRequestPtr req);
void HandleUnlink(const OpEnv& env, FuseRequestPtr req);
void HandleRmDir(const OpEnv& env, FuseRequestPtr req);
void HandleRename(const OpEnv& env, FuseRequestPtr req);   // RENAME and RENAME2
void HandleLink(const OpEnv& env, FuseRequestPtr req);

// --- open files (fuse_ops_file.cc) ---
void HandleOpen(const OpEnv& env, FuseRequestPtr req);
void HandleCreate(const OpEnv& env, FuseRequestPtr req);
void HandleTmpFile(const OpEnv& env, FuseRequestPtr req);
void HandleRead(const OpEnv& env, FuseRequestPtr req);
void HandleWrite(const OpEnv& env, FuseRequestPtr req);
void HandleFlush(const OpEnv& env, FuseRequestPtr req);
void HandleRelease(const OpEnv& env, FuseRequestPtr req);
void HandleFsync(const OpEnv& env, FuseRequestPtr req);
void HandleFallocate(const OpEnv& env, FuseRequestPtr req);
void HandleLseek(const OpEnv& env, FuseRequestPtr req);
void HandleCopyFileRange(const OpEnv& env, FuseRequestPtr req);

// --- directories (fuse_ops_dir.cc) ---
void HandleOpenDir(const OpEnv& env, FuseRequestPtr req);
void HandleReadDir(const OpEnv& env, FuseRequestPtr req);  // READDIR and READDIRPLUS
void HandleReleaseDir(const OpEnv& env, FuseRequestPtr req);
void HandleFsyncDir(const OpEnv& env, FuseRequestPtr req);

// --- filesystem, xattrs, locks (fuse_ops_fs.cc) ---
void HandleStatFs(const OpEnv& env, FuseRequestPtr req);
void HandleSyncFs(const OpEnv& env, FuseRequestPtr req);
void HandleAccess(const OpEnv& env, FuseRequestPtr req);
void HandleSetXattr(const OpEnv& env, FuseRequestPtr req);
void HandleGetXattr(const OpEnv& env, FuseRequestPtr req);
void HandleListXattr(const OpEnv& env, FuseRequestPtr req);
void HandleRemoveXattr(const OpEnv& env, FuseRequestPtr req);
void HandleGetLk(const OpEnv& env, FuseRequestPtr req);
void HandleSetLk(const OpEnv& env, FuseRequestPtr req);  // SETLK and SETLKW

// --- shared helpers (fuse_ops_common.cc) ---

// Reads the next fixed argument (first `size` bytes of T, rest zeroed);
// on a short request replies EINVAL and returns false.
template <typename T>
bool ReadArg(FuseRequest& req, T* out, size_t size = sizeof(T)) {
  if (req.args().Read(out, size)) return true;
  req.ReplyError(EINVAL);
  return false;
}

// Reads and validates the next name; on failure replies with its errno.
std::optional<absl::string_view> ReadName(FuseRequest& req, NameKind kind);

// Replies fuse_entry_out (sized for the minor) or the error.
void ReplyEntry(FuseRequest& req, const absl::StatusOr<Entry>& entry);
// Replies fuse_attr_out or the error.
void ReplyAttr(FuseRequest& req, const absl::StatusOr<Attr>& attr);
// Replies fuse_open_out with the cache policy's flags, or the error.
void ReplyOpen(FuseRequest& req, const absl::StatusOr<OpenResult>& result, bool directory);
// Replies fuse_entry_out + fuse_open_out (CREATE, TMPFILE), or the error.
void ReplyCreate(FuseRequest& req, const absl::StatusOr<CreateResult>& result);
// Replies fuse_write_out{size} (WRITE, COPY_FILE_RANGE), or the error.
void ReplyWriteSize(FuseRequest& req, const absl::StatusOr<size_t>& size);

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_OPS_H_
