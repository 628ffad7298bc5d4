#include "backends/passthrough/name_validation.h"

#include <linux/limits.h>

#include <cerrno>
#include <string>

#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

TEST(ValidateNameTest, AcceptsOrdinaryNames) {
  EXPECT_TRUE(ValidateName("a").ok());
  EXPECT_TRUE(ValidateName("file.txt").ok());
  EXPECT_TRUE(ValidateName(".hidden").ok());
  EXPECT_TRUE(ValidateName("...").ok());
  EXPECT_TRUE(ValidateName(std::string(NAME_MAX, 'x')).ok());
}

TEST(ValidateNameTest, DotsPassAndAreRecognised) {
  EXPECT_TRUE(ValidateName(".").ok());
  EXPECT_TRUE(ValidateName("..").ok());
  EXPECT_TRUE(IsDotOrDotDot("."));
  EXPECT_TRUE(IsDotOrDotDot(".."));
  EXPECT_FALSE(IsDotOrDotDot("..."));
  EXPECT_FALSE(IsDotOrDotDot(".a"));
}

TEST(ValidateNameTest, RefusesTooLong) {
  EXPECT_EQ(ErrnoOf(ValidateName(std::string(NAME_MAX + 1, 'x'))), ENAMETOOLONG);
  // Length wins over content, as on Linux.
  EXPECT_EQ(ErrnoOf(ValidateName(std::string(NAME_MAX + 1, '/'))), ENAMETOOLONG);
}

TEST(ValidateNameTest, RefusesEmptySlashAndNul) {
  EXPECT_EQ(ErrnoOf(ValidateName("")), EINVAL);
  EXPECT_EQ(ErrnoOf(ValidateName("/")), EINVAL);
  EXPECT_EQ(ErrnoOf(ValidateName("a/b")), EINVAL);
  EXPECT_EQ(ErrnoOf(ValidateName("../etc")), EINVAL);
  EXPECT_EQ(ErrnoOf(ValidateName(absl::string_view("a\0b", 3))), EINVAL);
}

}  // namespace
}  // namespace vfsd
