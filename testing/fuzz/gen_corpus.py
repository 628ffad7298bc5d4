#!/usr/bin/env python3
"""Writes the seed corpora of the vfsd fuzz targets (testing/fuzz/corpus/).

Each input follows the record format documented at the top of the target's
.cc file. Seeds are valid, meaningful inputs (a QEMU-like and a Cloud
Hypervisor-like vhost-user handshake, well-formed rings with direct and
indirect chains, one valid FUSE request per opcode) from which the fuzzer
mutates; they are small so CI replays them in well under a second.

Usage: testing/fuzz/gen_corpus.py [output_dir]   (default: beside this file)
Regenerating rewrites the seed files (named seed-*) only, never the
known_bugs/ reproducers.
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- vhost-user
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 36, 37, 38
VERSION, NEED_REPLY = 1, 1 << 3
FEATURES = (1 << 32) | (1 << 28) | (1 << 29) | (1 << 30)
PROTOCOL = (1 << 0) | (1 << 3) | (1 << 15)
UVA = 0x7f0000000000  # front-end virtual address of guest RAM
RAM = 1 << 20          # the harness' memfds are 1 MiB


def msg(request, payload=b"", fds=0, eventfd=False, kick=False, ram=None, flags=VERSION):
    control = 0
    if fds:
        control |= 1 | ((fds - 1) << 1)
    if eventfd:
        control |= 0x10
    if kick:
        control |= 0x20
    extra = b""
    if ram is not None:  # (offset, bytes) written into the memfds
        control |= 0x40
        extra = struct.pack("<IH", ram[0], len(ram[1])) + ram[1]
    return bytes([control]) + struct.pack("<III", request, flags, len(payload)) + extra + payload


def u64(v):
    return struct.pack("<Q", v)


def vring_state(index, num):
    return struct.pack("<II", index, num)


def region(gpa, size, uva, offset):
    return struct.pack("<QQQQ", gpa, size, uva, offset)


def vring_setup(index, size=256, base=0, enable=True, kick=True):
    desc = UVA + 0x10000 * (index + 1)
    avail, used = desc + 16 * size, desc + 0x8000
    out = msg(SET_VRING_NUM, vring_state(index, size))
    out += msg(SET_VRING_ADDR, struct.pack("<IIQQQQ", index, 0, desc, used, avail, 0))
    out += msg(SET_VRING_BASE, vring_state(index, base))
    out += msg(SET_VRING_CALL, u64(index), fds=1, eventfd=True)
    out += msg(SET_VRING_ERR, u64(index), fds=1, eventfd=True)
    if kick:
        out += msg(SET_VRING_KICK, u64(index), fds=1, eventfd=True)
    if enable:
        out += msg(SET_VRING_ENABLE, vring_state(index, 1), flags=VERSION | NEED_REPLY)
    return out


def request_ring_ram(index=1, size=256):
    """Guest RAM holding one FUSE-like chain on vring `index` (see vring_setup)."""
    desc = bytearray(16 * size)
    struct.pack_into("<QIHH", desc, 0, 0x80000, 64, 1, 1)         # readable, NEXT
    struct.pack_into("<QIHH", desc, 16, 0x81000, 4096, 2, 0)      # writable
    avail = struct.pack("<HHH", 0, 1, 0)                          # flags, idx=1, ring[0]=0
    return (0x10000 * (index + 1), bytes(desc) + avail)


def qemu_handshake(queues=2, ram=None, protocol=PROTOCOL):
    out = bytes([queues - 1])
    out += msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES)
    out += msg(SET_PROTOCOL_FEATURES, u64(protocol))
    out += msg(GET_QUEUE_NUM) + msg(GET_MAX_MEM_SLOTS) + msg(SET_OWNER)
    out += msg(SET_FEATURES, u64(FEATURES))
    table = struct.pack("<II", 1, 0) + region(0, RAM, UVA, 0)
    out += msg(SET_MEM_TABLE, table, fds=1, ram=ram, flags=VERSION | NEED_REPLY)
    for q in range(queues):
        out += vring_setup(q)
    return out


def vhost_user():
    t = "vhost_user_fuzzer"
    write(t, "qemu-handshake", qemu_handshake())
    write(t, "qemu-handshake-kick-one-request",
          qemu_handshake(ram=request_ring_ram()) + msg(GET_FEATURES, kick=True)
          + msg(GET_VRING_BASE, vring_state(1, 0)))
    write(t, "qemu-stop-restart", qemu_handshake()
          + msg(GET_VRING_BASE, vring_state(0, 0)) + msg(GET_VRING_BASE, vring_state(1, 0))
          + vring_setup(0, base=5))
    write(t, "qemu-reset-owner", qemu_handshake() + msg(RESET_OWNER) + qemu_handshake()[1:])
    write(t, "qemu-disable-ring", qemu_handshake() + msg(SET_VRING_ENABLE, vring_state(1, 0)))
    write(t, "qemu-4-queues", qemu_handshake(queues=4))
    # No VHOST_USER_F_PROTOCOL_FEATURES: rings start enabled.
    legacy = bytes([0]) + msg(GET_FEATURES) + msg(SET_OWNER)
    legacy += msg(SET_FEATURES, u64((1 << 32) | (1 << 28)))
    legacy += msg(SET_MEM_TABLE, struct.pack("<II", 1, 0) + region(0, RAM, UVA, 0), fds=1)
    legacy += vring_setup(0, enable=False) + vring_setup(1, enable=False)
    write(t, "legacy-no-protocol-features", legacy)
    # Cloud Hypervisor: CONFIGURE_MEM_SLOTS, regions one by one.
    ch = bytes([0]) + msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES)
    ch += msg(SET_PROTOCOL_FEATURES, u64(PROTOCOL)) + msg(SET_OWNER)
    ch += msg(SET_FEATURES, u64(FEATURES)) + msg(GET_MAX_MEM_SLOTS)
    ch += msg(ADD_MEM_REG, u64(0) + region(0, RAM // 2, UVA, 0), fds=1)
    ch += msg(ADD_MEM_REG, u64(0) + region(RAM // 2, RAM // 2, UVA + RAM // 2, RAM // 2), fds=1)
    ch += vring_setup(0) + vring_setup(1)
    ch += msg(REM_MEM_REG, u64(0) + region(RAM // 2, RAM // 2, UVA + RAM // 2, 0))
    write(t, "cloud-hypervisor-mem-slots", ch)
    # Eight-region table, the most SET_MEM_TABLE carries.
    table = struct.pack("<II", 8, 0) + b"".join(
        region(i * (RAM // 8), RAM // 8, UVA + i * (RAM // 8), i * (RAM // 8)) for i in range(8))
    write(t, "mem-table-8-regions", bytes([0]) + msg(SET_MEM_TABLE, table, fds=8))
    # One message of each kind on its own (handy starting points).
    singles = {
        "get-features": msg(GET_FEATURES),
        "set-features": msg(SET_FEATURES, u64(FEATURES)),
        "set-vring-num": msg(SET_VRING_NUM, vring_state(0, 1024)),
        "get-vring-base": msg(GET_VRING_BASE, vring_state(0, 0)),
        "set-vring-call-nofd": msg(SET_VRING_CALL, u64(0x100)),
        "set-vring-kick-memfd": msg(SET_VRING_KICK, u64(0), fds=1),
        "unsupported-request": msg(24, struct.pack("<III", 0, 8, 0) + bytes(8)),
        "oversized": bytes([0]) + struct.pack("<III", SET_MEM_TABLE, VERSION, 1 << 20),
        "bad-version": msg(GET_FEATURES, flags=2),
        "too-many-fds": msg(SET_OWNER, fds=8, eventfd=True),
    }
    for name, data in singles.items():
        write(t, name, (b"" if name == "oversized" else bytes([0])) + data)


# ---------------------------------------------------------------- virtqueue
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


class Ring:
    """Guest RAM image: region A (gpa 0, 32 KiB) + region B (gpa 0x8000)."""

    def __init__(self, size, desc=0x0, avail=None, used=None):
        self.size = size
        self.mem = bytearray(0x10000)
        self.desc = desc
        self.avail = avail if avail is not None else desc + 16 * size
        self.used = used if used is not None else (self.avail + 6 + 2 * size + 3) & ~3
        self.avail_idx = 0

    def set_desc(self, i, addr, length, flags, nxt=0, table=None):
        base = self.desc if table is None else table
        struct.pack_into("<QIHH", self.mem, base + 16 * i, addr, length, flags, nxt)

    def add(self, head):
        struct.pack_into("<H", self.mem, self.avail + 4 + 2 * (self.avail_idx % self.size), head)
        self.avail_idx += 1
        struct.pack_into("<H", self.mem, self.avail + 2, self.avail_idx & 0xffff)

    def encode(self, flags, next_avail=0, completion=64):
        header = struct.pack("<BBHHHHH", self.size.bit_length() - 1, flags, next_avail,
                             self.desc, self.avail, self.used, completion)
        # The harness zero-fills what the input lacks: keep seeds small.
        return (header + bytes(self.mem)).rstrip(b"\0")


def virtqueue():
    t = "virtqueue_fuzzer"
    EVENT_IDX, INDIRECT, REVERSE, BATCH, WALK, LOSE_B = 1, 2, 4, 8, 16, 32
    data = 0x4000
    # A FUSE-like request: header+args readable, reply writable.
    r = Ring(8)
    r.set_desc(0, data, 64, F_NEXT, 1)
    r.set_desc(1, data + 0x100, 4096, F_WRITE)
    r.add(0)
    write(t, "one-chain", r.encode(BATCH))
    write(t, "one-chain-event-idx-walk", r.encode(EVENT_IDX | BATCH | WALK))
    # Several chains, completed in reverse.
    r = Ring(16)
    for i in range(0, 12, 3):
        r.set_desc(i, data + i * 0x100, 40, F_NEXT, i + 1)
        r.set_desc(i + 1, data + i * 0x100 + 40, 24, F_NEXT, i + 2)
        r.set_desc(i + 2, data + i * 0x100 + 64, 128, F_WRITE)
        r.add(i)
    write(t, "four-chains-reverse", r.encode(REVERSE | WALK))
    write(t, "four-chains-batched", r.encode(BATCH | EVENT_IDX))
    # Indirect table in region A, buffers spanning into region B.
    r = Ring(4)
    table = 0x3000
    r.set_desc(0, table, 3 * 16, F_INDIRECT)
    r.set_desc(0, data, 48, F_NEXT, 1, table=table)
    r.set_desc(1, 0x7f00, 0x200, F_WRITE | F_NEXT, 2, table=table)  # crosses into B
    r.set_desc(2, 0x9000, 0x1000, F_WRITE, table=table)
    r.add(0)
    write(t, "indirect-cross-region", r.encode(INDIRECT | BATCH | WALK))
    write(t, "indirect-not-negotiated", r.encode(BATCH))
    write(t, "indirect-region-b-lost", r.encode(INDIRECT | BATCH | LOSE_B))
    # Rings living in region B, wrapping avail index.
    r = Ring(256, desc=0x8000)
    for i in range(256):
        r.set_desc(i, 0x1000 + 16 * i, 16, F_WRITE)
    r.avail_idx = 0xfff0
    for i in range(32):
        r.add(i)
    write(t, "ring-in-b-wrapping", r.encode(EVENT_IDX | BATCH, next_avail=0xfff0))
    # Malformed chains the queue must drop, not choke on.
    r = Ring(8)
    r.set_desc(0, data, 16, F_NEXT, 0)                # loop
    r.set_desc(1, data, 16, F_WRITE | F_NEXT, 2)
    r.set_desc(2, data, 16, 0)                        # readable after writable
    r.set_desc(3, 0xfffffffff000, 16, 0)              # unmapped
    r.set_desc(4, data, 16, F_NEXT, 9)                # next out of range
    for h in range(5):
        r.add(h)
    write(t, "malformed-chains", r.encode(BATCH | WALK | INDIRECT))
    r = Ring(8)
    r.avail_idx = 100                                  # jump > size: broken ring
    r.add(0)
    write(t, "avail-idx-jump", r.encode(BATCH))
    write(t, "max-queue-size", bytes([15, BATCH]) + bytes(10))
    write(t, "empty", bytes(12))


# ---------------------------------------------------------------- FUSE
IN_HEADER = struct.Struct("<IIQQIIIHH")  # fuse_in_header, 40 bytes
ROOT = 1


def fuse_req(opcode, args=b"", nodeid=ROOT, unique=2, out_size=4096, in_segments=1,
             fix_len=True):
    body = IN_HEADER.pack(IN_HEADER.size + len(args), opcode, unique, nodeid, 1000, 1000, 42,
                          0, 0) + args
    control = (in_segments - 1) | (0x80 if fix_len else 0)
    rec = struct.pack("<HBBH", out_size, 0, control, len(body)) + body
    # Cut points for the extra in segments: after the header, then midway.
    cuts = [IN_HEADER.size, IN_HEADER.size + len(args) // 2][: in_segments - 1]
    return rec + b"".join(struct.pack("<H", c) for c in cuts)


def fuse_session(options=0x17, fail=0, result_size=16, flags=0xffffffff, flags2=0xffffffff,
                 minor=38, max_readahead=1 << 17):
    return struct.pack("<BBHIIBI", options, fail, result_size, flags, flags2, minor, max_readahead)


def z(name):
    return name.encode() + b"\0"


def fuse():
    t = "fuse_session_fuzzer"
    q, qq, i, ii = "<Q", "<QQ", "<I", "<II"
    p = struct.pack
    read_in = p("<QQIIQII", 7, 0, 8192, 0, 0, 0, 0)
    release_in = p("<QIIQ", 7, 0, 0, 0)
    lk = p("<QQQQIIII", 7, 99, 0, 100, 1, 42, 0, 0)  # fh owner start end type pid lk_flags pad
    create_in = p("<IIII", 0o101, 0o100644, 0o022, 0)
    requests = {
        "lookup": (1, z("file.txt")),
        "forget": (2, p(q, 1)),
        "getattr": (3, p("<IIQ", 1, 0, 7)),
        "setattr": (4, p("<IIQQQQQQIIIIIIII", 0x1ff, 0, 7, 100, 0, 1, 2, 3, 0, 0, 0, 0o644,
                         0, 1000, 1000, 0)),
        "readlink": (5, b""),
        "symlink": (6, z("link") + z("target/path")),
        "mknod": (8, p("<IIII", 0o10644, 0, 0o022, 0) + z("fifo")),
        "mkdir": (9, p(ii, 0o755, 0o022) + z("dir")),
        "unlink": (10, z("file.txt")),
        "rmdir": (11, z("dir")),
        "rename": (12, p(q, 1) + z("a") + z("b")),
        "link": (13, p(q, 2) + z("hardlink")),
        "open": (14, p(ii, 2, 0)),
        "read": (15, read_in),
        "write": (16, p("<QQIIQII", 7, 0, 11, 0, 0, 0, 0) + b"hello world"),
        "statfs": (17, b""),
        "release": (18, release_in),
        "fsync": (20, p("<QII", 7, 1, 0)),
        "setxattr": (21, p(ii, 5, 0) + z("user.fuzz") + b"value"),
        "getxattr": (22, p(ii, 256, 0) + z("user.fuzz")),
        "getxattr-size": (22, p(ii, 0, 0) + z("user.fuzz")),
        "listxattr": (23, p(ii, 256, 0)),
        "removexattr": (24, z("user.fuzz")),
        "flush": (25, p("<QIIQ", 7, 0, 0, 99)),
        "init-again": (26, p("<IIIIII", 7, 38, 1 << 17, 0xffffffff, 0xffffffff, 0) + bytes(40)),
        "opendir": (27, p(ii, 0, 0)),
        "readdir": (28, read_in),
        "releasedir": (29, release_in),
        "fsyncdir": (30, p("<QII", 7, 0, 0)),
        "getlk": (31, lk),
        "setlk": (32, lk),
        "setlkw": (33, lk),
        "access": (34, p(ii, 4, 0)),
        "create": (35, create_in + z("new.txt")),
        "interrupt": (36, p(q, 2)),
        "bmap": (37, p("<QII", 0, 4096, 0)),
        "destroy": (38, b""),
        "ioctl": (39, p("<QIIQII", 7, 0, 0x5401, 0, 0, 0)),
        "poll": (40, p("<QQII", 7, 1, 0, 1)),
        "batch-forget": (42, p(ii, 2, 0) + p(qq, 2, 1) + p(qq, 3, 5)),
        "fallocate": (43, p("<QQQII", 7, 0, 4096, 0, 0)),
        "readdirplus": (44, read_in),
        "rename2": (45, p("<QII", 1, 1, 0) + z("a") + z("b")),
        "lseek": (46, p("<QQII", 7, 0, 3, 0)),
        "copy-file-range": (47, p("<QQQQQQQ", 7, 0, 2, 8, 0, 4096, 0)),
        "setupmapping": (48, p("<QQQQQ", 7, 0, 4096, 1, 0)),
        "syncfs": (50, p(q, 0)),
        "tmpfile": (51, create_in + z("")),
    }
    for name, (opcode, args) in requests.items():
        write(t, name, fuse_session() + fuse_req(opcode, args, nodeid=ROOT if opcode != 2 else 2))
    # Scattered input, tiny reply buffer, failing backend, xattrs on, old minor.
    write(t, "lookup-3-segments-small-reply",
          fuse_session() + fuse_req(1, z("a-long-file-name"), out_size=20, in_segments=3))
    write(t, "readdirplus-small-buffer",
          fuse_session(result_size=100) + fuse_req(44, read_in[:16] + p("<I", 200) + read_in[20:]))
    write(t, "getxattr-failing-backend",
          fuse_session(options=0x04, fail=3) + fuse_req(22, p(ii, 256, 0) + z("user.x")))
    write(t, "old-minor-getattr", fuse_session(minor=9) + fuse_req(3, p("<IIQ", 0, 0, 0)))
    write(t, "session-sequence", fuse_session(options=0x1f)
          + fuse_req(1, z("f"), unique=2) + fuse_req(14, p(ii, 2, 0), nodeid=2, unique=3)
          + fuse_req(15, read_in, nodeid=2, unique=4) + fuse_req(18, release_in, nodeid=2, unique=5)
          + fuse_req(38, b"", unique=6) + fuse_req(3, p("<IIQ", 0, 0, 0), unique=7))


vhost_user()
virtqueue()
fuse()
