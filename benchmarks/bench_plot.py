#!/usr/bin/env python3
"""Benchmark: the studio's compare figure (:func:`midistyle.plot.plot_pieces` of a piece above its
restyled version, what POST /api/velocity draws for every answered upload), in-process, best of
--repeat; with --tempo, a piece with tempo changes (tempo strips added).

Target: under 0.5 s per figure for a ~2.5-minute piece on one core (it was ~0.75 s with
matplotlib's constrained layout, which measured every strip's ticks before drawing).

Usage: python benchmarks/bench_plot.py [FILE.mid] [--repeat 5] [--tempo]
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DEFAULT = os.path.join(ROOT, "examples", "anthropology.mid")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--tempo", action="store_true", help="draw the tempo strips too")
    args = ap.parse_args()

    from midistyle import io as mio
    from midistyle.beats import tempo_curve
    from midistyle.pianoroll import encode
    from midistyle.plot import plot_pieces
    from midistyle.velocity import restyle

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.mid")
        restyle([args.file], genre="classical", output=out, seed=0)
        before, after = mio.read(args.file), mio.read(out)
        rolls = [encode(before), encode(after)]
        tempos = [tempo_curve(p) for p in (before, after)] if args.tempo else None
        times = []
        for k in range(args.repeat + 1):             # the first one warms matplotlib up
            t0 = time.perf_counter()
            plot_pieces(rolls, os.path.join(tmp, f"c{k}.png"), titles=["before", "after"], tempos=tempos)
            times.append(time.perf_counter() - t0)
    print(f"compare figure of {os.path.basename(args.file)} ({len(before.notes)} notes"
          f"{', tempo strips' if args.tempo else ''}): best {min(times[1:]):.3f} s of {args.repeat}, "
          f"first {times[0]:.3f} s")


if __name__ == "__main__":
    main()
