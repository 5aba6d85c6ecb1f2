#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora of the fuzz targets added for issue 13
(tests/fuzz/corpus/<target>/). The seeds are checked in; run this again
only after changing a target's input format:

    python3 tests/fuzz/make_seeds.py [target ...]

Every seed is a meaningful input (a well-formed request, a refused one,
an edge case) described next to the code that builds it."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
SEEDS = {}


def seed(target, name, data):
    SEEDS.setdefault(target, {})[name] = bytes(data)


class Ram:
    """A guest RAM image from gpa 0, grown on demand."""

    def __init__(self):
        self.b = bytearray()

    def put(self, gpa, data):
        if len(self.b) < gpa + len(data):
            self.b.extend(b"\0" * (gpa + len(data) - len(self.b)))
        self.b[gpa:gpa + len(data)] = data

    def u16(self, gpa, v):
        self.put(gpa, struct.pack("<H", v))

    def desc(self, table, idx, addr, length, flags=0, nxt=0):
        self.put(table + 16 * idx, struct.pack("<QIHH", addr, length, flags, nxt))


NEXT, WRITE, INDIRECT = 1, 2, 4

# ---------------------------------------------------------------------------
# fuzz_virtq_blk: 8-byte header, then RAM from gpa 0 (avail 0x0, desc 0x240)
# ---------------------------------------------------------------------------
AVAIL, DESC = 0x0, 0x240
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8


def blk_hdr(t, sector):
    return struct.pack("<IIQ", t, 0, sector)


def vq_blk(name, chains, flags=0, log2=3, start=0, extra=None):
    """chains: list of (head, [(addr, len, flags, next)...] written at DESC
    from index head) plus RAM writes in extra {gpa: bytes}."""
    r = Ram()
    size = 1 << log2
    idx = start
    for head, descs in chains:
        for i, d in enumerate(descs):
            r.desc(DESC, head + i, *d)
        r.u16(AVAIL + 4 + 2 * (idx % size), head)
        idx = (idx + 1) & 0xffff
    r.u16(AVAIL + 2, idx)
    for gpa, data in (extra or {}).items():
        r.put(gpa, data)
    hdr = struct.pack("<BBHI", flags, log2, start, 0)
    seed("virtq_blk", name, hdr + bytes(r.b))


