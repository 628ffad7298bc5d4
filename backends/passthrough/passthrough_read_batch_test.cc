// Batched READs (BackendConfig::read_rings, read_ring.h): between BeginBatch
// and EndBatch the calling thread's READs complete only at EndBatch (or when
// the ring fills up), with the same bytes and errors a preadv gives; other
// threads are not batched; a released handle's pending read still completes;
// a thread gives its ring back when it exits.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends/errno_status.h"
#include "backends/passthrough/passthrough_backend.h"
#include "gtest/gtest.h"
#include "testing/conformance/host_tree.h"
#include "testing/conformance/sync_backend.h"

namespace vfsd {
namespace {

constexpr size_t kFileSize = 1 << 20;
constexpr size_t kPiece = 4096;

char Pattern(size_t offset) { return static_cast<char>('a' + (offset * 7 + offset / 4096) % 26); }

// One READ's buffer and outcome.
struct ReadCall {
  std::string buffer;
  iovec iov[2];
  std::optional<absl::StatusOr<size_t>> result;
};

class ReadBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempShare> share = TempShare::Create();
    ASSERT_TRUE(share.ok()) << share.status();
    share_ = std::make_unique<TempShare>(*std::move(share));
    std::string data(kFileSize, '\0');
    for (size_t i = 0; i < kFileSize; ++i) data[i] = Pattern(i);
    int fd = ::open((share_->path() + "/f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    ::close(fd);

    BackendConfig config;
    config.shared_dir = share_->path();
    config.read_rings = 2;
    absl::StatusOr<std::unique_ptr<Backend>> backend = PassthroughBackend::Create(config);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    passthrough_ = static_cast<PassthroughBackend*>(backend_.get());
    if (passthrough_->free_read_rings() == 0) {
      GTEST_SKIP() << "the kernel gives no io_uring here (reads are not batched)";
    }
    fs_ = std::make_unique<SyncBackend>(*backend_);
    absl::StatusOr<Entry> f = fs_->Lookup(kRootNodeId, "f");
    ASSERT_TRUE(f.ok()) << f.status();
    node_ = f->node;
    absl::StatusOr<OpenResult> h = fs_->Open(node_, O_RDONLY);
    ASSERT_TRUE(h.ok()) << h.status();
    handle_ = h->handle;
  }

  // Starts a READ of `size` bytes at `offset` into two iovecs.
  void StartRead(ReadCall& call, uint64_t offset, size_t size, HandleId handle) {
    call.buffer.assign(size, '\0');
    call.iov[0] = {call.buffer.data(), size / 2};
    call.iov[1] = {call.buffer.data() + size / 2, size - size / 2};
    backend_->Read(SyncBackend::Root(), node_, handle, offset, absl::MakeConstSpan(call.iov, 2),
                   [&call](absl::StatusOr<size_t> n) { call.result = std::move(n); });
  }

  static void ExpectData(const ReadCall& call, uint64_t offset, size_t expected) {
    ASSERT_TRUE(call.result.has_value());
    ASSERT_TRUE(call.result->ok()) << call.result->status();
    ASSERT_EQ(**call.result, expected);
    for (size_t i = 0; i < expected; ++i) {
      ASSERT_EQ(call.buffer[i], Pattern(offset + i)) << "byte " << offset + i;
    }
  }

  std::unique_ptr<TempShare> share_;
  std::unique_ptr<Backend> backend_;
  PassthroughBackend* passthrough_ = nullptr;
  std::unique_ptr<SyncBackend> fs_;
  NodeId node_ = 0;
  HandleId handle_ = 0;
};

TEST_F(ReadBatchTest, ReadsCompleteAtEndBatchWithTheFilesBytes) {
  std::vector<ReadCall> calls(20);
  backend_->BeginBatch();
  for (size_t i = 0; i < calls.size(); ++i) StartRead(calls[i], (i * 37 % 250) * kPiece, kPiece, handle_);
  for (const ReadCall& call : calls) EXPECT_FALSE(call.result.has_value());  // held back
  backend_->EndBatch();
  for (size_t i = 0; i < calls.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectData(calls[i], (i * 37 % 250) * kPiece, kPiece);
  }
}

TEST_F(ReadBatchTest, EndOfFileGivesShortAndEmptyReads) {
  ReadCall straddling, past;
  backend_->BeginBatch();
  StartRead(straddling, kFileSize - 100, kPiece, handle_);
  StartRead(past, kFileSize + kPiece, kPiece, handle_);
  backend_->EndBatch();
  ExpectData(straddling, kFileSize - 100, 100);
  ExpectData(past, kFileSize + kPiece, 0);
}

TEST_F(ReadBatchTest, AFullRingIsCompletedAndBatchingGoesOn) {
  std::vector<ReadCall> calls(ReadRing::kEntries * 2 + 5);
  backend_->BeginBatch();
  for (size_t i = 0; i < calls.size(); ++i) StartRead(calls[i], i * kPiece, kPiece, handle_);
  // The first ring's worth was completed when the ring filled up.
  EXPECT_TRUE(calls[0].result.has_value());
  EXPECT_FALSE(calls.back().result.has_value());
  backend_->EndBatch();
  for (size_t i = 0; i < calls.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectData(calls[i], i * kPiece, kPiece);
  }
}

TEST_F(ReadBatchTest, KernelErrorsAreTheReadsErrors) {
  // A handle open for writing only: readv fails with EBADF, as preadv would.
  absl::StatusOr<OpenResult> wronly = fs_->Open(node_, O_WRONLY);
  ASSERT_TRUE(wronly.ok()) << wronly.status();
  ReadCall call;
  backend_->BeginBatch();
  StartRead(call, 0, kPiece, wronly->handle);
  backend_->EndBatch();
  ASSERT_TRUE(call.result.has_value());
  EXPECT_EQ(ErrnoOf(call.result->status()), EBADF) << call.result->status();
  EXPECT_TRUE(fs_->Release(node_, wronly->handle).ok());
}

TEST_F(ReadBatchTest, AReleasedHandlesPendingReadStillCompletes) {
  absl::StatusOr<OpenResult> extra = fs_->Open(node_, O_RDONLY);
  ASSERT_TRUE(extra.ok()) << extra.status();
  ReadCall call;
  backend_->BeginBatch();
  StartRead(call, 8 * kPiece, kPiece, extra->handle);
  ASSERT_TRUE(fs_->Release(node_, extra->handle).ok());  // same batch, before EndBatch
  backend_->EndBatch();
  ExpectData(call, 8 * kPiece, kPiece);
}

TEST_F(ReadBatchTest, OtherThreadsAreNotBatched) {
  backend_->BeginBatch();
  ReadCall call;
  std::thread other([&] { StartRead(call, 3 * kPiece, kPiece, handle_); });
  other.join();
  ExpectData(call, 3 * kPiece, kPiece);  // completed at once
  backend_->EndBatch();
}

TEST_F(ReadBatchTest, AThreadGivesItsRingBackWhenItExits) {
  const size_t free_before = passthrough_->free_read_rings();
  std::thread worker([&] {
    backend_->BeginBatch();
    EXPECT_EQ(passthrough_->free_read_rings(), free_before - 1);
    ReadCall call;
    StartRead(call, 0, kPiece, handle_);
    backend_->EndBatch();
    ExpectData(call, 0, kPiece);
  });
  worker.join();
  EXPECT_EQ(passthrough_->free_read_rings(), free_before);
}

TEST_F(ReadBatchTest, WithoutABatchReadsCompleteAtOnce) {
  ReadCall call;
  StartRead(call, 5 * kPiece, kPiece, handle_);
  ExpectData(call, 5 * kPiece, kPiece);
}

}  // namespace
}  // namespace vfsd
