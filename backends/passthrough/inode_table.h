// InodeTable: the guest-visible nodes of a passthrough share.
//
// Each node the guest holds a lookup reference to is one Inode: an
// O_PATH|O_NOFOLLOW fd on the host file (so later operations never resolve a
// path again), the host identity of that file, and the FUSE lookup count.
//
// Keys. Nodes are looked up by host identity (st_dev, st_ino, mount id) so
// that every hard link of a file, and every path to a bind-mounted
// directory, resolves to one node id (the guest kernel relies on it to keep
// one inode, and one page cache, per file). The mount id (statx
// STATX_MNT_ID) separates the same inode seen through two mounts, which may
// differ in flags (e.g. a read-only bind mount).
//
// Node ids are allocated from a counter and never reused, never the host
// inode number: a guest can only name nodes it was given, cannot forge one
// by guessing host inode numbers, and a stale id after FORGET resolves to
// nothing (EBADF) rather than to an unrelated file.
//
// Lifetime. Inodes are reference counted (std::shared_ptr) separately from
// the FUSE lookup count: Forget() removes a node from the table when its
// lookup count reaches zero, while a request still running on it keeps its
// fd open until it finishes.
#ifndef VFSD_BACKENDS_PASSTHROUGH_INODE_TABLE_H_
#define VFSD_BACKENDS_PASSTHROUGH_INODE_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "backends/backend.h"
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
  Inode(NodeId id, uint64_t generation, InodeKey key, uint32_t type, ScopedFd fd)
      : id(id), generation(generation), key(key), type(type), fd(std::move(fd)) {}

  const NodeId id;
  const uint64_t generation;
  const InodeKey key;
  const uint32_t type;  // S_IFMT bits; a host inode never changes type
  // O_PATH|O_NOFOLLOW: usable with *at(fd, "", AT_EMPTY_PATH), fstatfs,
  // reopening through /proc/self/fd, and as the parent of openat().
  const ScopedFd fd;
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

  // Raises the lookup count of an existing node by one (LOOKUP of "." or
  // ".." resolved to a node already in hand). False if it was forgotten
  // meanwhile.
  bool Ref(const std::shared_ptr<Inode>& inode);

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
