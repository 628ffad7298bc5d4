// vfsd_bench: benchmarks vhost-user-fs daemons (ours, the reference
// virtiofsd, side by side) through the fake VMM. Prints a markdown table
// of ops/s, p50/p99 latency and ops per daemon CPU-second.
//
//   bazel run //testing/bench:vfsd_bench -- \
//     --daemon=vfsd:"$PWD/bazel-bin/daemon/vfsd --socket-path={socket} \
//         --shared-dir={dir} --cache=auto" \
//     --daemon=ref:"/usr/lib/qemu/virtiofsd --socket-path={socket} \
//         -o source={dir} -o cache=auto" --duration=5s
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
    for (int depth : config->queue_depths) {
      for (const vfsd::DaemonSpec& daemon : config->daemons) {
        vfsd::BenchRunOptions run = config->run;
        run.queue_depth = depth;
        run.daemon_log_path =
            absl::StrCat(*logs, "/", daemon.name, "-", name, "-qd", depth, ".log");
        // A fresh workload object per run: its state (nodeids) is per session.
        auto workload = vfsd::BenchWorkloads().at(name).make();
        vfsd::BenchResult result = vfsd::RunBenchmark(daemon, name, *workload, dir, run);
        failed |= !result.error.empty();
        std::cerr << daemon.name << " " << name << " qd" << depth << ": "
                  << (result.error.empty() ? "done" : result.error) << "\n";
        results.push_back(std::move(result));
      }
    }
  }
  // The data files are large; drop a shared dir we created.
  if (own_dir) std::filesystem::remove_all(dir);
  std::cerr << "daemon logs: " << *logs << "\n";
  std::cout << vfsd::FormatMarkdown(results);
  if (!config->json_path.empty()) {
    std::ofstream(config->json_path) << vfsd::FormatJson(results);
  }
  return failed ? 1 : 0;
}
