// vfsd_bench: benchmarks vhost-user-fs daemons (ours, the reference
// virtiofsd, side by side) through the fake VMM. Prints a markdown table
// of ops/s, p50/p99 latency and ops per daemon CPU-second per run, then
// (with several daemons) a side-by-side comparison against the reference.
// Runs of the same configuration on different daemons go back to back.
//
//   cp bazel-bin/daemon/vfsd /tmp/vfsd-bench
//   bazel-bin/testing/bench/vfsd_bench --vfsd=/tmp/vfsd-bench --reference
//       --workloads=all --queue-depths=1,16 --duration=3s   (one line)
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "testing/bench/bench_flags.h"
#include "testing/bench/bench_runner.h"
#include "testing/bench/bench_workload.h"
#include "testing/fake_vmm_session.h"

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;  // keep per-session INFO lines out of the table
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<vfsd::BenchConfig> config = vfsd::ParseBenchFlags(args);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n\n" << vfsd::BenchUsage();
    return 2;
  }
  if (config->help || config->list_workloads) {
    std::cout << vfsd::BenchUsage();
    return 0;
  }
  std::string dir = config->shared_dir;
  const bool own_dir = dir.empty();
  if (own_dir) {
    absl::StatusOr<std::string> tmp = vfsd::MakeTempDir("vfsd-bench");
    if (!tmp.ok()) {
      std::cerr << tmp.status() << "\n";
      return 1;
    }
    dir = *tmp;
  }
  // Each workload makes its files once; every daemon then sees the same tree.
  std::map<std::string, std::unique_ptr<vfsd::BenchWorkload>> workloads;
  for (const std::string& name : config->workloads) {
    auto workload = vfsd::BenchWorkloads().at(name).make();
    absl::Status status = workload->PrepareSharedDir(dir);
    if (!status.ok()) {
      std::cerr << "preparing " << name << ": " << status << "\n";
      return 1;
    }
    workloads[name] = std::move(workload);
  }
  // Daemons log to one file per run, not into the table.
  absl::StatusOr<std::string> logs = vfsd::MakeTempDir("vfsd-bench-logs");
  if (!logs.ok()) {
    std::cerr << logs.status() << "\n";
    return 1;
  }
  std::vector<vfsd::BenchResult> results;
  bool failed = false;
  for (const std::string& name : config->workloads) {
    for (const std::string& cache : config->cache_modes) {
      for (int queues : config->request_queues) {
        for (bool indirect : config->indirect) {
          for (int depth : config->queue_depths) {
            for (const vfsd::DaemonSpec& daemon : config->daemons) {
              vfsd::BenchRunOptions run = config->run;
              run.queue_depth = depth;
              run.cache = cache;
              run.request_queues = queues;
              run.indirect = indirect;
              run.daemon_log_path = absl::StrCat(*logs, "/", daemon.name, "-", name, "-", cache,
                                                 "-", queues, "q-", indirect ? "indirect" : "split",
                                                 "-qd", depth, ".log");
              // A fresh workload object per run: its state (nodeids) is per
              // session; PrepareSharedDir is idempotent and re-warms caches.
              auto workload = vfsd::BenchWorkloads().at(name).make();
              absl::Status prepared = workload->PrepareSharedDir(dir);
              vfsd::BenchResult result;
              if (prepared.ok()) {
                result = vfsd::RunBenchmark(daemon, name, *workload, dir, run);
              } else {
                result.daemon = daemon.name;
                result.workload = name;
                result.queue_depth = depth;
                result.config = vfsd::BenchConfigLabel(run);
                result.error = std::string(prepared.message());
              }
              failed |= !result.error.empty();
              std::cerr << daemon.name << " " << name << " " << result.config << " qd" << depth
                        << ": "
                        << (!result.error.empty()            ? result.error
                            : !result.not_applicable.empty() ? "n/a: " + result.not_applicable
                                                             : "done")
                        << "\n";
              results.push_back(std::move(result));
            }
          }
        }
      }
    }
  }
  // The data files are large; drop a shared dir we created.
  if (own_dir) std::filesystem::remove_all(dir);
  std::cerr << "daemon logs: " << *logs << "\n";
  std::cout << vfsd::FormatMarkdown(results);
  if (config->daemons.size() > 1) {
    std::cout << "\n" << vfsd::FormatComparison(results, config->daemons.back().name);
  }
  if (!config->json_path.empty()) {
    std::ofstream(config->json_path) << vfsd::FormatJson(results);
  }
  return failed ? 1 : 0;
}
