#include "testing/conformance/sync_backend.h"

#include <chrono>

#include "backends/errno_status.h"
#include "gtest/gtest.h"

namespace vfsd {
namespace testing_internal {

// Generous: a backend that forgets to complete fails the test, slow CI does
// not (this is not a timing assertion).
constexpr auto kCompletionDeadline = std::chrono::seconds(60);

template <typename T>
T WaitFor(const std::shared_ptr<CompletionState<T>>& state, T on_timeout) {
  std::unique_lock<std::mutex> lock(state->mu);
  if (!state->cv.wait_for(lock, kCompletionDeadline, [&] { return state->result.has_value(); })) {
    ADD_FAILURE() << "backend never completed the request";
    return on_timeout;
  }
  return *std::move(state->result);
}

void ReportExtraCompletion() { ADD_FAILURE() << "backend completed a request twice"; }

}  // namespace testing_internal

namespace {

using testing_internal::CompletionState;

// Starts `start(callback)` and waits for the callback's value.
template <typename T, typename Start>
absl::StatusOr<T> Call(Start&& start) {
  auto state = std::make_shared<CompletionState<absl::StatusOr<T>>>();
  start([state](absl::StatusOr<T> result) {
    std::lock_guard<std::mutex> lock(state->mu);
    if (++state->calls > 1) return testing_internal::ReportExtraCompletion();
    state->result = std::move(result);
    state->cv.notify_all();
  });
  return testing_internal::WaitFor<absl::StatusOr<T>>(
      state, absl::DeadlineExceededError("no completion"));
}

template <typename Start>
absl::Status CallStatus(Start&& start) {
  auto state = std::make_shared<CompletionState<absl::Status>>();
  start([state](absl::Status status) {
    std::lock_guard<std::mutex> lock(state->mu);
    if (++state->calls > 1) return testing_internal::ReportExtraCompletion();
    state->result = std::move(status);
    state->cv.notify_all();
  });
  return testing_internal::WaitFor<absl::Status>(state,
                                                 absl::DeadlineExceededError("no completion"));
}

}  // namespace

void RecordingDirSink::Add(const DirEntry& dirent, const Entry* entry) {
  if (!Fits(dirent.name.size())) ++overflows_;
  used_ += RecordSize(dirent.name.size());
  Record record;
  record.ino = dirent.ino;
  record.next_offset = dirent.next_offset;
  record.type = dirent.type;
  record.name = std::string(dirent.name);
  if (entry != nullptr) record.entry = *entry;
  records_.push_back(std::move(record));
}

absl::StatusOr<Entry> SyncBackend::Lookup(NodeId parent, absl::string_view name,
                                          const RequestContext& ctx) {
  return Call<Entry>([&](Done<Entry> done) { backend_.Lookup(ctx, parent, name, std::move(done)); });
}

absl::StatusOr<Attr> SyncBackend::GetAttr(NodeId node, std::optional<HandleId> handle,
                                          const RequestContext& ctx) {
  return Call<Attr>([&](Done<Attr> done) { backend_.GetAttr(ctx, node, handle, std::move(done)); });
}

absl::StatusOr<std::string> SyncBackend::ReadLink(NodeId node, const RequestContext& ctx) {
  return Call<std::string>(
      [&](Done<std::string> done) { backend_.ReadLink(ctx, node, std::move(done)); });
}

absl::StatusOr<OpenResult> SyncBackend::Open(NodeId node, uint32_t flags,
                                             const RequestContext& ctx) {
  return Open(node, flags, /*kill_suidgid=*/false, ctx);
}

absl::StatusOr<OpenResult> SyncBackend::Open(NodeId node, uint32_t flags, bool kill_suidgid,
                                             const RequestContext& ctx) {
  return Call<OpenResult>([&](Done<OpenResult> done) {
    backend_.Open(ctx, node, flags, kill_suidgid, std::move(done));
  });
}

absl::StatusOr<std::string> SyncBackend::Read(NodeId node, HandleId handle, uint64_t offset,
                                              size_t size, size_t pieces,
                                              const RequestContext& ctx) {
  std::string buffer(size, '\0');
  std::vector<iovec> iov;
  if (pieces == 0) pieces = 1;
  const size_t step = (size + pieces - 1) / pieces;
  for (size_t at = 0; at < size; at += step) {
    iov.push_back(iovec{buffer.data() + at, std::min(step, size - at)});
  }
  absl::StatusOr<size_t> n = Call<size_t>([&](Done<size_t> done) {
    backend_.Read(ctx, node, handle, offset, absl::MakeConstSpan(iov), std::move(done));
  });
  if (!n.ok()) return n.status();
  if (*n > size) return absl::InternalError("backend read more than asked");
  buffer.resize(*n);
  return buffer;
}

absl::Status SyncBackend::Flush(NodeId node, HandleId handle, const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) { backend_.Flush(ctx, node, handle, 0, std::move(done)); });
}

