#include "protocol/arg_reader.h"

#include <cerrno>
#include <cstdint>
#include <string>

#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

using namespace std::string_literals;

TEST(ValidateNameTest, Rules) {
  EXPECT_EQ(ValidateName("file", NameKind::kEntry), 0);
  EXPECT_EQ(ValidateName("", NameKind::kEntry), EINVAL);
  EXPECT_EQ(ValidateName("a/b", NameKind::kEntry), EINVAL);
  EXPECT_EQ(ValidateName("a/b", NameKind::kLookup), EINVAL);
  EXPECT_EQ(ValidateName(".", NameKind::kEntry), EINVAL);
  EXPECT_EQ(ValidateName("..", NameKind::kEntry), EINVAL);
  EXPECT_EQ(ValidateName(".", NameKind::kLookup), 0);
  EXPECT_EQ(ValidateName("..", NameKind::kLookup), 0);
  EXPECT_EQ(ValidateName("...", NameKind::kEntry), 0);
  EXPECT_EQ(ValidateName(std::string(255, 'x'), NameKind::kEntry), 0);
  EXPECT_EQ(ValidateName(std::string(256, 'x'), NameKind::kEntry), ENAMETOOLONG);
  EXPECT_EQ(ValidateName("user.a/b", NameKind::kXattr), 0);
  EXPECT_EQ(ValidateName(std::string(256, 'x'), NameKind::kXattr), ERANGE);
  EXPECT_EQ(ValidateName("", NameKind::kXattr), EINVAL);
}

TEST(ArgReaderTest, ReadsShortStructsZeroFilled) {
  struct S {
    uint32_t a, b;
  };
  uint32_t raw = 5;
  std::string bytes(reinterpret_cast<const char*>(&raw), 4);
  ArgReader r(bytes);
  S s = {9, 9};
  ASSERT_TRUE(r.Read(&s, 4));
  EXPECT_EQ(s.a, 5u);
  EXPECT_EQ(s.b, 0u);
  EXPECT_FALSE(r.Read(&s));
}

TEST(ArgReaderTest, NamesMustBeTerminated) {
  std::string bytes = "one\0two"s;
  ArgReader r(bytes);
  EXPECT_EQ(*r.Name(NameKind::kEntry), "one");
  absl::StatusOr<absl::string_view> second = r.Name(NameKind::kEntry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(ErrnoOf(second.status()), EINVAL);
}

TEST(ArgReaderTest, SymlinkTarget) {
  std::string bytes = "/a/b\0\0"s;
  ArgReader r(bytes);
  EXPECT_EQ(*r.SymlinkTarget(), "/a/b");
  EXPECT_EQ(ErrnoOf(r.SymlinkTarget().status()), ENOENT);
  std::string long_target = std::string(4096, 'a') + '\0';
  ArgReader r2(long_target);
  EXPECT_EQ(ErrnoOf(r2.SymlinkTarget().status()), ENAMETOOLONG);
}

TEST(ArgReaderTest, Bytes) {
  ArgReader r("abcdef");
  absl::string_view v;
  ASSERT_TRUE(r.Bytes(2, &v));
  EXPECT_EQ(v, "ab");
  EXPECT_FALSE(r.Bytes(5, &v));
  EXPECT_EQ(r.rest(), "cdef");
}

}  // namespace
}  // namespace vfsd
