// The decorator against a mock backend: caller ids and chown targets go to
// the backend as host ids, every attribute comes back in guest ids
// (including READDIRPLUS entries through the sink), forbidden guest ids are
// refused where they would own something.
#include "backends/id_translation/id_translating_backend.h"

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/errno_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/mock_backend.h"

namespace vfsd {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::Eq;
using ::testing::Field;
using ::testing::Optional;

IdMap Map(std::vector<const char*> texts) {
  std::vector<IdMapping> mappings;
  for (const char* text : texts) mappings.push_back(*IdMapping::Parse(text));
  return *IdMap::Create(mappings);
}

Attr HostAttr(uint32_t uid, uint32_t gid) {
  Attr attr;
  attr.ino = 7;
  attr.mode = 0100644;
  attr.uid = uid;
  attr.gid = gid;
  return attr;
}

auto HasIds(uint32_t uid, uint32_t gid) {
  return AllOf(Field(&RequestContext::uid, uid), Field(&RequestContext::gid, gid));
}

class IdTranslatingBackendTest : public ::testing::Test {
 protected:
  IdTranslatingBackendTest() {
    auto mock = std::make_unique<::testing::StrictMock<MockBackend>>();
    mock_ = mock.get();
    // Guest uid 1000 is host 101000, gid 100 is host 100100; guest uid 0 is
    // forbidden; host uids 0..9 all look like guest 65534.
    backend_ = std::make_unique<IdTranslatingBackend>(
        std::move(mock), Map({"map:1000:101000:10", "forbid-guest:0:1", "squash-host:0:65534:10"}),
        Map({"map:100:100100:1"}));
  }

  static RequestContext Guest(uint32_t uid, uint32_t gid) {
    RequestContext ctx;
    ctx.uid = uid;
    ctx.gid = gid;
    ctx.pid = 42;
    return ctx;
  }

