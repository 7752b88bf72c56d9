"""Judging a velocity model: note-level errors, real-vs-sampled discriminators, the choice of its
sampling temperatures on validation performances, and the genre level a score is brought to."""
from __future__ import annotations

import numpy as np

from ..codec.pianoroll import encode
from ..errors import InputError
from ..judges.notefeatures import RidgeBaseline, VelocityJudge, judge_statistics, velocity_profile
from .inputs import NOTE_INPUT_NAMES, SCORE_BLIND_INPUTS, note_beats, note_beats_of, note_inputs, playing_order
from .model import VelocityModel


def note_metrics(true: np.ndarray, pred: np.ndarray) -> dict:
    """RMSE, MAE and Pearson r of predicted against true note velocities."""
    true = np.asarray(true, np.float64)
    pred = np.asarray(pred, np.float64)
    err = pred - true
    r = float(np.corrcoef(true, pred)[0, 1]) if np.std(true) > 0 and np.std(pred) > 0 else float("nan")
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))), "r": r, "notes": int(len(true))}


def error_split(trues: list, preds: list) -> dict:
    """Where the squared error of per-piece predictions comes from: ``rmse_piece_level`` (how far
    each piece's mean prediction is from its mean velocity: how loud the piece is overall) and
    ``rmse_within_piece`` (the rest), with ``rmse**2 = piece_level**2 + within_piece**2`` over all notes."""
    n = sum(len(t) for t in trues)
    piece = within = 0.0
    for t, q in zip(trues, preds):
        e = np.asarray(q, np.float64) - np.asarray(t, np.float64)
        b = e.mean()
        piece += len(e) * b * b
        within += float(np.sum((e - b) ** 2))
    return {"rmse_piece_level": float(np.sqrt(piece / max(n, 1))), "rmse_within_piece": float(np.sqrt(within / max(n, 1)))}


def _lag1(v: np.ndarray) -> float:
    v = np.asarray(v, np.float64)
    if len(v) < 4 or v[:-1].std() < 1e-9 or v[1:].std() < 1e-9:
        return 0.0
    return float(np.corrcoef(v[:-1], v[1:])[0, 1])


def discriminator_accuracy(real: np.ndarray, fake: np.ndarray, folds: int = 10) -> float:
    """Cross-validated accuracy of a logistic regression telling real from restyled pieces.

    ``real[k]`` and ``fake[k]`` are feature rows (:func:`midistyle.judges.notefeatures.velocity_profile`)
    of the same piece; folds hold out a piece's two versions together. 0.5 = indistinguishable.
    """
    n = len(real)
    if n < 4:
        return float("nan")
    folds = min(folds, n)
    fold = np.arange(n) % folds
    correct = 0
    for f in range(folds):
        tr, te = fold != f, fold == f
        X = np.vstack([real[tr], fake[tr]])
        y = ["real"] * int(tr.sum()) + ["restyled"] * int(tr.sum())
        judge = VelocityJudge().fit(X, y, iters=800)
        correct += sum(p == "real" for p in judge.predict(real[te]))
        correct += sum(p == "restyled" for p in judge.predict(fake[te]))
    return correct / (2 * n)


def calibrate_sampling(model: VelocityModel, rolls, *, temperatures=(0.95, 1.1, 1.2),
                       chord_temperatures=(0.4, 0.55, 0.75, 0.95), seeds: int = 3, beats=None,
                       spread=(0.85, 1.15)) -> dict:
    """Choose the model's sampling temperatures on validation performances.

    For each pair of a temperature (top note of each onset) and a chord temperature (the other
    notes of a chord), both relative to the trained distribution (``chord_temperatures=(None,)``:
    the same as the first), draw every piece with ``seeds`` seeds and measure the real-vs-sampled
    :func:`discriminator_accuracy` (mean over seeds) and the spread ratio (median std(sampled) /
    std(real)); the pair is then chosen by :func:`choose_sampling`.

    Returns
    -------
    dict
        ``{"table": [{temperature, chord_temperature, discriminator, discriminator_per_seed,
        spread_ratio}], "chosen": T, "chosen_chord": Tc, ...}``
    """
    keep = model.sampling_temperature, model.chord_temperature
    try:
        rolls = [r for r in rolls if r.in_range().sum() >= 2]
        b = beats if beats is not None else [note_beats(r) for r in rolls]
        real = np.array([velocity_profile(r) for r in rolls])
        table = []
        for t in temperatures:
            for tc in chord_temperatures:
                tc = t if tc is None else tc
                model.sampling_temperature, model.chord_temperature = t, tc
                accs, ratios = [], []
                for s in range(seeds):
                    fake, rat = [], []
                    for k, r in enumerate(rolls):
                        v = model.sample(r, beats=b[k], seed=1000 * s + k)
                        fake.append(velocity_profile(r, v))
                        m = r.in_range()
                        sd = r.notes["velocity"][m].std()
                        if sd > 0:
                            rat.append(v[m].std() / sd)
                    accs.append(discriminator_accuracy(real, np.array(fake)))
                    ratios.append(float(np.median(rat)))
                table.append({"temperature": t, "chord_temperature": tc, "discriminator": float(np.mean(accs)),
                              "discriminator_per_seed": [round(a, 3) for a in accs],
                              "spread_ratio": float(np.mean(ratios))})
    finally:
        model.sampling_temperature, model.chord_temperature = keep
    best = choose_sampling(table, spread=spread)
    return {"table": table, "chosen": best["temperature"], "chosen_chord": best["chord_temperature"],
            "seeds": seeds, "rule": f"one-standard-error rule on the discriminator, spread ratio in {list(spread)}"}


