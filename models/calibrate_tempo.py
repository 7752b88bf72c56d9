#!/usr/bin/env python3
"""Choose the shipped tempo model's sampling temperature on its training pieces.

Of the temperatures 0.8 / 0.85 / 0.9 / 1 whose drawn curves keep the real rubato's spread (Cohen's
d of the window std within 0.1), the one a real-vs-drawn discriminator on 32-beat windows tells
apart least (:func:`midistyle.tempo.calibrate_temperature`, seed 0); written into the sidecar
(``sampling_temperature``, ``sampling_calibration``). Training pieces only: the validation figures
(`models/evaluate_perform.py`) are measured after. Run by models/train_tempo.sh.

Usage: python models/calibrate_tempo.py [TPD_DIR]
"""
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from midistyle.codec.dataset import split_files  # noqa: E402
from midistyle.modelfiles import update_sidecar  # noqa: E402
from midistyle.tempo import TempoModel, calibrate_temperature, evaluate, select_pieces  # noqa: E402


def main(tpd=os.path.join(ROOT, "..", "shared", "data", "tpd")):
    split = split_files([(g, os.path.join(tpd, g)) for g in ("classical", "jazz")])["classical"]
    path = os.path.join(ROOT, "models", "tempo-classical.keras")
    tm = TempoModel.load(path)
    t0 = time.time()
    train, _ = select_pieces(split["train"])
    cal = calibrate_temperature(tm, train)
    cal["seconds"] = round(time.time() - t0, 1)
    tm.meta["sampling_temperature"] = cal["chosen"]
    val, _ = select_pieces(split["val"])
    v = evaluate(tm, val)
    update_sidecar(path, sampling_temperature=cal["chosen"], sampling_calibration=cal, validation=v)
    print(json.dumps(cal))
    print(json.dumps({k: x for k, x in v.items() if k != "per_piece"}))


if __name__ == "__main__":
    main(*sys.argv[1:])
