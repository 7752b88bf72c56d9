#!/usr/bin/env python3
"""Validation figures of the shipped velocity models, and their model cards.

For each genre model, on the dataset's validation pieces (never used for fitting):
note-level RMSE / MAE / r of the model against the genre mean, the local-feature regressor and
each piece's own mean (oracle). Then the transfer bar: a velocity-only judge (logistic
regression on how velocities relate to the notes, :func:`midistyle.notefeatures.velocity_relations`)
is fitted on the *training* pieces' real velocities of both genres, checked on the real
validation pieces, and asked to judge validation pieces restyled to the other genre.

Writes models/velocity-figures.json and models/velocity-GENRE.md.
Usage: python models/evaluate_velocity.py [work_data/tpd.h5]
"""
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from midistyle.dataset import Dataset  # noqa: E402
from midistyle.notefeatures import JUDGE_FEATURE_NAMES, VelocityJudge, velocity_relations  # noqa: E402
from midistyle.velocity import VelocityModel, evaluate  # noqa: E402

GENRES = ("classical", "jazz")


def main(data=os.path.join(ROOT, "work_data", "tpd.h5")):
    ds = Dataset(data)
    models = {g: VelocityModel.load(os.path.join(ROOT, "models", f"velocity-{g}.keras")) for g in GENRES}
    figures = {"dataset": os.path.basename(data), "genres": {}}
    val = {g: ds.select(g, "val", skip_constant=True) for g in GENRES}
    rolls = {g: [ds.piece(i) for i in val[g]] for g in GENRES}
    for g in GENRES:
        t0 = time.time()
        ev = evaluate(models[g], rolls[g], [ds.names[i] for i in val[g]])
        ev["seconds"] = round(time.time() - t0, 2)
        pp = ev.pop("per_piece")
        ev["share_pieces_model_beats_genre_mean"] = float(np.mean([p["model_rmse"] < p["genre_mean_rmse"] for p in pp]))
        ev["share_pieces_model_beats_piece_mean"] = float(np.mean([p["model_rmse"] < p["piece_mean_rmse"] for p in pp]))
        figures["genres"][g] = {"validation": ev}

    # velocity-only judge: fit on training pieces (real velocities), both genres
    feats, labels = [], []
    for g in GENRES:
        for i in ds.select(g, "train", skip_constant=True):
            feats.append(velocity_relations(ds.piece(i)))
            labels.append(g)
    judge = VelocityJudge().fit(np.array(feats), labels)
    real_acc = {}
    for g in GENRES:
        f = np.array([velocity_relations(r) for r in rolls[g]])
        real_acc[g] = float(np.mean([p == g for p in judge.predict(f)]))
    transfer = {}
    for src in GENRES:
        for dst in GENRES:
            if src == dst:
                continue
            f = np.array([velocity_relations(r, models[dst].predict_notes(r)) for r in rolls[src]])
            transfer[f"{src}->{dst}"] = float(np.mean([p == dst for p in judge.predict(f)]))
    # identity check: restyling a piece with its own genre's model should stay in genre
    same = {}
    for g in GENRES:
        f = np.array([velocity_relations(r, models[g].predict_notes(r)) for r in rolls[g]])
        same[f"{g}->{g}"] = float(np.mean([p == g for p in judge.predict(f)]))
    figures["judge"] = {"features": JUDGE_FEATURE_NAMES, "fitted_on": "training pieces, real velocities",
                        "accuracy_on_real_validation": real_acc,
                        "share_restyled_judged_target": transfer, "share_restyled_same_genre": same,
                        "params": judge.to_dict()}
    with open(os.path.join(ROOT, "models", "velocity-figures.json"), "w") as fh:
        json.dump(figures, fh, indent=1)
    for g in GENRES:
        write_card(g, models[g].meta, figures)
    print(json.dumps({g: figures["genres"][g]["validation"]["methods"] for g in GENRES}, indent=1))
    print(json.dumps({k: v for k, v in figures["judge"].items() if k != "params"}, indent=1))


