// A benchmark workload: what files it needs in the shared directory, its
// untimed per-session setup (lookups, opens), and how to submit and check
// one timed operation. An operation is one FUSE request (GETATTR, READ,
// WRITE) or a short sequence of them (CREATE then RELEASE; OPENDIR, the
// READDIRPLUS pages, RELEASEDIR), timed from its first submission to its
// last completion, as a guest syscall would be. New workloads implement
// this interface and add one line to the registry in bench_workload.cc;
// the runner stays unchanged.
#ifndef VFSD_TESTING_BENCH_BENCH_WORKLOAD_H_
#define VFSD_TESTING_BENCH_BENCH_WORKLOAD_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "testing/fake_vmm_session.h"
#include "testing/fuse_client.h"

namespace vfsd {

// Per-request bookkeeping (submission time, offsets, handles) is kept in
// fixed arrays indexed by OpSlot(unique) rather than maps: uniques are
// even and at most 64 requests are in flight, so unique/2 modulo a window
// much larger than that names an in-flight request without allocating.
inline constexpr size_t kOpSlots = 1024;
inline size_t OpSlot(uint64_t unique) { return (unique / 2) % kOpSlots; }

class BenchWorkload {
 public:
  virtual ~BenchWorkload() = default;

  // Creates (idempotently) what the workload reads in `dir`; called before
  // the daemons start.
  virtual absl::Status PrepareSharedDir(const std::string& dir) = 0;
  // Removes what a run left in `dir` (created files); called after each
  // run's daemon is gone, so every run starts from the same tree.
  virtual absl::Status CleanUp(const std::string& dir) { return absl::OkStatus(); }
  // Adjusts the fake VMM / client set-up (buffer sizes). The runner has
  // already set queue depth, request queues and indirect descriptors.
  virtual void Configure(FakeVmmSessionOptions* options) const {}
  // Untimed, after FUSE_INIT: resolve nodeids, open handles.
  virtual absl::Status Setup(FuseClient& fuse) = 0;
  // Submits the first request of one operation without kicking; returns
  // its unique.
  virtual absl::StatusOr<uint64_t> Submit(FuseClient& fuse, std::mt19937_64& rng) = 0;
  // Validates a completion (a wrong answer invalidates the run). Returns
  // nullopt when the operation is finished, or submits (without kicking)
  // the operation's next request on the same `fuse` and returns its unique.
  // `completion.payload` must be read before submitting.
  virtual absl::StatusOr<std::optional<uint64_t>> Complete(FuseClient& fuse,
                                                           const FuseCompletion& completion) = 0;
};

// Base of the one-request-per-operation workloads.
class SingleRequestWorkload : public BenchWorkload {
 public:
  virtual absl::Status Check(const FuseCompletion& completion) = 0;
  absl::StatusOr<std::optional<uint64_t>> Complete(FuseClient&,
                                                   const FuseCompletion& completion) final {
    absl::Status status = Check(completion);
    if (!status.ok()) return status;
    return std::optional<uint64_t>();
  }
};

struct BenchWorkloadInfo {
  std::string description;
  std::function<std::unique_ptr<BenchWorkload>()> make;
};

// All workloads by name ("getattr", "read4k", ...).
const std::map<std::string, BenchWorkloadInfo>& BenchWorkloads();

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_BENCH_WORKLOAD_H_
