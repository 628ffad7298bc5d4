#include "backends/passthrough/fd_cache.h"

#include <cerrno>
#include <utility>

#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {

InodeFd::~InodeFd() {
  if (cache_ != nullptr) {
    cache_->Drop(*this);
  } else {
    ScopedFd owned(fd_.load(std::memory_order_relaxed));
  }
}

FdCache::~FdCache() {
  // A cached InodeFd outliving its cache would call Drop() on freed memory.
  if (lru_head_ != nullptr || pinned_ != 0) LOG(DFATAL) << "FdCache destroyed before its nodes";
}

void FdCache::PushFront(const InodeFd& slot) {
  slot.lru_prev_ = nullptr;
  slot.lru_next_ = lru_head_;
  if (lru_head_ != nullptr) lru_head_->lru_prev_ = &slot;
  lru_head_ = &slot;
  if (lru_tail_ == nullptr) lru_tail_ = &slot;
  slot.in_lru_ = true;
  ++unpinned_open_;
}

void FdCache::Unlink(const InodeFd& slot) {
  if (slot.lru_prev_ != nullptr) {
    slot.lru_prev_->lru_next_ = slot.lru_next_;
  } else {
    lru_head_ = slot.lru_next_;
  }
  if (slot.lru_next_ != nullptr) {
    slot.lru_next_->lru_prev_ = slot.lru_prev_;
  } else {
    lru_tail_ = slot.lru_prev_;
  }
  slot.lru_prev_ = slot.lru_next_ = nullptr;
  slot.in_lru_ = false;
  --unpinned_open_;
}

void FdCache::EvictLocked(std::vector<ScopedFd>& to_close) {
  while (unpinned_open_ > capacity_) {
    const InodeFd& victim = *lru_tail_;
    Unlink(victim);
    to_close.emplace_back(victim.fd_.exchange(-1, std::memory_order_relaxed));
  }
}

absl::Status FdCache::Pin(const InodeFd& slot, absl::FunctionRef<absl::StatusOr<ScopedFd>()> open) {
  DCHECK(slot.cached());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (slot.pins_ > 0) {
      ++slot.pins_;
      return absl::OkStatus();
    }
    if (slot.in_lru_) {  // a hit: the fd stays open, just not evictable
      Unlink(slot);
      slot.pins_ = 1;
      ++pinned_;
      return absl::OkStatus();
    }
  }
  // A miss. Opening runs unlocked (open_by_handle_at may block on the
  // filesystem); a concurrent Pin of the same slot may open it too, and the
  // loser closes its fd below.
  absl::StatusOr<ScopedFd> opened = open();
  if (!opened.ok()) {
    const int err = ErrnoOf(opened.status());
    if ((err != EMFILE && err != ENFILE) || Trim() == 0) return opened.status();
    opened = open();
    if (!opened.ok()) return opened.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (slot.pins_ > 0) {
    ++slot.pins_;
    return absl::OkStatus();  // `opened` closes on return, after unlocking
  }
  if (slot.in_lru_) {
    Unlink(slot);
  } else {
    slot.fd_.store(opened->release(), std::memory_order_relaxed);
  }
  slot.pins_ = 1;
  ++pinned_;
  return absl::OkStatus();
}

void FdCache::Unpin(const InodeFd& slot) {
  std::vector<ScopedFd> to_close;
  std::lock_guard<std::mutex> lock(mu_);
  DCHECK_GT(slot.pins_, 0u);
  if (--slot.pins_ > 0) return;
  --pinned_;
  PushFront(slot);
  EvictLocked(to_close);
  // `to_close` is destroyed after `lock` (declared first): close() unlocked.
}

void FdCache::Adopt(const InodeFd& slot, ScopedFd fd) {
  std::vector<ScopedFd> to_close;
  to_close.push_back(std::move(fd));
  std::lock_guard<std::mutex> lock(mu_);
  if (slot.pins_ > 0 || slot.in_lru_) {
    if (slot.in_lru_) {  // refresh its place: the node was just used
      Unlink(slot);
      PushFront(slot);
    }
    return;
  }
  slot.fd_.store(to_close.back().release(), std::memory_order_relaxed);
  PushFront(slot);
  EvictLocked(to_close);
}

void FdCache::Drop(const InodeFd& slot) {
  ScopedFd owned;
  std::lock_guard<std::mutex> lock(mu_);
  DCHECK_EQ(slot.pins_, 0u);
  if (slot.in_lru_) Unlink(slot);
  owned.reset(slot.fd_.exchange(-1, std::memory_order_relaxed));
}

size_t FdCache::Trim() {
  std::vector<ScopedFd> to_close;
  std::lock_guard<std::mutex> lock(mu_);
  while (lru_tail_ != nullptr) {
    const InodeFd& victim = *lru_tail_;
    Unlink(victim);
    to_close.emplace_back(victim.fd_.exchange(-1, std::memory_order_relaxed));
  }
  return to_close.size();  // closed after unlocking
}

size_t FdCache::open_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unpinned_open_ + pinned_;
}

size_t FdCache::pinned_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pinned_;
}

}  // namespace vfsd
