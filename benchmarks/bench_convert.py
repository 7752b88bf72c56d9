#!/usr/bin/env python3
"""Benchmark: convert all of ../shared/data/tpd (both genres) into one HDF5 dataset.

Prints wall time, files/s and peak memory (parent and worker processes).
Usage: python benchmarks/bench_convert.py [--workers N]
"""
import argparse
import os
import resource
import tempfile
import time

from midistyle.codec.dataset import convert

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TPD = os.path.join(ROOT, "..", "shared", "data", "tpd")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tpd.h5")
        t0 = time.perf_counter()
        rep = convert([("classical", os.path.join(TPD, "classical")), ("jazz", os.path.join(TPD, "jazz"))],
                      out, workers=args.workers, progress=False)
        wall = time.perf_counter() - t0
        size = os.path.getsize(out)
    n_files = rep.pieces + len(rep.skipped) + len(rep.duplicates)
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"files            {n_files} ({rep.pieces} pieces, {len(rep.duplicates)} duplicates, {len(rep.skipped)} skipped)")
    print(f"wall time        {wall:.1f} s  (workers: {args.workers or os.cpu_count()})")
    print(f"throughput       {n_files / wall:.1f} files/s, {rep.notes / wall / 1e3:.0f} k notes/s")
    print(f"peak memory      parent {self_mb:.0f} MB, largest worker {child_mb:.0f} MB")
    print(f"output size      {size / 1e6:.1f} MB for {rep.steps} steps")


if __name__ == "__main__":
    main()