  ::testing::StrictMock<MockBackend>* mock_;
  std::unique_ptr<IdTranslatingBackend> backend_;
};

TEST_F(IdTranslatingBackendTest, CreatingCallsRunAsTheHostIdsAndReturnGuestIds) {
  SecurityContext label{"security.selinux", "ctx"};
  RequestContext ctx = Guest(1001, 100);
  ctx.security_context = &label;
  EXPECT_CALL(*mock_, MkDir(AllOf(HasIds(101001, 100100),
                                  Field(&RequestContext::pid, 42u),
                                  Field(&RequestContext::security_context, &label)),
                            1, Eq("d"), 0755u, 022u, _))
      .WillOnce([](const RequestContext&, NodeId, absl::string_view, uint32_t, uint32_t,
                   Done<Entry> done) {
        Entry entry;
        entry.node = 9;
        entry.attr = HostAttr(101001, 100100);
        done(entry);
      });
  absl::StatusOr<Entry> got;
  backend_->MkDir(ctx, 1, "d", 0755, 022, [&](absl::StatusOr<Entry> e) { got = std::move(e); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->node, 9u);
  EXPECT_EQ(got->attr.uid, 1001u);
  EXPECT_EQ(got->attr.gid, 100u);
}

TEST_F(IdTranslatingBackendTest, AttributesComeBackInGuestIds) {
  EXPECT_CALL(*mock_, GetAttr(HasIds(101000, 100100), 5, _, _))
      .WillOnce(CompleteArg<3>(HostAttr(3, 100100)));
  absl::StatusOr<Attr> got;
  backend_->GetAttr(Guest(1000, 100), 5, std::nullopt,
                    [&](absl::StatusOr<Attr> a) { got = std::move(a); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->uid, 65534u);  // squash-host
  EXPECT_EQ(got->gid, 100u);

  // Unmapped ids pass unchanged both ways.
  EXPECT_CALL(*mock_, Lookup(HasIds(500, 500), 1, Eq("x"), _))
      .WillOnce([](const RequestContext&, NodeId, absl::string_view, Done<Entry> done) {
        Entry entry;
        entry.attr = HostAttr(12345, 678);
        done(entry);
      });
  absl::StatusOr<Entry> entry;
  backend_->Lookup(Guest(500, 500), 1, "x", [&](absl::StatusOr<Entry> e) { entry = e; });
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->attr.uid, 12345u);
  EXPECT_EQ(entry->attr.gid, 678u);
}

TEST_F(IdTranslatingBackendTest, ErrorsPassThrough) {
  EXPECT_CALL(*mock_, GetAttr(_, 5, _, _)).WillOnce(CompleteArg<3>(ErrnoStatus(ENOENT)));
  absl::StatusOr<Attr> got;
  backend_->GetAttr(Guest(1000, 100), 5, std::nullopt, [&](absl::StatusOr<Attr> a) { got = a; });
  EXPECT_EQ(ErrnoOf(got.status()), ENOENT);
}

TEST_F(IdTranslatingBackendTest, ChownTargetsAreTranslatedAndForbiddenOnesRefused) {
  EXPECT_CALL(*mock_, SetAttr(HasIds(101000, 100100), 5,
                              AllOf(Field(&SetAttrRequest::uid, Optional(101005u)),
                                    Field(&SetAttrRequest::gid, Optional(100100u)),
                                    Field(&SetAttrRequest::kill_suidgid, true)),
                              _))
      .WillOnce(CompleteArg<3>(HostAttr(101005, 100100)));
  SetAttrRequest chown;
  chown.uid = 1005;
  chown.gid = 100;
  chown.kill_suidgid = true;
  absl::StatusOr<Attr> got;
  backend_->SetAttr(Guest(1000, 100), 5, chown, [&](absl::StatusOr<Attr> a) { got = a; });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->uid, 1005u);
  EXPECT_EQ(got->gid, 100u);

  // chown to guest uid 0 (forbidden): the backend is not called.
  chown.uid = 0;
  backend_->SetAttr(Guest(1000, 100), 5, chown, [&](absl::StatusOr<Attr> a) { got = a; });
  EXPECT_EQ(ErrnoOf(got.status()), EPERM);
}

TEST_F(IdTranslatingBackendTest, ForbiddenCallerCannotCreateButCanRead) {
  absl::Status status;
  absl::StatusOr<Entry> entry;
  backend_->MkDir(Guest(0, 0), 1, "d", 0755, 0, [&](absl::StatusOr<Entry> e) { entry = e; });
  EXPECT_EQ(ErrnoOf(entry.status()), EPERM);
  backend_->Symlink(Guest(0, 0), 1, "l", "t", [&](absl::StatusOr<Entry> e) { entry = e; });
  EXPECT_EQ(ErrnoOf(entry.status()), EPERM);
  absl::StatusOr<CreateResult> created;
  backend_->Create(Guest(0, 0), 1, "f", 0644, 0, 0, false,
                   [&](absl::StatusOr<CreateResult> c) { created = c; });
  EXPECT_EQ(ErrnoOf(created.status()), EPERM);
  backend_->Unlink(Guest(0, 0), 1, "f", [&](absl::Status s) { status = s; });
  EXPECT_EQ(ErrnoOf(status), EPERM);
  backend_->Access(Guest(0, 0), 1, 4, [&](absl::Status s) { status = s; });
  EXPECT_EQ(ErrnoOf(status), EACCES);

  // Reads go ahead with the overflow id standing in.
  EXPECT_CALL(*mock_, Open(HasIds(65534, 0), 5, 0u, false, _))
      .WillOnce(CompleteArg<4>(OpenResult{}));
  absl::StatusOr<OpenResult> open;
  backend_->Open(Guest(0, 0), 5, 0, false, [&](absl::StatusOr<OpenResult> o) { open = o; });
  EXPECT_TRUE(open.ok());
}

TEST_F(IdTranslatingBackendTest, CreateAndTmpFileTranslateBothWays) {
  CreateResult result;
  result.entry.attr = HostAttr(101002, 100100);
  EXPECT_CALL(*mock_, Create(HasIds(101002, 100100), 1, Eq("f"), 0644u, 2u, 022u, true, _))
      .WillOnce(CompleteArg<7>(result));
  absl::StatusOr<CreateResult> got;
  backend_->Create(Guest(1002, 100), 1, "f", 0644, 2, 022, true,
                   [&](absl::StatusOr<CreateResult> c) { got = c; });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->entry.attr.uid, 1002u);
  EXPECT_EQ(got->entry.attr.gid, 100u);

