#!/usr/bin/env python3
"""Benchmark: all of ../shared/data/tpd through the Apache Beam pipeline (DirectRunner,
multi-process) next to the local conversion, and a projection to a large corpus.

Prints wall time, files/s and peak memory of each path, and the projection
``per-file time x files / workers`` for --project-files files (a projection, not a measurement).
Usage: python benchmarks/bench_beam.py [--workers 2] [--shards 8] [--project-files 176000]
"""
import argparse
import os
import resource
import tempfile
import time

from midistyle.codec.beamconvert import convert_beam
from midistyle.codec.dataset import convert

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TPD = os.path.join(ROOT, "..", "shared", "data", "tpd")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--project-files", type=int, default=176_000)
    args = ap.parse_args()
    sources = [("classical", os.path.join(TPD, "classical")), ("jazz", os.path.join(TPD, "jazz"))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in (
                ("local", lambda: convert(sources, os.path.join(tmp, "tpd.h5"), workers=args.workers,
                                          progress=False)),
                ("beam", lambda: convert_beam(sources, os.path.join(tmp, "tpd-shards"), shards=args.shards,
                                              workers=args.workers))):
            t0 = time.perf_counter()
            rep = run()
            wall = time.perf_counter() - t0
            n = rep.pieces + len(rep.skipped) + len(rep.duplicates)
            rows.append((name, n, wall))
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for name, n, wall in rows:
        print(f"{name:6s} {n} files in {wall:.1f} s = {n / wall:.0f} files/s ({args.workers} workers)")
    print(f"peak memory      driver {self_mb:.0f} MB, largest worker process {child_mb:.0f} MB")
    name, n, wall = rows[-1]
    per_file = wall * args.workers / n
    print(f"projection       {args.project_files} files x {per_file * 1e3:.1f} ms/file/worker: "
          f"{args.project_files * per_file / args.workers / 60:.0f} min on {args.workers} workers, "
          f"{args.project_files * per_file / 64 / 60:.1f} min on 64 workers (includes start-up; a projection)")


if __name__ == "__main__":
    main()