def blk_seeds():
    H, D, S = 0x1000, 0x1200, 0x1600
    vq_blk("read", [(0, [(H, 16, NEXT, 1), (D, 512, WRITE | NEXT, 2), (S, 1, WRITE, 0)])],
           extra={H: blk_hdr(T_IN, 3)})
    vq_blk("write_split", [(0, [(H, 10, NEXT, 1), (H + 10, 6, NEXT, 2), (D, 512, NEXT, 3),
                                (D + 512, 512, NEXT, 4), (S, 1, WRITE, 0)])],
           extra={H: blk_hdr(T_OUT, 5)})
    vq_blk("flush_getid_unsupp",
           [(0, [(H, 16, NEXT, 1), (S, 1, WRITE, 0)]),
            (2, [(H + 16, 16, NEXT, 3), (D, 20, WRITE | NEXT, 4), (S + 1, 1, WRITE, 0)]),
            (5, [(H + 32, 16, NEXT, 6), (S + 2, 1, WRITE, 0)])],
           extra={H: blk_hdr(T_FLUSH, 0), H + 16: blk_hdr(T_GET_ID, 0),
                  H + 32: blk_hdr(99, 0)})
    # status byte at the end of the last data segment; read past capacity
    vq_blk("read_status_in_data_past_end",
           [(0, [(H, 16, NEXT, 1), (D, 513, WRITE, 0)]),
            (1, [(H + 16, 16, NEXT, 2), (D, 512, WRITE | NEXT, 3), (S, 1, WRITE, 0)])],
           extra={H: blk_hdr(T_IN, 0), H + 16: blk_hdr(T_IN, 64)})
    vq_blk("write_read_only", [(0, [(H, 16, NEXT, 1), (D, 512, NEXT, 2), (S, 1, WRITE, 0)])],
           flags=4, extra={H: blk_hdr(T_OUT, 1)})
    # indirect table at 0x1800: header, data, status
    T = 0x1800
    ind = Ram()
    ind.desc(0, 0, H, 16, NEXT, 1)
    ind.desc(0, 1, D, 1024, WRITE | NEXT, 2)
    ind.desc(0, 2, S, 1, WRITE, 0)
    vq_blk("indirect", [(0, [(T, 48, INDIRECT, 0)])], flags=1,
           extra={H: blk_hdr(T_IN, 8), T: bytes(ind.b)})
    # refused chains: a loop, a readable after a writable, an index past the
    # table, a buffer outside RAM, nested indirect, indirect not negotiated
    vq_blk("bad_chains",
           [(0, [(H, 16, NEXT, 0)]),
            (1, [(H, 16, NEXT, 2), (S, 1, WRITE | NEXT, 3), (D, 512, 0, 0)]),
            (4, [(H, 16, NEXT, 200)]),
            (5, [(0x7fff0000, 512, 0, 0)])],
           extra={H: blk_hdr(T_IN, 0)})
    nested = Ram()
    nested.desc(0, 0, T, 16, INDIRECT, 0)
    vq_blk("nested_indirect", [(0, [(T, 16, INDIRECT, 0)]), (1, [(T, 48, INDIRECT, 0)])],
           flags=1, extra={T: bytes(nested.b)})
    vq_blk("indirect_not_negotiated", [(0, [(T, 48, INDIRECT, 0)])],
           extra={H: blk_hdr(T_IN, 8), T: bytes(ind.b)})
    # the avail index wraps (start 0xfffe), EVENT_IDX on
    vq_blk("wrap_event_idx",
           [(0, [(H, 16, NEXT, 1), (S, 1, WRITE, 0)]),
            (2, [(H, 16, NEXT, 3), (S + 1, 1, WRITE, 0)]),
            (4, [(H, 16, NEXT, 5), (S + 2, 1, WRITE, 0)])],
           flags=2, start=0xfffe, extra={H: blk_hdr(T_FLUSH, 0)})
    # a buffer in the 4 GiB region (read into it)
    vq_blk("high_region", [(0, [(H, 16, NEXT, 1), (0x100000000, 1024, WRITE | NEXT, 2),
                                (0x100000000 + 0xfff, 1, WRITE, 0)])],
           extra={H: blk_hdr(T_IN, 10)})
    # avail index far ahead of the ring: the queue breaks
    r = Ram()
    r.u16(AVAIL + 2, 100)
    seed("virtq_blk", "avail_jump", struct.pack("<BBHI", 0, 3, 0, 0) + bytes(r.b))
    # wild rings: size 7 (not a power of two), then misaligned, then valid
    seed("virtq_blk", "wild_bad_size", struct.pack("<BBHBBBB", 8, 7, 0, 2, 0, 0xe0, 0))
    seed("virtq_blk", "wild_ok", struct.pack("<BBHBBBB", 8, 16, 0, 2, 0, 0xe0, 0) +
         bytes(Ram().b))
    seed("virtq_blk", "wild_high", struct.pack("<BBHBBBB", 8, 4, 0, 0x81, 0, 0xe0, 0))
    # device mode (flag 16): the same rings served by the real device
    for name in ("read", "write_split", "flush_getid_unsupp", "indirect", "bad_chains",
                 "read_status_in_data_past_end", "write_read_only", "avail_jump", "wild_ok"):
        data = bytearray(SEEDS["virtq_blk"][name])
        data[0] |= 16
        seed("virtq_blk", "dev_" + name, data)
    data = bytearray(SEEDS["virtq_blk"]["flush_getid_unsupp"])
    data[0] |= 16 | 32
    seed("virtq_blk", "dev_flush_writeback", data)


