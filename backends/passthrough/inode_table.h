// InodeTable: the guest-visible nodes of a passthrough share.
//
// Each node the guest holds a lookup reference to is one Inode: the host
// identity of its file, the FUSE lookup count, and the way back to the file
// (so later operations never resolve a path again), which is one of
//   - an O_PATH|O_NOFOLLOW fd held for the node's life
//     (--inode-file-handles=never, the root, and `prefer` nodes on
//     filesystems without file handles), or
//   - a file handle (file_handle.h) plus its mount's fd, with an O_PATH fd
//     opened on demand and kept in the bounded FdCache (fd_cache.h): a guest
//     that never sends FORGET then costs memory, not file descriptors.
//
// Keys. Nodes are looked up by host identity (st_dev, st_ino, mount id) so
// that every hard link of a file, and every path to a bind-mounted
// directory, resolves to one node id (the guest kernel relies on it to keep
// one inode, and one page cache, per file). The mount id (statx
// STATX_MNT_ID) separates the same inode seen through two mounts, which may
// differ in flags (e.g. a read-only bind mount). A held fd pins the host
// inode, so its number cannot be reused while the node lives; a handle does
// not, so for handle nodes the handle is part of the identity: a key that
// matches a node with a different handle means the old file was deleted and
// its inode number reused, and the new file gets a new node (the old node
// answers ESTALE until the guest forgets it).
//
// Node ids are allocated from a counter and never reused, never the host
// inode number: a guest can only name nodes it was given, cannot forge one
// by guessing host inode numbers, and a stale id after FORGET resolves to
// nothing (EBADF) rather than to an unrelated file.
//
// Generation numbers. Because node ids are never reused, (node id,
// generation) is unique with a constant generation of 0, which is what the
// entry replies carry (the guest uses the pair for NFS export of the
// mount). The host inode's own generation needs no tracking either: file
// handles embed it (ext4, xfs, btrfs, tmpfs), so open_by_handle_at of a
// recycled inode number fails with ESTALE instead of opening the new file.
//
// Lifetime. Inodes are reference counted (std::shared_ptr) separately from
// the FUSE lookup count: Forget() removes a node from the table when its
// lookup count reaches zero, while a request still running on it keeps its
// fd open until it finishes.
#ifndef VFSD_BACKENDS_PASSTHROUGH_INODE_TABLE_H_
#define VFSD_BACKENDS_PASSTHROUGH_INODE_TABLE_H_

#include <fcntl.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "backends/backend.h"
#include "backends/passthrough/fd_cache.h"
#include "backends/passthrough/file_handle.h"
#include "backends/passthrough/scoped_fd.h"

namespace vfsd {

// The host identity of a file.
struct InodeKey {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t mnt_id = 0;  // 0 where the kernel does not report STATX_MNT_ID

  friend bool operator==(const InodeKey& a, const InodeKey& b) {
    return a.dev == b.dev && a.ino == b.ino && a.mnt_id == b.mnt_id;
  }
  template <typename H>
  friend H AbslHashValue(H h, const InodeKey& k) {
    return H::combine(std::move(h), k.dev, k.ino, k.mnt_id);
  }
};

struct Inode {
  // A node that holds `fd` for its whole life.
  Inode(NodeId id, uint64_t generation, InodeKey key, uint32_t type, ScopedFd fd)
      : id(id), generation(generation), key(key), type(type), fd(std::move(fd)) {}
  // A node kept by `handle`, its fd opened on demand through `cache`.
  Inode(NodeId id, uint64_t generation, InodeKey key, uint32_t type, FileHandle handle,
        std::shared_ptr<const ScopedFd> mount_fd, FdCache* cache)
      : id(id),
        generation(generation),
        key(key),
        type(type),
        fd(cache),
        handle(std::move(handle)),
        mount_fd(std::move(mount_fd)) {}