def choose_sampling(table: list, *, spread=(0.85, 1.15)) -> dict:
    """The row of a :func:`calibrate_sampling` table its figures support (one-standard-error rule).

    Among rows whose spread ratio lies within ``spread``, find the lowest mean discriminator
    accuracy and its standard error over seeds; of the rows within one standard error of it
    (indistinguishable given the seeds' noise), take the one closest to the trained distribution
    (smallest ``|1 - temperature| + |1 - chord_temperature|``; a row without a chord temperature
    uses its temperature for both).
    """
    ok = [row for row in table if spread[0] <= row["spread_ratio"] <= spread[1]] or table
    best = min(ok, key=lambda row: row["discriminator"])
    per = np.asarray(best["discriminator_per_seed"], np.float64)
    se = float(per.std(ddof=1) / np.sqrt(len(per))) if len(per) > 1 else 0.0
    near = [row for row in ok if row["discriminator"] <= best["discriminator"] + se]

    def change(row):
        t = row["temperature"]
        return abs(1.0 - t) + abs(1.0 - row.get("chord_temperature", t))

    chosen = dict(min(near, key=change))
    chosen.setdefault("chord_temperature", chosen["temperature"])
    return chosen


def choose_temperature(table: list, *, spread=(0.85, 1.15)) -> float:
    """The temperature of the row :func:`choose_sampling` picks."""
    return choose_sampling(table, spread=spread)["temperature"]


