// Many threads looking up, reading, listing and forgetting the same nodes at
// once (the daemon's worker pool does this). Checks that lookup counts stay
// exact: when every thread has forgotten what it looked up, only the root is
// left, and no handle leaks. Meant to be run under --config=tsan/asan too.
#include <fcntl.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/passthrough/passthrough_backend.h"
#include "gtest/gtest.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {

TEST(PassthroughConcurrencyTest, LookupCountsStayExact) {
  absl::StatusOr<TempShare> share = TempShare::Create();
  ASSERT_TRUE(share.ok());
  std::vector<TreeItem> items = {TreeItem::Dir("d")};
  for (int i = 0; i < 8; ++i) {
    items.push_back(TreeItem::File(absl::StrCat("d/f", i), std::string(100, 'a' + i)));
  }
  items.push_back(TreeItem::HardLink("d/link", "d/f0"));
  ASSERT_TRUE(CreateHostTree(share->path(), items).ok());
  BackendConfig config;
  config.shared_dir = share->path();
  absl::StatusOr<std::unique_ptr<Backend>> created = PassthroughBackend::Create(config);
  ASSERT_TRUE(created.ok());
  auto* backend = static_cast<PassthroughBackend*>(created->get());

  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SyncBackend fs(*backend);
      for (int round = 0; round < kRounds; ++round) {
        absl::StatusOr<Entry> d = fs.Lookup(kRootNodeId, "d");
        if (!d.ok()) {
          ++failures[t];
          continue;
        }
        const std::string name = absl::StrCat("f", (t + round) % 8);
        absl::StatusOr<Entry> f = fs.Lookup(d->node, name);
        if (f.ok()) {
          absl::StatusOr<OpenResult> open = fs.Open(f->node, O_RDONLY);
          if (open.ok()) {
            absl::StatusOr<std::string> data = fs.Read(f->node, open->handle, 0, 200);
            if (!data.ok() || data->size() != 100) ++failures[t];
            if (!fs.Release(f->node, open->handle).ok()) ++failures[t];
          } else {
            ++failures[t];
          }
          fs.Forget(f->node, 1);
        } else {
          ++failures[t];
        }
        auto listing = fs.ReadAll(d->node, /*plus=*/true, /*budget=*/512);
        if (!listing.ok() || listing->size() != 11) {
          ++failures[t];
        } else {
          for (const auto& record : *listing) {
            if (record.entry.has_value()) fs.Forget(record.entry->node, 1);
          }
        }
        fs.Forget(d->node, 1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  EXPECT_EQ(backend->node_count(), 1u);
  EXPECT_EQ(backend->handle_count(), 0u);
}

}  // namespace
}  // namespace vfsd
