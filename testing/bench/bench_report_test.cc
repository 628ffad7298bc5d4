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
  BenchResult ok{"ref", "read4k", 16, 5000, 1.0, 0.25, 12.5, 80.0, "", "cache=auto 1q split"};
  BenchResult bad{"vfsd", "getattr", 1, 0, 0, 0, 0, 0, "daemon \"died\""};
  BenchResult na{"ref", "getattr", 1, 0, 0, 0, 0, 0, "", "2q", "one queue"};
  const std::string md = FormatMarkdown({ok, bad, na});
  EXPECT_THAT(md, HasSubstr("| ref | read4k | cache=auto 1q split | 16 | 5000 | 5000 | 12.5 | "
                            "80.0 | 0.25 | 20000 |"));
  EXPECT_THAT(md, HasSubstr("FAILED: daemon \"died\""));
  EXPECT_THAT(md, HasSubstr("| ref | getattr | 2q | 1 | n/a: one queue |"));
  const std::string json = FormatJson({ok, bad, na});
  EXPECT_THAT(json, HasSubstr("\"ops_per_cpu_second\": 20000.0"));
  EXPECT_THAT(json, HasSubstr("\"error\": \"daemon \\\"died\\\"\""));
  EXPECT_THAT(json, HasSubstr("\"config\": \"cache=auto 1q split\""));
  EXPECT_THAT(json, HasSubstr("\"not_applicable\": \"one queue\""));
}

TEST(ReportTest, ComparisonPutsDaemonsSideBySideWithRatios) {
  BenchResult ours{"vfsd", "getattr", 16, 3000, 1.0, 0.5, 5, 9, "", "c"};
  BenchResult ref{"virtiofsd", "getattr", 16, 1000, 1.0, 0.5, 10, 20, "", "c"};
  BenchResult ours2q{"vfsd", "getattr", 16, 4000, 1.0, 0.5, 5, 9, "", "2q"};
  BenchResult ref2q{"virtiofsd", "getattr", 16, 0, 0, 0, 0, 0, "", "2q", "one queue"};
  const std::string table = FormatComparison({ours, ref, ours2q, ref2q}, "virtiofsd");
  EXPECT_THAT(table, HasSubstr("| workload | config | QD | vfsd ops/s | virtiofsd ops/s | "
                               "ops/s ratio | vfsd ops/CPU-s | virtiofsd ops/CPU-s | "
                               "ops/CPU-s ratio |"));
  EXPECT_THAT(table, HasSubstr("| getattr | c | 16 | 3000 | 1000 | 3.00× | 6000 | 2000 | "
                               "3.00× | 5 / 9 | 10 / 20 |"));
  EXPECT_THAT(table, HasSubstr("| getattr | 2q | 16 | 4000 | n/a | n/a | 8000 | n/a | n/a | "
                               "5 / 9 | n/a |"));
}

}  // namespace
}  // namespace vfsd