# ---------------------------------------------------------------------------
# fuzz_virtio_mmio: header (nr_queues, max_size-1, config_len, flags), ops
# ---------------------------------------------------------------------------
def w32(off, v):
    return struct.pack("<BBI", 0, off // 4, v)


def rd(off, size=4):
    return struct.pack("<BH", 1 | ({1: 0, 2: 1, 4: 2, 8: 3}[size] << 3), off)


def poke(gpa, data):
    """8-byte RAM writes covering data (padded with zeros)."""
    data = data + b"\0" * (-len(data) % 8)
    return b"".join(struct.pack("<BH", 3, gpa + i) + data[i:i + 8] for i in range(0, len(data), 8))


def init(features):
    return struct.pack("<BQ", 7, features)


VERSION_1, INDIRECT_F, EVENT_F = 1 << 32, 1 << 28, 1 << 29


def mmio_queue(q, size, desc, avail, used):
    return (w32(0x30, q) + w32(0x38, size) + w32(0x80, desc) + w32(0x84, 0) +
            w32(0x90, avail) + w32(0x94, 0) + w32(0xa0, used) + w32(0xa4, 0) + w32(0x44, 1))


def mmio_seeds():
    hdr = bytes([2, 127, 8, 0])
    probe = b"".join(rd(o) for o in (0, 4, 8, 0xc, 0x34, 0x70, 0xfc)) + rd(0x100, 1) + rd(0x106, 2)
    seed("virtio_mmio", "probe", hdr + probe)
    # full bring-up, one chain (a 2-descriptor read/write) served on notify
    chain = (poke(0x1000, struct.pack("<QIHH", 0x4000, 64, NEXT, 1)) +
             poke(0x1010, struct.pack("<QIHH", 0x5000, 128, WRITE, 0)) +
             poke(0x2000, struct.pack("<HHH", 0, 1, 0)))
    up = (init(VERSION_1 | EVENT_F | INDIRECT_F) + mmio_queue(0, 16, 0x1000, 0x2000, 0x3000) +
          w32(0x70, 0xf) + chain + w32(0x50, 0) + rd(0x60) + w32(0x64, 1))
    seed("virtio_mmio", "bringup_notify", hdr + up)
    # the same, then save+restore, then reset (status 0)
    seed("virtio_mmio", "save_restore_reset", hdr + up + b"\x05" + w32(0x70, 0) + rd(0x44))
    # refusals: legacy driver, unoffered feature, misaligned ring, queue past
    # nr_queues, status that clears bits, config write past the end
    bad = (init(0) + init(1 << 40) + init(VERSION_1) +
           mmio_queue(0, 3, 0x1000, 0x2000, 0x3000) + mmio_queue(1, 8, 0x1001, 0x2000, 0x3000) +
           mmio_queue(4, 8, 0x1000, 0x2000, 0x3000) + w32(0x70, 1) +
           struct.pack("<BHBQ", 2 | (3 << 3), 0x104, 0, 0x1122334455667788))
    seed("virtio_mmio", "refusals", hdr + bad)
    # a restore from a saved blob with the device shape copied in (k=6|8|16)
    seed("virtio_mmio", "restore_blob", hdr + bytes([6 | 8 | 16]) + bytes(range(256)) * 2)
    seed("virtio_mmio", "activate_fails", bytes([1, 255, 0, 1]) + init(VERSION_1) +
         mmio_queue(0, 256, 0x1000, 0x2000, 0x3000) + w32(0x70, 0xf) + rd(0x70))
    seed("virtio_mmio", "five_queues", bytes([4, 63, 63, 0]) + init(VERSION_1) +
         b"".join(mmio_queue(q, 64, 0x1000 * (q + 1), 0x8000 + 0x200 * q, 0xa000 + 0x400 * q)
                  for q in range(5)) + w32(0x70, 0xf) + b"".join(w32(0x50, q) for q in range(6)) +
         bytes([4 | 8]) + bytes([4 | 16, 2]))


# ---------------------------------------------------------------------------
# fuzz_boot_loaders: 16-byte header (flags, 7 reserved, u64 initrd size),
# then the kernel image
# ---------------------------------------------------------------------------
PT_LOAD, PT_NOTE = 1, 4


def elf(entry, phdrs, body_at=0x200, body=b""):
    """phdrs: (type, offset, paddr, filesz, memsz)"""
    eh = (b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9 +
          struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, len(phdrs), 0, 0, 0))
    ph = b"".join(struct.pack("<IIQQQQQQ", t, 7, off, pa, pa, fs, ms, 0x1000)
                  for t, off, pa, fs, ms in phdrs)
    img = bytearray(eh + ph)
    img.extend(b"\0" * (body_at - len(img)))
    img.extend(body)
    return bytes(img)


