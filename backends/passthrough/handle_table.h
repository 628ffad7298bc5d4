// HandleTable: the files and directories the guest has open on a
// passthrough share.
//
// An OPEN/OPENDIR reopens the node's O_PATH fd with the requested flags and
// stores the resulting fd here under a fresh HandleId; READ, READDIR, FLUSH,
// RELEASE name it by that id. Ids come from a counter and are never reused,
// so a stale or guessed id resolves to nothing (EBADF, as virtiofsd answers)
// instead of another open file. Like inodes, handles are shared_ptr-owned:
// RELEASE removes the id while a READ still running on it keeps the fd open.
#ifndef VFSD_BACKENDS_PASSTHROUGH_HANDLE_TABLE_H_
#define VFSD_BACKENDS_PASSTHROUGH_HANDLE_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "backends/backend.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

class DirReader;  // backends/passthrough/dir_reader.h

struct OpenHandle {
  OpenHandle(NodeId node, bool is_dir, ScopedFd fd)
      : node(node), is_dir(is_dir), fd(std::move(fd)) {}

  const NodeId node;
  const bool is_dir;
  const ScopedFd fd;
  // Directories: READDIR seeks the shared file offset then reads, which must
  // not interleave with another READDIR on the same handle.
  std::mutex dir_mu;
  // Directories: the getdents64 cursor kept between READDIRs (created by
  // the first one; guarded by dir_mu). shared_ptr: DirReader stays opaque here.
  std::shared_ptr<DirReader> dir_reader;
  // Files, without BackendConfig::host_page_cache: bytes read or written
  // since the last whole-file page-cache sweep (host_page_cache.h).
  std::atomic<uint64_t> served_since_sweep{0};
};

class HandleTable {
 public:
  HandleTable() = default;
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  // Stores `handle` under a new id.
  HandleId Insert(std::shared_ptr<OpenHandle> handle);

  // The handle, or nullptr if `id` is unknown or released.
  std::shared_ptr<OpenHandle> Get(HandleId id) const;

  // Removes and returns the handle (nullptr if unknown); its fd closes when
  // the last user drops it.
  std::shared_ptr<OpenHandle> Remove(HandleId id);

  // Removes every handle (FUSE_DESTROY / disconnect).
  void Clear();

  size_t size() const;

 private:
  mutable std::mutex mu_;
  HandleId next_id_ = 1;  // guarded by mu_; 0 is never handed out
  absl::flat_hash_map<HandleId, std::shared_ptr<OpenHandle>> handles_;  // guarded by mu_
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_HANDLE_TABLE_H_
