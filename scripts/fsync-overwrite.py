#!/usr/bin/env python3
"""Time of one fdatasync when a write grows a file, and when it overwrites blocks
already written (zero-filled ahead), on the disk under DIR.

    scripts/fsync-overwrite.py [--dir DIR] [--writes N] [--size BYTES] [--rounds R]

The ledger's writer fills its entries file ahead in zeros (LedgerOptions::preallocate)
because of the difference this measures: on ext4 an fdatasync after a write that grows
the file also commits the new size (a journal commit). Prints p50 and p99 of
pwrite + fdatasync for both, alternately, R rounds.
"""

import argparse
import os
import time


def run(path, prealloc, n, size):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if prealloc:
            os.pwrite(fd, b"\0" * (n * size + 4096), 0)
            os.fsync(fd)
        data = b"x" * size
        times = []
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, data, i * size)
            os.fdatasync(fd)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    return times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=".")
    ap.add_argument("--writes", type=int, default=1500)
    ap.add_argument("--size", type=int, default=64 * 1024)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    path = os.path.join(args.dir, f"airlock-fsync-test-{os.getpid()}")
    for r in range(1, args.rounds + 1):
        for label, prealloc in (("grows the file", False), ("overwrites zeros", True)):
            p50, p99 = run(path, prealloc, args.writes, args.size)
            print(f"round {r}, {label:>16}: p50 {p50:6.0f} µs | p99 {p99:6.0f} µs")


if __name__ == "__main__":
    main()
