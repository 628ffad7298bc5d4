// FuzzBackend: fixed plausible answers for every Backend operation.
#include "testing/fuzz/fuzz_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "backends/errno_status.h"

namespace vfsd {
namespace {

Attr SampleAttr(NodeId node, uint32_t mode = S_IFREG | 0644) {
  Attr attr;
  attr.ino = node;
  attr.size = 12345;
  attr.blocks = 25;
  attr.atime = {1700000000, 1};
  attr.mtime = {1700000001, 999999999};
  attr.ctime = {1700000002, 0};
  attr.mode = mode;
  attr.nlink = 1;
  attr.uid = 1000;
  attr.gid = 1000;
  attr.blksize = 4096;
  return attr;
}

Entry SampleEntry(NodeId node, uint32_t mode = S_IFREG | 0644) {
  return Entry{node, 7, SampleAttr(node, mode)};
}

}  // namespace

template <typename T, typename Callback>
void FuzzBackend::Answer(Callback& done, T value) {
  ++completions_;
  if (fail_errno_ != 0) {
    done(ErrnoStatus(fail_errno_, "fuzz backend"));
  } else {
    done(std::move(value));
  }
}

void FuzzBackend::AnswerStatus(DoneStatus& done) {
  ++completions_;
  done(fail_errno_ != 0 ? ErrnoStatus(fail_errno_, "fuzz backend") : absl::OkStatus());
}

void FuzzBackend::Lookup(const RequestContext&, NodeId, absl::string_view, Done<Entry> done) {
  Answer(done, SampleEntry(2));
}
void FuzzBackend::GetAttr(const RequestContext&, NodeId node, std::optional<HandleId>,
                          Done<Attr> done) {
  Answer(done, SampleAttr(node, node == kRootNodeId ? S_IFDIR | 0755 : S_IFREG | 0644));
}
void FuzzBackend::SetAttr(const RequestContext&, NodeId node, const SetAttrRequest&,
                          Done<Attr> done) {
  Answer(done, SampleAttr(node));
}
void FuzzBackend::ReadLink(const RequestContext&, NodeId, Done<std::string> done) {
  Answer(done, std::string(result_size_, 'l'));
}
void FuzzBackend::Symlink(const RequestContext&, NodeId, absl::string_view, absl::string_view,
                          Done<Entry> done) {
  Answer(done, SampleEntry(3, S_IFLNK | 0777));
}
void FuzzBackend::MkNod(const RequestContext&, NodeId, absl::string_view, uint32_t mode,
                        uint32_t, uint32_t, Done<Entry> done) {
  Answer(done, SampleEntry(4, mode));
}
void FuzzBackend::MkDir(const RequestContext&, NodeId, absl::string_view, uint32_t mode,
                        uint32_t, Done<Entry> done) {
  Answer(done, SampleEntry(5, S_IFDIR | (mode & 07777)));
}
void FuzzBackend::Unlink(const RequestContext&, NodeId, absl::string_view, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::RmDir(const RequestContext&, NodeId, absl::string_view, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::Rename(const RequestContext&, NodeId, absl::string_view, NodeId,
                         absl::string_view, uint32_t, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::Link(const RequestContext&, NodeId node, NodeId, absl::string_view,
                       Done<Entry> done) {
  Answer(done, SampleEntry(node));
}
void FuzzBackend::Open(const RequestContext&, NodeId, uint32_t flags, bool,
                       Done<OpenResult> done) {
  OpenResult result;
  result.handle = 42;
  result.direct_io = flags & O_DIRECT;
  result.keep_cache = flags & 1;
  Answer(done, result);
}
void FuzzBackend::Create(const RequestContext&, NodeId, absl::string_view, uint32_t mode,
                         uint32_t, uint32_t, bool, Done<CreateResult> done) {
  Answer(done, CreateResult{SampleEntry(6, S_IFREG | (mode & 07777)), OpenResult{43}});
}
void FuzzBackend::TmpFile(const RequestContext&, NodeId, uint32_t mode, uint32_t, uint32_t,
                          Done<CreateResult> done) {
  Answer(done, CreateResult{SampleEntry(8, S_IFREG | (mode & 07777)), OpenResult{44}});
}
void FuzzBackend::Read(const RequestContext&, NodeId, HandleId, uint64_t offset,
                       absl::Span<const iovec> dest, Done<size_t> done) {
  // Fill what the protocol layer handed us (ASan checks each byte), and
  // sometimes report a short read.
  size_t total = 0;
  for (const iovec& iov : dest) {
    std::memset(iov.iov_base, 'r', iov.iov_len);
    total += iov.iov_len;
  }
  Answer(done, offset & 1 ? total / 2 : total);
}
void FuzzBackend::Write(const RequestContext&, NodeId, HandleId, uint64_t,
                        absl::Span<const iovec> data, WriteFlags, Done<size_t> done) {
  size_t total = 0;
  volatile uint8_t sink = 0;
  for (const iovec& iov : data) {
    const uint8_t* p = static_cast<const uint8_t*>(iov.iov_base);
    for (size_t i = 0; i < iov.iov_len; ++i) sink = sink + p[i];
    total += iov.iov_len;
  }
  Answer(done, total);
}
void FuzzBackend::Flush(const RequestContext&, NodeId, HandleId, uint64_t, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::Release(const RequestContext&, NodeId, HandleId, uint32_t,
                          std::optional<uint64_t>, bool, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::Fsync(const RequestContext&, NodeId, HandleId, bool, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::Fallocate(const RequestContext&, NodeId, HandleId, uint64_t, uint64_t,
                            uint32_t, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::Lseek(const RequestContext&, NodeId, HandleId, uint64_t offset, uint32_t,
                        Done<uint64_t> done) {
  Answer(done, offset + 4096);
}
void FuzzBackend::CopyFileRange(const RequestContext&, NodeId, HandleId, uint64_t, NodeId,
                                HandleId, uint64_t, uint64_t length, uint64_t,
                                Done<size_t> done) {
  Answer(done, static_cast<size_t>(length));
}
void FuzzBackend::OpenDir(const RequestContext&, NodeId, uint32_t, Done<OpenResult> done) {
  OpenResult result;
  result.handle = 45;
  result.cache_dir = true;
  Answer(done, result);
}
void FuzzBackend::ReadDir(const RequestContext&, NodeId, HandleId, uint64_t offset, bool plus,
                          DirEntrySink& sink, DoneStatus done) {
  if (fail_errno_ == 0) {
    static const char* const kNames[] = {".", "..", "a", "a-much-longer-file-name.txt", "x"};
    const Entry entry = SampleEntry(9);
    const uint64_t end = std::min<uint64_t>(result_size_, 4096);
    for (uint64_t i = offset; i < end; ++i) {
      absl::string_view name = kNames[i % 5];
      if (!sink.Fits(name.size())) break;
      sink.Add(DirEntry{i + 10, i + 1, DT_REG, name}, plus && i % 5 >= 2 ? &entry : nullptr);
    }
  }
  AnswerStatus(done);
}
void FuzzBackend::ReleaseDir(const RequestContext&, NodeId, HandleId, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::FsyncDir(const RequestContext&, NodeId, HandleId, bool, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::StatFs(const RequestContext&, NodeId, Done<vfsd::StatFs> done) {
  Answer(done, vfsd::StatFs{1000, 500, 400, 100, 50, 4096, 255, 4096});
}
void FuzzBackend::SyncFs(const RequestContext&, NodeId, DoneStatus done) { AnswerStatus(done); }
void FuzzBackend::Access(const RequestContext&, NodeId, uint32_t, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::SetXattr(const RequestContext&, NodeId, absl::string_view, absl::string_view,
                           uint32_t, bool, DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::GetXattr(const RequestContext&, NodeId, absl::string_view,
                           Done<std::string> done) {
  Answer(done, std::string(result_size_, 'v'));
}
void FuzzBackend::ListXattr(const RequestContext&, NodeId, Done<std::string> done) {
  std::string names;
  while (names.size() < result_size_) names.append("user.fuzz", 10);  // with its NUL
  Answer(done, names);
}
void FuzzBackend::RemoveXattr(const RequestContext&, NodeId, absl::string_view,
                              DoneStatus done) {
  AnswerStatus(done);
}
void FuzzBackend::GetLk(const RequestContext&, NodeId, HandleId, uint64_t, const FileLock& lock,
                        Done<FileLock> done) {
  FileLock result = lock;
  result.pid = 77;
  Answer(done, result);
}
void FuzzBackend::SetLk(const RequestContext&, NodeId, HandleId, uint64_t, const FileLock&,
                        bool, bool, DoneStatus done) {
  AnswerStatus(done);
}

}  // namespace vfsd
