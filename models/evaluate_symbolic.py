#!/usr/bin/env python3
"""Validation figures of the shipped genre classifier and chord generators, and their model cards.

On the dataset's validation pieces (never fitted; only used for early stopping):

- classifier: segment- and piece-level accuracy and confusion matrices;
- each chord generator: teacher-forced frame NLL and held-note F1 of the model against the
  pitch-wise base rates (and a per-key two-state Markov chain, a stronger simple baseline);
- transfer: 30 s generated from every validation piece of the *other* genre (its embedding
  starts the generator), classified by the classifier: share assigned to the target genre;
  the same for inspirations of the target genre itself, and for real 30 s excerpts of the
  target genre passed through the same chord codec (the ceiling a perfect generator reaches);
- plausibility: polyphony and register of the generated pieces against the real validation
  pieces of the target genre (typical range: 5th..95th percentile over real pieces).

Writes models/symbolic-figures.json, models/classifier.md and models/chords-GENRE.md.
Usage: python models/evaluate_symbolic.py [work_data/tpd.h5] [--seconds 30] [--seed 0]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from midistyle.chords import (ChordModel, chord_frames, evaluate as evaluate_chords, frames_to_held,  # noqa: E402
                              load_pieces, texture_stats, transfer)
from midistyle.classifier import GenreClassifier, evaluate as evaluate_classifier, format_confusion, load_features  # noqa: E402
from midistyle.dataset import Dataset  # noqa: E402
from midistyle.pianoroll import PianoRoll  # noqa: E402

MODELS = os.path.join(ROOT, "models")
ATTRIBUTION = ("The Piano Dataset (TPD), Iman Malik, \"Neural Translation of Musical Style\" (Malik & Ek, 2017), "
               "CC-BY 4.0")
STATS = ("polyphony", "silence", "pitch_mean", "pitch_p5", "pitch_p95", "note_rate")


def codec_excerpt(roll, cm, seconds):
    """The first ``seconds`` of a real piece, through the chord-frame codec (what a perfect generator gives)."""
    n = int(round(seconds / cm.settings.step))
    frames = chord_frames(roll.held[:n], cm.config.frame_steps)
    held = frames_to_held(frames, cm.config.frame_steps, min(n, roll.n_steps))
    onsets = held & ~np.vstack([np.zeros((1, held.shape[1]), bool), held[:-1]])
    return PianoRoll(onsets=onsets, held=held, velocity=np.where(onsets, 64, 0).astype(np.uint8),
                     pedals=np.zeros((len(held), 2), np.uint8), settings=roll.settings)


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

    figures["chords"] = {}
    for g in genres:
        path = os.path.join(MODELS, f"chords-{g}.keras")
        if not os.path.exists(path):
            continue
        cm = ChordModel.load(path)
        cm.check_classifier(clf)
        idx = ds.select(g, "val")
        frames, embs = load_pieces(ds, idx, clf, cm.config.frame_steps)
        t0 = time.time()
        fig = {"likelihood": evaluate_chords(cm, frames, embs, np.array(cm.meta["base_rates"]),
                                             np.array(cm.meta["markov"]))}
        fig["likelihood"]["seconds"] = round(time.time() - t0, 1)
        real = [texture_stats(f, cm.settings.pitch_low) for f in frames]
        typical = {k: [float(np.nanpercentile([r[k] for r in real], 5)), float(np.nanpercentile([r[k] for r in real], 95))]
                   for k in STATS}
        fig["real_texture"] = {"median": {k: float(np.nanmedian([r[k] for r in real])) for k in STATS},
                               "typical_range_p5_p95": typical}
        for src in genres:
            rolls = [ds.piece(i) for i in ds.select(src, "val")]
            t0 = time.time()
            tr = transfer(cm, clf, rolls, seconds=args.seconds, seed=args.seed)
            tr["seconds_per_piece"] = round((time.time() - t0) / max(len(rolls), 1), 3)
            tex = tr.pop("texture")
            tr["texture_median"] = {k: float(np.nanmedian([t[k] for t in tex])) for k in STATS}
            tr["share_within_typical_range"] = {
                k: float(np.mean([typical[k][0] <= t[k] <= typical[k][1] for t in tex])) for k in STATS}
            tr["share_plausible"] = float(np.mean([all(typical[k][0] <= t[k] <= typical[k][1]
                                                       for k in ("polyphony", "pitch_p5", "pitch_p95")) for t in tex]))
            tr["inspirations_classified_target"] = float(np.mean([clf.predict(r)["genre"] == g for r in rolls]))
            tr.pop("p_target")
            tr.pop("predicted")
            fig[f"from_{src}"] = tr
        rolls = [ds.piece(i) for i in idx]
        fig["real_excerpts_through_codec_classified_target"] = float(np.mean(
            [clf.predict(codec_excerpt(r, cm, args.seconds))["genre"] == g for r in rolls]))
        figures["chords"][g] = fig
        lk = fig["likelihood"]
        print(f"chords-{g}: NLL/frame model {lk['model']['nll_per_frame']:.3f}, markov {lk['markov']['nll_per_frame']:.3f}, "
              f"base rate {lk['base_rate']['nll_per_frame']:.3f}; F1 model {lk['model']['f1']:.3f}, markov "
              f"{lk['markov']['f1']:.3f}, base rate (best threshold) {lk['base_rate']['f1_best_threshold'][0]:.3f}")
        for src in genres:
            t = fig[f"from_{src}"]
            print(f"  from {src}: {100 * t['share_target']:.1f} % classified {g} (mean p {t['mean_p_target']:.3f}), "
                  f"plausible {100 * t['share_plausible']:.0f} %, texture {t['texture_median']}")
        print(f"  real {g} excerpts through the codec: {100 * fig['real_excerpts_through_codec_classified_target']:.1f} %")
    with open(os.path.join(MODELS, "symbolic-figures.json"), "w") as fh:
        json.dump(figures, fh, indent=1)
    write_classifier_card(clf, figures)
    for g in figures["chords"]:
        write_chords_card(g, ChordModel.load(os.path.join(MODELS, f"chords-{g}.keras")), clf, figures)


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


def write_chords_card(g, cm, clf, figures):
    meta, cfg, tr = cm.meta, cm.meta["config"], cm.meta["training"]
    f = figures["chords"][g]
    lk = f["likelihood"]
    other = [x for x in clf.genres if x != g]
    rt = f["real_texture"]

    def tex_row(name, t):
        return (f"| {name} | {t['polyphony']:.2f} | {100 * t['silence']:.0f} % | {t['pitch_mean']:.1f} | "
                f"{t['pitch_p5']:.0f}..{t['pitch_p95']:.0f} | {t['note_rate']:.2f} |")

    rows_tex = [tex_row(f"real {g} validation pieces (median)", rt["median"])]
    for src in clf.genres:
        rows_tex.append(tex_row(f"generated from {src} inspirations (median)", f[f"from_{src}"]["texture_median"]))
    typ = rt["typical_range_p5_p95"]
    transfer_rows = "\n".join(
        f"| {src} -> {g} | {f[f'from_{src}']['pieces']} | **{100 * f[f'from_{src}']['share_target']:.1f} %** | "
        f"{f[f'from_{src}']['mean_p_target']:.3f} | {100 * f[f'from_{src}']['inspirations_classified_target']:.1f} % | "
        f"{100 * f[f'from_{src}']['share_within_typical_range']['polyphony']:.0f} % | "
        f"{100 * f[f'from_{src}']['share_plausible']:.0f} % |" for src in other + [g])
    bt = lk["base_rate"]["f1_best_threshold"]
    text = f"""# Chord generator: {g}

