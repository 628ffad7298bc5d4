// FuseClient: FUSE request building and reply checking over a virtqueue.
#include "testing/fuse_client.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/errno_status.h"

namespace vfsd {
namespace {

template <typename T>
absl::Span<const uint8_t> Bytes(const T& v) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), sizeof(T));
}

// Name arguments are NUL-terminated on the wire.
std::string WithNul(absl::string_view name) {
  std::string s(name);
  s.push_back('\0');
  return s;
}

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<FuseClient>> FuseClient::Create(
    FakeGuestMemory* memory, VirtqueueDriver* requests, VirtqueueDriver* hiprio,
    const FuseClientOptions& options) {
  if (options.max_in_flight == 0) return absl::InvalidArgumentError("max_in_flight is 0");
  if (options.first_unique == 0 || options.first_unique % 2 != 0 ||
      options.unique_stride == 0 || options.unique_stride % 2 != 0) {
    return absl::InvalidArgumentError("first_unique and unique_stride must be even, non-zero");
  }
  std::unique_ptr<FuseClient> client(new FuseClient());
  client->memory_ = memory;
  client->requests_ = requests;
  client->hiprio_ = hiprio;
  client->options_ = options;
  client->next_unique_ = options.first_unique;
  for (uint16_t i = 0; i < options.max_in_flight; ++i) {
    absl::StatusOr<Slot> slot = client->NewSlot();
    if (!slot.ok()) return slot.status();
    client->slots_.push_back(*slot);
  }
  absl::StatusOr<Slot> slot = client->NewSlot();
  if (!slot.ok()) return slot.status();
  client->hiprio_slot_ = *slot;
  client->slot_of_head_.assign(requests->size(), -1);
  return client;
}

absl::StatusOr<FuseClient::Slot> FuseClient::NewSlot() {
  Slot slot{};
  struct Part {
    VirtqueueBuffer* buffer;
    uint8_t** host;
    uint32_t size;
  } parts[] = {
      {&slot.in_header, &slot.in_header_host, sizeof(fuse_in_header)},
      {&slot.args, &slot.args_host, options_.max_args_size},
      {&slot.out_header, &slot.out_header_host, sizeof(fuse_out_header)},
      {&slot.reply, &slot.reply_host, options_.max_reply_size},
  };
  for (Part& part : parts) {
    absl::StatusOr<uint64_t> gpa = memory_->Allocate(part.size == 0 ? 8 : part.size, 64);
    if (!gpa.ok()) return gpa.status();
    *part.buffer = VirtqueueBuffer{*gpa, part.size};
    *part.host = memory_->Translate(*gpa, part.size);
  }
  return slot;
}

absl::StatusOr<uint32_t> FuseClient::BuildRequest(
    Slot* slot, uint32_t opcode, uint64_t nodeid,
    std::initializer_list<absl::Span<const uint8_t>> args, uint32_t reply_capacity) {
  size_t args_len = 0;
  for (const auto& part : args) args_len += part.size();
  if (args_len > options_.max_args_size) {
    return absl::InvalidArgumentError(absl::StrCat("request args of ", args_len,
                                                   " bytes exceed max_args_size"));
  }
  if (reply_capacity > options_.max_reply_size) {
    return absl::InvalidArgumentError("reply capacity exceeds max_reply_size");
  }
  uint8_t* p = slot->args_host;
  for (const auto& part : args) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  fuse_in_header in{};
  in.len = static_cast<uint32_t>(sizeof(fuse_in_header) + args_len);
  in.opcode = opcode;
  in.unique = next_unique_;
  next_unique_ += options_.unique_stride;
  in.nodeid = nodeid;
  in.uid = options_.uid;
  in.gid = options_.gid;
  in.pid = options_.pid;
  std::memcpy(slot->in_header_host, &in, sizeof(in));
  // Poison the out header so a daemon that skips writing it is caught.
  std::memset(slot->out_header_host, 0xA5, sizeof(fuse_out_header));
  slot->unique = in.unique;
  slot->opcode = opcode;
  slot->capacity = reply_capacity;
  return static_cast<uint32_t>(args_len);
}

