// Command line of vfsd_bench (hand-parsed: the project links no flags
// library). See BenchUsage() for the flags.
#ifndef VFSD_TESTING_BENCH_BENCH_FLAGS_H_
#define VFSD_TESTING_BENCH_BENCH_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "testing/bench/bench_runner.h"
#include "testing/fake_vmm_session.h"

namespace vfsd {

struct BenchConfig {
  std::vector<DaemonSpec> daemons;  // default: the reference virtiofsd
  std::vector<std::string> workloads = {"getattr", "read4k"};
  std::vector<int> queue_depths = {1, 16};
  BenchRunOptions run;     // max_ops / duration / warmup_ops / seed
  std::string shared_dir;  // default: a fresh temp dir
  std::string json_path;   // write JSON here too if set
  bool help = false;
  bool list_workloads = false;
};

// Parses argv[1..]. --daemon=NAME:COMMAND may repeat.
absl::StatusOr<BenchConfig> ParseBenchFlags(const std::vector<std::string>& args);
std::string BenchUsage();

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_BENCH_FLAGS_H_
