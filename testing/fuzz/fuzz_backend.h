// FuzzBackend: a synchronous Backend for the FUSE session fuzzer that
// answers every operation with fixed, plausible results (or with one chosen
// errno), so the fuzzer reaches every reply encoder and not just the ENOSYS
// path. It keeps no state: decoding, not storage, is what is under test.
#ifndef VFSD_TESTING_FUZZ_FUZZ_BACKEND_H_
#define VFSD_TESTING_FUZZ_FUZZ_BACKEND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "backends/backend.h"

namespace vfsd {

class FuzzBackend : public Backend {
 public:
  // `fail_errno` 0: every operation succeeds; otherwise every operation
  // (except Init/Destroy/Forget) fails with that errno.
  void set_fail_errno(int err) { fail_errno_ = err; }
  // Sizes of variable-length results (ReadLink target, xattr value/list,
  // directory entries listed), so replies hit and miss the guest's buffer.
  void set_result_size(uint32_t size) { result_size_ = size; }
  // Times a completion callback ran; the harness compares it with the calls.
  uint64_t completions() const { return completions_; }

  void Lookup(const RequestContext&, NodeId, absl::string_view, Done<Entry> done) override;
  void GetAttr(const RequestContext&, NodeId node, std::optional<HandleId>,
               Done<Attr> done) override;
  void SetAttr(const RequestContext&, NodeId node, const SetAttrRequest&,
               Done<Attr> done) override;
  void ReadLink(const RequestContext&, NodeId, Done<std::string> done) override;
  void Symlink(const RequestContext&, NodeId, absl::string_view, absl::string_view,
               Done<Entry> done) override;
  void MkNod(const RequestContext&, NodeId, absl::string_view, uint32_t, uint32_t, uint32_t,
             Done<Entry> done) override;
  void MkDir(const RequestContext&, NodeId, absl::string_view, uint32_t, uint32_t,
             Done<Entry> done) override;
  void Unlink(const RequestContext&, NodeId, absl::string_view, DoneStatus done) override;
  void RmDir(const RequestContext&, NodeId, absl::string_view, DoneStatus done) override;
  void Rename(const RequestContext&, NodeId, absl::string_view, NodeId, absl::string_view,
              uint32_t, DoneStatus done) override;
  void Link(const RequestContext&, NodeId, NodeId, absl::string_view, Done<Entry> done) override;
  void Open(const RequestContext&, NodeId, uint32_t, bool, Done<OpenResult> done) override;
  void Create(const RequestContext&, NodeId, absl::string_view, uint32_t, uint32_t, uint32_t,
              bool, Done<CreateResult> done) override;
  void TmpFile(const RequestContext&, NodeId, uint32_t, uint32_t, uint32_t,
               Done<CreateResult> done) override;
  void Read(const RequestContext&, NodeId, HandleId, uint64_t, absl::Span<const iovec> dest,
            Done<size_t> done) override;
  void Write(const RequestContext&, NodeId, HandleId, uint64_t, absl::Span<const iovec> data,
             WriteFlags, Done<size_t> done) override;
  void Flush(const RequestContext&, NodeId, HandleId, uint64_t, DoneStatus done) override;
  void Release(const RequestContext&, NodeId, HandleId, uint32_t, std::optional<uint64_t>, bool,
               DoneStatus done) override;
  void Fsync(const RequestContext&, NodeId, HandleId, bool, DoneStatus done) override;
  void Fallocate(const RequestContext&, NodeId, HandleId, uint64_t, uint64_t, uint32_t,
                 DoneStatus done) override;
  void Lseek(const RequestContext&, NodeId, HandleId, uint64_t offset, uint32_t,
             Done<uint64_t> done) override;
  void CopyFileRange(const RequestContext&, NodeId, HandleId, uint64_t, NodeId, HandleId,
                     uint64_t, uint64_t length, uint64_t, Done<size_t> done) override;
  void OpenDir(const RequestContext&, NodeId, uint32_t, Done<OpenResult> done) override;
  void ReadDir(const RequestContext&, NodeId, HandleId, uint64_t offset, bool plus,
               DirEntrySink& sink, DoneStatus done) override;
  void ReleaseDir(const RequestContext&, NodeId, HandleId, DoneStatus done) override;
  void FsyncDir(const RequestContext&, NodeId, HandleId, bool, DoneStatus done) override;
  void StatFs(const RequestContext&, NodeId, Done<vfsd::StatFs> done) override;
  void SyncFs(const RequestContext&, NodeId, DoneStatus done) override;
  void Access(const RequestContext&, NodeId, uint32_t, DoneStatus done) override;
  void SetXattr(const RequestContext&, NodeId, absl::string_view, absl::string_view, uint32_t,
                bool, DoneStatus done) override;
  void GetXattr(const RequestContext&, NodeId, absl::string_view,
                Done<std::string> done) override;
  void ListXattr(const RequestContext&, NodeId, Done<std::string> done) override;
  void RemoveXattr(const RequestContext&, NodeId, absl::string_view, DoneStatus done) override;
  void GetLk(const RequestContext&, NodeId, HandleId, uint64_t, const FileLock& lock,
             Done<FileLock> done) override;
  void SetLk(const RequestContext&, NodeId, HandleId, uint64_t, const FileLock&, bool, bool,
             DoneStatus done) override;

 private:
  template <typename T, typename Callback>
  void Answer(Callback& done, T value);
  void AnswerStatus(DoneStatus& done);

  int fail_errno_ = 0;
  uint32_t result_size_ = 16;
  uint64_t completions_ = 0;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_FUZZ_FUZZ_BACKEND_H_
