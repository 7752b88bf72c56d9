#!/usr/bin/env python3
"""Validation figures of the shipped genre classifier, and its model card (the chord generators
are measured by models/evaluate_chords.py).

On the dataset's validation pieces (never fitted; only used for early stopping): segment- and
piece-level accuracy and confusion matrices.

Writes models/symbolic-figures.json and models/classifier.md.
Usage: python models/evaluate_symbolic.py [work_data/tpd.h5]
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from midistyle.classifier import GenreClassifier, evaluate as evaluate_classifier, format_confusion, load_features  # noqa: E402
from midistyle.codec.dataset import Dataset  # noqa: E402

MODELS = os.path.join(ROOT, "models")
ATTRIBUTION = ("The Piano Dataset (TPD), Iman Malik, \"Neural Translation of Musical Style\" (Malik & Ek, 2017), "
               "CC-BY 4.0")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", default=os.path.join(ROOT, "work_data", "tpd.h5"))
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ds = Dataset(args.data)
    clf = GenreClassifier.load(os.path.join(MODELS, "classifier.keras"))
    genres = clf.genres
    figures = {"dataset": os.path.basename(args.data), "seconds": args.seconds, "seed": args.seed}

    t0 = time.time()
    va = ds.select(None, "val")
    ev = evaluate_classifier(clf, load_features(ds, va, clf.config), [ds.genres[i] for i in va],
                             [ds.names[i] for i in va])
    ev["seconds"] = round(time.time() - t0, 1)
    figures["classifier"] = ev
    print(f"classifier: segment accuracy {ev['segment_accuracy']:.4f}, piece accuracy {ev['piece_accuracy']:.4f}")
    print(format_confusion(ev["confusion_pieces"], genres))

    with open(os.path.join(MODELS, "symbolic-figures.json"), "w") as fh:
        json.dump(figures, fh, indent=1)
    write_classifier_card(clf, figures)


def _table(matrix, genres):
    head = "| true \\ predicted | " + " | ".join(genres) + " |\n|---|" + "---|" * len(genres)
    rows = "\n".join(f"| {g} | " + " | ".join(str(x) for x in row) + " |" for g, row in zip(genres, matrix))
    return head + "\n" + rows


def write_classifier_card(clf, figures):
    meta, cfg, tr, v = clf.meta, clf.meta["config"], clf.meta["training"], figures["classifier"]
    wrong = "\n".join(f"- `{m['name']}` ({m['genre']}): {m['probabilities']}" for m in v["misclassified"]) or "- none"
    rf = 1 + (cfg["kernel"] - 1) * cfg["stacks"] * sum(2 ** i for i in range(cfg["layers_per_stack"]))
    text = f"""# Genre classifier and style embedding

Tells the genres of the training data apart ({', '.join(clf.genres)}) from the notes of a performance
and gives a {cfg['embedding_dim']}-d style embedding. Used by `midistyle classify`, `midistyle embed` and as the
conditioning of the chord generators. Files: `classifier.keras` (Keras 3), `classifier.json` (encoder
settings, genres, config, figures), `classifier.npz` (weights for the NumPy runtime used at inference:
no TensorFlow), `classifier.log.csv` and `classifier.loss.png` (training log and curves).

## Data
{ATTRIBUTION} — `../shared/data/tpd/{{classical,jazz}}`, built with `bash datasets/build_tpd.sh`
(byte-identical duplicates kept once, split **by piece** with seed 0, 15 % of each genre for validation).
Train pieces: {meta['data']['train_pieces']}; validation pieces: {meta['data']['val_pieces']}.
Constant-velocity pieces are kept (velocity is not an input of this model).

## Model and settings
- Input frames: held notes and onsets of the 25 ms piano roll ({meta['encoder']['pitch_low']}..{meta['encoder']['pitch_high']}), **max-pooled
  in time to {meta['frame_seconds'] * 1000:.0f} ms** (a key held or struck anywhere in the frame counts), plus
  7 harmony channels computed from the held notes of each frame: for interval classes 1..6 the
  number of pitch-class pairs that far apart, and the number of pitch classes (transposition-invariant
  chord colour: sevenths, tritones, clusters). Velocity: {'on' if cfg['use_velocity'] else 'off'} (`--use-velocity`).
- Segments of {cfg['segment']} frames ({meta['segment_seconds']:.1f} s). Network: 1x1 Conv1D to {cfg['channels']} channels, then the
  shared dilated stack (`midistyle.nn.layers.wavenet_body`: gated tanh x sigmoid units, residual and
  skip connections), {cfg['stacks']} x {cfg['layers_per_stack']} layers, kernel {cfg['kernel']}, dilations 1..{2 ** (cfg['layers_per_stack'] - 1)}
  (receptive field {rf} frames); mean and max over time; dropout {cfg['dropout']}; Dense {cfg['embedding_dim']} tanh
  (**the style embedding**); softmax over the genres.
- Piece level: segments tile the piece (the last aligned to its end); probabilities and embeddings
  are averaged over segments.
- Training: Adam lr {cfg['learning_rate']} (halved on plateau), batches of {cfg['batch_size']} random segments with the genres in
  turn, pieces weighted by length (capped at 4 segments), random transposition by up to +-{cfg['transpose']}
  semitones; early stopping on validation loss (patience {cfg['patience']}, best weights restored), seed {cfg['seed']}.
  {tr['epochs_run']} epochs x {tr['steps_per_epoch']} steps in **{tr['seconds']:.0f} s** (+{tr['load_seconds']:.0f} s loading) on the
  shared 2 CPU cores.

## Validation ({v['pieces']} pieces, {v['segments']} segments)
- Segment-level accuracy: **{100 * v['segment_accuracy']:.1f} %**
- Piece-level accuracy: **{100 * v['piece_accuracy']:.1f} %** ({', '.join(f'{g} {100 * a:.1f} %' for g, a in v['per_genre_piece_accuracy'].items())})

Piece-level confusion:

{_table(v['confusion_pieces'], clf.genres)}

Segment-level confusion:

{_table(v['confusion_segments'], clf.genres)}

Misclassified pieces:
{wrong}

Caveat: the validation split also chose the epoch (early stopping), so these figures are slightly
optimistic; the held-out part of TPD outside this folder is the real test.

## Reproduce
`bash models/train_symbolic.sh` (trains this model, then both chord generators), then
`python models/evaluate_symbolic.py` for these figures.
"""
    with open(os.path.join(MODELS, "classifier.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
