// Runs one benchmark: spawns a fresh daemon (the reference virtiofsd
// serves one connection per process), starts a FakeVmmSession with the
// requested request-queue count and descriptor layout, does the workload's
// setup and a warm-up, then keeps `queue_depth` operations in flight
// (spread round-robin over the request queues) until the op count or
// duration is reached, timing each operation and the daemon's CPU time
// (/proc/PID/stat utime+stime) around the measured phase.
#ifndef VFSD_TESTING_BENCH_BENCH_RUNNER_H_
#define VFSD_TESTING_BENCH_BENCH_RUNNER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
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
  int request_queues = 1;       // 1 or more; ops go round-robin over them
  bool indirect = false;        // each request in an indirect descriptor table
  std::string cache = "auto";   // never | auto | always (see ExpandCacheMode)
};

// Replaces {cache} with `mode` (vfsd's --cache spelling: never, auto,
// always) and {qemu_cache} with the reference virtiofsd's -o cache=
// spelling (none, auto, always) in a daemon command template.
absl::StatusOr<std::string> ExpandCacheMode(const std::string& command,
                                            const std::string& mode);

// "cache=auto 1q split"-style label of the non-default session settings.
std::string BenchConfigLabel(const BenchRunOptions& options);

// Never fails: errors are reported in BenchResult::error, and a daemon
// that cannot serve the requested queue count (the reference serves one
// request queue) in BenchResult::not_applicable.
BenchResult RunBenchmark(const DaemonSpec& daemon, const std::string& workload_name,
                         BenchWorkload& workload, const std::string& shared_dir,
                         const BenchRunOptions& options);

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_BENCH_RUNNER_H_
