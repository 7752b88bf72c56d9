#!/usr/bin/env python3
"""Benchmark of seed 000's Gram networks: ``midistyle audio transfer --net conv1d|cnn|rnn|bilstm``.

The 10 s content (classical) and style (jazz) clips of ``bench_audio_transfer.py``; each network
runs in its own process (its own peak memory) with its ``net_defaults`` (conv1d: 4096 x 11 and
L-BFGS-B; cnn: 4096 x 3, Adam; rnn / bilstm: 256 units + dense, Adam) for the same number of
optimiser steps. Prints seconds per step, total optimisation time, peak memory and the style and
content losses at the start and the end (each network has its own loss, so compare the ratios,
not the values across networks).

    python benchmarks/bench_audio_nets.py                  # 100 steps each (about 5 minutes)
    python benchmarks/bench_audio_nets.py --steps 20       # quicker
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

NETS = ("conv1d", "cnn", "rnn", "bilstm")


def child(net: str, steps: int) -> dict:
    from bench_audio_transfer import clips

    from midistyle.audio.gramnets import net_defaults
    from midistyle.audio.transfer import TransferSettings, stylise

    yc, ys = clips(10.0)
    # the optimiser alone: no Griffin-Lim, no waveform stage
    s = TransferSettings(net=net, iterations=steps, griffin_lim_iterations=0, waveform_iterations=0,
                         **net_defaults(net))
    r = stylise(yc, ys, s)
    h = [x for x in r.history if "point" not in x]      # optimiser steps only (not the stage measurements)
    return {"net": net, "settings": s.describe(), "steps": len([x for x in h if not x.get("final")]),
            "evaluations": r.evaluations, "optimise_seconds": r.timings["optimise"],
            "setup_seconds": r.timings["setup"], "style_start": h[0]["style_loss"], "style_end": h[-1]["style_loss"],
            "content_start": h[0]["content_loss"], "content_end": h[-1]["content_loss"],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100, help="optimiser steps per network (default: 100)")
    ap.add_argument("--nets", default=",".join(NETS), help="comma list (default: all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.steps)))
        return
    rows = []
    print(f"seed 000 networks, 10 s content + 10 s style, {args.steps} steps each", flush=True)
    for net in args.nets.split(","):
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", net, "--steps", str(args.steps)],
                           capture_output=True, text=True)
        line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"  {net}: failed\n{p.stderr[-2000:]}", flush=True)
            continue
        r = json.loads(line[7:])
        rows.append(r)
        per = r["optimise_seconds"] / max(r["steps"], 1)
        print(f"  {net:<7} {r['settings']}: {per:.3f} s/step, {r['optimise_seconds']:.1f} s for {r['steps']} steps "
              f"({r['evaluations']} evaluations, set-up {r['setup_seconds']:.1f} s), style loss "
              f"{r['style_start']:.4g} -> {r['style_end']:.4g} ({r['style_end'] / r['style_start']:.3g}x), content "
              f"{r['content_start']:.4g} -> {r['content_end']:.4g}, peak {r['peak_mb']:.0f} MB", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
