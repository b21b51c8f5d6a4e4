#!/usr/bin/env python3
"""Write the small seed corpora of tests/fuzz/corpus/<target>/ (run once;
the output is committed). Each seed is a well-formed script in its target's
input format, so the fuzzer starts from deep states (running streams, a set
up vhost-user ring) instead of having to discover them."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
u8 = lambda v: struct.pack('<B', v)
u16 = lambda v: struct.pack('<H', v)
u32 = lambda v: struct.pack('<I', v)
u64 = lambda v: struct.pack('<Q', v)


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


# ---- fuzz_ctl / fuzz_io (fuzz_dev.c) ----
def cut1():                 # fd_cut: one piece
    return u8(0)


def pcm(code_off, stream, pick=0, buf=0, per=0, ch=1, fmt=0, rate=7):
    s = u8(code_off) + u8(stream)
    if code_off == 0:        # SET_PARAMS: pick, buffer (u16 form), period divisor...
        s += u8(pick) + u16(buf) + u8(per) + u8(ch) + u8(fmt) + u8(rate)
    return s + cut1() + cut1()


def ctl_raw(sel, rd, wr_len, cuts=(0, 0)):
    return u8(sel) + u16(len(rd)) + u16(wr_len) + rd + u8(cuts[0]) + u8(cuts[1])


def ctl(op, body):
    return u8(op) + body


query = u32(0x100) + u32(0) + u32(2) + u32(32)
write('fuzz_ctl', 'pcm_info', u8(1) + ctl(0, ctl_raw(2, query, 4 + 64)))
write('fuzz_ctl', 'jack_chmap_info', u8(1) +
      ctl(0, ctl_raw(0, u32(1) + u32(0) + u32(2) + u32(24), 4 + 48)) +
      ctl(1, ctl_raw(8, u32(0x200) + u32(0) + u32(2) + u32(24), 4 + 48)))
write('fuzz_ctl', 'ctl_info', u8(1) +
      ctl(0, ctl_raw(9, u32(0x300) + u32(0) + u32(4) + u32(96), 4 + 4 * 96)) +
      ctl(2, ctl_raw(11, u32(0x302) + u32(0), 4 + 512)) +
      ctl(3, ctl_raw(13, u32(0x304) + u32(0), 4 + 64)))
# stereo S16 48 kHz: SET_PARAMS, PREPARE, START, tick, STOP, RELEASE
life = (ctl(4, pcm(0, 0, 0, 1199, 1, 1, 0, 7)) + ctl(4, pcm(1, 0)) + ctl(4, pcm(3, 0)) +
        ctl(6, u32(20000000)) + ctl(5, pcm(4, 0)) + ctl(5, pcm(2, 0)))
write('fuzz_ctl', 'stream_life', u8(1) + life)

# fuzz_io: op%10: 0,1 pcm; 2,3 tx; 4,5 rx; 6,7 tick (u16 * 10 us); 8 transport
def tx(stream, nbytes):
    return u8(2) + u8(0) + u8(stream) + u16(nbytes) + bytes((i * 7) & 0xff for i in range(nbytes)) + cut1() + cut1()


def rx(stream, nbytes):
    return u8(4) + u8(0) + u8(stream) + u16(nbytes) + cut1() + cut1()


setup_out = u8(0) + pcm(0, 0, 0, 1199, 1, 1, 0, 7) + u8(0) + pcm(1, 0)
write('fuzz_io', 'playback', u8(1) + setup_out + tx(0, 1200) + tx(0, 1200) + u8(0) + pcm(3, 0) +
      u8(6) + u16(2000) + tx(0, 1200) + u8(6) + u16(3000) + u8(0) + pcm(4, 0) + u8(0) + pcm(2, 0))
setup_in = u8(0) + pcm(0, 1, 0, 1199, 1, 1, 0, 7) + u8(0) + pcm(1, 1)
write('fuzz_io', 'capture', u8(1) + setup_in + rx(1, 1200) + rx(1, 1200) + u8(0) + pcm(3, 1) +
      u8(6) + u16(3000) + u8(0) + pcm(4, 1) + u8(6) + u16(100) + u8(0) + pcm(2, 1))
write('fuzz_io', 'pause_reset', u8(1) + setup_out + tx(0, 480) + u8(0) + pcm(3, 0) +
      u8(8) + u8(2) + u8(6) + u16(500) + u8(8) + u8(6) + u8(8) + u8(8) + tx(0, 480))

# ---- fuzz_virtq: flags, last_avail, 32-byte script, memory image ----
BASE = 0x10000


def desc(addr, ln, flags, nxt):
    return u64(addr) + u32(ln) + u16(flags) + u16(nxt)


def virtq_seed(num_log2, descs, avail_heads, script, extra=(), flags_extra=0):
    img = bytearray(0x2000)
    for i, d in enumerate(descs):
        img[16 * i:16 * i + 16] = d
    avail = u16(0) + u16(len(avail_heads)) + b''.join(u16(h) for h in avail_heads)
    img[0x1000:0x1000 + len(avail)] = avail  # used ring at 0x1208
    for off, data in extra:
        img[off:off + len(data)] = data
    script = bytes(script) + bytes(32 - len(script))
    # trailing zeros of the image are implicit: cut them
    return u8(num_log2 | flags_extra) + u16(0) + script + bytes(img).rstrip(b'\0')


two = [desc(BASE + 0x1c00, 16, 1, 1), desc(BASE + 0x1d00, 64, 2, 0)]
write('fuzz_virtq', 'direct', virtq_seed(4, two, [0], [0, 3, 64, 0]))
ind = [desc(BASE + 0x1e00, 32, 4, 0)]
table = desc(BASE + 0x1c00, 16, 1, 1) + desc(BASE + 0x10000 - 8, 64, 2, 0)  # straddles regions
write('fuzz_virtq', 'indirect', virtq_seed(4, ind, [0], [0, 3, 32, 0, 1], [(0x1e00, table)], 0x80))
loop = [desc(BASE + 0x1c00, 16, 1, 1), desc(BASE + 0x1d00, 16, 1, 0)]
write('fuzz_virtq', 'loop', virtq_seed(3, loop, [0, 1], [0, 0, 3, 0, 4, 5, 0], flags_extra=0x40))

# ---- fuzz_vhu ----
GPA, UVA = 0x100000, 0x7f0000000000


def msg(req, payload, fds=(), flags=1, op=0):
    s = u8(op) + u8(req) + u8(flags) + u16(len(payload)) + payload
    s += u8(len(fds) if len(fds) < 3 else 0x80 | len(fds)) + b''.join(u8(k) for k in fds)
    return s


def memw(off, data):
    return u8(5) + u16(off) + u8(len(data)) + data


def state(i, n):
    return u32(i) + u32(n)


def ring_setup(q, off):
    return (msg(8, state(q, 16)) + msg(10, state(q, 0)) +
            msg(9, u32(q) + u32(0) + u64(UVA + off) + u64(UVA + off + 0x200) + u64(UVA + off + 0x100) + u64(0)) +
            msg(12, u64(q), [1]) + msg(13, u64(q), [1]) + msg(18, state(q, 1)))


hello = (msg(1, b'') + msg(2, u64((1 << 32) | (1 << 30))) + msg(15, b'') + msg(16, u64(0x8209)) +
         msg(5, u32(1) + u32(0) + u64(GPA) + u64(0x10000) + u64(UVA) + u64(0), [0]))
write('fuzz_vhu', 'handshake', u8(1) + hello + msg(24, u32(0) + u32(16) + u32(0) + bytes(16)))
ctlq = ring_setup(0, 0)
req = memw(0x1000, u32(0x100) + u32(0) + u32(2) + u32(32))
dsc = memw(0, desc(GPA + 0x1000, 16, 1, 1) + desc(GPA + 0x1100, 68, 2, 0))
av = memw(0x100, u16(0) + u16(1) + u16(0))
write('fuzz_vhu', 'pcm_info', u8(1) + hello + ctlq + req + dsc + av + u8(4) + u8(0) +
      msg(11, state(0, 0)))
write('fuzz_vhu', 'bad_fds', u8(0) + hello + msg(12, u64(0), [1, 1, 2], flags=1) +
      msg(5, u32(9) + u32(0), [0, 0, 0, 0, 0, 0, 0, 0, 0]) + msg(34, b''))