def xen_note(entry, descsz=4):
    desc = struct.pack("<I", entry) if descsz == 4 else struct.pack("<Q", entry)
    return struct.pack("<III", 4, descsz, 18) + b"Xen\0" + desc


def bzimage(setup_sects=4, version=0x020f, loadflags=1, xlf=3, pref=0x100000, init_size=0x80000,
            payload=0x1000, hdr_len=0x6a):
    eff = setup_sects or 4   # 0 means 4
    img = bytearray((eff + 1) * 512 + payload)
    img[0x1f1] = setup_sects
    img[0x1fe:0x200] = struct.pack("<H", 0xaa55)
    img[0x200] = 0xeb
    img[0x201] = hdr_len
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = struct.pack("<H", version)
    img[0x211] = loadflags
    img[0x22c:0x230] = struct.pack("<I", 0x7fffffff)
    img[0x230:0x234] = struct.pack("<I", 0x200000)
    img[0x236:0x238] = struct.pack("<H", xlf)
    img[0x238:0x23c] = struct.pack("<I", 2047)
    img[0x258:0x260] = struct.pack("<Q", pref)
    img[0x260:0x264] = struct.pack("<I", init_size)
    for i in range(payload):
        img[(eff + 1) * 512 + i] = (i * 7 + 3) & 0xff
    return bytes(img)


def boot(name, image, flags=0, initrd=0x10000):
    seed("boot_loaders", name, struct.pack("<B7xQ", flags, initrd) + image)


def boot_seeds():
    code = bytes(range(256))
    boot("elf_one_load", elf(0x100000, [(PT_LOAD, 0x200, 0x100000, 0x100, 0x1000)], body=code))
    note = xen_note(0x100010)
    boot("elf_pvh_note", elf(0x100000, [(PT_LOAD, 0x200, 0x100000, 0x100, 0x1000),
                                        (PT_NOTE, 0x300, 0, len(note), len(note))],
                             body=code + note))
    note8 = xen_note(0x100020, 8)
    boot("elf_pvh_note64", elf(0x100000, [(PT_NOTE, 0x300, 0, len(note8), len(note8)),
                                          (PT_LOAD, 0x200, 0x100000, 0x100, 0x100)],
                               body=code + note8))
    boot("elf_low_and_high", elf(0x100000, [(PT_LOAD, 0x200, 0x100000, 0x80, 0x100),
                                            (PT_LOAD, 0x280, 0x100000000, 0x80, 0x8000)],
                                 body=code))
    boot("elf_big_bss_tight", elf(0x100000, [(PT_LOAD, 0x200, 0x100000, 0x100, 0x2000)],
                                  body=code), flags=1)
    boot("elf_entry_outside", elf(0x200000, [(PT_LOAD, 0x200, 0x100000, 0x100, 0x1000)],
                                  body=code))
    boot("elf_below_1mib", elf(0x90000, [(PT_LOAD, 0x200, 0x90000, 0x100, 0x1000)], body=code))
    boot("elf_truncated_phdr", elf(0x100000, [(PT_LOAD, 0x200, 0x100000, 0x100, 0x1000)] * 3)[:150])
    boot("bz_ok", bzimage())
    boot("bz_pref_too_high", bzimage(pref=0x1000000), initrd=0x40000)
    boot("bz_tight_init_size", bzimage(init_size=0x1800, payload=0x800), flags=1 | 2)
    boot("bz_old_protocol", bzimage(version=0x020b))
    boot("bz_no_kernel64", bzimage(xlf=0))
    boot("bz_short_header", bzimage(hdr_len=0x20))
    boot("bz_setup_sects_0", bzimage(setup_sects=0))
    boot("bz_huge_initrd", bzimage(), initrd=1 << 40)
    boot("not_a_kernel", b"MZ" + bytes(100), flags=2, initrd=0x1000)


