#!/usr/bin/env python3
"""Benchmark: reading MIDI. `midistyle info` on a ~5-minute piece (subprocess, start-up
included), then the per-stage split in-process (fast symusic reader, exact mido reader, encode),
and both readers over every shared TPD file (one core).

Usage: python benchmarks/bench_read.py [FILE.mid] [--repeat 3]
"""
import argparse
import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TPD = os.path.join(ROOT, "..", "shared", "data", "tpd")
DEFAULT = os.path.join(TPD, "jazz", "merryxmas.mid")


def best(fn, repeat):
    """Best wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "midistyle.cli", "info", args.file]
    t_info = best(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL), args.repeat)

    from midistyle.codec import io as mio
    from midistyle.codec.pianoroll import encode

    perf = mio.read(args.file)
    t_fast = best(lambda: mio.read(args.file), args.repeat)
    t_exact = best(lambda: mio.read(args.file, exact=True), args.repeat)
    t_enc = best(lambda: encode(perf), args.repeat)
    files = sorted(glob.glob(os.path.join(TPD, "*", "*.mid")))
    t_all_fast = best(lambda: [mio.read(f) for f in files], 1)
    t_all_exact = best(lambda: [mio.read(f, exact=True) for f in files], 1)
    print(f"input            {os.path.basename(args.file)}: {perf.duration:.0f} s, {len(perf.notes)} notes")
    print(f"info             {t_info:.2f} s best of {args.repeat} (subprocess, start-up included)")
    print(f"split            fast read {1e3 * t_fast:.1f} ms, exact read {1e3 * t_exact:.1f} ms, "
          f"encode {1e3 * t_enc:.1f} ms")
    print(f"all TPD files    {len(files)} files: fast reader {t_all_fast:.2f} s, exact reader {t_all_exact:.2f} s")


if __name__ == "__main__":
    main()
