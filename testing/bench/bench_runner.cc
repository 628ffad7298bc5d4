// The closed-loop driver behind vfsd_bench (see bench_runner.h).
#include "testing/bench/bench_runner.h"

#include <chrono>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

using Clock = std::chrono::steady_clock;

// Keeps `depth` requests in flight for `count` completions (or until
// `deadline`), calling `on_done(latency_ns)` per completion.
template <typename OnDone>
absl::Status Drive(FuseClient& fuse, BenchWorkload& workload, std::mt19937_64& rng, int depth,
                   uint64_t count, Clock::time_point deadline, uint64_t* done,
                   OnDone on_done) {
  // Submission times by unique/2 (uniques step by 2; ≤ 64 in flight).
  Clock::time_point started[256];
  *done = 0;
  uint64_t submitted = 0;
  auto submit = [&]() -> absl::Status {
    absl::StatusOr<uint64_t> unique = workload.Submit(fuse, rng);
    if (!unique.ok()) return unique.status();
    started[(*unique / 2) % 256] = Clock::now();
    ++submitted;
    return absl::OkStatus();
  };
  bool stop = false;
  while (!stop && fuse.in_flight() < depth && submitted < count) {
    absl::Status status = submit();
    if (!status.ok()) return status;
  }
  absl::Status status = fuse.Kick();
  if (!status.ok()) return status;
  while (fuse.in_flight() > 0) {
    absl::StatusOr<FuseCompletion> completion = fuse.WaitCompletion();
    if (!completion.ok()) return completion.status();
    const Clock::time_point now = Clock::now();
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           now - started[(completion->unique / 2) % 256])
                           .count();
    status = workload.Check(*completion);
    if (!status.ok()) return status;
    ++*done;
    on_done(ns);
    stop = stop || now >= deadline;
    if (!stop && submitted < count) {
      if (!(status = submit()).ok()) return status;
      if (!(status = fuse.Kick()).ok()) return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace

BenchResult RunBenchmark(const DaemonSpec& daemon, const std::string& workload_name,
                         BenchWorkload& workload, const std::string& shared_dir,
                         const BenchRunOptions& options) {
  BenchResult result;
  result.daemon = daemon.name;
  result.workload = workload_name;
  result.queue_depth = options.queue_depth;
  auto fail = [&](const absl::Status& status) {
    result.error = std::string(status.message());
    LOG(ERROR) << daemon.name << "/" << workload_name << "/qd" << options.queue_depth << ": "
               << status;
    return result;
  };
  if (options.queue_depth < 1 || options.queue_depth > 64) {
    return fail(absl::InvalidArgumentError("queue depth must be in [1, 64]"));
  }
  FakeVmmSessionOptions session_options;
  session_options.client.max_in_flight = static_cast<uint16_t>(options.queue_depth);
  session_options.daemon_log_path = options.daemon_log_path;
  workload.Configure(&session_options);
  absl::StatusOr<std::unique_ptr<FakeVmmSession>> session =
      FakeVmmSession::Start(daemon, shared_dir, session_options);
  if (!session.ok()) return fail(session.status());
  FuseClient& fuse = *(*session)->fuse;
  absl::Status status = workload.Setup(fuse);
  if (!status.ok()) return fail(status);

  std::mt19937_64 rng(options.seed);
  uint64_t done = 0;
  const Clock::time_point far = Clock::time_point::max();
  status = Drive(fuse, workload, rng, options.queue_depth, options.warmup_ops, far, &done,
                 [](int64_t) {});
  if (!status.ok()) return fail(status);

  std::vector<uint32_t> latencies_ns;
  latencies_ns.reserve(options.max_ops > 0 ? options.max_ops : 1 << 20);
  absl::StatusOr<double> cpu_before = (*session)->daemon->CpuSeconds();
  if (!cpu_before.ok()) return fail(cpu_before.status());
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      options.duration > absl::ZeroDuration()
          ? start + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(options.duration))
          : far;
  const uint64_t count = options.max_ops > 0 ? options.max_ops : UINT64_MAX;
  status = Drive(fuse, workload, rng, options.queue_depth, count, deadline, &done,
                 [&](int64_t ns) {
                   latencies_ns.push_back(static_cast<uint32_t>(std::min<int64_t>(ns, UINT32_MAX)));
                 });
  const Clock::time_point end = Clock::now();
  absl::StatusOr<double> cpu_after = (*session)->daemon->CpuSeconds();
  if (!status.ok()) return fail(status);
  if (!cpu_after.ok()) return fail(cpu_after.status());

  result.ops = done;
  result.seconds = std::chrono::duration<double>(end - start).count();
  result.daemon_cpu_seconds = *cpu_after - *cpu_before;
  result.p50_us = Percentile(&latencies_ns, 50) / 1000.0;
  result.p99_us = Percentile(&latencies_ns, 99) / 1000.0;
  return result;
}

}  // namespace vfsd