absl::StatusOr<uint64_t> FuseClient::Submit(
    uint32_t opcode, uint64_t nodeid, std::initializer_list<absl::Span<const uint8_t>> args,
    uint32_t reply_capacity) {
  if (in_flight_ >= slots_.size()) {
    return absl::ResourceExhaustedError("all FUSE request slots are in flight");
  }
  size_t index = 0;
  while (slots_[index].busy) ++index;
  Slot& slot = slots_[index];
  absl::StatusOr<uint32_t> args_len = BuildRequest(&slot, opcode, nodeid, args, reply_capacity);
  if (!args_len.ok()) return args_len.status();
  VirtqueueBuffer readable[2] = {slot.in_header, {slot.args.gpa, *args_len}};
  VirtqueueBuffer writable[2] = {slot.out_header, {slot.reply.gpa, reply_capacity}};
  const size_t nr = *args_len > 0 ? 2 : 1;
  const size_t nw = reply_capacity > 0 ? 2 : (opcode == FUSE_FORGET ||
                                              opcode == FUSE_BATCH_FORGET ? 0 : 1);
  absl::StatusOr<uint16_t> head =
      requests_->AddChain(absl::MakeConstSpan(readable, nr), absl::MakeConstSpan(writable, nw),
                          options_.indirect);
  if (!head.ok()) return head.status();
  slot.busy = true;
  slot_of_head_[*head] = static_cast<int>(index);
  ++in_flight_;
  return slot.unique;
}

absl::Status FuseClient::Kick() { return requests_->Kick().status(); }

absl::Status FuseClient::ValidateReply(const Slot& slot, uint32_t used_len,
                                       FuseCompletion* out) {
  out->unique = slot.unique;
  out->opcode = slot.opcode;
  out->error = 0;
  out->payload = {};
  if (slot.opcode == FUSE_FORGET || slot.opcode == FUSE_BATCH_FORGET) {
    if (used_len != 0) {
      return absl::DataLossError(absl::StrCat("FORGET got a ", used_len, "-byte reply"));
    }
    return absl::OkStatus();
  }
  fuse_out_header h;
  std::memcpy(&h, slot.out_header_host, sizeof(h));
  const auto fail = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("bad reply to opcode ", slot.opcode, " unique ",
                                            slot.unique, ": ", why, " (used len ", used_len,
                                            ", out.len ", h.len, ", error ", h.error, ")"));
  };
  if (used_len < sizeof(h)) return fail("shorter than fuse_out_header");
  if (h.len != used_len) return fail("out.len differs from the used length");
  if (h.len - sizeof(h) > slot.capacity) return fail("longer than the reply buffer");
  if (h.unique != slot.unique) return fail("unique mismatch");
  if (h.error > 0 || h.error <= -4096) return fail("error out of range");
  if (h.error != 0 && h.len != sizeof(h)) return fail("error reply with a payload");
  out->error = h.error;
  out->payload = absl::Span<const uint8_t>(slot.reply_host, h.len - sizeof(h));
  return absl::OkStatus();
}

absl::StatusOr<FuseCompletion> FuseClient::WaitCompletion() {
  if (in_flight_ == 0) return absl::FailedPreconditionError("no FUSE request in flight");
  absl::StatusOr<UsedElement> used = requests_->WaitUsed(options_.timeout);
  if (!used.ok()) return used.status();
  return FinishUsed(*used);
}

absl::StatusOr<std::optional<FuseCompletion>> FuseClient::PollCompletion() {
  if (in_flight_ == 0) return std::optional<FuseCompletion>();
  absl::StatusOr<std::optional<UsedElement>> used = requests_->PollUsed();
  if (!used.ok()) return used.status();
  if (!used->has_value()) return std::optional<FuseCompletion>();
  absl::StatusOr<FuseCompletion> completion = FinishUsed(**used);
  if (!completion.ok()) return completion.status();
  return std::optional<FuseCompletion>(*completion);
}

absl::StatusOr<FuseCompletion> FuseClient::FinishUsed(const UsedElement& used) {
  const int index = slot_of_head_[used.id];
  if (index < 0) return absl::DataLossError("used id does not belong to a FUSE request");
  slot_of_head_[used.id] = -1;
  Slot& slot = slots_[index];
  slot.busy = false;
  --in_flight_;
  FuseCompletion completion;
  absl::Status status = ValidateReply(slot, used.len, &completion);
  if (!status.ok()) return status;
  return completion;
}

absl::StatusOr<FuseReply> FuseClient::Call(uint32_t opcode, uint64_t nodeid,
                                           absl::Span<const uint8_t> args,
                                           uint32_t reply_capacity) {
  if (in_flight_ != 0) {
    return absl::FailedPreconditionError("blocking Call with requests in flight");
  }
  absl::StatusOr<uint64_t> unique = Submit(opcode, nodeid, {args}, reply_capacity);
  if (!unique.ok()) return unique.status();
  absl::Status status = Kick();
  if (!status.ok()) return status;
  absl::StatusOr<FuseCompletion> done = WaitCompletion();
  if (!done.ok()) return done.status();
  return FuseReply{done->error, std::vector<uint8_t>(done->payload.begin(), done->payload.end())};
}

