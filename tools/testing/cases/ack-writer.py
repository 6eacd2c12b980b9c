#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Acknowledged-write journal for the VM suite (case server_restart).

  ack-writer.py write DEV JOURNAL STOPFILE STATUS SEED
  ack-writer.py verify DEV JOURNAL SEED

write: writes 4 KiB blocks with O_DIRECT, one at a time and in block order (wrapping
around), until STOPFILE exists. Every attempt has a sequence number; its content is derived
from (SEED, block, sequence number). After an attempt returned, the journal gets the line
"<seq> <block> ok" (the whole block was written) or "<seq> <block> err <errno>"; a write
that has not returned is never in the journal. STATUS holds "<ok> <err>" counts, renewed
about once a second. Failed attempts are retried at the next block after 50 ms.

verify: reads back every block that has an acknowledged write. Its content must be that of
the last acknowledged attempt, or of a failed attempt made after it (a failed write may or
may not have reached the disk). Exits 1 on any mismatch or when nothing was acknowledged.
"""
import mmap
import os
import struct
import sys
import time

BS = 4096


def content(seed, block, seq):
    """The 4 KiB pattern of one attempt."""
    head = struct.pack("<QQQ", seed, block, seq)
    return (head * (BS // len(head) + 1))[:BS]


def nr_blocks(fd):
    return os.lseek(fd, 0, os.SEEK_END) // BS


def write(dev, journal, stopfile, status, seed):
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    blocks = nr_blocks(fd)
    buf = mmap.mmap(-1, BS)  # page aligned, as O_DIRECT needs
    ok = err = seq = 0
    last_status = 0.0
    with open(journal, "w", buffering=1) as j:
        while not os.path.exists(stopfile):
            seq += 1
            block = seq % blocks
            buf.seek(0)
            buf.write(content(seed, block, seq))
            try:
                n = os.pwrite(fd, buf, block * BS)
                if n != BS:
                    raise OSError(0, "short write of %d bytes" % n)
            except OSError as e:
                err += 1
                j.write("%d %d err %d\n" % (seq, block, e.errno))
                time.sleep(0.05)
            else:
                ok += 1
                j.write("%d %d ok\n" % (seq, block))
            now = time.monotonic()
            if now - last_status >= 1:
                last_status = now
                with open(status + ".tmp", "w") as s:
                    s.write("%d %d\n" % (ok, err))
                os.rename(status + ".tmp", status)
    with open(status, "w") as s:
        s.write("%d %d\n" % (ok, err))
    os.close(fd)


def verify(dev, journal, seed):
    acked = {}  # block -> seq of its last acknowledged write
    failed = {}  # block -> seqs of failed attempts after that
    with open(journal) as j:
        for line in j:
            f = line.split()
            seq, block = int(f[0]), int(f[1])
            if f[2] == "ok":
                acked[block] = seq
                failed.pop(block, None)
            else:
                failed.setdefault(block, []).append(seq)
    if not acked:
        print("verify: no acknowledged write in %s" % journal)
        return 1
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, BS)
    bad = 0
    for block in sorted(acked):
        n = os.preadv(fd, [buf], block * BS)
        got = buf[:n]
        allowed = [acked[block]] + failed.get(block, [])
        if not any(got == content(seed, block, s) for s in allowed):
            bad += 1
            if bad <= 5:
                have = struct.unpack("<QQQ", got[:24]) if n >= 24 else got
                print("verify: block %d holds %r, expected seq %s" % (block, have, allowed))
    os.close(fd)
    print("verify: %d acknowledged blocks, %d wrong" % (len(acked), bad))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 7 and argv[1] == "write":
        write(argv[2], argv[3], argv[4], argv[5], int(argv[6]))
        return 0
    if len(argv) == 5 and argv[1] == "verify":
        return verify(argv[2], argv[3], int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
