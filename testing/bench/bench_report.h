// Benchmark results: one BenchResult per (daemon, workload, queue depth)
// run, latency percentiles, and the markdown table / JSON renderings.
#ifndef VFSD_TESTING_BENCH_BENCH_REPORT_H_
#define VFSD_TESTING_BENCH_BENCH_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace vfsd {

struct BenchResult {
  std::string daemon;
  std::string workload;
  int queue_depth = 0;
  uint64_t ops = 0;
  double seconds = 0;           // wall time of the measured phase
  double daemon_cpu_seconds = 0;  // utime+stime delta of the daemon tree
  double p50_us = 0;
  double p99_us = 0;
  std::string error;  // non-empty if the run failed
  std::string config;  // session settings, e.g. "cache=auto 1q split"
  // Non-empty (the reason) if the daemon cannot run this configuration,
  // e.g. two request queues on the single-queue reference: shown as "n/a".
  std::string not_applicable;

  double ops_per_second() const { return seconds > 0 ? ops / seconds : 0; }
  // 0 when the daemon used less CPU than the clock-tick resolution.
  double ops_per_cpu_second() const {
    return daemon_cpu_seconds > 0 ? ops / daemon_cpu_seconds : 0;
  }
};

// Nearest-rank percentile (p in [0, 100]) of `samples`, which it sorts.
// 0 for no samples.
double Percentile(std::vector<uint32_t>* samples, double p);

// One row per run.
std::string FormatMarkdown(const std::vector<BenchResult>& results);
// One row per (workload, config, QD): each daemon's ops/s, ops/CPU-s and
// p50/p99 side by side, plus the ratios of the first daemon listed to
// `baseline` (the reference). Failed or n/a runs print as such.
std::string FormatComparison(const std::vector<BenchResult>& results,
                             const std::string& baseline);
std::string FormatJson(const std::vector<BenchResult>& results);

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_BENCH_REPORT_H_
