#!/usr/bin/env python3
"""Choose how much of its own running habits each shipped chord generator reads back in a steady draw.

The LSTM reads a running pedal share and onset-event rate; drawing, those come from its own draws,
and read back in full (as in training) the loop drifts over a minute. For feedback 1, 0.75, 0.5 and
0.25 (:func:`midistyle.chords.anchored_habits`), draws 60 s from every 4th *training* piece's
embedding (seed 0 + k; the validation split is not used) and keeps the largest feedback whose last
10 s keep the notes per second and the pedal share of the first 10 s within 25 %; if none does, the
smallest feedback with the first of :data:`EVENT_BIASES` added to the plain draw's onset-event bias
that does (:func:`midistyle.chords.calibrate_feedback`; every draw starts from the plain bias). Writes
them, with the table, into the model's sidecar (``steady_feedback``, ``steady_event_bias``, ``feedback_calibration``; ``midistyle chords --steady``
uses them, a plain draw reads its habits back in full, as in training). Run by models/train_symbolic.sh
after training, before models/evaluate_chords.py.

A generator with a harmony layer is first given its harmony temperature and its onset-event bias,
both on the training pieces (every 12th, 20 s and 30 s draws, seed 0 + k): the temperature of
:data:`HARMONY_TEMPERATURES` whose draws' key clarity, key stability and repetition, and spread
over the pitch classes (:data:`PC_SPREAD`), come nearest those of the same pieces (sum of
|generated / real - 1|; coherence alone chose 0.7, whose draws put 45 % of their notes on one pitch
class against 21 % in real playing, which the discriminators then told apart at 0.92-0.99), then the event bias of :data:`PLAIN_BIASES`
whose draws keep the pieces' notes per second (:func:`midistyle.chords.calibrate_event_bias`).

Usage: python models/calibrate_chords.py [DATA.h5 [GENRE ...]]
"""
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from midistyle.codec import io as mio  # noqa: E402
from midistyle.judges.chordeval import COHERENCE_NAMES, coherence, compare_coherence  # noqa: E402
from midistyle.judges.notefeatures import CONTENT_FEATURE_NAMES, content_statistics  # noqa: E402
from midistyle.chords import (ChordModel, calibrate_event_bias, calibrate_feedback, compose,  # noqa: E402
                              inspiration_key, real_density, roll_frames)
from midistyle.codec.pianoroll import encode  # noqa: E402
from midistyle.classifier import GenreClassifier  # noqa: E402
from midistyle.codec.dataset import Dataset  # noqa: E402
from midistyle.modelfiles import update_sidecar  # noqa: E402

EVERY = 4
#: Onset-event biases tried, in turn, when no habit feedback alone keeps the draws steady.
EVENT_BIASES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
#: Harmony temperatures tried, and onset-event biases of a plain draw, for a generator with a harmony layer.
HARMONY_TEMPERATURES = (1.0, 0.85, 0.7)
PLAIN_BIASES = (-0.15, -0.1, -0.05, 0.0, 0.05)
#: Every how many training pieces the harmony temperature and plain event bias are chosen on, and the seconds drawn.
HARMONY_EVERY, HARMONY_SECONDS = 12, 20.0
#: Content statistics of how notes spread over the pitch classes, compared with real playing too.
PC_SPREAD = ("pc_entropy", "pc_rank0")


def pc_spread(roll, start=0.0, seconds=None):
    """:data:`PC_SPREAD` of a stretch of a piece."""
    row = content_statistics(roll, start, seconds)
    return [float(row[CONTENT_FEATURE_NAMES.index(k)]) for k in PC_SPREAD]


def calibrate_harmony(cm, clf, pieces):
    """Harmony temperature, then plain event bias, on real training pieces (PianoRolls); sets them on ``cm``."""
    embs = [clf.embed(r) for r in pieces]
    s = HARMONY_SECONDS
    starts = [min(r.duration / 3, max(r.duration - s, 0.0)) for r in pieces]
    real = [coherence(r, a, s) for r, a in zip(pieces, starts)]
    real_pc = np.mean([pc_spread(r, a, s) for r, a in zip(pieces, starts)], axis=0)
    table = []
    for t in HARMONY_TEMPERATURES:
        cm.harmony.temperature = t
        gen, gen_pc = [], []
        for k, (e, piece) in enumerate(zip(embs, pieces)):
            midi, _, notes = compose(cm, e, s, seed=k, key=inspiration_key(cm, piece))
            if notes:
                roll = encode(mio.performance_from_midifile(midi, "generated"), cm.settings)
                gen.append(coherence(roll))
                gen_pc.append(pc_spread(roll))
        cmp = compare_coherence(real, gen)
        pc = {k: {"generated": float(g), "real": float(r), "ratio": float(g / r)}
              for k, g, r in zip(PC_SPREAD, np.mean(gen_pc, axis=0), real_pc)}
        table.append({"temperature": t, "coherence": cmp, "pc_spread": pc,
                      "distance": float(sum(abs(cmp[k]["ratio"] - 1.0) for k in COHERENCE_NAMES)
                                        + sum(abs(v["ratio"] - 1.0) for v in pc.values()))})
        print(f"  harmony temperature {t:g}: " + ", ".join(
            f"{k} {v['generated']:.3f}/{v['real']:.3f}" for k, v in list(cmp.items()) + list(pc.items()))
            + f", distance {table[-1]['distance']:.3f}", flush=True)
    best = min(table, key=lambda r: r["distance"])
    cm.harmony.temperature = best["temperature"]
    frames = [roll_frames(r, cm.config.frame_steps) for r in pieces]
    bias = calibrate_event_bias(cm, embs, real_density(frames, cm.frame_seconds), biases=PLAIN_BIASES)
    cm.event_bias = bias["chosen"]
    print(f"  plain event bias: {json.dumps(bias)}", flush=True)
    return ({**cm.meta["harmony"], "temperature": best["temperature"],
             "temperature_calibration": {"pieces": f"every {HARMONY_EVERY}th training piece", "seconds": s,
                                         "table": table}},
            {**bias, "pieces": f"every {HARMONY_EVERY}th training piece"})


def main(data=os.path.join(ROOT, "work_data", "tpd.h5"), *genres):
    ds = Dataset(data)
    clf = GenreClassifier.load(os.path.join(ROOT, "models", "classifier.keras"))
    for genre in genres or ("classical", "jazz"):
        path = os.path.join(ROOT, "models", f"chords-{genre}.keras")
        cm = ChordModel.load(path)
        cm.check_classifier(clf)
        t0 = time.time()
        extra = {}
        if cm.harmony is not None:
            harmony, bias = calibrate_harmony(cm, clf, [ds.piece(i) for i in ds.select(genre, "train")[::HARMONY_EVERY]])
            extra = {"harmony": harmony, "event_bias": bias["chosen"], "event_bias_calibration": bias}
        embs = [clf.embed(ds.piece(i)) for i in ds.select(genre, "train")[::EVERY]]
        cal = calibrate_feedback(cm, embs, event_biases=EVENT_BIASES)
        cal["pieces"] = f"every {EVERY}th training piece"
        cal["wall_seconds"] = round(time.time() - t0, 1)
        update_sidecar(path, steady_feedback=cal["chosen"], steady_event_bias=cal["chosen_event_bias"],
                       feedback_calibration=cal, **extra)
        print(genre, json.dumps(cal))


if __name__ == "__main__":
    main(*sys.argv[1:])
