#!/usr/bin/env python3
"""How each shipped velocity model plays notated scores, calibrated on the training pieces.

A score has no pedal and a metronome's timing; the velocity model reads both as a piece's
context and plays a score far too loud (issue 29: median |mean velocity - real| 26.9 on the
classical sequenced pieces). For each genre this writes into the model's sidecar:

- ``score_inputs``: the genre's training performances' medians of the inputs a score cannot carry
  (:data:`midistyle.velocity.SCORE_BLIND_INPUTS`, :func:`~midistyle.velocity.score_inputs_of`);
- ``score_level``: the genre's typical level (median of the real pieces' mean velocities), the
  model's typical level when it plays their score-like versions
  (:func:`midistyle.perform.score_like`: one velocity, no pedal, the median tempo) with those
  inputs, how much its own level for a score is trusted (the least-squares slope of real on drawn
  piece means, clipped to 0..1) and the median spread ratio (:func:`~midistyle.velocity.calibrate_scores`,
  seed 0). A score is then played at ``level + weight * (drawn mean - drawn_level)``.

Training pieces only (the split of ``datasets/build_tpd.sh``); ``midistyle evaluate perform`` on
the validation pieces judges the result. Run by models/train_velocity.sh after calibrate_velocity.py.

Usage: python models/calibrate_scores.py [TPD_DIR [GENRE ...]]
"""
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import midistyle  # noqa: E402
from midistyle.codec.dataset import split_files  # noqa: E402
from midistyle.modelfiles import update_sidecar  # noqa: E402
from midistyle.perform import score_like  # noqa: E402
from midistyle.velocity import VelocityModel, calibrate_scores, score_inputs_of  # noqa: E402

GENRES = ("classical", "jazz")


def main(tpd=os.path.join(ROOT, "..", "shared", "data", "tpd"), *genres):
    split = split_files([(g, os.path.join(tpd, g)) for g in GENRES])
    for genre in genres or GENRES:
        path = os.path.join(ROOT, "models", f"velocity-{genre}.keras")
        t0 = time.time()
        perfs = [p for p in (midistyle.read(f) for f in split[genre]["train"]) if p.notes["velocity"].std() >= 1]
        vm = VelocityModel.load(path)
        vm.meta["score_inputs"] = inputs = score_inputs_of(vm, perfs)
        vm.meta.pop("score_level", None)
        level = calibrate_scores(vm, perfs, [score_like(p) for p in perfs], seed=0)
        level["seconds"] = round(time.time() - t0, 1)
        update_sidecar(path, score_inputs=inputs, score_level=level)
        print(genre, json.dumps({"score_inputs": inputs, "score_level": level}))


if __name__ == "__main__":
    main(*sys.argv[1:])
