// Runs one benchmark: spawns a fresh daemon (the reference virtiofsd
// serves one connection per process), starts a FakeVmmSession, does the
// workload's setup and a warm-up, then keeps `queue_depth` requests in
// flight until the op count or duration is reached, timing each request
// and the daemon's CPU time (/proc/PID/stat utime+stime) around the
// measured phase.
#ifndef VFSD_TESTING_BENCH_BENCH_RUNNER_H_
#define VFSD_TESTING_BENCH_BENCH_RUNNER_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "testing/bench/bench_report.h"
#include "testing/bench/bench_workload.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {

struct BenchRunOptions {
  int queue_depth = 1;
  uint64_t max_ops = 0;                         // 0: no op limit
  absl::Duration duration = absl::Seconds(3);   // ZeroDuration(): no time limit
  uint64_t warmup_ops = 1000;
  uint64_t seed = 1;
  std::string daemon_log_path;  // daemon stdout/stderr; empty: inherit ours
};

// Never fails: errors are reported in BenchResult::error.
BenchResult RunBenchmark(const DaemonSpec& daemon, const std::string& workload_name,
                         BenchWorkload& workload, const std::string& shared_dir,
                         const BenchRunOptions& options);

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_BENCH_RUNNER_H_
