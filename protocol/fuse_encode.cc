#include "protocol/fuse_encode.h"

#include <cstring>

namespace vfsd {

void EncodeAttr(const Attr& attr, bool submounts, fuse_attr* out) {
  std::memset(out, 0, sizeof(*out));
  out->ino = attr.ino;
  out->size = attr.size;
  out->blocks = attr.blocks;
  out->atime = static_cast<uint64_t>(attr.atime.sec);
  out->mtime = static_cast<uint64_t>(attr.mtime.sec);
  out->ctime = static_cast<uint64_t>(attr.ctime.sec);
  out->atimensec = attr.atime.nsec;
  out->mtimensec = attr.mtime.nsec;
  out->ctimensec = attr.ctime.nsec;
  out->mode = attr.mode;
  out->nlink = attr.nlink;
  out->uid = attr.uid;
  out->gid = attr.gid;
  out->rdev = attr.rdev;
  out->blksize = attr.blksize;
  // Only a guest that negotiated FUSE_SUBMOUNTS knows this bit; older ones
  // had padding here.
  out->flags = (submounts && attr.submount) ? FUSE_ATTR_SUBMOUNT : 0;
}

void EncodeEntryOut(const Entry& entry, uint64_t timeout, bool submounts, fuse_entry_out* out) {
  std::memset(out, 0, sizeof(*out));
  out->nodeid = entry.node;
  out->generation = entry.generation;
  out->entry_valid = timeout;
  out->attr_valid = timeout;
  EncodeAttr(entry.attr, submounts, &out->attr);
}

void EncodeAttrOut(const Attr& attr, uint64_t timeout, bool submounts, fuse_attr_out* out) {
  std::memset(out, 0, sizeof(*out));
  out->attr_valid = timeout;
  EncodeAttr(attr, submounts, &out->attr);
}

void EncodeStatFs(const StatFs& st, fuse_statfs_out* out) {
  std::memset(out, 0, sizeof(*out));
  out->st.blocks = st.blocks;
  out->st.bfree = st.bfree;
  out->st.bavail = st.bavail;
  out->st.files = st.files;
  out->st.ffree = st.ffree;
  out->st.bsize = st.bsize;
  out->st.namelen = st.namelen;
  out->st.frsize = st.frsize;
}

void EncodeFileLock(const FileLock& lock, fuse_file_lock* out) {
  out->start = lock.start;
  out->end = lock.end;
  out->type = lock.type;
  out->pid = lock.pid;
}

FileLock DecodeFileLock(const fuse_file_lock& lock) {
  FileLock out;
  out.start = lock.start;
  out.end = lock.end;
  out.type = lock.type;
  out.pid = lock.pid;
  return out;
}

size_t EntryOutSize(uint32_t minor) {
  return minor < 9 ? FUSE_COMPAT_ENTRY_OUT_SIZE : sizeof(fuse_entry_out);
}

size_t AttrOutSize(uint32_t minor) {
  return minor < 9 ? FUSE_COMPAT_ATTR_OUT_SIZE : sizeof(fuse_attr_out);
}

size_t StatFsOutSize(uint32_t minor) {
  return minor < 4 ? FUSE_COMPAT_STATFS_SIZE : sizeof(fuse_statfs_out);
}

}  // namespace vfsd
