#!/usr/bin/env python3
"""Choose each shipped velocity model's sampling temperature on the validation split.

For each pair of a temperature T (the top note struck at each onset) and a chord temperature Tc
(the other notes of a chord) on a small grid, draws every validation piece with 3 seeds, measures
the real-vs-sampled discriminator accuracy and the spread ratio, and keeps a pair by the
one-standard-error rule (:func:`midistyle.velocity.calibrate_sampling`,
:func:`~midistyle.velocity.choose_sampling`); writes it, with the whole table, into the model's
sidecar (``sampling_temperature``, ``chord_temperature``, ``sampling_calibration``). Run by
models/train_velocity.sh after training, before models/evaluate_velocity.py.

Usage: python models/calibrate_velocity.py [DATA.h5 [GENRE ...]]
"""
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from midistyle.codec.dataset import Dataset  # noqa: E402
from midistyle.modelfiles import update_sidecar  # noqa: E402
from midistyle.velocity import VelocityModel, calibrate_sampling  # noqa: E402


def main(data=os.path.join(ROOT, "work_data", "tpd.h5"), *genres):
    ds = Dataset(data)
    for genre in genres or ("classical", "jazz"):
        path = os.path.join(ROOT, "models", f"velocity-{genre}.keras")
        vm = VelocityModel.load(path)
        t0 = time.time()
        cal = calibrate_sampling(vm, [ds.piece(i) for i in ds.select(genre, "val", skip_constant=True)])
        cal["seconds"] = round(time.time() - t0, 1)
        update_sidecar(path, sampling_temperature=cal["chosen"], chord_temperature=cal["chosen_chord"],
                       sampling_calibration=cal)
        print(genre, json.dumps(cal))


if __name__ == "__main__":
    main(*sys.argv[1:])
