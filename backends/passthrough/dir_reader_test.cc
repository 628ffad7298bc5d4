#include "backends/passthrough/dir_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/passthrough/scoped_fd.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

class DirReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = absl::StrCat(::testing::TempDir(), "/dir_reader_XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void MakeFiles(int n) {
    for (int i = 0; i < n; ++i) {
      ScopedFd fd(::open(absl::StrCat(dir_, "/f", i).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
      ASSERT_TRUE(fd.valid());
    }
  }

  // Every entry from `offset` on, as (name, next_offset).
  std::vector<std::pair<std::string, uint64_t>> ReadFrom(int fd, uint64_t offset) {
    DirReader reader(fd);
    EXPECT_TRUE(reader.Seek(offset).ok());
    std::vector<std::pair<std::string, uint64_t>> out;
    while (true) {
      auto entry = reader.Next();
      EXPECT_TRUE(entry.ok()) << entry.status();
      if (!entry.ok() || *entry == nullptr) break;
      out.emplace_back(std::string((*entry)->name), (*entry)->next_offset);
    }
    return out;
  }

  std::string dir_;
};

TEST_F(DirReaderTest, ListsEveryEntryOnce) {
  MakeFiles(300);  // more than one getdents64 buffer
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  auto all = ReadFrom(fd.get(), 0);
  std::set<std::string> names;
  for (auto& [name, off] : all) names.insert(name);
  EXPECT_EQ(all.size(), 302u);
  EXPECT_EQ(names.size(), 302u);
  EXPECT_TRUE(names.count("."));
  EXPECT_TRUE(names.count(".."));
  EXPECT_TRUE(names.count("f299"));
}

TEST_F(DirReaderTest, ResumesAtEveryOffset) {
  MakeFiles(40);
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  auto all = ReadFrom(fd.get(), 0);
  for (size_t i = 0; i < all.size(); ++i) {
    auto rest = ReadFrom(fd.get(), all[i].second);
    ASSERT_EQ(rest.size(), all.size() - i - 1) << "after entry " << i;
    for (size_t j = 0; j < rest.size(); ++j) EXPECT_EQ(rest[j].first, all[i + 1 + j].first);
  }
}

TEST_F(DirReaderTest, PeekDoesNotConsumeAndAdvanceMovesThePosition) {
  MakeFiles(5);
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  DirReader reader(fd.get());
  EXPECT_FALSE(reader.IsAt(0));  // nothing known before the first Seek
  ASSERT_TRUE(reader.Seek(0).ok());
  EXPECT_TRUE(reader.IsAt(0));
  auto first = reader.Peek();
  ASSERT_TRUE(first.ok() && *first != nullptr);
  const std::string name((*first)->name);
  const uint64_t next = (*first)->next_offset;
  auto again = reader.Peek();
  ASSERT_TRUE(again.ok() && *again != nullptr);
  EXPECT_EQ((*again)->name, name);
  EXPECT_TRUE(reader.IsAt(0));
  reader.Advance();
  EXPECT_TRUE(reader.IsAt(next));
  EXPECT_FALSE(reader.IsAt(0));
  auto second = reader.Peek();
  ASSERT_TRUE(second.ok() && *second != nullptr);
  EXPECT_NE((*second)->name, name);
}

// What the passthrough READDIR relies on: continuing from the cursor gives
// the entries a Seek to its position would, at every position.
TEST_F(DirReaderTest, ContinuingEqualsSeekingToThePosition) {
  MakeFiles(700);  // several getdents64 buffers
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ScopedFd fd2(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid() && fd2.valid());
  DirReader reader(fd.get());
  ASSERT_TRUE(reader.Seek(0).ok());
  size_t count = 0;
  while (true) {
    auto entry = reader.Next();
    ASSERT_TRUE(entry.ok()) << entry.status();
    if (*entry == nullptr) break;
    ++count;
    const uint64_t position = (*entry)->next_offset;
    ASSERT_TRUE(reader.IsAt(position));
    if (count % 97 != 0) continue;
    auto continued = reader.Peek();
    ASSERT_TRUE(continued.ok());
    auto sought = ReadFrom(fd2.get(), position);
    ASSERT_EQ(*continued != nullptr, !sought.empty());
    if (*continued != nullptr) EXPECT_EQ((*continued)->name, sought.front().first);
  }
  EXPECT_EQ(count, 702u);
}

TEST_F(DirReaderTest, EndOfDirectoryKeepsThePosition) {
  MakeFiles(3);
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DirReader reader(fd.get());
  ASSERT_TRUE(reader.Seek(0).ok());
  uint64_t last = 0;
  while (true) {
    auto entry = reader.Next();
    ASSERT_TRUE(entry.ok());
    if (*entry == nullptr) break;
    last = (*entry)->next_offset;
  }
  // The guest's final READDIR at the last cookie: still positioned there,
  // and still at the end.
  EXPECT_TRUE(reader.IsAt(last));
  auto end = reader.Peek();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, nullptr);
}

TEST_F(DirReaderTest, FailedSeekLeavesNoPosition) {
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DirReader reader(fd.get());
  ASSERT_TRUE(reader.Seek(0).ok());
  EXPECT_FALSE(reader.Seek(uint64_t{1} << 63).ok());
  EXPECT_FALSE(reader.IsAt(uint64_t{1} << 63));
  EXPECT_FALSE(reader.IsAt(0));
}

TEST_F(DirReaderTest, PooledReaderStartsFreshOnItsNewFd) {
  MakeFiles(30);
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  std::shared_ptr<DirReader> first = DirReader::Acquire(fd.get());
  ASSERT_TRUE(first->Seek(0).ok());
  uint64_t position = 0;
  for (int i = 0; i < 10; ++i) {
    auto entry = first->Next();
    ASSERT_TRUE(entry.ok() && *entry != nullptr);
    position = (*entry)->next_offset;
  }
  DirReader* const recycled = first.get();
  first.reset();  // back to the pool, mid-listing with entries buffered
  const std::string other = dir_ + "/sub";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  ScopedFd fd2(::open(other.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::shared_ptr<DirReader> second = DirReader::Acquire(fd2.get());
  EXPECT_EQ(second.get(), recycled);
  EXPECT_FALSE(second->IsAt(position));  // nothing carried over
  ASSERT_TRUE(second->Seek(0).ok());
  std::set<std::string> names;
  while (true) {
    auto entry = second->Next();
    ASSERT_TRUE(entry.ok());
    if (*entry == nullptr) break;
    names.insert(std::string((*entry)->name));
  }
  EXPECT_EQ(names, (std::set<std::string>{".", ".."}));
}

TEST_F(DirReaderTest, AcquiredReaderStartsAtZeroWithoutASeek) {
  MakeFiles(30);
  ScopedFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  std::shared_ptr<DirReader> reader = DirReader::Acquire(fd.get());
  EXPECT_TRUE(reader->IsAt(0));
  std::set<std::string> names;
  while (true) {
    auto entry = reader->Next();
    ASSERT_TRUE(entry.ok());
    if (*entry == nullptr) break;
    names.insert(std::string((*entry)->name));
  }
  EXPECT_EQ(names.size(), 32u);  // 30 files, "." and ".."
}

TEST_F(DirReaderTest, NotADirectory) {
  MakeFiles(1);
  ScopedFd fd(::open(absl::StrCat(dir_, "/f0").c_str(), O_RDONLY | O_CLOEXEC));
  DirReader reader(fd.get());
  ASSERT_TRUE(reader.Seek(0).ok());
  auto entry = reader.Next();
  EXPECT_FALSE(entry.ok());
}

}  // namespace
}  // namespace vfsd
