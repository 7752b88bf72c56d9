#!/usr/bin/env python3
"""Benchmark: `midistyle classify` on a ~5-minute piece and `midistyle chords` for 30 s, end to end.

Prints the wall time of the real commands (subprocesses, start-up included), then the split of
each between imports, model loading, reading+encoding, inference and writing, measured
in-process. Usage: python benchmarks/bench_symbolic.py [FILE.mid] [--style classical] [--repeat 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "..", "shared", "data", "tpd", "jazz", "merryxmas.mid")


def timed(cmd, repeat):
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
    return min(walls), sum(walls) / len(walls)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--style", default="classical")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    py = [sys.executable, "-m", "midistyle"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "chords.mid")
        c_best, c_mean = timed(py + ["classify", args.file, "--json"], args.repeat)
        g_best, g_mean = timed(py + ["chords", "--inspire", args.file, "--style", args.style, "--seconds",
                                    str(args.seconds), "--seed", "0", "-o", out, "--force", "--quiet"], args.repeat)
        t0 = time.perf_counter()
        import numpy as np

        from midistyle.codec import io as mio
        from midistyle.chords import ChordModel, shipped_velocity_model, compose
        from midistyle.classifier import GenreClassifier
        from midistyle.codec.pianoroll import encode
        from midistyle.registry import chords_model_path, classifier_path
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        clf = GenreClassifier.load(classifier_path())
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        perf = mio.read(args.file)
        roll = encode(perf, clf.settings)
        t_enc = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = clf.predict(roll)
        t_inf = time.perf_counter() - t0
        t0 = time.perf_counter()
        emb = clf.embed(roll)
        t_emb = time.perf_counter() - t0

        t0 = time.perf_counter()
        cm = ChordModel.load(chords_model_path(args.style))
        vm, _ = shipped_velocity_model(args.style)
        t_gload = time.perf_counter() - t0
        n_frames = int(np.ceil(args.seconds / cm.frame_seconds))
        t0 = time.perf_counter()
        cm.sample(emb, n_frames, seed=0)
        t_sample = time.perf_counter() - t0
        t0 = time.perf_counter()
        midi, _, notes = compose(cm, emb, args.seconds, seed=0, velocity_model=vm)
        t_vel = time.perf_counter() - t0 - t_sample
        t0 = time.perf_counter()
        mio.save_midi(midi, out, force=True)
        t_write = time.perf_counter() - t0
    print(f"input            {os.path.basename(args.file)}: {perf.duration:.0f} s, {len(perf.notes)} notes "
          f"-> {res['genre']} {res['probabilities']}")
    print(f"classify         {c_best:.2f} s best, {c_mean:.2f} s mean of {args.repeat} (subprocess, start-up included)")
    print(f"  split          imports {t_import:.2f} s, model load {t_load:.3f} s, read+encode {t_enc:.2f} s, "
          f"inference {t_inf:.3f} s (embedding alone {t_emb:.3f} s)")
    print(f"chords {args.seconds:g} s     {g_best:.2f} s best, {g_mean:.2f} s mean of {args.repeat} (subprocess, "
          f"inspiration read+embedded, start-up included)")
    print(f"  split          models load {t_gload:.3f} s, sampling {n_frames} frames {t_sample:.3f} s "
          f"({1000 * t_sample / n_frames:.2f} ms/frame), notes+pedal+velocity model {t_vel:.3f} s, write {t_write:.3f} s; "
          f"{len(notes)} notes")
    print(f"tensorflow       {'imported' if 'tensorflow' in sys.modules else 'not imported'}")


if __name__ == "__main__":
    main()