absl::Status FuseClient::SendNoReply(uint32_t opcode, uint64_t nodeid,
                                     absl::Span<const uint8_t> args) {
  if (hiprio_ == nullptr) {
    absl::StatusOr<FuseReply> reply = Call(opcode, nodeid, args, 0);
    return reply.status();
  }
  // virtio_fs.c sends forgets on the hiprio queue, one at a time, with no
  // writable buffer; the device returns the chain with len 0.
  absl::StatusOr<uint32_t> args_len = BuildRequest(&hiprio_slot_, opcode, nodeid, {args}, 0);
  if (!args_len.ok()) return args_len.status();
  VirtqueueBuffer readable[2] = {hiprio_slot_.in_header, {hiprio_slot_.args.gpa, *args_len}};
  absl::StatusOr<uint16_t> head =
      hiprio_->AddChain(absl::MakeConstSpan(readable, *args_len > 0 ? 2 : 1), {});
  if (!head.ok()) return head.status();
  absl::Status status = hiprio_->Kick().status();
  if (!status.ok()) return status;
  absl::StatusOr<UsedElement> used = hiprio_->WaitUsed(options_.timeout);
  if (!used.ok()) return used.status();
  FuseCompletion ignored;
  return ValidateReply(hiprio_slot_, used->len, &ignored);
}

template <typename T>
absl::StatusOr<T> FuseClient::CallFixed(const char* what, uint32_t opcode, uint64_t nodeid,
                                        absl::Span<const uint8_t> args) {
  absl::StatusOr<FuseReply> reply = Call(opcode, nodeid, args, sizeof(T));
  if (!reply.ok()) return reply.status();
  if (reply->error != 0) return ErrnoStatus(-reply->error, what);
  if (reply->payload.size() != sizeof(T)) {
    return absl::DataLossError(absl::StrCat(what, " reply has ", reply->payload.size(),
                                            " bytes, want ", sizeof(T)));
  }
  T out;
  std::memcpy(&out, reply->payload.data(), sizeof(T));
  return out;
}

absl::Status FuseClient::CallNoPayload(const char* what, uint32_t opcode, uint64_t nodeid,
                                       absl::Span<const uint8_t> args) {
  absl::StatusOr<FuseReply> reply = Call(opcode, nodeid, args, 0);
  if (!reply.ok()) return reply.status();
  if (reply->error != 0) return ErrnoStatus(-reply->error, what);
  return absl::OkStatus();
}

absl::StatusOr<fuse_init_out> FuseClient::Init(uint64_t flags, uint32_t max_readahead) {
  fuse_init_in in{};
  in.major = FUSE_KERNEL_VERSION;
  in.minor = FUSE_KERNEL_MINOR_VERSION;
  in.max_readahead = max_readahead;
  in.flags = static_cast<uint32_t>(flags);
  in.flags2 = static_cast<uint32_t>(flags >> 32);
  absl::StatusOr<FuseReply> reply = Call(FUSE_INIT, 0, Bytes(in), sizeof(fuse_init_out));
  if (!reply.ok()) return reply.status();
  if (reply->error != 0) return ErrnoStatus(-reply->error, "FUSE_INIT");
  // Older daemons answer with a shorter struct (FUSE_COMPAT_22_INIT_OUT_SIZE).
  if (reply->payload.size() < 24) {
    return absl::DataLossError(absl::StrCat("FUSE_INIT reply has only ",
                                            reply->payload.size(), " bytes"));
  }
  fuse_init_out out{};
  std::memcpy(&out, reply->payload.data(), reply->payload.size());
  init_out_ = out;
  return out;
}

absl::StatusOr<fuse_entry_out> FuseClient::Lookup(uint64_t parent, absl::string_view name) {
  const std::string arg = WithNul(name);
  return CallFixed<fuse_entry_out>("FUSE_LOOKUP", FUSE_LOOKUP, parent, Bytes(arg));
}

absl::Status FuseClient::Forget(uint64_t nodeid, uint64_t nlookup) {
  fuse_forget_in in{};
  in.nlookup = nlookup;
  return SendNoReply(FUSE_FORGET, nodeid, Bytes(in));
}

absl::Status FuseClient::BatchForget(absl::Span<const fuse_forget_one> forgets) {
  fuse_batch_forget_in in{};
  in.count = static_cast<uint32_t>(forgets.size());
  std::vector<uint8_t> args(sizeof(in) + forgets.size() * sizeof(fuse_forget_one));
  std::memcpy(args.data(), &in, sizeof(in));
  if (!forgets.empty()) {
    std::memcpy(args.data() + sizeof(in), forgets.data(),
                forgets.size() * sizeof(fuse_forget_one));
  }
  return SendNoReply(FUSE_BATCH_FORGET, 0, args);
}

