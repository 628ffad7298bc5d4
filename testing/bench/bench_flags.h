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

// Command templates with {socket}, {dir} and the cache placeholders of
// ExpandCacheMode: our daemon at `path`, and the reference virtiofsd.
DaemonSpec BenchVfsdSpec(const std::string& path);
DaemonSpec BenchReferenceSpec(const std::string& path = kReferenceVirtiofsd);

struct BenchConfig {
  std::vector<DaemonSpec> daemons;  // default: the reference virtiofsd
  std::vector<std::string> workloads = {"getattr", "read4k"};
  std::vector<int> queue_depths = {1, 16};
  // The run matrix: every combination of these (and daemon, workload, QD).
  std::vector<std::string> cache_modes = {"auto"};
  std::vector<int> request_queues = {1};
  std::vector<bool> indirect = {false};
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
