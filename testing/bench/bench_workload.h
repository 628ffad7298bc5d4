// A benchmark workload: what files it needs in the shared directory, its
// untimed per-session setup (lookups, opens), and how to submit and check
// one timed request. New workloads (write, create, readdir, 2 queues,
// indirect descriptors...) implement this interface and add one line to
// the registry in bench_workload.cc; the runner stays unchanged.
#ifndef VFSD_TESTING_BENCH_BENCH_WORKLOAD_H_
#define VFSD_TESTING_BENCH_BENCH_WORKLOAD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "testing/fake_vmm_session.h"
#include "testing/fuse_client.h"

namespace vfsd {

class BenchWorkload {
 public:
  virtual ~BenchWorkload() = default;

  // Creates (idempotently) what the workload reads in `dir`; called once per
  // benchmark invocation, before any daemon starts.
  virtual absl::Status PrepareSharedDir(const std::string& dir) = 0;
  // Adjusts the fake VMM / client set-up (queue count, indirect, buffer
  // sizes). The runner has already set max_in_flight to the queue depth.
  virtual void Configure(FakeVmmSessionOptions* options) const {}
  // Untimed, after FUSE_INIT: resolve nodeids, open handles.
  virtual absl::Status Setup(FuseClient& fuse) = 0;
  // Submits one request without kicking; returns its unique.
  virtual absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64& rng) = 0;
  // Validates one completion (a wrong answer invalidates the run).
  virtual absl::Status Check(const FuseCompletion& completion) = 0;
};

struct BenchWorkloadInfo {
  std::string description;
  std::function<std::unique_ptr<BenchWorkload>()> make;
};

// All workloads by name ("getattr", "read4k", ...).
const std::map<std::string, BenchWorkloadInfo>& BenchWorkloads();

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_BENCH_WORKLOAD_H_
