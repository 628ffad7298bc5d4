// Without BackendConfig::host_page_cache (cache=never) the passthrough
// backend leaves no file data in the host page cache after READ, WRITE +
// FSYNC and RELEASE; with it (the default) the data stays cached.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "backends/passthrough/host_page_cache.h"
#include "backends/passthrough/passthrough_backend.h"
#include "gtest/gtest.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {

// Three whole-file sweeps' worth (host_page_cache.h).
constexpr size_t kFileSize = 3 * kBytesPerSweep;
constexpr size_t kChunk = 128u << 10;

// Pages of `path` in the host page cache (mincore over a mapping that is
// never touched, so it maps nothing in itself).
size_t ResidentPages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  size_t resident = 0;
  if (size > 0) {
    void* map = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      std::vector<unsigned char> vec((static_cast<size_t>(size) + page - 1) / page);
      if (::mincore(map, static_cast<size_t>(size), vec.data()) == 0) {
        for (unsigned char v : vec) resident += v & 1;
      }
      ::munmap(map, static_cast<size_t>(size));
    }
  }
  ::close(fd);
  return resident;
}

constexpr size_t kFilePages = kFileSize / 4096;

class HostCacheTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    absl::StatusOr<TempShare> share = TempShare::Create();
    ASSERT_TRUE(share.ok()) << share.status();
    share_ = std::make_unique<TempShare>(*std::move(share));
    BackendConfig config;
    config.shared_dir = share_->path();
    config.host_page_cache = GetParam();
    absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    fs_ = std::make_unique<SyncBackend>(*backend_);
  }
  bool host_page_cache() const { return GetParam(); }
  std::string HostPath(const std::string& name) const { return share_->path() + "/" + name; }

  std::unique_ptr<TempShare> share_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<SyncBackend> fs_;
};

TEST_P(HostCacheTest, WrittenAndSyncedDataLeavesTheCacheOnlyWithoutHostCache) {
  absl::StatusOr<CreateResult> created = fs_->Create(kRootNodeId, "w", 0644, O_RDWR);
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string chunk(kChunk, 'w');
  for (size_t off = 0; off < kFileSize; off += kChunk) {
    absl::StatusOr<size_t> n = fs_->Write(created->entry.node, created->open.handle, off, chunk);
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_EQ(*n, kChunk);
  }
  ASSERT_TRUE(fs_->Fsync(created->entry.node, created->open.handle, /*datasync=*/false).ok());
  const size_t resident = ResidentPages(HostPath("w"));
  if (host_page_cache()) {
    EXPECT_GT(resident, kFilePages / 2);  // the control: the host does cache writes
  } else {
    EXPECT_EQ(resident, 0u);
  }
  ASSERT_TRUE(fs_->Release(created->entry.node, created->open.handle).ok());
}

TEST_P(HostCacheTest, ReadDataLeavesTheCacheOnlyWithoutHostCache) {
  {
    // A host file fully in the page cache before the guest reads it.
    int fd = ::open(HostPath("r").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    const std::string data(kFileSize, 'r');
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    ASSERT_EQ(::fsync(fd), 0);
    std::string back(kFileSize, '\0');
    ASSERT_EQ(::pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
    ::close(fd);
  }
  ASSERT_GT(ResidentPages(HostPath("r")), kFilePages / 2);
  absl::StatusOr<Entry> r = fs_->Lookup(kRootNodeId, "r");
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<OpenResult> h = fs_->Open(r->node, O_RDONLY);
  ASSERT_TRUE(h.ok()) << h.status();
  for (size_t off = 0; off < kFileSize; off += kChunk) {
    absl::StatusOr<std::string> got = fs_->Read(r->node, h->handle, off, kChunk);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, std::string(kChunk, 'r'));
  }
  // The last READ completed a sweep, so nothing of the file stays cached.
  const size_t resident = ResidentPages(HostPath("r"));
  if (host_page_cache()) {
    EXPECT_GT(resident, kFilePages / 2);
  } else {
    EXPECT_EQ(resident, 0u);
  }
  ASSERT_TRUE(fs_->Release(r->node, h->handle).ok());
  if (!host_page_cache()) EXPECT_EQ(ResidentPages(HostPath("r")), 0u);
}

INSTANTIATE_TEST_SUITE_P(HostPageCache, HostCacheTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Kept" : "Dropped";
                         });

}  // namespace
}  // namespace vfsd