An LSTM over the held ("chords") matrix of {g} piano, started from the style embedding of an
inspiration piece: `midistyle chords --inspire IN.mid --style {g}`. Files: `chords-{g}.keras` (Keras 3),
`chords-{g}.json` (settings, classifier fingerprint, base rates, figures), `chords-{g}.npz` (weights
for the NumPy runtime used for generation: no TensorFlow), `chords-{g}.log.csv`, `chords-{g}.loss.png`.

## Data
{ATTRIBUTION} — the {g} pieces of `../shared/data/tpd`, built with `bash datasets/build_tpd.sh`
(duplicates kept once, split **by piece** with seed 0, 15 % validation). Train pieces:
{meta['data']['train_pieces']} ({meta['data']['train_frames']} frames); validation pieces: {meta['data']['val_pieces']} ({meta['data']['val_frames']} frames).

## Model and settings
- One model per target genre (not one genre-conditioned model): midistyle is organised per genre
  (velocity models, registry, `--style`), a genre can be added or retrained alone, and each model
  spends its whole capacity on one genre's texture.
- Frames of {meta['frame_seconds'] * 1000:.0f} ms ({cfg['frame_steps']} steps of the 25 ms roll); a key is held in a frame when it
  sounds for at least half of it. Input: the previous frame (silence first), 88 keys.
