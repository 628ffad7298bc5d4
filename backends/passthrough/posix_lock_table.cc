// PosixLockTable: per (node, lock owner) fds carrying the owner's OFD locks.

#include "backends/passthrough/posix_lock_table.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "backends/errno_status.h"

namespace vfsd {

int LockOwnerFd::TrySetLock(const struct flock& fl, uint64_t start, uint64_t end, uint32_t pid) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fd_.valid()) return kClosed;
  // Every disjoint range is a kernel lock record and a map node here: a
  // guest locking every other byte must not grow either without bound.
  if (fl.l_type != F_UNLCK && held_.range_count() >= max_ranges_ && !held_.Covers(start, end)) {
    return ENOLCK;
  }
  struct flock copy = fl;
  int rc;
  do {
    rc = ::fcntl(fd_.get(), F_OFD_SETLK, &copy);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return errno;
  if (fl.l_type == F_UNLCK) {
    held_.Remove(start, end);
  } else {
    held_.Add(start, end);
    pid_ = pid;
  }
  return 0;
}

int LockOwnerFd::GetLock(struct flock* fl) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fd_.valid()) return kClosed;
  return ::fcntl(fd_.get(), F_OFD_GETLK, fl) == 0 ? 0 : errno;
}

uint32_t LockOwnerFd::PidIfCovers(uint64_t start, uint64_t end) {
  std::lock_guard<std::mutex> lock(mu_);
  return fd_.valid() && held_.Covers(start, end) ? pid_ : 0;
}

bool LockOwnerFd::CloseIfIdle() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!held_.empty() || waiters_ > 0) return false;
  fd_.reset();
  return true;
}

void LockOwnerFd::AddWaiter() {
  std::lock_guard<std::mutex> lock(mu_);
  ++waiters_;
}

void LockOwnerFd::RemoveWaiter() {
  std::lock_guard<std::mutex> lock(mu_);
  --waiters_;
}

void LockOwnerFd::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  fd_.reset();  // the kernel drops every OFD lock of this open file description
  held_.Clear();
}

absl::StatusOr<std::shared_ptr<LockOwnerFd>> PosixLockTable::GetOrOpen(NodeId node,
                                                                        uint64_t owner,
                                                                        HandleId handle,
                                                                        Opener open) {
  auto find_locked = [&]() -> std::shared_ptr<LockOwnerFd> {
    auto n = nodes_.find(node);
    if (n == nodes_.end()) return nullptr;
    auto o = n->second.find(owner);
    if (o == n->second.end()) return nullptr;
    std::shared_ptr<LockOwnerFd> entry = o->second;
    auto& handles = entry->handles_;
    if (std::find(handles.begin(), handles.end(), handle) == handles.end()) {
      handles.push_back(handle);
    }
    return entry;
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::shared_ptr<LockOwnerFd> entry = find_locked()) return entry;
    if (count_.load(std::memory_order_relaxed) >= max_owners_) {
      return ErrnoStatus(ENOLCK, "too many lock owners");
    }
  }
  // Opening may take a while (it is a real open of the host file): not
  // under the table's mutex.
  absl::StatusOr<ScopedFd> fd = open();
  if (!fd.ok()) return fd.status();
  std::lock_guard<std::mutex> lock(mu_);
  // Another request of the same owner may have won the race; ours closes.
  if (std::shared_ptr<LockOwnerFd> entry = find_locked()) return entry;
  if (count_.load(std::memory_order_relaxed) >= max_owners_) {
    return ErrnoStatus(ENOLCK, "too many lock owners");
  }
  auto entry = std::make_shared<LockOwnerFd>(*std::move(fd), kMaxRangesPerOwner);
  entry->handles_.push_back(handle);
  nodes_[node].emplace(owner, entry);
  count_.fetch_add(1, std::memory_order_release);
  return entry;
}

std::shared_ptr<LockOwnerFd> PosixLockTable::Find(NodeId node, uint64_t owner) const {
  if (empty()) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto n = nodes_.find(node);
  if (n == nodes_.end()) return nullptr;
  auto o = n->second.find(owner);
  return o == n->second.end() ? nullptr : o->second;
}

void PosixLockTable::DropIfIdle(NodeId node, uint64_t owner) {
  std::lock_guard<std::mutex> lock(mu_);
  auto n = nodes_.find(node);
  if (n == nodes_.end()) return;
  auto o = n->second.find(owner);
  if (o == n->second.end() || !o->second->CloseIfIdle()) return;
  n->second.erase(o);
  if (n->second.empty()) nodes_.erase(n);
  count_.fetch_sub(1, std::memory_order_release);
}

bool PosixLockTable::DropOwner(NodeId node, uint64_t owner) {
  if (empty()) return false;
  std::shared_ptr<LockOwnerFd> entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto n = nodes_.find(node);
    if (n == nodes_.end()) return false;
    auto o = n->second.find(owner);
    if (o == n->second.end()) return false;
    entry = std::move(o->second);
    n->second.erase(o);
    if (n->second.empty()) nodes_.erase(n);
    count_.fetch_sub(1, std::memory_order_release);
  }
  entry->Close();
  return true;
}

size_t PosixLockTable::ReleaseHandle(NodeId node, HandleId handle) {
  if (empty()) return 0;
  std::vector<std::shared_ptr<LockOwnerFd>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto n = nodes_.find(node);
    if (n == nodes_.end()) return 0;
    for (auto o = n->second.begin(); o != n->second.end();) {
      auto& handles = o->second->handles_;
      handles.erase(std::remove(handles.begin(), handles.end(), handle), handles.end());
      if (handles.empty()) {
        dropped.push_back(std::move(o->second));
        n->second.erase(o++);
      } else {
        ++o;
      }
    }
    if (n->second.empty()) nodes_.erase(n);
    count_.fetch_sub(dropped.size(), std::memory_order_release);
  }
  for (const auto& entry : dropped) entry->Close();
  return dropped.size();
}

bool PosixLockTable::DropNode(NodeId node) {
  if (empty()) return false;
  Owners owners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto n = nodes_.find(node);
    if (n == nodes_.end()) return false;
    owners = std::move(n->second);
    nodes_.erase(n);
    count_.fetch_sub(owners.size(), std::memory_order_release);
  }
  for (auto& [owner, entry] : owners) entry->Close();
  return true;
}

void PosixLockTable::Clear() {
  absl::flat_hash_map<NodeId, Owners> nodes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    nodes.swap(nodes_);
    count_.store(0, std::memory_order_release);
  }
  for (auto& [node, owners] : nodes) {
    for (auto& [owner, entry] : owners) entry->Close();
  }
}

uint32_t PosixLockTable::HolderPid(NodeId node, const LockOwnerFd* except, uint64_t start,
                                   uint64_t end) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto n = nodes_.find(node);
  if (n == nodes_.end()) return 0;
  for (const auto& [owner, entry] : n->second) {
    if (entry.get() == except) continue;
    if (uint32_t pid = entry->PidIfCovers(start, end); pid != 0) return pid;
  }
  return 0;
}

}  // namespace vfsd
