// Helpers shared by the workload implementations: byte views of wire
// structs, reply checks, and the factories of the workloads that live in
// their own files (registered in bench_workload.cc).
#ifndef VFSD_TESTING_BENCH_BENCH_WORKLOAD_UTIL_H_
#define VFSD_TESTING_BENCH_BENCH_WORKLOAD_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "testing/bench/bench_workload.h"
#include "testing/fuse_client.h"

namespace vfsd {

template <typename T>
absl::Span<const uint8_t> BenchBytes(const T& v) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), sizeof(T));
}

// An error reply becomes its errno; a success must carry exactly
// `want_payload` bytes.
absl::Status BenchCheckReply(const FuseCompletion& c, size_t want_payload);

// Makes `dir` a new empty directory: removes its entries (not recursive)
// and the directory itself if it exists, then creates it. Call only while
// no daemon has it open.
absl::Status FreshDirectory(const std::string& dir);

// syncfs(2) of the filesystem holding `path`.
absl::Status SyncFilesystem(const std::string& path);

// FUSE_WRITE of `size` bytes at random aligned offsets of a preallocated file.
std::unique_ptr<BenchWorkload> MakeWriteWorkload(uint32_t size);
// FUSE_CREATE of a fresh name, then FUSE_RELEASE of the handle.
std::unique_ptr<BenchWorkload> MakeCreateWorkload();
// OPENDIR + all READDIRPLUS (or READDIR) pages + RELEASEDIR of a directory
// of 1000 files.
std::unique_ptr<BenchWorkload> MakeReadDirWorkload(bool plus);

}  // namespace vfsd

#endif  // VFSD_TESTING_BENCH_BENCH_WORKLOAD_UTIL_H_
