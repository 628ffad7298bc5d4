// The closed-loop driver behind vfsd_bench (see bench_runner.h).
#include "testing/bench/bench_runner.h"

#include <chrono>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "glog/logging.h"

namespace vfsd {
namespace {

using Clock = std::chrono::steady_clock;

// Keeps `depth` operations in flight over one FuseClient per request queue.
// New operations go to the queues round-robin; a multi-request operation
// stays on the queue it started on.
class Driver {
 public:
  Driver(std::vector<FuseClient*> lanes, BenchWorkload& workload, std::mt19937_64& rng)
      : lanes_(std::move(lanes)), dirty_(lanes_.size(), false), workload_(workload), rng_(rng) {}

  // Runs until `count` operations completed or `deadline` passed (then
  // drains), calling `on_done(latency_ns)` per finished operation.
  template <typename OnDone>
  absl::Status Run(int depth, uint64_t count, Clock::time_point deadline, uint64_t* done,
                   OnDone on_done) {
    *done = 0;
    submitted_ = 0;
    bool stop = false;
    absl::Status status;
    while (in_flight_ < depth && submitted_ < count) {
      if (!(status = SubmitOp()).ok()) return status;
    }
    if (!(status = KickDirty()).ok()) return status;
    while (in_flight_ > 0) {
      size_t lane = 0;
      absl::StatusOr<FuseCompletion> completion = NextCompletion(&lane);
      if (!completion.ok()) return completion.status();
      const Clock::time_point now = Clock::now();
      const size_t slot = OpSlot(completion->unique);
      absl::StatusOr<std::optional<uint64_t>> next =
          workload_.Complete(*lanes_[lane], *completion);
      if (!next.ok()) return next.status();
      if (next->has_value()) {
        // The operation continues: its clock keeps running.
        started_[OpSlot(**next)] = started_[slot];
        dirty_[lane] = true;
      } else {
        --in_flight_;
        ++*done;
        on_done(std::chrono::duration_cast<std::chrono::nanoseconds>(now - started_[slot])
                    .count());
        stop = stop || now >= deadline;
        if (!stop && submitted_ < count) {
          if (!(status = SubmitOp()).ok()) return status;
        }
      }
      if (!(status = KickDirty()).ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status SubmitOp() {
    const size_t lane = next_lane_++ % lanes_.size();
    absl::StatusOr<uint64_t> unique = workload_.Submit(*lanes_[lane], rng_);
    if (!unique.ok()) return unique.status();
    started_[OpSlot(*unique)] = Clock::now();
    dirty_[lane] = true;
    ++in_flight_;
    ++submitted_;
    return absl::OkStatus();
  }
  absl::Status KickDirty() {
    for (size_t i = 0; i < lanes_.size(); ++i) {
      if (!dirty_[i]) continue;
      dirty_[i] = false;
      absl::Status status = lanes_[i]->Kick();
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  // A completion from any queue: polls them all first, else sleeps on the
  // next busy queue in turn (no spinning: the client shares the CPUs with
  // the daemon). With one queue this is plain WaitCompletion().
  absl::StatusOr<FuseCompletion> NextCompletion(size_t* lane) {
    if (lanes_.size() > 1) {
      for (size_t i = 0; i < lanes_.size(); ++i) {
        absl::StatusOr<std::optional<FuseCompletion>> c = lanes_[i]->PollCompletion();
        if (!c.ok()) return c.status();
        if (c->has_value()) {
          *lane = i;
          return **c;
        }
      }
    }
    for (size_t n = 0; n < lanes_.size(); ++n) {
      const size_t i = wait_lane_++ % lanes_.size();
      if (lanes_[i]->in_flight() == 0) continue;
      *lane = i;
      return lanes_[i]->WaitCompletion();
    }
    return absl::InternalError("operations in flight but no request queue busy");
  }

  std::vector<FuseClient*> lanes_;
  std::vector<bool> dirty_;  // submitted since the last kick
  BenchWorkload& workload_;
  std::mt19937_64& rng_;
  Clock::time_point started_[kOpSlots];
  int in_flight_ = 0;  // operations (each has one request in flight)
  uint64_t submitted_ = 0;
  size_t next_lane_ = 0, wait_lane_ = 0;
};

}  // namespace

absl::StatusOr<std::string> ExpandCacheMode(const std::string& command,
                                            const std::string& mode) {
  std::string qemu;
  if (mode == "never") {
    qemu = "none";
  } else if (mode == "auto" || mode == "always") {
    qemu = mode;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("cache mode ", mode, " is not one of never, auto, always"));
  }
  return absl::StrReplaceAll(command, {{"{cache}", mode}, {"{qemu_cache}", qemu}});
}

std::string BenchConfigLabel(const BenchRunOptions& options) {
  return absl::StrCat("cache=", options.cache, " ", options.request_queues, "q ",
                      options.indirect ? "indirect" : "split");
}

BenchResult RunBenchmark(const DaemonSpec& daemon, const std::string& workload_name,
                         BenchWorkload& workload, const std::string& shared_dir,
                         const BenchRunOptions& options) {
  BenchResult result;
  result.daemon = daemon.name;
  result.workload = workload_name;
  result.queue_depth = options.queue_depth;
  result.config = BenchConfigLabel(options);
  std::unique_ptr<FakeVmmSession> session;
  // Runs after the daemon is gone, whatever happened.
  auto finish = [&]() {
    session.reset();
    absl::Status status = workload.CleanUp(shared_dir);
    if (!status.ok() && result.error.empty()) result.error = std::string(status.message());
    return result;
  };
  auto fail = [&](const absl::Status& status) {
    result.error = std::string(status.message());
    LOG(ERROR) << daemon.name << "/" << workload_name << "/qd" << options.queue_depth << " ("
               << result.config << "): " << status;
    return finish();
  };
  if (options.queue_depth < 1 || options.queue_depth > 64) {
    return fail(absl::InvalidArgumentError("queue depth must be in [1, 64]"));
  }
  if (options.request_queues < 1 || options.request_queues > 8) {
    return fail(absl::InvalidArgumentError("request queues must be in [1, 8]"));
  }
  absl::StatusOr<std::string> command = ExpandCacheMode(daemon.command, options.cache);
  if (!command.ok()) return fail(command.status());
  const int lanes = options.request_queues;
  FakeVmmSessionOptions session_options;
  session_options.client.max_in_flight = static_cast<uint16_t>(options.queue_depth);
  session_options.client.indirect = options.indirect;
  session_options.client.unique_stride = 2 * static_cast<uint64_t>(lanes);
  session_options.vmm.num_request_queues = lanes;
  session_options.daemon_log_path = options.daemon_log_path;
  workload.Configure(&session_options);
  absl::StatusOr<std::unique_ptr<FakeVmmSession>> started =
      FakeVmmSession::Start({daemon.name, *command}, shared_dir, session_options);
  if (!started.ok()) {
    // FakeVmm refuses a queue count above the daemon's GET_QUEUE_NUM.
    if (lanes > 1 && absl::IsFailedPrecondition(started.status()) &&
        absl::StrContains(started.status().message(), "queues")) {
      result.not_applicable = std::string(started.status().message());
      return finish();
    }
    return fail(started.status());
  }
  session = std::move(*started);
  if (lanes > 1 && session->vmm->max_queues() < 1 + static_cast<uint64_t>(lanes)) {
    result.not_applicable = absl::StrCat("daemon serves ", session->vmm->max_queues(),
                                         " queues (no multiqueue)");
    return finish();
  }
  // One client per extra request queue, on an interleaved unique sequence.
  std::vector<std::unique_ptr<FuseClient>> extra;
  std::vector<FuseClient*> clients = {session->fuse.get()};
  for (int q = 1; q < lanes; ++q) {
    FuseClientOptions client_options = session_options.client;
    client_options.first_unique = 2 + 2 * static_cast<uint64_t>(q);
    absl::StatusOr<std::unique_ptr<FuseClient>> client =
        FuseClient::Create(&session->vmm->memory(), &session->vmm->request_queue(q),
                           &session->vmm->hiprio_queue(), client_options);
    if (!client.ok()) return fail(client.status());
    clients.push_back(client->get());
    extra.push_back(std::move(*client));
  }
  absl::Status status = workload.Setup(*session->fuse);
  if (!status.ok()) return fail(status);

  std::mt19937_64 rng(options.seed);
  Driver driver(clients, workload, rng);
  uint64_t done = 0;
  const Clock::time_point far = Clock::time_point::max();
  status = driver.Run(options.queue_depth, options.warmup_ops, far, &done, [](int64_t) {});
  if (!status.ok()) return fail(status);

  std::vector<uint32_t> latencies_ns;
  latencies_ns.reserve(options.max_ops > 0 ? options.max_ops : 1 << 20);
  absl::StatusOr<double> cpu_before = session->daemon->CpuSeconds();
  if (!cpu_before.ok()) return fail(cpu_before.status());
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      options.duration > absl::ZeroDuration()
          ? start + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(options.duration))
          : far;
  const uint64_t count = options.max_ops > 0 ? options.max_ops : UINT64_MAX;
  status = driver.Run(options.queue_depth, count, deadline, &done, [&](int64_t ns) {
    latencies_ns.push_back(static_cast<uint32_t>(std::min<int64_t>(ns, UINT32_MAX)));
  });
  const Clock::time_point end = Clock::now();
  absl::StatusOr<double> cpu_after = session->daemon->CpuSeconds();
  if (!status.ok()) return fail(status);
  if (!cpu_after.ok()) return fail(cpu_after.status());

  result.ops = done;
  result.seconds = std::chrono::duration<double>(end - start).count();
  result.daemon_cpu_seconds = *cpu_after - *cpu_before;
  result.p50_us = Percentile(&latencies_ns, 50) / 1000.0;
  result.p99_us = Percentile(&latencies_ns, 99) / 1000.0;
  extra.clear();
  return finish();
}

}  // namespace vfsd
