// Every registered workload runs end to end against the daemons under test
// (the reference virtiofsd and //daemon:vfsd; op-count limited, so no
// timing assumptions) and reports sane numbers; so do the session options
// (two request queues, indirect descriptors, cache modes).
#include "testing/bench/bench_runner.h"

#include <dirent.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "testing/bench/bench_flags.h"
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

BenchRunOptions ShortRun(int depth) {
  BenchRunOptions options;
  options.queue_depth = depth;
  options.max_ops = 200;
  options.duration = absl::ZeroDuration();
  options.warmup_ops = 10;
  return options;
}

int CountEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (struct dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

TEST_P(BenchRunnerTest, CreateLeavesNoFilesBehind) {
  absl::StatusOr<std::string> dir = MakeTempDir("bench");
  ASSERT_TRUE(dir.ok());
  auto workload = BenchWorkloads().at("create").make();
  ASSERT_TRUE(workload->PrepareSharedDir(*dir).ok());
  BenchResult r = RunBenchmark(GetParam(), "create", *workload, *dir, ShortRun(16));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.ops, 200u);
  EXPECT_EQ(CountEntries(*dir + "/bench-create"), 0);
}

TEST_P(BenchRunnerTest, IndirectDescriptors) {
  absl::StatusOr<std::string> dir = MakeTempDir("bench");
  ASSERT_TRUE(dir.ok());
  for (const char* name : {"read128k", "write4k", "readdir1000"}) {
    SCOPED_TRACE(name);
    auto workload = BenchWorkloads().at(name).make();
    ASSERT_TRUE(workload->PrepareSharedDir(*dir).ok());
    BenchRunOptions options = ShortRun(16);
    options.indirect = true;
    BenchResult r = RunBenchmark(GetParam(), name, *workload, *dir, options);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.ops, 200u);
    EXPECT_EQ(r.config, "cache=auto 1q indirect");
  }
}

// Two request queues either run (every op answered, spread over both) or,
// for a single-queue daemon such as the reference, come back as n/a.
TEST_P(BenchRunnerTest, TwoRequestQueuesRunOrAreNotApplicable) {
  absl::StatusOr<std::string> dir = MakeTempDir("bench");
  ASSERT_TRUE(dir.ok());
  for (const char* name : {"getattr", "create", "readdir1000"}) {
    for (int depth : {1, 16}) {
      SCOPED_TRACE(std::string(name) + " qd" + std::to_string(depth));
      auto workload = BenchWorkloads().at(name).make();
      ASSERT_TRUE(workload->PrepareSharedDir(*dir).ok());
      BenchRunOptions options = ShortRun(depth);
      options.request_queues = 2;
      BenchResult r = RunBenchmark(GetParam(), name, *workload, *dir, options);
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.config, "cache=auto 2q split");
      if (GetParam().name == "virtiofsd") {
        EXPECT_NE(r.not_applicable, "");
      }
      if (r.not_applicable.empty()) {
        EXPECT_EQ(r.ops, 200u);
      }
    }
  }
}

TEST(BenchRunnerCacheTest, ReferenceRunsInEveryCacheMode) {
  if (access(kReferenceVirtiofsd, X_OK) != 0) GTEST_SKIP() << "no reference virtiofsd";
  absl::StatusOr<std::string> dir = MakeTempDir("bench");
  ASSERT_TRUE(dir.ok());
  for (const char* mode : {"never", "auto", "always"}) {
    SCOPED_TRACE(mode);
    auto workload = BenchWorkloads().at("write4k").make();
    ASSERT_TRUE(workload->PrepareSharedDir(*dir).ok());
    BenchRunOptions options = ShortRun(1);
    options.cache = mode;
    BenchResult r = RunBenchmark(BenchReferenceSpec(), "write4k", *workload, *dir, options);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.ops, 200u);
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