absl::StatusOr<fuse_attr_out> FuseClient::GetAttr(uint64_t nodeid, uint64_t fh, bool use_fh) {
  fuse_getattr_in in{};
  if (use_fh) {
    in.getattr_flags = FUSE_GETATTR_FH;
    in.fh = fh;
  }
  return CallFixed<fuse_attr_out>("FUSE_GETATTR", FUSE_GETATTR, nodeid, Bytes(in));
}

absl::StatusOr<fuse_open_out> FuseClient::OpenDir(uint64_t nodeid, uint32_t flags) {
  fuse_open_in in{};
  in.flags = flags;
  return CallFixed<fuse_open_out>("FUSE_OPENDIR", FUSE_OPENDIR, nodeid, Bytes(in));
}

absl::StatusOr<std::vector<FuseDirEntry>> FuseClient::ReadDir(uint64_t nodeid, uint64_t fh,
                                                              uint64_t offset, uint32_t size) {
  fuse_read_in in{};
  in.fh = fh;
  in.offset = offset;
  in.size = size;
  absl::StatusOr<FuseReply> reply = Call(FUSE_READDIR, nodeid, Bytes(in), size);
  if (!reply.ok()) return reply.status();
  if (reply->error != 0) return ErrnoStatus(-reply->error, "FUSE_READDIR");
  return ParseFuseDirents(reply->payload);
}

absl::StatusOr<std::vector<FuseDirEntryPlus>> FuseClient::ReadDirPlus(uint64_t nodeid,
                                                                      uint64_t fh,
                                                                      uint64_t offset,
                                                                      uint32_t size) {
  fuse_read_in in{};
  in.fh = fh;
  in.offset = offset;
  in.size = size;
  absl::StatusOr<FuseReply> reply = Call(FUSE_READDIRPLUS, nodeid, Bytes(in), size);
  if (!reply.ok()) return reply.status();
  if (reply->error != 0) return ErrnoStatus(-reply->error, "FUSE_READDIRPLUS");
  return ParseFuseDirentsPlus(reply->payload);
}

absl::Status FuseClient::ReleaseDir(uint64_t nodeid, uint64_t fh) {
  fuse_release_in in{};
  in.fh = fh;
  return CallNoPayload("FUSE_RELEASEDIR", FUSE_RELEASEDIR, nodeid, Bytes(in));
}

absl::StatusOr<fuse_open_out> FuseClient::Open(uint64_t nodeid, uint32_t flags) {
  fuse_open_in in{};
  in.flags = flags;
  return CallFixed<fuse_open_out>("FUSE_OPEN", FUSE_OPEN, nodeid, Bytes(in));
}

absl::StatusOr<std::string> FuseClient::Read(uint64_t nodeid, uint64_t fh, uint64_t offset,
                                             uint32_t size) {
  fuse_read_in in{};
  in.fh = fh;
  in.offset = offset;
  in.size = size;
  absl::StatusOr<FuseReply> reply = Call(FUSE_READ, nodeid, Bytes(in), size);
  if (!reply.ok()) return reply.status();
  if (reply->error != 0) return ErrnoStatus(-reply->error, "FUSE_READ");
  return std::string(reply->payload.begin(), reply->payload.end());
}

absl::Status FuseClient::Release(uint64_t nodeid, uint64_t fh, uint32_t flags) {
  fuse_release_in in{};
  in.fh = fh;
  in.flags = flags;
  return CallNoPayload("FUSE_RELEASE", FUSE_RELEASE, nodeid, Bytes(in));
}

absl::Status FuseClient::Flush(uint64_t nodeid, uint64_t fh, uint64_t lock_owner) {
  fuse_flush_in in{};
  in.fh = fh;
  in.lock_owner = lock_owner;
  return CallNoPayload("FUSE_FLUSH", FUSE_FLUSH, nodeid, Bytes(in));
}

absl::StatusOr<fuse_statfs_out> FuseClient::StatFs(uint64_t nodeid) {
  return CallFixed<fuse_statfs_out>("FUSE_STATFS", FUSE_STATFS, nodeid, {});
}

absl::Status FuseClient::Access(uint64_t nodeid, uint32_t mask) {
  fuse_access_in in{};
  in.mask = mask;
  return CallNoPayload("FUSE_ACCESS", FUSE_ACCESS, nodeid, Bytes(in));
}

absl::StatusOr<std::string> FuseClient::ReadLink(uint64_t nodeid) {
  absl::StatusOr<FuseReply> reply = Call(FUSE_READLINK, nodeid, {}, 4096);
  if (!reply.ok()) return reply.status();
  if (reply->error != 0) return ErrnoStatus(-reply->error, "FUSE_READLINK");
  return std::string(reply->payload.begin(), reply->payload.end());
}

}  // namespace vfsd