# ---------------------------------------------------------------------------
# fuzz_jailer_args: byte 0 even = argv words, odd = /proc/mounts text then
# controller names; words separated by NUL
# ---------------------------------------------------------------------------
def jargs(name, words):
    seed("jailer_args", name, b"\0" + b"\0".join(w.encode() for w in words))


def jmounts(name, text, controllers=()):
    seed("jailer_args", name, b"\1" + text.encode() + b"\0" +
         b"\0".join(c.encode() for c in controllers))


def jailer_seeds():
    base = ["--id", "vm-1", "--exec-file", "/usr/bin/wisp", "--uid", "123", "--gid", "100"]
    jargs("minimal", base)
    jargs("full", base + ["--chroot-base-dir", "/srv/jailer", "--netns", "/var/run/netns/n1",
                          "--daemonize", "--new-pid-ns", "--cgroup", "cpu.shares=10",
                          "--cgroup", "cpuset.cpus=0-1", "--cgroup-version", "2",
                          "--parent-cgroup", "wisp/vms", "--resource-limit", "fsize=1048576",
                          "--resource-limit", "no-file=1024", "--", "--api-sock", "/run/a.sock"])
    jargs("equals_form", ["--id=vm-2", "--exec-file=/bin/wisp", "--uid=0", "--gid=0",
                          "--cgroup-version=1", "--cgroup=memory.limit_in_bytes=1000000"])
    jargs("help", ["--help"])
    jargs("version_wins", base + ["--version", "--bogus"])
    jargs("duplicate", base + ["--id", "again"])
    jargs("missing_value", ["--id"])
    jargs("unexpected", base + ["-x", "positional"])
    jargs("bad_values", ["--id", "bad_id!", "--exec-file", "/", "--uid", "4294967295",
                         "--gid", "-1", "--cgroup-version", "3", "--parent-cgroup", "../up",
                         "--cgroup", "cpu/x=1", "--cgroup", "a=b=c", "--cgroup", "noeq",
                         "--resource-limit", "fsize=abc", "--resource-limit", "stack=1",
                         "--resource-limit", "fsize"])
    jargs("long_id", ["--id", "a" * 65, "--exec-file", "/x/" + "y" * 300, "--uid", "1",
                      "--gid", "1", "--chroot-base-dir", "/" + "d" * 4000])
    mounts = ("sysfs /sys sysfs rw,nosuid 0 0\n"
              "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec 0 0\n"
              "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
              "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
              "cgroup /sys/fs/cgroup/with\\040space cgroup rw,cpuset 0 0\n")
    jmounts("mounts_mixed", mounts, ["cpu", "cpuacct", "memory", "cpuset", "pids"])
    jmounts("mounts_v2_only", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0", ["cpu"])
    jmounts("mounts_odd", "cgroup relative cgroup rw,cpu 0 0\n\n \t\ncgroup /x\\777 cgroup\n"
            "cgroup /" + "p" * 5000 + " cgroup rw,memory 0 0\ncgroup2 /\\134\\011 cgroup2",
            ["memory", ""])


# ---------------------------------------------------------------------------
# fuzz_seccomp_json: the document itself
# ---------------------------------------------------------------------------
def sc_doc(vmm_filter, vmm_actions='"default_action": "trap", "filter_action": "allow"'):
    empty = '{"default_action": "kill_process", "filter_action": "allow", "filter": []}'
    return ('{"vmm": {%s, "filter": [%s]}, "api": %s, "vcpu": %s}'
            % (vmm_actions, vmm_filter, empty, empty)).encode()


def seccomp_seeds():
    with open(os.path.join(HERE, "..", "..", "resources", "seccomp", "x86_64.json"), "rb") as f:
        seed("seccomp_json", "shipped_x86_64", f.read())
    seed("seccomp_json", "firecracker_shapes",
         b'{"vmm": {"default_action": "trap", "filter_action": "allow", "filter": ['
         b' {"syscall": "read", "comment": "c"},'
         b' {"syscall": "mmap", "args": [{"index": 2, "type": "dword", "op": {"masked_eq": 4},'
         b' "val": 0, "comment": "no exec"}]},'
         b' {"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "eq", "val": 44672}]},'
         b' {"syscall": "lseek", "args": [{"index": 2, "type": "qword", "op": "le", "val": 2}]}]},'
         b' "api": {"default_action": {"errno": 1}, "filter_action": "log", "filter": []},'
         b' "vcpu": {"default_action": "kill", "filter_action": {"trace": 7}, "filter": []}}')
    ops = ", ".join('{"syscall": "ioctl", "args": [{"index": %d, "type": "%s", "op": "%s", "val": %d}]}'
                    % (i % 6, "qword" if i % 2 else "dword", op, 1 << (i * 9))
                    for i, op in enumerate(["eq", "ne", "lt", "le", "gt", "ge"]))
    seed("seccomp_json", "every_operator", sc_doc(ops))
    six = ", ".join('{"index": %d, "type": "qword", "op": "eq", "val": 18446744073709551615}' % i
                    for i in range(6))
    seed("seccomp_json", "six_conditions", sc_doc('{"syscall": "futex", "args": [%s]}' % six))
    seed("seccomp_json", "actions", sc_doc('{"syscall": "exit_group"}',
                                           '"default_action": {"errno": 65535}, '
                                           '"filter_action": "kill_thread"'))
    seed("seccomp_json", "unicode_comment",
         sc_doc('{"syscall": "write", "comment": "\\u00e9\\u4e2d \\"q\\" \\\\ \\n"}'))
    # refusals
    seed("seccomp_json", "bad_syntax", b'{"vmm": {')
    seed("seccomp_json", "duplicate_key", b'{"vmm": 1, "api": 1, "vcpu": 1, "vmm": 2}')
    seed("seccomp_json", "unknown_role", b'{"vmm": {}, "api": {}, "vcpu": {}, "main": {}}')
    seed("seccomp_json", "unknown_syscall", sc_doc('{"syscall": "frobnicate"}'))
    seed("seccomp_json", "seven_conditions",
         sc_doc('{"syscall": "futex", "args": [%s, %s]}' % (six, six.split("}, ")[0] + "}")))
    seed("seccomp_json", "masked_out_of_range",
         sc_doc('{"syscall": "ioctl", "args": [{"index": 1, "type": "dword", '
                '"op": {"masked_eq": 4294967296}, "val": 0}]}'))
    seed("seccomp_json", "same_actions", sc_doc('', '"default_action": "allow", "filter_action": "allow"'))


# ---------------------------------------------------------------------------
# fuzz_virtio_net: header (features u64, mtu u16, log2 rx/tx size), ops
# ---------------------------------------------------------------------------
RXD, RXA, TXD, TXA = 0x0, 0x1000, 0x2000, 0x3000
MRG, CSUM, GUEST_CSUM, TSO4, HOST_TSO4, MAC_F, MTU_F = 1 << 15, 1, 2, 1 << 7, 1 << 11, 1 << 5, 1 << 3


def n_ram(gpa, data):
    out = b""
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out += struct.pack("<BHB", 1, gpa + i, len(chunk)) + chunk
    return out


def n_frame(payload, hdr=b"\0" * 12):
    f = hdr + payload
    big = len(f) >= 0x10000
    return struct.pack("<BH", 72 if big else 0, len(f) & 0xffff) + f  # 72: k % 9 == 0, k & 8


def n_post(table, avail, size, idx, head, descs):
    """descs: (addr, len, flags, next) written from index head; avail slot idx."""
    out = b""
    for i, d in enumerate(descs):
        out += n_ram(table + 16 * (head + i), struct.pack("<QIHH", *d))
    out += n_ram(avail + 4 + 2 * (idx % size), struct.pack("<H", head))
    out += n_ram(avail + 2, struct.pack("<H", idx + 1))
    return out


RX_N, TX_N, DRAIN, RESET, SNAP = b"\2", b"\3", b"\4", b"\5", b"\7"


def n_cfg_read(off, size=4):
    return bytes([6 | ({1: 0, 2: 1, 4: 2, 8: 3}[size] << 3), off])


def n_cfg_write(off, v, size=1):
    return bytes([6 | 32 | ({1: 0, 2: 1, 4: 2, 8: 3}[size] << 3), off]) + struct.pack("<Q", v)


def net(name, ops, features=VERSION_1, mtu=0, rx_log=3, tx_log=3):
    seed("virtio_net", name, struct.pack("<QHBB", features, mtu, rx_log, tx_log) + ops)


def net_seeds():
    eth = bytes.fromhex("02000000000102000000000208004500") + bytes(range(44))
    # TX: header + frame over two descriptors, then an oversized one
    net("tx_two_segments",
        n_ram(0x8000, b"\0" * 12) + n_ram(0x8100, eth) +
        n_post(TXD, TXA, 8, 0, 0, [(0x8000, 12, NEXT, 1), (0x8100, len(eth), 0, 0)]) +
        TX_N + DRAIN)
    net("tx_oversized_and_short",
        n_post(TXD, TXA, 8, 0, 0, [(0x8000, 12 + 1600, 0, 0)]) +
        n_post(TXD, TXA, 8, 1, 1, [(0x8000, 6, 0, 0)]) + TX_N + DRAIN, mtu=1400)
    net("tx_tso_big", n_post(TXD, TXA, 8, 0, 0, [(0x4000, 0xa000, 0, 0)]) + TX_N + DRAIN,
        features=VERSION_1 | CSUM | HOST_TSO4)
    # RX: one frame into one buffer, a second waits for a buffer
    net("rx_one_buffer",
        n_frame(eth) + n_frame(eth[:30]) + RX_N +
        n_post(RXD, RXA, 8, 0, 0, [(0x8000, 2048, WRITE, 0)]) + RX_N +
        n_post(RXD, RXA, 8, 1, 1, [(0x9000, 2048, WRITE, 0)]) + RX_N)
    # RX mergeable: a 1000-byte frame over three buffers
    net("rx_mergeable",
        n_frame(bytes(1000)) +
        n_post(RXD, RXA, 8, 0, 0, [(0x8000, 512, WRITE, 0)]) + RX_N +
        n_post(RXD, RXA, 8, 1, 1, [(0x9000, 256, WRITE, 0)]) +
        n_post(RXD, RXA, 8, 2, 2, [(0xa000, 512, WRITE, 0)]) + RX_N,
        features=VERSION_1 | MRG)
    net("rx_small_buffer_drops", n_frame(bytes(1000)) +
        n_post(RXD, RXA, 8, 0, 0, [(0x8000, 512, WRITE, 0)]) + RX_N)
    net("rx_readable_buffer", n_frame(eth) +
        n_post(RXD, RXA, 8, 0, 0, [(0x8000, 2048, 0, 0)]) + RX_N + RESET +
        n_post(RXD, RXA, 8, 0, 0, [(0x8000, 2048, WRITE, 0)]) + RX_N)
    net("rx_big_frame_ring_too_small", n_frame(bytes(0x10000)) +
        b"".join(n_post(RXD, RXA, 2, i, i, [(0x8000 + 0x100 * i, 256, WRITE, 0)]) for i in range(2)) +
        RX_N, features=VERSION_1 | MRG, rx_log=1)
    net("rx_guest_csum_tso", n_frame(eth, hdr=bytes([1, 1]) + bytes(10)) +
        n_post(RXD, RXA, 8, 0, 0, [(0x8000, 2048, WRITE, 0)]) + RX_N,
        features=VERSION_1 | GUEST_CSUM | TSO4 | MAC_F | MTU_F, mtu=9000)
    net("refused_features", n_frame(eth) + RX_N + TX_N, features=1 << 60)
    net("config_space", n_cfg_read(0, 4) + n_cfg_read(4, 2) + n_cfg_read(10, 2) +
        n_cfg_read(8, 8) + n_cfg_read(15, 1) + n_cfg_write(0, 0xff) + n_cfg_read(0, 1),
        features=VERSION_1 | MAC_F | MTU_F, mtu=1280)
    # snapshot with a frame held (no RX buffer), then a buffer: restored()
    # serves it; then a restore from fuzz bytes with the shape fixed up
    net("snapshot_roundtrip", n_frame(eth) + RX_N + SNAP +
        n_post(RXD, RXA, 8, 0, 0, [(0x8000, 2048, WRITE, 0)]) + SNAP +
        n_post(TXD, TXA, 8, 0, 0, [(0x8000, 100, 0, 0)]) + SNAP + DRAIN)
    net("restore_blob", b"\x08" + bytes(range(256)) * 2 + RX_N + TX_N + b"\x11" + bytes(600))


# ---------------------------------------------------------------------------
# fuzz_http: body-limit variants of checked-in seeds (byte 0's top two bits
# pick the limit: default, 1, 64, 1024)
# ---------------------------------------------------------------------------
def http_seeds():
    d = os.path.join(CORPUS, "http")
    for name, bits in (("put_drive", 1), ("put_machine", 2), ("chunked", 2), ("pipelined", 3),
                       ("put_boot", 3)):
        path = os.path.join(d, name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            data = bytearray(f.read())
        data[0] = (data[0] & 0x3f) | (bits << 6)
        seed("http", "limit%d_%s" % ((0, 1, 64, 1024)[bits], name), data)


def write_all(targets):
    for target, files in SEEDS.items():
        if targets and target not in targets:
            continue
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


def wset_file(version, idx, copies=None, snap_id=0x1234):
    """A working-set file (vmm/kvm/wset.h) for the fuzz target's input."""
    if version == 1:
        return (b"WISPWSET" + struct.pack("<IIQQ", 1, 4096, 0, len(idx))
                + b"".join(struct.pack("<Q", i) for i in idx))
    end = 64 + 8 * len(idx)
    data = (end + 4095) // 4096 * 4096 if copies else 0
    return (b"WISPWSET" + struct.pack("<IIQQQQQQ", 2, 4096, 0, len(idx), snap_id, data,
                                      copies or 0, 0)
            + b"".join(struct.pack("<Q", i) for i in idx))


def wset_seeds():
    # Input: u16 guest pages - 1, u32 bytes the file has beyond the input,
    # then the file (its memory-size field is patched to match below).
    def put(name, pages, extra, f):
        f = bytearray(f)
        f[16:24] = struct.pack("<Q", pages * 4096)
        seed("wset", name, struct.pack("<HI", pages - 1, extra) + bytes(f))

    put("v1_three_ranges", 64, 0, wset_file(1, [9, 3, 4, 5, 20, 63, 10]))
    put("v1_duplicates", 16, 0, wset_file(1, [5, 5, 6]))
    put("v2_no_copies", 64, 0, wset_file(2, [9, 3, 4, 5, 20, 63, 10]))
    # With copies: header and list only, the copies' bytes past the input.
    f = wset_file(2, [9, 3, 4, 5, 20, 63, 10], copies=7)
    put("v2_copies", 64, 4096 - len(f) + 7 * 4096, f)
    f = wset_file(2, list(range(100, 300)), copies=200)
    put("v2_copies_one_range", 1024, 4096 - len(f) + 200 * 4096, f)
    put("v2_short", 64, 0, wset_file(2, [1, 2])[:60])


blk_seeds()
mmio_seeds()
boot_seeds()
jailer_seeds()
seccomp_seeds()
net_seeds()
http_seeds()
wset_seeds()

if __name__ == "__main__":
    write_all(set(sys.argv[1:]))
