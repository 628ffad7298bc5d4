// Percentiles and report formatting.
#include "testing/bench/bench_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace {

using ::testing::HasSubstr;

TEST(PercentileTest, NearestRank) {
  std::vector<uint32_t> v;
  for (uint32_t i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(Percentile(&v, 50), 50);
  EXPECT_EQ(Percentile(&v, 99), 99);
  EXPECT_EQ(Percentile(&v, 100), 100);
  EXPECT_EQ(Percentile(&v, 0), 1);
  std::vector<uint32_t> one = {7};
  EXPECT_EQ(Percentile(&one, 99), 7);
  std::vector<uint32_t> none;
  EXPECT_EQ(Percentile(&none, 50), 0);
}

TEST(ReportTest, DerivedRates) {
  BenchResult r;
  r.ops = 1000;
  r.seconds = 2;
  r.daemon_cpu_seconds = 0.5;
  EXPECT_DOUBLE_EQ(r.ops_per_second(), 500);
  EXPECT_DOUBLE_EQ(r.ops_per_cpu_second(), 2000);
  r.daemon_cpu_seconds = 0;
  EXPECT_DOUBLE_EQ(r.ops_per_cpu_second(), 0);
}

TEST(ReportTest, MarkdownAndJsonCarryEveryRun) {
  BenchResult ok{"ref", "read4k", 16, 5000, 1.0, 0.25, 12.5, 80.0, ""};
  BenchResult bad{"vfsd", "getattr", 1, 0, 0, 0, 0, 0, "daemon \"died\""};
  const std::string md = FormatMarkdown({ok, bad});
  EXPECT_THAT(md, HasSubstr("| ref | read4k | 16 | 5000 | 5000 | 12.5 | 80.0 | 0.25 | 20000 |"));
  EXPECT_THAT(md, HasSubstr("FAILED: daemon \"died\""));
  const std::string json = FormatJson({ok, bad});
  EXPECT_THAT(json, HasSubstr("\"ops_per_cpu_second\": 20000.0"));
  EXPECT_THAT(json, HasSubstr("\"error\": \"daemon \\\"died\\\"\""));
}

}  // namespace
}  // namespace vfsd