- LSTM {cfg['units']} units. Its initial hidden state (Dense, tanh) and cell state (Dense, linear) are learned
  from the **classifier embedding** ({meta['classifier']['embedding_dim']}-d, classifier `{meta['classifier']['fingerprint']}`) of the piece being
  modelled (dropout {cfg['cond_dropout']} on it in training). Output: Dense over the LSTM output and the
  input frame -> one logit per key; sigmoid probabilities, binary cross-entropy.
- Generation: all 88 keys of a frame are drawn at once (Bernoulli, `sigmoid(logit / temperature)`), the
  drawn frame is fed back; held runs become notes; velocities from `velocity-{g}.keras`.
- Training: windows of {cfg['seq_len']} frames ({cfg['seq_len'] * meta['frame_seconds']:.1f} s) from random offsets, pieces weighted by
  length, each started from its piece's embedding; batch {cfg['batch_size']}, Adam lr {cfg['learning_rate']} (halved on
  plateau), early stopping on validation loss (patience {cfg['patience']}), seed {cfg['seed']}. {tr['epochs_run']} epochs x
  {tr['steps_per_epoch']} steps in **{tr['seconds']:.0f} s** (+{tr['load_seconds']:.0f} s loading and embedding) on the shared 2 CPU cores
  ({tr['frames_per_s']:.0f} frames/s).

## Validation: likelihood ({lk['pieces']} pieces, {lk['frames']} frames, teacher forcing)
Each validation piece is cut into {cfg['seq_len']}-frame windows started from the piece's embedding.

| method | NLL (nats / frame) | NLL (nats / key) | F1 (held keys, p >= 0.5) | precision | recall |
|---|---|---|---|---|---|
| **model** | **{lk['model']['nll_per_frame']:.3f}** | {lk['model']['nll_per_cell']:.4f} | **{lk['model']['f1']:.3f}** | {lk['model']['precision']:.3f} | {lk['model']['recall']:.3f} |
| base rate per key | {lk['base_rate']['nll_per_frame']:.3f} | {lk['base_rate']['nll_per_cell']:.4f} | {lk['base_rate']['f1']:.3f} (best threshold {bt[1]:.3f}: {bt[0]:.3f}) | {lk['base_rate']['precision']:.3f} | {lk['base_rate']['recall']:.3f} |
| Markov chain per key | {lk['markov']['nll_per_frame']:.3f} | {lk['markov']['nll_per_cell']:.4f} | {lk['markov']['f1']:.3f} | {lk['markov']['precision']:.3f} | {lk['markov']['recall']:.3f} |

Base rate: each key's share of held frames in the training pieces. Markov chain: per key,
P(held | held / not held in the previous frame) from the training pieces (a stronger simple
baseline: most frames repeat the previous one). The base rate at its best threshold is an oracle
choice on validation, in the baseline's favour.

## Validation: style transfer ({figures['seconds']:g} s per piece, seed {figures['seed']} + piece index)
Every validation piece of the source genre inspires one generated piece; the classifier judges it.

| inspirations | pieces | classified {g} | mean P({g}) | inspirations themselves classified {g} | polyphony in typical range | polyphony and register in typical range |
|---|---|---|---|---|---|---|
{transfer_rows}

Ceiling: real {g} validation excerpts ({figures['seconds']:g} s) passed through the same chord codec are classified {g}
in {100 * f['real_excerpts_through_codec_classified_target']:.1f} % of pieces.

## Plausibility: polyphony and register
| pieces | polyphony (keys held per sounding frame) | silent frames | mean pitch | pitch 5..95 % | note starts / frame |
|---|---|---|---|---|---|
{chr(10).join(rows_tex)}

Typical range of real {g} validation pieces (5th..95th percentile over pieces): polyphony
{typ['polyphony'][0]:.2f}..{typ['polyphony'][1]:.2f}, mean pitch {typ['pitch_mean'][0]:.1f}..{typ['pitch_mean'][1]:.1f}, low end (5 %) {typ['pitch_p5'][0]:.0f}..{typ['pitch_p5'][1]:.0f},
high end (95 %) {typ['pitch_p95'][0]:.0f}..{typ['pitch_p95'][1]:.0f}.

## Limits
- Held notes only: a key re-struck without a gap of half a frame merges into one long note; no pedal.
- Keys of a frame are drawn independently given the LSTM state, so chords are not voiced as a unit.
- The inspiration only sets the initial state; after a few seconds the output is the target genre's
  texture, with little of the inspiration left.

## Reproduce
`bash models/train_symbolic.sh`, then `python models/evaluate_symbolic.py`.
"""
    with open(os.path.join(MODELS, f"chords-{g}.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
