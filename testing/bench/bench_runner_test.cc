// Every registered workload runs end to end against the daemons under test
// (op-count limited, so no timing assumptions) and reports sane numbers.
#include "testing/bench/bench_runner.h"

#include "gtest/gtest.h"
#include "testing/bench/bench_workload.h"

namespace vfsd {
namespace {

class BenchRunnerTest : public ::testing::TestWithParam<DaemonSpec> {};

TEST_P(BenchRunnerTest, EveryWorkloadAtDepthOneAndSixteen) {
  absl::StatusOr<std::string> dir = MakeTempDir("bench");
  ASSERT_TRUE(dir.ok());
  for (const auto& [name, info] : BenchWorkloads()) {
    for (int depth : {1, 16}) {
      SCOPED_TRACE(name + " qd" + std::to_string(depth));
      auto workload = info.make();
      ASSERT_TRUE(workload->PrepareSharedDir(*dir).ok());
      BenchRunOptions options;
      options.queue_depth = depth;
      options.max_ops = 300;
      options.duration = absl::ZeroDuration();
      options.warmup_ops = 20;
      BenchResult r = RunBenchmark(GetParam(), name, *workload, *dir, options);
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.ops, 300u);
      EXPECT_GT(r.ops_per_second(), 0);
      EXPECT_GT(r.p50_us, 0);
      EXPECT_GE(r.p99_us, r.p50_us);
      EXPECT_GE(r.daemon_cpu_seconds, 0);
    }
  }
}

TEST_P(BenchRunnerTest, BadDaemonCommandIsReportedNotFatal) {
  auto workload = BenchWorkloads().at("getattr").make();
  BenchRunOptions options;
  options.max_ops = 10;
  BenchResult r = RunBenchmark({"broken", "/nonexistent/daemon --socket-path={socket}"},
                               "getattr", *workload, "/tmp", options);
  EXPECT_NE(r.error, "");
}

INSTANTIATE_TEST_SUITE_P(Daemons, BenchRunnerTest, ::testing::ValuesIn(DaemonsUnderTest()),
                         [](const ::testing::TestParamInfo<DaemonSpec>& info) {
                           return info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BenchRunnerTest);

}  // namespace
}  // namespace vfsd
