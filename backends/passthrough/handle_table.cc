#include "backends/passthrough/handle_table.h"

#include <utility>

namespace vfsd {

HandleId HandleTable::Insert(std::shared_ptr<OpenHandle> handle) {
  std::lock_guard<std::mutex> lock(mu_);
  const HandleId id = next_id_++;
  handles_.emplace(id, std::move(handle));
  return id;
}

std::shared_ptr<OpenHandle> HandleTable::Get(HandleId id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = handles_.find(id);
  return it == handles_.end() ? nullptr : it->second;
}

std::shared_ptr<OpenHandle> HandleTable::Remove(HandleId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = handles_.find(id);
  if (it == handles_.end()) return nullptr;
  std::shared_ptr<OpenHandle> handle = std::move(it->second);
  handles_.erase(it);
  return handle;
}

void HandleTable::Clear() {
  absl::flat_hash_map<HandleId, std::shared_ptr<OpenHandle>> removed;
  std::lock_guard<std::mutex> lock(mu_);
  removed.swap(handles_);
}

size_t HandleTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return handles_.size();
}

}  // namespace vfsd
