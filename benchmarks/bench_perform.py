#!/usr/bin/env python3
"""Benchmark: `midistyle perform --to classical` on a ~5-minute score, end to end (a subprocess,
start-up included), and the split between reading, velocities, tempo and writing in-process.

The score is made from a real 5-minute performance as a notation program would export it
(velocity 64, no pedal, its median tempo; :func:`midistyle.perform.score_like`), so a tempo map is
drawn for it. Target (issue 29): <= 1.5 s end to end.
Usage: python benchmarks/bench_perform.py [FILE.mid] [--repeat 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DEFAULT = os.path.join(ROOT, "..", "shared", "data", "tpd", "classical", "clementi_opus36_5_1_format0.mid")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from midistyle.codec import io as mio
    from midistyle.perform import score_like

    perf = mio.read(args.file, exact=True)
    sc = score_like(perf)
    with tempfile.TemporaryDirectory() as tmp:
        score, out = os.path.join(tmp, "score.mid"), os.path.join(tmp, "out.mid")
        midi = mio.with_tempo_map(mio.with_velocities(perf, np.full(len(perf.notes), 64)), [(0, int(sc.tempo[1][0]))])
        mio.save_midi(midi, score, force=True)
        score_seconds = mio.read(score).duration
        walls = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "midistyle.cli", "perform", "--to", "classical", score, "-o", out,
                            "--force", "--quiet"], check=True)
            walls.append(time.perf_counter() - t0)
        from midistyle.perform import perform

        t0 = time.perf_counter()
        r = perform([score], "classical", output=out, force=True)[0]
        t_inproc = time.perf_counter() - t0
    print(f"input            {os.path.basename(args.file)} as a score: {score_seconds:.0f} s, {r['notes']} notes, "
          f"{r['beats']} beats; tempo {r['tempo']}")
    print(f"perform (CLI)    {np.median(walls):.2f} s median of {args.repeat} (min {min(walls):.2f}), start-up included")
    print(f"perform (in-process, models loaded each call)  {t_inproc:.2f} s")


if __name__ == "__main__":
    main()
