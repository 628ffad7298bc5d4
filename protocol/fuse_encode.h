// Encoding of backend results (Attr, Entry, StatFs, FileLock) into FUSE
// wire structs, and the reply sizes each negotiated minor expects.
//
// Old minors expect shorter structs (the kernel checks reply sizes exactly);
// the compat sizes from <linux/fuse.h> are prefixes of today's structs, so
// encoders always fill the full struct and callers send the prefix.
#ifndef VFSD_PROTOCOL_FUSE_ENCODE_H_
#define VFSD_PROTOCOL_FUSE_ENCODE_H_

#include <linux/fuse.h>

#include <cstddef>
#include <cstdint>

#include "backends/backend.h"

namespace vfsd {

void EncodeAttr(const Attr& attr, bool submounts, fuse_attr* out);

// `timeout` (seconds) is used for both the entry and its attributes.
void EncodeEntryOut(const Entry& entry, uint64_t timeout, bool submounts, fuse_entry_out* out);

void EncodeAttrOut(const Attr& attr, uint64_t timeout, bool submounts, fuse_attr_out* out);

void EncodeStatFs(const StatFs& st, fuse_statfs_out* out);

void EncodeFileLock(const FileLock& lock, fuse_file_lock* out);
FileLock DecodeFileLock(const fuse_file_lock& lock);

// Reply sizes for the negotiated `minor`.
size_t EntryOutSize(uint32_t minor);   // FUSE_COMPAT_ENTRY_OUT_SIZE before 7.9
size_t AttrOutSize(uint32_t minor);    // FUSE_COMPAT_ATTR_OUT_SIZE before 7.9
size_t StatFsOutSize(uint32_t minor);  // FUSE_COMPAT_STATFS_SIZE before 7.4

}  // namespace vfsd

#endif  // VFSD_PROTOCOL_FUSE_ENCODE_H_