def write_card(genre, meta, figures):
    v = figures["genres"][genre]["validation"]
    j = figures["judge"]
    cfg = meta["config"]
    tr = meta["training"]
    rows = "\n".join(f"| {k} | {m['rmse']:.2f} | {m['mae']:.2f} | {m['r']:.3f} |" for k, m in v["methods"].items())
    other = [g for g in GENRES if g != genre][0]
    text = f"""# Velocity model: {genre}

Predicts how hard each note is struck, so that `midistyle velocity --to {genre} IN.mid` makes a piece
play like {genre} piano. Files: `velocity-{genre}.keras` (Keras 3), `velocity-{genre}.json` (encoder
settings, features, baselines, figures), `velocity-{genre}.npz` (weights for the NumPy runtime used at
inference), `velocity-{genre}.log.csv` and `velocity-{genre}.loss.png` (training log and curves).

## Data
The Piano Dataset (TPD), Iman Malik, "Neural Translation of Musical Style" (Malik & Ek, 2017),
CC-BY 4.0 — `../shared/data/tpd/{genre}`. Built with `bash datasets/build_tpd.sh` (duplicates kept
once, split by piece with seed 0, 15 % validation). Pieces with one constant velocity are left out
({len(meta['data']['constant_velocity_left_out'])} here). Train pieces: {meta['data']['train_pieces']}; validation pieces: {meta['data']['val_pieces']}.

## Model and settings
- Architecture: `{cfg['arch']}` — dilated causal Conv1D stack (WaveNet style: gated tanh x sigmoid units,
  residual and skip connections), {cfg['stacks']} stacks x {cfg['layers_per_stack']} layers, dilations 1..{2 ** (cfg['layers_per_stack'] - 1)},
  {cfg['channels']} channels, kernel 2; receptive field {1 + 2 * sum(2 ** i for i in range(cfg['layers_per_stack'])) if cfg['stacks'] == 2 else 'see config'} steps; output delayed by
  {cfg['lookahead']} steps (reads {cfg['lookahead'] * meta['encoder']['step']:.1f} s ahead).
- Inputs per step: onsets, held notes, note duration at onsets (log s), sustain and soft pedal, and
  piece context ({', '.join(meta['context_features'])}) broadcast over time.
- Encoder: step {meta['encoder']['step']} s, pitches {meta['encoder']['pitch_low']}..{meta['encoder']['pitch_high']}.
- Loss: MSE on velocity/127 masked to onset cells{' plus the same MSE after removing each window mean (weights the relative dynamics inside a passage as much as the overall level)' if cfg.get('centered_loss') else ''}. Adam lr {cfg['learning_rate']}, batch {cfg['batch_size']} windows of
  {cfg['window']} steps, early stopping on validation loss (patience {cfg['patience']}), seed {cfg['seed']}.
- Training: {tr['epochs_run']} epochs x {tr['steps_per_epoch']} steps in {tr['seconds']:.0f} s on 2 CPU cores
  ({tr['frames_per_s']:.0f} frames/s, {tr['examples_per_s']:.1f} windows/s).

## Validation (note level, {v['pieces']} pieces, {v['notes']} notes)
| method | RMSE | MAE | r (within piece) |
|---|---|---|---|
{rows}

`genre_mean`: the training notes' mean velocity; `local_regressor`: ridge regression on local note
features (pitch, duration, chord size, local density, top/bottom of chord, sustain); `piece_mean`:
each piece's own mean velocity (an oracle that knows the answer's average).
Model beats the genre mean on {100 * v['share_pieces_model_beats_genre_mean']:.0f} % of pieces and the oracle on
{100 * v['share_pieces_model_beats_piece_mean']:.0f} %.

## Transfer (velocity-only judge)
A logistic regression on how velocities relate to the notes (no note-only features), fitted on the
training pieces of both genres: accuracy on real validation pieces {', '.join(f'{g} {100 * a:.0f} %' for g, a in j['accuracy_on_real_validation'].items())}.
Share of validation pieces judged as the target genre after restyling:
{other} -> {genre}: **{100 * j['share_restyled_judged_target'][f'{other}->{genre}']:.0f} %**;
{genre} -> {other}: {100 * j['share_restyled_judged_target'][f'{genre}->{other}']:.0f} %.

{arch_section(genre, meta)}
## Reproduce
`bash models/train_velocity.sh` then `python models/evaluate_velocity.py`.
"""
    with open(os.path.join(ROOT, "models", f"velocity-{genre}.md"), "w") as fh:
        fh.write(text)


def arch_section(genre, meta):
    """WaveNet vs BiLSTM on the same validation split, where a BiLSTM run was recorded."""
    path = os.path.join(ROOT, "models", f"compare-bilstm-{genre}.json")
    if not os.path.exists(path):
        return ""
    with open(path) as fh:
        b = json.load(fh)
    bv, bt, bc = b["validation"]["methods"]["model"], b["training"], b["config"]
    wv = meta["validation"]["methods"]["model"]
    return f"""## Architecture comparison (same validation split)
| arch | note RMSE | MAE | r | training |
|---|---|---|---|---|
| wavenet (shipped) | {wv['rmse']:.2f} | {wv['mae']:.2f} | {wv['r']:.3f} | {meta['training']['epochs_run']} epochs x {meta['training']['steps_per_epoch']} steps, {meta['training']['seconds']:.0f} s |
| bilstm (StyleNet style, 2 x BiLSTM({bc['lstm_units']})) | {bv['rmse']:.2f} | {bv['mae']:.2f} | {bv['r']:.3f} | {bt['epochs_run']} epochs x {bt['steps_per_epoch']} steps of {bc['window']}-step windows, {bt['seconds']:.0f} s |

The BiLSTM run (`midistyle train velocity work_data/tpd.h5 --genre {genre} --arch bilstm --epochs 6
--max-steps-per-epoch 60 --window 512`, recorded in `compare-bilstm-{genre}.json`) is
{bt['frames_per_s'] / max(meta['training']['frames_per_s'], 1):.2f}x the WaveNet's training speed in frames/s
and is worse on validation, so the WaveNet ships. (The BiLSTM run used v1 of the loss: plain masked MSE.)

"""


if __name__ == "__main__":
    main(*sys.argv[1:])