absl::Status SyncBackend::Release(NodeId node, HandleId handle, const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) {
    backend_.Release(ctx, node, handle, 0, std::nullopt, false, std::move(done));
  });
}

absl::StatusOr<OpenResult> SyncBackend::OpenDir(NodeId node, uint32_t flags,
                                                const RequestContext& ctx) {
  return Call<OpenResult>(
      [&](Done<OpenResult> done) { backend_.OpenDir(ctx, node, flags, std::move(done)); });
}

absl::Status SyncBackend::ReadDir(NodeId node, HandleId handle, uint64_t offset, bool plus,
                                  DirEntrySink& sink, const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) {
    backend_.ReadDir(ctx, node, handle, offset, plus, sink, std::move(done));
  });
}

absl::Status SyncBackend::ReleaseDir(NodeId node, HandleId handle, const RequestContext& ctx) {
  return CallStatus(
      [&](DoneStatus done) { backend_.ReleaseDir(ctx, node, handle, std::move(done)); });
}

absl::StatusOr<vfsd::StatFs> SyncBackend::StatFs(NodeId node, const RequestContext& ctx) {
  return Call<vfsd::StatFs>(
      [&](Done<vfsd::StatFs> done) { backend_.StatFs(ctx, node, std::move(done)); });
}

absl::Status SyncBackend::Access(NodeId node, uint32_t mask, const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) { backend_.Access(ctx, node, mask, std::move(done)); });
}

absl::StatusOr<Attr> SyncBackend::SetAttr(NodeId node, const SetAttrRequest& request,
                                          const RequestContext& ctx) {
  return Call<Attr>(
      [&](Done<Attr> done) { backend_.SetAttr(ctx, node, request, std::move(done)); });
}

absl::StatusOr<Entry> SyncBackend::MkDir(NodeId parent, absl::string_view name, uint32_t mode,
                                         uint32_t umask, const RequestContext& ctx) {
  return Call<Entry>(
      [&](Done<Entry> done) { backend_.MkDir(ctx, parent, name, mode, umask, std::move(done)); });
}

absl::StatusOr<Entry> SyncBackend::MkNod(NodeId parent, absl::string_view name, uint32_t mode,
                                         uint32_t rdev, uint32_t umask,
                                         const RequestContext& ctx) {
  return Call<Entry>([&](Done<Entry> done) {
    backend_.MkNod(ctx, parent, name, mode, rdev, umask, std::move(done));
  });
}

absl::StatusOr<Entry> SyncBackend::Symlink(NodeId parent, absl::string_view name,
                                           absl::string_view target, const RequestContext& ctx) {
  return Call<Entry>(
      [&](Done<Entry> done) { backend_.Symlink(ctx, parent, name, target, std::move(done)); });
}

absl::Status SyncBackend::Unlink(NodeId parent, absl::string_view name,
                                 const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) { backend_.Unlink(ctx, parent, name, std::move(done)); });
}

absl::Status SyncBackend::RmDir(NodeId parent, absl::string_view name, const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) { backend_.RmDir(ctx, parent, name, std::move(done)); });
}

absl::Status SyncBackend::Rename(NodeId parent, absl::string_view name, NodeId new_parent,
                                 absl::string_view new_name, uint32_t flags,
                                 const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) {
    backend_.Rename(ctx, parent, name, new_parent, new_name, flags, std::move(done));
  });
}

absl::StatusOr<Entry> SyncBackend::Link(NodeId node, NodeId new_parent,
                                        absl::string_view new_name, const RequestContext& ctx) {
  return Call<Entry>(
      [&](Done<Entry> done) { backend_.Link(ctx, node, new_parent, new_name, std::move(done)); });
}

absl::StatusOr<CreateResult> SyncBackend::Create(NodeId parent, absl::string_view name,
                                                 uint32_t mode, uint32_t flags, uint32_t umask,
                                                 const RequestContext& ctx) {
  return Create(parent, name, mode, flags, umask, /*kill_suidgid=*/false, ctx);
}

absl::StatusOr<CreateResult> SyncBackend::Create(NodeId parent, absl::string_view name,
                                                 uint32_t mode, uint32_t flags, uint32_t umask,
                                                 bool kill_suidgid, const RequestContext& ctx) {
  return Call<CreateResult>([&](Done<CreateResult> done) {
    backend_.Create(ctx, parent, name, mode, flags, umask, kill_suidgid, std::move(done));
  });
}

absl::StatusOr<CreateResult> SyncBackend::TmpFile(NodeId parent, uint32_t mode, uint32_t flags,
                                                  uint32_t umask, const RequestContext& ctx) {
  return Call<CreateResult>([&](Done<CreateResult> done) {
    backend_.TmpFile(ctx, parent, mode, flags, umask, std::move(done));
  });
}

