#include "backends/passthrough/inode_table.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

namespace vfsd {

// Node ids are never reused, so (id, generation) is unique with a constant
// generation (see "Generation numbers" in the header).
constexpr uint64_t kGeneration = 0;

InodeTable::InodeTable(ScopedFd root_fd, InodeKey root_key)
    : root_(std::make_shared<Inode>(kRootNodeId, kGeneration, root_key, S_IFDIR,
                                    std::move(root_fd))) {
  root_->lookup_count = 1;
  by_id_.emplace(kRootNodeId, root_);
  by_key_.emplace(root_key, root_.get());
}

std::shared_ptr<Inode> InodeTable::GetOrInsert(const InodeKey& key, uint32_t type, ScopedFd fd) {
  std::shared_ptr<Inode> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
      ++it->second->lookup_count;
      result = by_id_.at(it->second->id);
    } else {
      const NodeId id = next_id_++;
      result = std::make_shared<Inode>(id, kGeneration, key, type, std::move(fd));
      result->lookup_count = 1;
      by_id_.emplace(id, result);
      by_key_.emplace(key, result.get());
      return result;
    }
  }
  // `fd` (a duplicate of the existing node's file) is closed here, outside
  // the lock.
  return result;
}

std::shared_ptr<Inode> InodeTable::GetOrInsertWithHandle(const InodeKey& key, uint32_t type,
                                                         ScopedFd fd, FileHandle handle,
                                                         std::shared_ptr<const ScopedFd> mount_fd,
                                                         FdCache* cache) {
  std::shared_ptr<Inode> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end() && (!it->second->handle.has_value() || *it->second->handle == handle)) {
      ++it->second->lookup_count;
      result = by_id_.at(it->second->id);
    } else {
      // New, or the key's node is a deleted file whose inode number the
      // host reused: that node stays reachable by id (answering ESTALE)
      // until forgotten, but lookups now find this one.
      const NodeId id = next_id_++;
      result = std::make_shared<Inode>(id, kGeneration, key, type, std::move(handle),
                                       std::move(mount_fd), cache);
      result->lookup_count = 1;
      by_id_.emplace(id, result);
      by_key_[key] = result.get();
    }
  }
  // Outside the table lock (the cache has its own, and may close fds).
  if (result->fd.cached()) cache->Adopt(result->fd, std::move(fd));
  return result;
}

bool InodeTable::Ref(const std::shared_ptr<Inode>& inode) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(inode->id);
  if (it == by_id_.end() || it->second != inode) return false;
  ++inode->lookup_count;
  return true;
}

std::shared_ptr<Inode> InodeTable::RefIfHeld(const InodeKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end() || it->second->fd.cached()) return nullptr;
  ++it->second->lookup_count;
  return by_id_.at(it->second->id);
}

std::shared_ptr<Inode> InodeTable::Get(NodeId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void InodeTable::Forget(NodeId id, uint64_t nlookup) {
  std::shared_ptr<Inode> removed;  // released after unlocking: close() may block
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  Inode& inode = *it->second;
  inode.lookup_count -= std::min(inode.lookup_count, nlookup);
  if (inode.lookup_count > 0 || id == kRootNodeId) {
    if (id == kRootNodeId && inode.lookup_count == 0) inode.lookup_count = 1;
    return;
  }
  // The key may already name a newer node (see GetOrInsertWithHandle).
  auto key_it = by_key_.find(inode.key);
  if (key_it != by_key_.end() && key_it->second == &inode) by_key_.erase(key_it);
  removed = std::move(it->second);
  by_id_.erase(it);
}

void InodeTable::Clear() {
  absl::flat_hash_map<NodeId, std::shared_ptr<Inode>> removed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    removed.swap(by_id_);
    by_key_.clear();
    by_id_.emplace(kRootNodeId, root_);
    by_key_.emplace(root_->key, root_.get());
    root_->lookup_count = 1;
  }
}

size_t InodeTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_id_.size();
}

}  // namespace vfsd
