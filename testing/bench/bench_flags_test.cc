// vfsd_bench command-line parsing.
#include "testing/bench/bench_flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/bench/bench_workload.h"

namespace vfsd {
namespace {

using ::testing::ElementsAre;

TEST(BenchFlagsTest, DefaultsToReferenceDaemonAndTwoWorkloads) {
  auto config = ParseBenchFlags({});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->daemons.size(), 1u);
  EXPECT_EQ(config->daemons[0].name, "virtiofsd");
  EXPECT_THAT(config->workloads, ElementsAre("getattr", "read4k"));
  EXPECT_THAT(config->queue_depths, ElementsAre(1, 16));
}

TEST(BenchFlagsTest, ParsesEveryFlag) {
  auto config = ParseBenchFlags(
      {"--daemon=vfsd:/bin/vfsd --socket-path={socket} --shared-dir={dir}",
       "--daemon", "ref:/usr/lib/qemu/virtiofsd --socket-path={socket} -o source={dir}",
       "--workloads=read4k,lookup", "--queue-depths=4", "--duration=250ms", "--ops=77",
       "--warmup-ops=5", "--seed=9", "--json=/tmp/x.json", "--shared-dir=/tmp/d"});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->daemons.size(), 2u);
  EXPECT_EQ(config->daemons[0].name, "vfsd");
  EXPECT_EQ(config->daemons[0].command, "/bin/vfsd --socket-path={socket} --shared-dir={dir}");
  EXPECT_EQ(config->daemons[1].name, "ref");
  EXPECT_THAT(config->workloads, ElementsAre("read4k", "lookup"));
  EXPECT_THAT(config->queue_depths, ElementsAre(4));
  EXPECT_EQ(config->run.duration, absl::Milliseconds(250));
  EXPECT_EQ(config->run.max_ops, 77u);
  EXPECT_EQ(config->run.warmup_ops, 5u);
  EXPECT_EQ(config->run.seed, 9u);
  EXPECT_EQ(config->json_path, "/tmp/x.json");
  EXPECT_EQ(config->shared_dir, "/tmp/d");
}

TEST(BenchFlagsTest, MatrixFlagsAndDaemonShorthands) {
  auto config = ParseBenchFlags({"--vfsd=/tmp/vfsd", "--reference", "--cache=never,always",
                                 "--queues=1,2", "--descriptors=split,indirect"});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->daemons.size(), 2u);
  EXPECT_EQ(config->daemons[0].name, "vfsd");
  EXPECT_EQ(config->daemons[0].command,
            "/tmp/vfsd --socket-path={socket} --shared-dir={dir} --cache={cache} "
            "--log-level=warn");
  EXPECT_EQ(config->daemons[1].name, "virtiofsd");
  EXPECT_THAT(config->cache_modes, ElementsAre("never", "always"));
  EXPECT_THAT(config->request_queues, ElementsAre(1, 2));
  EXPECT_THAT(config->indirect, ElementsAre(false, true));
  // The cache placeholders expand per daemon spelling.
  auto ref = ExpandCacheMode(config->daemons[1].command, "never");
  ASSERT_TRUE(ref.ok());
  EXPECT_THAT(*ref, ::testing::HasSubstr("-o cache=none "));
  auto ours = ExpandCacheMode(config->daemons[0].command, "never");
  ASSERT_TRUE(ours.ok());
  EXPECT_THAT(*ours, ::testing::HasSubstr("--cache=never "));
  EXPECT_FALSE(ExpandCacheMode("x", "sometimes").ok());
}

TEST(BenchFlagsTest, AllWorkloads) {
  auto config = ParseBenchFlags({"--workloads=all"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->workloads.size(), BenchWorkloads().size());
}

TEST(BenchFlagsTest, RejectsBadInput) {
  EXPECT_FALSE(ParseBenchFlags({"--cache=sometimes"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--queues=0"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--descriptors=packed"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--workloads=nope"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--queue-depths=0"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--queue-depths=65"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--daemon=nocolon"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--duration=soon"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--duration=0"}).ok());  // no limit at all
  EXPECT_TRUE(ParseBenchFlags({"--duration=0", "--ops=10"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--frobnicate=1"}).ok());
  EXPECT_FALSE(ParseBenchFlags({"--ops"}).ok());
}

}  // namespace
}  // namespace vfsd