  // A fresh O_PATH fd from the handle (a cache miss). Handle nodes only.
  absl::StatusOr<ScopedFd> OpenFromHandle() const {
    return handle->Open(mount_fd->get(), O_PATH | O_NOFOLLOW);
  }

  const NodeId id;
  const uint64_t generation;
  const InodeKey key;
  const uint32_t type;  // S_IFMT bits; a host inode never changes type
  // O_PATH|O_NOFOLLOW: usable with *at(fd, "", AT_EMPTY_PATH), fstatfs,
  // reopening through /proc/self/fd, and as the parent of openat().
  // `fd.get()` is valid for a held fd always, and for a cached one while
  // pinned: every Inode a PassthroughBackend operation gets from GetInode()
  // is pinned until the last copy of that shared_ptr goes away.
  InodeFd fd;
  const std::optional<FileHandle> handle;  // set iff fd.cached()
  const std::shared_ptr<const ScopedFd> mount_fd;  // the handle's mount
  uint64_t lookup_count = 0;  // guarded by InodeTable::mu_
};

class InodeTable {
 public:
  // The root node (kRootNodeId) is created here and is never removed by
  // Forget: the guest kernel never forgets its root, and a malicious FORGET
  // must not make the share unreachable.
  InodeTable(ScopedFd root_fd, InodeKey root_key);

  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  // The node with `key`, its lookup count raised by one: the existing one
  // (then `fd` is closed: the node keeps the fd it was created with) or a new
  // one owning `fd`.
  std::shared_ptr<Inode> GetOrInsert(const InodeKey& key, uint32_t type, ScopedFd fd);

  // The same for a file with a handle: the node with `key` and the same
  // handle (a held-fd node with `key` also matches: its fd pins the inode),
  // or a new node kept by `handle` (replacing, for later lookups, a node
  // whose file is gone and whose inode number was reused). `fd`, just opened
  // on the file, goes to `cache` as the node's cached fd if it has none.
  std::shared_ptr<Inode> GetOrInsertWithHandle(const InodeKey& key, uint32_t type, ScopedFd fd,
                                               FileHandle handle,
                                               std::shared_ptr<const ScopedFd> mount_fd,
                                               FdCache* cache);

  // Raises the lookup count of an existing node by one (LOOKUP of "." or
  // ".." resolved to a node already in hand). False if it was forgotten
  // meanwhile.
  bool Ref(const std::shared_ptr<Inode>& inode);

  // The node with `key`, its lookup count raised by one, if it holds its fd
  // (which pins the host inode, so a file just stat()ed by name with this
  // key is that node's file); nullptr otherwise (no such node, or a
  // file-handle node, whose inode number may have been reused). Lets
  // READDIRPLUS answer a known entry with one statx instead of
  // open + statx + close (passthrough_dir_ops.cc).
  std::shared_ptr<Inode> RefIfHeld(const InodeKey& key);

  // The node, or nullptr for an id that is unknown or already forgotten.
  std::shared_ptr<Inode> Get(NodeId id) const;

  const std::shared_ptr<Inode>& root() const { return root_; }

  // Drops `nlookup` references (clamped to the count: the guest may not
  // drive it below zero); removes the node at zero. Unknown ids are ignored,
  // as FORGET has no reply to carry an error.
  void Forget(NodeId id, uint64_t nlookup);

  // Removes every node but the root (FUSE_DESTROY / disconnect).
  void Clear();

  // Number of nodes in the table, root included (for tests and metrics).
  size_t size() const;

 private:
  mutable std::mutex mu_;
  const std::shared_ptr<Inode> root_;
  NodeId next_id_ = kRootNodeId + 1;  // guarded by mu_
  absl::flat_hash_map<NodeId, std::shared_ptr<Inode>> by_id_;  // guarded by mu_
  absl::flat_hash_map<InodeKey, Inode*> by_key_;               // guarded by mu_
};

}  // namespace vfsd

#endif  // VFSD_BACKENDS_PASSTHROUGH_INODE_TABLE_H_
