#!/usr/bin/env python3
"""Choose how much of its own running habits each shipped chord generator reads back in a steady draw.

The LSTM reads a running pedal share and onset-event rate; drawing, those come from its own draws,
and read back in full (as in training) the loop drifts over a minute. For feedback 1, 0.75, 0.5 and
0.25 (:func:`midistyle.chords.anchored_habits`), draws 60 s from every 4th *training* piece's
embedding (seed 0 + k; the validation split is not used) and keeps the largest feedback whose last
10 s keep the notes per second and the pedal share of the first 10 s within 25 %; if none does, the
smallest feedback with the first of :data:`EVENT_BIASES` on the onset event that does
(:func:`midistyle.chords.calibrate_feedback`). Writes them, with the table, into the model's sidecar
(``steady_feedback``, ``steady_event_bias``, ``feedback_calibration``; ``midistyle chords --steady``
uses them, a plain draw reads its habits back in full, as in training). Run by models/train_symbolic.sh
after training, before models/evaluate_chords.py.

Usage: python models/calibrate_chords.py [DATA.h5 [GENRE ...]]
"""
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from midistyle.chords import ChordModel, calibrate_feedback  # noqa: E402
from midistyle.classifier import GenreClassifier  # noqa: E402
from midistyle.codec.dataset import Dataset  # noqa: E402
from midistyle.modelfiles import update_sidecar  # noqa: E402

EVERY = 4
#: Onset-event biases tried, in turn, when no habit feedback alone keeps the draws steady.
EVENT_BIASES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def main(data=os.path.join(ROOT, "work_data", "tpd.h5"), *genres):
    ds = Dataset(data)
    clf = GenreClassifier.load(os.path.join(ROOT, "models", "classifier.keras"))
    for genre in genres or ("classical", "jazz"):
        path = os.path.join(ROOT, "models", f"chords-{genre}.keras")
        cm = ChordModel.load(path)
        cm.check_classifier(clf)
        t0 = time.time()
        embs = [clf.embed(ds.piece(i)) for i in ds.select(genre, "train")[::EVERY]]
        cal = calibrate_feedback(cm, embs, event_biases=EVENT_BIASES)
        cal["pieces"] = f"every {EVERY}th training piece"
        cal["wall_seconds"] = round(time.time() - t0, 1)
        update_sidecar(path, steady_feedback=cal["chosen"], steady_event_bias=cal["chosen_event_bias"],
                       feedback_calibration=cal)
        print(genre, json.dumps(cal))


if __name__ == "__main__":
    main(*sys.argv[1:])
