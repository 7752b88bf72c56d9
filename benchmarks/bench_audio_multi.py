#!/usr/bin/env python3
"""Benchmark of ``midistyle audio transfer --method multi --preset full`` on 10 s of audio.

The content (classical) and style (jazz) clips are rendered from The Piano Dataset as in
``bench_audio_transfer.py``. Each variant runs in its own process (its own peak memory) with the
same number of L-BFGS-B iterations, and prints seconds per iteration, total optimisation time,
peak memory and the final value of every style term relative to its start (lower is better), so
the cost of a heavier CQT network can be weighed against what it buys.

    python benchmarks/bench_audio_multi.py                 # default vs heavier CQT, 30 iterations
    python benchmarks/bench_audio_multi.py --iterations 10 # quicker
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

VARIANTS = {
    "default (CQT 32 filters, time stride 2)": dict(),
    "heavier CQT (64 filters, stride 1)": dict(cqt_filters=64, cqt_time_stride=1),
    "reference STFT width (4096 filters)": dict(stft_filters=4096),
}


def child(name: str, iterations: int, seconds: float) -> None:
    from bench_audio_transfer import clips

    from midistyle.audio.multi import MultiSettings, stylise_multi

    yc, ys = clips(seconds)
    s = MultiSettings(preset="full", iterations=iterations, **VARIANTS[name])
    r = stylise_multi(yc, ys, s)
    it = len([h for h in r.history if not h.get("start") and not h.get("final")])
    out = {"variant": name, "iterations": it, "evaluations": r.evaluations, "optimise_s": r.timings["optimise"],
           "setup_s": r.timings["setup"], "s_per_iteration": r.timings["optimise"] / max(it, 1),
           "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "style_ratio": {t: r.extra["terms_final"][t] / r.extra["terms_start"][t]
                           for t in r.extra["terms_final"]}}
    print("RESULT " + json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--variants", default=",".join(VARIANTS), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.iterations, a.seconds)
    print(f"multi --preset full, {a.seconds:g} s content + {a.seconds:g} s style, {a.iterations} L-BFGS-B iterations")
    for name in VARIANTS:
        p = subprocess.run([sys.executable, __file__, "--child", name, "--iterations", str(a.iterations),
                            "--seconds", str(a.seconds)], capture_output=True, text=True)
        res = [json.loads(line[7:]) for line in p.stdout.splitlines() if line.startswith("RESULT ")]
        if not res:
            print(f"  {name}: failed\n{p.stderr[-2000:]}")
            continue
        r = res[0]
        terms = ", ".join(f"{t} {v:.3f}" for t, v in r["style_ratio"].items())
        print(f"  {name}: {r['s_per_iteration']:.2f} s/iteration, {r['optimise_s']:.1f} s for {r['iterations']} "
              f"iterations ({r['evaluations']} evaluations; set-up {r['setup_s']:.1f} s), peak {r['peak_mb']:.0f} MB")
        print(f"    final / start of each term: {terms}")


if __name__ == "__main__":
    main()
