// DirentWriter: record layout, 8-byte alignment with zeroed padding (no
// stale bytes may reach the guest: records are assembled in a staging
// buffer that earlier records, or an earlier request, left dirty), capacity
// limits, staging across many records, and invalid names.
#include "protocol/dirent_writer.h"

#include <linux/fuse.h>
#include <sys/uio.h>

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vfsd {
namespace {

// Fills the stack with a pattern, so a record assembled in a stack buffer
// that is not fully written would show it.
__attribute__((noinline)) void DirtyStack() {
  volatile char junk[2048];
  for (size_t i = 0; i < sizeof(junk); ++i) junk[i] = static_cast<char>(0xAB);
}

DirEntry Dirent(absl::string_view name, uint64_t ino, uint64_t off) {
  DirEntry d;
  d.ino = ino;
  d.next_offset = off;
  d.type = 8;  // DT_REG
  d.name = name;
  return d;
}

TEST(DirentWriterTest, RecordsAreAlignedWithZeroPadding) {
  std::vector<char> out(4096, '\x55');
  iovec iov{out.data(), out.size()};
  DirentWriter writer(absl::MakeConstSpan(&iov, 1), 16, 4096 - 16, /*plus=*/false, 1, false);
  const std::vector<std::string> names = {"a", "bcdefgh", "ijklmnop", std::string(255, 'z')};
  for (size_t i = 0; i < names.size(); ++i) {
    DirtyStack();
    ASSERT_TRUE(writer.Fits(names[i].size()));
    writer.Add(Dirent(names[i], 100 + i, 1000 + i), nullptr);
  }
  EXPECT_EQ(writer.count(), names.size());
  writer.Flush();
  size_t pos = 16;
  for (size_t i = 0; i < names.size(); ++i) {
    fuse_dirent d;
    std::memcpy(&d, out.data() + pos, FUSE_NAME_OFFSET);
    EXPECT_EQ(d.ino, 100 + i);
    EXPECT_EQ(d.off, 1000 + i);
    EXPECT_EQ(d.namelen, names[i].size());
    EXPECT_EQ(d.type, 8u);
    EXPECT_EQ(std::string(out.data() + pos + FUSE_NAME_OFFSET, d.namelen), names[i]);
    const size_t record = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
    for (size_t b = FUSE_NAME_OFFSET + d.namelen; b < record; ++b) {
      EXPECT_EQ(out[pos + b], 0) << "padding byte " << b << " of record " << i;
    }
    pos += record;
  }
  EXPECT_EQ(writer.size(), pos - 16);
  EXPECT_EQ(out[pos], '\x55');  // nothing written past the last record
}

TEST(DirentWriterTest, PlusRecordsCarryZeroEntryForDots) {
  std::vector<char> out(4096, '\x55');
  iovec iov{out.data(), out.size()};
  DirentWriter writer(absl::MakeConstSpan(&iov, 1), 0, 4096, /*plus=*/true, 1, false);
  DirtyStack();
  writer.Add(Dirent(".", 1, 1), nullptr);
  writer.Flush();
  fuse_entry_out entry;
  std::memcpy(&entry, out.data(), sizeof(entry));
  const fuse_entry_out zero = {};
  EXPECT_EQ(std::memcmp(&entry, &zero, sizeof(entry)), 0);
  const size_t record = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + 1);
  EXPECT_EQ(writer.size(), record);
  for (size_t b = FUSE_NAME_OFFSET_DIRENTPLUS + 1; b < record; ++b) EXPECT_EQ(out[b], 0);
}

TEST(DirentWriterTest, RecordSplitAcrossIovecs) {
  std::vector<char> a(20, '\x55'), b(100, '\x55');
  iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  DirentWriter writer(absl::MakeConstSpan(iov, 2), 0, 120, false, 1, false);
  writer.Add(Dirent("name", 7, 9), nullptr);
  writer.Flush();
  std::string joined(a.begin(), a.end());
  joined.append(b.begin(), b.end());
  fuse_dirent d;
  std::memcpy(&d, joined.data(), FUSE_NAME_OFFSET);
  EXPECT_EQ(d.ino, 7u);
  EXPECT_EQ(joined.substr(FUSE_NAME_OFFSET, 4), "name");
  EXPECT_EQ(joined.substr(FUSE_NAME_OFFSET + 4, 4), std::string(4, '\0'));
}

// More records than one staging buffer holds, with names of every length
// (long ones first, so short ones land on bytes they left behind), into a
// reply split over uneven guest buffers: every record arrives intact, in
// order, with zero padding, and nothing beyond the last one is touched.
TEST(DirentWriterTest, ManyRecordsAcrossStagingFlushes) {
  constexpr size_t kCapacity = 40000;
  std::vector<char> a(1000, '\x55'), b(30000, '\x55'), c(kCapacity + 1000 - 31000, '\x55');
  iovec iov[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  DirentWriter writer(absl::MakeConstSpan(iov, 3), 16, kCapacity, /*plus=*/false, 1, false);
  std::vector<std::string> names;
  for (size_t i = 0;; ++i) {
    const size_t len = 255 - (i * 7) % 255;  // 255, 248, ... down to 1, then again
    std::string name(len, static_cast<char>('a' + i % 26));
    if (!writer.Fits(name.size())) break;
    writer.Add(Dirent(name, i, i + 1), nullptr);
    names.push_back(std::move(name));
  }
  ASSERT_GT(writer.size(), 4 * 4096u);  // several stage flushes
  writer.Flush();
  std::string joined(a.begin(), a.end());
  joined.append(b.begin(), b.end());
  joined.append(c.begin(), c.end());
  size_t pos = 16;
  for (size_t i = 0; i < names.size(); ++i) {
    fuse_dirent d;
    std::memcpy(&d, joined.data() + pos, FUSE_NAME_OFFSET);
    ASSERT_EQ(d.ino, i);
    ASSERT_EQ(d.off, i + 1);
    ASSERT_EQ(d.namelen, names[i].size());
    ASSERT_EQ(joined.substr(pos + FUSE_NAME_OFFSET, d.namelen), names[i]);
    const size_t record = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
    for (size_t p = FUSE_NAME_OFFSET + d.namelen; p < record; ++p) {
      ASSERT_EQ(joined[pos + p], 0) << "padding byte " << p << " of record " << i;
    }
    pos += record;
  }
  EXPECT_EQ(writer.size(), pos - 16);
  EXPECT_EQ(joined.find_first_not_of('\x55', pos), std::string::npos);
  EXPECT_EQ(joined.substr(0, 16), std::string(16, '\x55'));
}

TEST(DirentWriterTest, FitsRespectsCapacity) {
  std::vector<char> out(4096);
  iovec iov{out.data(), out.size()};
  const size_t one = DirentWriter::RecordSize(3, false);
  DirentWriter writer(absl::MakeConstSpan(&iov, 1), 0, 2 * one + 7, false, 1, false);
  EXPECT_TRUE(writer.Fits(3));
  writer.Add(Dirent("abc", 1, 1), nullptr);
  writer.Add(Dirent("def", 2, 2), nullptr);
  EXPECT_FALSE(writer.Fits(3));
  writer.Add(Dirent("ghi", 3, 3), nullptr);  // a misbehaving backend: dropped
  EXPECT_EQ(writer.count(), 2u);
  EXPECT_EQ(writer.size(), 2 * one);
}

TEST(DirentWriterTest, InvalidNamesAreSkipped) {
  std::vector<char> out(4096);
  iovec iov{out.data(), out.size()};
  DirentWriter writer(absl::MakeConstSpan(&iov, 1), 0, 4096, false, 1, false);
  writer.Add(Dirent("", 1, 1), nullptr);
  writer.Add(Dirent("a/b", 2, 2), nullptr);
  writer.Add(Dirent(absl::string_view("a\0b", 3), 3, 3), nullptr);
  writer.Add(Dirent(std::string(256, 'x'), 4, 4), nullptr);
  EXPECT_EQ(writer.count(), 0u);
  writer.Add(Dirent("ok", 5, 5), nullptr);
  EXPECT_EQ(writer.count(), 1u);
}

}  // namespace
}  // namespace vfsd
