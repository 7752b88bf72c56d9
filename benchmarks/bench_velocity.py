#!/usr/bin/env python3
"""Benchmark: end-to-end `midistyle velocity --to classical` (a drawn performance) on a ~5-minute piece.

Prints the wall time and peak memory of the real command (a subprocess, start-up included),
then the split between start-up (imports), reading+encoding, inference and writing, measured
in-process. Usage: python benchmarks/bench_velocity.py [FILE.mid] [--genre classical] [--repeat 3]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "..", "shared", "data", "tpd", "jazz", "merryxmas.mid")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", nargs="?", default=DEFAULT)
    ap.add_argument("--genre", default="classical")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.mid")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "midistyle.cli", "velocity", "--to", args.genre, args.file,
                            "-o", out, "--force", "--quiet"], check=True)
            walls.append(time.perf_counter() - t0)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        t0 = time.perf_counter()
        from midistyle.codec import io as mio
        from midistyle.codec.pianoroll import encode
        from midistyle.registry import velocity_model_path
        from midistyle.velocity import VelocityModel, note_beats_of
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        vm = VelocityModel.load(velocity_model_path(args.genre))
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        perf = mio.read(args.file, exact=True)    # what the command does: the file is written back
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        roll = encode(perf, vm.settings)
        t_enc = time.perf_counter() - t0
        t0 = time.perf_counter()
        vm.mean(roll, beats=note_beats_of(perf))
        t_mean = time.perf_counter() - t0
        t0 = time.perf_counter()
        vel = vm.sample(roll, beats=note_beats_of(perf), seed=0)
        t_inf = time.perf_counter() - t0
        t0 = time.perf_counter()
        mio.write_velocities(perf, vel, out, force=True)
        t_write = time.perf_counter() - t0
    print(f"input            {os.path.basename(args.file)}: {perf.duration:.0f} s, {len(perf.notes)} notes")
    print(f"end to end       {min(walls):.2f} s best, {sum(walls) / len(walls):.2f} s mean of {len(walls)} (subprocess, start-up included)")
    print(f"peak memory      {peak:.0f} MB (subprocess)")
    print(f"split            imports {t_import:.2f} s, model load {t_load:.2f} s, parse (exact) {t_read:.2f} s, "
          f"encode {t_enc:.2f} s, "
          f"sampling {t_inf:.2f} s ({1e6 * t_inf / max(len(perf.notes), 1):.0f} us/note; --mean alone "
          f"{t_mean:.2f} s), write {t_write:.2f} s")
    print(f"tensorflow       {'imported' if 'tensorflow' in sys.modules else 'not imported'}")


if __name__ == "__main__":
    main()