  EXPECT_CALL(*mock_, TmpFile(HasIds(101002, 100100), 1, 0600u, 2u, 0u, _))
      .WillOnce(CompleteArg<5>(result));
  backend_->TmpFile(Guest(1002, 100), 1, 0600, 2, 0,
                    [&](absl::StatusOr<CreateResult> c) { got = c; });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->entry.attr.uid, 1002u);
}

// Records what reaches the protocol layer's sink.
class CollectingSink : public DirEntrySink {
 public:
  bool Fits(size_t name_len) const override { return fits; }
  void Add(const DirEntry& dirent, const Entry* entry) override {
    names.emplace_back(dirent.name);
    entries.push_back(entry ? std::optional<Entry>(*entry) : std::nullopt);
  }
  bool fits = true;
  std::vector<std::string> names;
  std::vector<std::optional<Entry>> entries;
};

TEST_F(IdTranslatingBackendTest, ReadDirPlusEntriesComeBackInGuestIds) {
  EXPECT_CALL(*mock_, ReadDir(HasIds(101000, 100100), 1, 3, 0, true, _, _))
      .WillOnce([](const RequestContext&, NodeId, HandleId, uint64_t, bool, DirEntrySink& sink,
                   DoneStatus done) {
        EXPECT_TRUE(sink.Fits(1));
        sink.Add(DirEntry{1, 1, 4, "."}, nullptr);
        Entry entry;
        entry.node = 11;
        entry.attr = HostAttr(101009, 100100);
        sink.Add(DirEntry{11, 2, 8, "f"}, &entry);
        done(absl::OkStatus());
      });
  CollectingSink sink;
  absl::Status status = absl::UnknownError("not completed");
  backend_->ReadDir(Guest(1000, 100), 1, 3, 0, true, sink, [&](absl::Status s) { status = s; });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(sink.names.size(), 2u);
  EXPECT_EQ(sink.entries[0], std::nullopt);
  ASSERT_TRUE(sink.entries[1].has_value());
  EXPECT_EQ(sink.entries[1]->node, 11u);
  EXPECT_EQ(sink.entries[1]->attr.uid, 1009u);
  EXPECT_EQ(sink.entries[1]->attr.gid, 100u);

  // Plain READDIR has no attributes: the sink is handed on as it is.
  CollectingSink plain;
  EXPECT_CALL(*mock_, ReadDir(_, 1, 3, 0, false, ::testing::Ref(plain), _))
      .WillOnce(CompleteArg<6>(absl::OkStatus()));
  backend_->ReadDir(Guest(1000, 100), 1, 3, 0, false, plain, [&](absl::Status s) { status = s; });
  EXPECT_TRUE(status.ok());
}

TEST_F(IdTranslatingBackendTest, GetLkPidIsUntouched) {
  FileLock conflict;
  conflict.type = 1;
  conflict.pid = 1000;  // a pid, not a uid: must not be "translated"
  EXPECT_CALL(*mock_, GetLk(_, 5, 3, 77, _, _)).WillOnce(CompleteArg<5>(conflict));
  absl::StatusOr<FileLock> got;
  backend_->GetLk(Guest(1000, 100), 5, 3, 77, FileLock{},
                  [&](absl::StatusOr<FileLock> l) { got = l; });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->pid, 1000u);
}

TEST_F(IdTranslatingBackendTest, InitDestroyAndForgetPassThrough) {
  EXPECT_CALL(*mock_, Init(_)).WillOnce(::testing::Return(absl::OkStatus()));
  EXPECT_CALL(*mock_, Forget(9, 2));
  EXPECT_CALL(*mock_, Destroy());
  EXPECT_TRUE(backend_->Init(SessionOptions{}).ok());
  backend_->Forget(9, 2);
  backend_->Destroy();
}

}  // namespace
}  // namespace vfsd