absl::StatusOr<size_t> SyncBackend::Write(NodeId node, HandleId handle, uint64_t offset,
                                          absl::string_view data, WriteFlags flags,
                                          const RequestContext& ctx) {
  // Split in two iovecs to exercise scatter-gather.
  std::string copy(data);
  std::vector<iovec> iov;
  const size_t half = copy.size() / 2;
  if (half > 0) iov.push_back(iovec{copy.data(), half});
  if (copy.size() > half) iov.push_back(iovec{copy.data() + half, copy.size() - half});
  return Call<size_t>([&](Done<size_t> done) {
    backend_.Write(ctx, node, handle, offset, absl::MakeConstSpan(iov), flags, std::move(done));
  });
}

absl::Status SyncBackend::Fsync(NodeId node, HandleId handle, bool datasync,
                                const RequestContext& ctx) {
  return CallStatus(
      [&](DoneStatus done) { backend_.Fsync(ctx, node, handle, datasync, std::move(done)); });
}

absl::Status SyncBackend::FsyncDir(NodeId node, HandleId handle, bool datasync,
                                   const RequestContext& ctx) {
  return CallStatus(
      [&](DoneStatus done) { backend_.FsyncDir(ctx, node, handle, datasync, std::move(done)); });
}

absl::Status SyncBackend::Fallocate(NodeId node, HandleId handle, uint64_t offset,
                                    uint64_t length, uint32_t mode, const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) {
    backend_.Fallocate(ctx, node, handle, offset, length, mode, std::move(done));
  });
}

absl::StatusOr<uint64_t> SyncBackend::Lseek(NodeId node, HandleId handle, uint64_t offset,
                                            uint32_t whence, const RequestContext& ctx) {
  return Call<uint64_t>([&](Done<uint64_t> done) {
    backend_.Lseek(ctx, node, handle, offset, whence, std::move(done));
  });
}

absl::StatusOr<size_t> SyncBackend::CopyFileRange(NodeId node_in, HandleId handle_in,
                                                  uint64_t offset_in, NodeId node_out,
                                                  HandleId handle_out, uint64_t offset_out,
                                                  uint64_t length, const RequestContext& ctx) {
  return Call<size_t>([&](Done<size_t> done) {
    backend_.CopyFileRange(ctx, node_in, handle_in, offset_in, node_out, handle_out, offset_out,
                           length, 0, std::move(done));
  });
}

absl::Status SyncBackend::SyncFs(NodeId node, const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) { backend_.SyncFs(ctx, node, std::move(done)); });
}

absl::Status SyncBackend::SetXattr(NodeId node, absl::string_view name, absl::string_view value,
                                   uint32_t flags, bool acl_kill_sgid,
                                   const RequestContext& ctx) {
  return CallStatus([&](DoneStatus done) {
    backend_.SetXattr(ctx, node, name, value, flags, acl_kill_sgid, std::move(done));
  });
}

absl::StatusOr<std::string> SyncBackend::GetXattr(NodeId node, absl::string_view name,
                                                  const RequestContext& ctx) {
  return Call<std::string>(
      [&](Done<std::string> done) { backend_.GetXattr(ctx, node, name, std::move(done)); });
}

absl::StatusOr<std::string> SyncBackend::ListXattr(NodeId node, const RequestContext& ctx) {
  return Call<std::string>(
      [&](Done<std::string> done) { backend_.ListXattr(ctx, node, std::move(done)); });
}

absl::Status SyncBackend::RemoveXattr(NodeId node, absl::string_view name,
                                      const RequestContext& ctx) {
  return CallStatus(
      [&](DoneStatus done) { backend_.RemoveXattr(ctx, node, name, std::move(done)); });
}

absl::StatusOr<std::vector<RecordingDirSink::Record>> SyncBackend::ReadAll(NodeId node, bool plus,
                                                                          size_t budget) {
  absl::StatusOr<OpenResult> dir = OpenDir(node);
  if (!dir.ok()) return dir.status();
  std::vector<RecordingDirSink::Record> all;
  uint64_t offset = 0;
  absl::Status status;
  while (true) {
    RecordingDirSink sink(budget, plus);
    status = ReadDir(node, dir->handle, offset, plus, sink);
    if (!status.ok() || sink.records().empty()) break;
    if (sink.overflows() > 0) {
      status = absl::InternalError("backend added entries the sink refused");
      break;
    }
    offset = sink.records().back().next_offset;
    for (const auto& record : sink.records()) all.push_back(record);
  }
  absl::Status released = ReleaseDir(node, dir->handle);
  if (!status.ok()) return status;
  if (!released.ok()) return released;
  return all;
}

}  // namespace vfsd