def evaluate(model: VelocityModel, rolls, names=None, *, beats=None, seed: int = 0,
             temperature: float = 1.0, judge=None) -> dict:
    """How ``model`` plays real performances, against the real velocities of the same notes.

    Note level (the expected velocity, :meth:`VelocityModel.mean`): RMSE / MAE / r of ``model``
    and of the baselines ``genre_mean``, ``piece_mean`` (each piece's own mean, an oracle) and
    ``local_regressor`` (ridge on local note features, when the model carries one); r is the
    within-piece correlation averaged over pieces; the RMSE split into its piece-level and
    within-piece parts (:func:`error_split`). Performance level (sampled with ``seed``):
    ``spread_ratio`` (median over pieces of std(sampled) / std(real)), lag-1 autocorrelation of
    successive notes (real vs sampled), negative log-likelihood per note (teacher forced, nats),
    ``discriminator`` (cross-validated real-vs-sampled accuracy on per-piece velocity statistics;
    0.5 = indistinguishable) and, with a ``judge`` (:class:`midistyle.judges.notefeatures.VelocityJudge`),
    the share of sampled pieces it assigns to the model's genre.
    """
    genre_mean = float(model.meta["genre_mean_velocity"])
    baseline = RidgeBaseline(model.meta["local_regressor"]) if model.meta.get("local_regressor") else None
    keys = ["model", "genre_mean", "piece_mean"] + (["local_regressor"] if baseline is not None else [])
    preds = {k: [] for k in keys}
    trues, per_piece, nll, n_nll = [], [], 0.0, 0
    spread, lag_real, lag_fake, prof_real, prof_fake, judge_feats = [], [], [], [], [], []
    for k, roll in enumerate(rolls):
        m = roll.in_range()
        true = roll.notes["velocity"][m].astype(np.float64)
        if len(true) < 2:
            continue
        b = beats[k] if beats is not None else note_beats(roll)
        p = {"model": model.mean(roll, beats=b)[m], "genre_mean": np.full(len(true), genre_mean),
             "piece_mean": np.full(len(true), true.mean())}
        if baseline is not None:
            p["local_regressor"] = baseline.predict(roll)[m]
        sampled = model.sample(roll, beats=b, seed=seed + k, temperature=temperature)
        ll = model.note_log_likelihood(roll, beats=b)
        nll -= float(ll.sum())
        n_nll += len(ll)
        order = playing_order(roll)
        sd = float(true.std())
        if sd > 0:
            spread.append(float(sampled[m].std()) / sd)
        lag_real.append(_lag1(roll.notes["velocity"][order]))
        lag_fake.append(_lag1(sampled[order]))
        prof_real.append(velocity_profile(roll))
        prof_fake.append(velocity_profile(roll, sampled))
        if judge is not None:
            judge_feats.append(judge_statistics(roll, sampled, n_features=len(judge.mean)))
        trues.append(true)
        for key in keys:
            preds[key].append(p[key])
        per_piece.append({"name": names[k] if names else str(k), "notes": int(len(true)),
                          "std_real": sd, "std_sampled": float(sampled[m].std()),
                          **{f"{key}_rmse": float(np.sqrt(np.mean((p[key] - true) ** 2))) for key in p}})
    if not trues:
        raise InputError("nothing to evaluate: no piece has notes in range")
    true_all = np.concatenate(trues)
    out = {"pieces": len(trues), "notes": int(len(true_all)), "methods": {}}
    for key, lst in preds.items():
        mm = note_metrics(true_all, np.concatenate(lst))
        rs = [np.corrcoef(t, q)[0, 1] for t, q in zip(trues, lst) if np.std(t) > 0 and np.std(q) > 0]
        mm["r"] = float(np.mean(rs)) if rs else float("nan")
        mm.update(error_split(trues, lst))
        out["methods"][key] = mm
    out["performance"] = {
        "seed": seed, "temperature": temperature,
        "spread_ratio": float(np.median(spread)) if spread else float("nan"),
        "lag1_real": float(np.mean(lag_real)), "lag1_sampled": float(np.mean(lag_fake)),
        "nll_per_note": nll / max(n_nll, 1),
        "discriminator": discriminator_accuracy(np.array(prof_real), np.array(prof_fake)),
    }
    if judge is not None:
        out["performance"]["judged_genre_share"] = float(np.mean(
            [g == model.genre for g in judge.predict(np.array(judge_feats))]))
    out["per_piece"] = per_piece
    return out


# ----------------------------------------------------------------------------- scores
def score_inputs_of(model: VelocityModel, performances) -> dict:
    """The genre's performances' typical values of :data:`SCORE_BLIND_INPUTS` (medians over
    ``performances``, real training pieces), which a score's notes are given instead."""
    ctx = np.array([note_inputs(encode(p, model.settings), note_beats_of(p))[0][0] for p in performances])
    out = {name: float(np.median(ctx[:, NOTE_INPUT_NAMES.index(name)])) for name in SCORE_BLIND_INPUTS
           if name.startswith("ctx_")}
    out["sustain"] = 1.0 if out.get("ctx_sustain_share", 0.0) >= 0.5 else 0.0
    return out


def calibrate_scores(model: VelocityModel, performances: list, scores: list, *, seed: int = 0) -> dict:
    """``score_level`` of a model (:meth:`VelocityModel.score_target`), from the model playing
    ``scores`` (score-like versions of ``performances``, real training pieces) with its score inputs:
    ``level``, the median of the real pieces' mean velocities; ``drawn_level``, the median of the
    drawn ones; ``weight``, the least-squares slope of real on drawn piece means (clipped to 0..1:
    how much a score's draw says of its piece's level); ``spread``, the median ratio of real to
    drawn velocity spread."""
    real_m, drawn_m, ratios = [], [], []
    for k, (perf, sc) in enumerate(zip(performances, scores)):
        roll = encode(sc, model.settings)
        m = roll.in_range()
        v = model.sample(roll, beats=note_beats_of(sc), seed=seed + k, score=True)[m]
        real = perf.notes["velocity"][m].astype(np.float64)
        if len(v) < 16 or real.std() < 1 or v.std() < 1e-6:
            continue
        real_m.append(real.mean())
        drawn_m.append(v.mean())
        ratios.append(real.std() / v.std())
    r, d = np.array(real_m), np.array(drawn_m)
    weight = float(np.clip(np.cov(d, r)[0, 1] / max(np.var(d, ddof=1), 1e-9), 0.0, 1.0)) if len(r) > 2 else 0.0
    return {"level": round(float(np.median(r)), 2), "drawn_level": round(float(np.median(d)), 2),
            "weight": round(weight, 3), "spread": round(float(np.median(ratios)), 3), "pieces": len(r), "seed": seed}
