"""Judging generated music with judges the generator was not trained against.

The chord generators start from the genre classifier's embedding, so that classifier approving
their output proves little. Here:

- an **independent content judge**: a logistic regression on :func:`content_statistics` of 20 s
  windows (density, polyphony, note lengths, register, key-free pitch-class profile, intervals,
  onset gaps, chords, pedal; no velocities, nothing shared with the classifier), fitted on real
  training pieces of every genre (:func:`fit_content_judge`);
- a **real-vs-generated discriminator**: a logistic regression on the same statistics plus the
  velocity mean and spread, cross-validated (:func:`discriminator_balanced_accuracy`), a second one
  of another model family on the same rows (gradient-boosted trees, scikit-learn's
  ``HistGradientBoostingClassifier``: it finds combinations a linear judge cannot), and the
  statistics that tell the two apart most (:func:`separators`);
- texture figures of generated against real pieces (:func:`texture_figures`), how much the
  output keeps of its inspiration's pitch-class profile (:func:`inspiration_link`), and whether a
  long draw keeps its texture or drifts away from it (:func:`steadiness`).
"""
from __future__ import annotations

import numpy as np

from ..chords.calibrate import draw_blocks
from ..chords.frames import roll_frames
from ..chords.generation import compose, inspiration_key
from ..chords.harmony import key_profile_matrix
from ..codec import io as mio
from ..codec.pianoroll import PianoRoll, encode
from .notefeatures import CONTENT_FEATURE_NAMES, VelocityJudge, content_statistics

__all__ = ["window_starts", "fit_content_judge", "texture_figures", "generation_row",
           "discriminator_balanced_accuracy", "separators", "inspiration_link", "evaluate_generation",
           "steadiness", "GENERATION_ROW_NAMES", "DISCRIMINATORS", "key_profiles", "window_keys", "coherence",
           "repetition", "compare_coherence", "related_keys", "COHERENCE_NAMES"]

#: Texture figures compared between generated and real music.
TEXTURE_NAMES = ["polyphony", "notes_per_s", "note_seconds", "velocity_std", "pedal_share"]
#: What each column of :func:`generation_row` is.
GENERATION_ROW_NAMES = list(CONTENT_FEATURE_NAMES) + ["velocity_mean", "velocity_std"]


def window_starts(roll: PianoRoll, seconds: float, max_windows: int) -> list:
    """Start (s) of up to ``max_windows`` non-overlapping windows of ``seconds`` spread over the piece."""
    n = int(roll.duration // seconds)
    if n <= 0:
        return [0.0]
    pick = np.unique(np.linspace(0, n - 1, min(n, max_windows)).round().astype(int))
    return [float(k * seconds) for k in pick]


def fit_content_judge(rolls_by_genre: dict, *, seconds: float = 20.0, max_windows: int = 6) -> VelocityJudge:
    """Logistic regression from :func:`content_statistics` of windows to genre."""
    feats, labels = [], []
    for g, rolls in rolls_by_genre.items():
        for r in rolls:
            for a in window_starts(r, seconds, max_windows):
                feats.append(content_statistics(r, a, seconds))
                labels.append(g)
    return VelocityJudge().fit(np.array(feats), labels)


def texture_figures(roll: PianoRoll, start: float = 0.0, seconds: float | None = None) -> dict:
    """Polyphony (mean sounding keys over sounding steps), notes per second, median note length (s),
    velocity std and sustain-pedal share of a stretch of a piece."""
    s = roll.settings
    a, b = roll.step_span(start, seconds)
    per = roll.held[a:b].sum(1)
    m = roll.starting_in(a, b)
    n = roll.notes[m]
    return {"polyphony": float(per[per > 0].mean()) if (per > 0).any() else 0.0,
            "notes_per_s": float(len(n) / max((b - a) * s.step, 1e-3)),
            "note_seconds": float(np.median(n["end"] - n["start"])) if len(n) else 0.0,
            "velocity_std": float(n["velocity"].std()) if len(n) else 0.0,
            "pedal_share": float(np.mean(roll.pedals[a:b, 0] >= 64)) if b > a else 0.0}


def generation_row(roll: PianoRoll, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """Discriminator features: :func:`content_statistics` plus velocity mean and spread."""
    a, b = roll.step_span(start, seconds)
    m = roll.starting_in(a, b)
    v = roll.notes["velocity"][m].astype(np.float64)
    vel = [v.mean() / 127.0, v.std() / 30.0] if len(v) else [0.0, 0.0]
    return np.concatenate([content_statistics(roll, start, seconds), vel])


#: Model families of :func:`discriminator_balanced_accuracy`.
DISCRIMINATORS = ("logistic", "boosted")


def discriminator_balanced_accuracy(real: np.ndarray, gen: np.ndarray, folds: int = 5, seed: int = 0, *,
                                    family: str = "logistic") -> float:
    """Cross-validated balanced accuracy of a classifier telling real rows from generated ones
    (0.5 = indistinguishable): ``family`` "logistic" (a logistic regression) or "boosted"
    (gradient-boosted trees, 200 rounds of rate 0.05, seeded by ``seed``); the same folds."""
    if family not in DISCRIMINATORS:
        raise ValueError(f"family must be one of {DISCRIMINATORS}, got {family!r}")
    real, gen = np.asarray(real), np.asarray(gen)
    if min(len(real), len(gen)) < folds:
        return float("nan")
    rng = np.random.default_rng(seed)
    fr, fg = rng.permutation(len(real)) % folds, rng.permutation(len(gen)) % folds
    hit_r = hit_g = 0
    for f in range(folds):
        X = np.vstack([real[fr != f], gen[fg != f]])
        y = ["real"] * int((fr != f).sum()) + ["generated"] * int((fg != f).sum())
        if family == "logistic":
            predict = VelocityJudge().fit(X, y, iters=800).predict
        else:
            from sklearn.ensemble import HistGradientBoostingClassifier

            predict = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed).fit(X, y).predict
        hit_r += sum(p == "real" for p in predict(real[fr == f]))
        hit_g += sum(p == "generated" for p in predict(gen[fg == f]))
    return 0.5 * (hit_r / len(real) + hit_g / len(gen))


def separators(real: np.ndarray, gen: np.ndarray, *, top: int = 5) -> list:
    """The ``top`` columns of :func:`generation_row` rows that differ most between real and
    generated music, by standardised mean difference (generated minus real, over the pooled
    standard deviation; Cohen's d), largest ``|d|`` first.

    Returns a list of dicts ``feature`` (:data:`GENERATION_ROW_NAMES`), ``d``, ``generated``,
    ``real`` (the column means). Columns constant in both sets are left out.
    """
    real, gen = np.atleast_2d(np.asarray(real, np.float64)), np.atleast_2d(np.asarray(gen, np.float64))
    if real.shape[1] != len(GENERATION_ROW_NAMES) or gen.shape[1] != len(GENERATION_ROW_NAMES):
        raise ValueError(f"real and gen must be generation_row rows of {len(GENERATION_ROW_NAMES)} columns, "
                         f"got {real.shape[1]} and {gen.shape[1]}")
    if not (len(real) and len(gen)):
        return []
    pooled = np.sqrt(0.5 * (real.var(axis=0) + gen.var(axis=0)))
    diff = gen.mean(axis=0) - real.mean(axis=0)
    ok = pooled > 1e-12
    d = diff / np.where(ok, pooled, 1.0)
    order = [int(i) for i in np.argsort(-np.abs(d), kind="stable") if ok[i]][:top]
    return [{"feature": GENERATION_ROW_NAMES[i], "d": round(float(d[i]), 3),
             "generated": round(float(gen[:, i].mean()), 4), "real": round(float(real[:, i].mean()), 4)}
            for i in order]


def _pc_profile(roll: PianoRoll, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    a, b = roll.step_span(start, seconds)
    n = roll.notes[roll.starting_in(a, b)]
    w = np.maximum(n["end"] - n["start"], 0.05)
    return np.bincount(n["pitch"] % 12, weights=w, minlength=12)


#: Krumhansl-Kessler probe-tone profiles of C major and C minor (Krumhansl 1990).
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
#: Coherence figures (:func:`coherence`) compared between generated and real music.
COHERENCE_NAMES = ["key_clarity", "key_stability", "repetition"]
#: Seconds of the windows whose keys :func:`window_keys` finds.
KEY_WINDOW = 4.0


def key_profiles() -> np.ndarray:
    """The 24 Krumhansl-Kessler key profiles (24, 12), standardised: rows 0-11 the major keys on C..B,
    12-23 the minor keys (:func:`~midistyle.chords.harmony.key_profile_matrix`)."""
    return key_profile_matrix(KK_MAJOR, KK_MINOR)


def window_keys(roll: PianoRoll, start: float = 0.0, seconds: float | None = None, *,
                window: float = KEY_WINDOW) -> tuple:
    """Best key and its clarity in each ``window`` seconds of a stretch of a piece.

    Each window's pitch-class histogram weights a note by how long it sounds within the window;
    its correlation with the 24 :func:`key_profiles` gives the best key (0-11 major on C..B,
    12-23 minor) and the clarity (that best correlation). Windows without notes are left out.
    Returns ``(keys, clarity)`` int and float arrays.
    """
    a, b = roll.step_span(start, seconds)
    t0, t1 = a * roll.settings.step, b * roll.settings.step
    n = roll.notes[roll.in_range()]
    s, e = np.asarray(n["start"], np.float64), np.asarray(n["end"], np.float64)
    n_win = max(1, int((t1 - t0) // window))
    edges = t0 + window * np.arange(n_win + 1)
    # overlap (s) of each note with each window
    ov = np.clip(np.minimum(e[:, None], edges[None, 1:]) - np.maximum(s[:, None], edges[None, :-1]), 0.0, None)
    hist = np.zeros((n_win, 12))
    for pc in range(12):
        hist[:, pc] = ov[np.asarray(n["pitch"]) % 12 == pc].sum(axis=0)
    keep = hist.std(axis=1) > 0
    h = hist[keep]
    z = (h - h.mean(axis=1, keepdims=True)) / np.maximum(h.std(axis=1, keepdims=True), 1e-12)
    corr = z @ key_profiles().T / 12.0
    return corr.argmax(axis=1), corr.max(axis=1) if len(corr) else np.zeros(0)


def related_keys(k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
    """Whether keys (as :func:`window_keys` numbers them) are the same, a fifth apart in the same
    mode, or relative major / minor."""
    k1, k2 = np.asarray(k1), np.asarray(k2)
    m1, m2, t1, t2 = k1 // 12, k2 // 12, k1 % 12, k2 % 12
    same_mode = (m1 == m2) & (((t1 - t2) % 12 == 0) | ((t1 - t2) % 12 == 5) | ((t1 - t2) % 12 == 7))
    relative = (m1 != m2) & (np.where(m1 == 0, (t1 - t2) % 12, (t2 - t1) % 12) == 3)
    return same_mode | relative


def repetition(roll: PianoRoll, start: float = 0.0, seconds: float | None = None, *, grid: float = 0.05,
               segment: float = 1.0, hop: float = 0.5, lags=(1.0, 4.0)) -> float:
    """Does a figure return? For every ``segment`` seconds (every ``hop``), the best match among
    the segments that began ``lags`` seconds before (every ``grid`` step of lag): the share of the
    segment's onsets (pitch and ``grid`` step, one step either side allowed) found again there,
    out of the larger of the two onset counts. The mean over the segments with onsets (NaN when
    none); a figure played again scores 1, unrelated notes near 0."""
    a, b = roll.step_span(start, seconds)
    n = roll.notes[roll.starting_in(a, b)]
    t0 = a * roll.settings.step
    T = int(np.ceil((b - a) * roll.settings.step / grid)) + 1
    on = np.zeros((T, 128), bool)
    if len(n):
        on[np.clip(((np.asarray(n["start"]) - t0) / grid).astype(int), 0, T - 1), np.asarray(n["pitch"])] = True
    wide = on.copy()
    wide[1:] |= on[:-1]
    wide[:-1] |= on[1:]
    seg, hp = int(round(segment / grid)), int(round(hop / grid))
    lo, hi = int(round(lags[0] / grid)), int(round(lags[1] / grid))
    scores = []
    for s in range(lo, T - seg + 1, hp):
        cur = on[s:s + seg]
        c = int(cur.sum())
        if not c:
            continue
        best = 0.0
        for lag in range(lo, min(hi, s) + 1):
            past = on[s - lag:s - lag + seg]
            hit = int((cur & wide[s - lag:s - lag + seg]).sum())
            best = max(best, hit / max(c, int(past.sum())))
        scores.append(best)
    return float(np.mean(scores)) if scores else float("nan")


def coherence(roll: PianoRoll, start: float = 0.0, seconds: float | None = None) -> dict:
    """Key clarity (mean over :data:`KEY_WINDOW` s windows of the best key-profile correlation;
    random pitches on the same rhythm score about 0.6), key stability (share of successive windows
    whose best keys are the same, a fifth apart or relative, :func:`related_keys`) and
    :func:`repetition` of a stretch of a piece (NaN where undefined)."""
    keys, clar = window_keys(roll, start, seconds)
    return {"key_clarity": float(clar.mean()) if len(clar) else float("nan"),
            "key_stability": float(related_keys(keys[:-1], keys[1:]).mean()) if len(keys) > 1 else float("nan"),
            "repetition": repetition(roll, start, seconds)}


def compare_coherence(real: list, generated: list) -> dict:
    """Mean of each :data:`COHERENCE_NAMES` figure over real and generated stretches (dicts of
    :func:`coherence`; NaNs left out), and their ratio generated / real."""
    out = {}
    for k in COHERENCE_NAMES:
        r = np.array([c[k] for c in real], np.float64)
        g = np.array([c[k] for c in generated], np.float64)
        rm = float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")
        gm = float(np.nanmean(g)) if np.isfinite(g).any() else float("nan")
        out[k] = {"generated": gm, "real": rm, "ratio": gm / rm if rm else float("nan")}
    return out


def inspiration_link(inspirations: list, generated: list, prime_seconds: float) -> dict:
    """Pitch-class profile correlation of each output with its inspiration (the first
    ``max(prime_seconds, 20)`` seconds) against the mean with the other inspirations."""
    span = max(prime_seconds, 20.0)
    ins = [_pc_profile(r, 0.0, span) for r in inspirations]
    out = [_pc_profile(g) for g in generated]

    def corr(x, y):
        return float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else 0.0

    own = [corr(i, o) for i, o in zip(ins, out)]
    other = [np.mean([corr(ins[j], o) for j in range(len(ins)) if j != k]) for k, o in enumerate(out)]
    return {"own": float(np.mean(own)), "other": float(np.mean(other)),
            "share_own_higher": float(np.mean(np.array(own) > np.array(other)))}


def evaluate_generation(cm, clf, inspirations: list, real: list, judge: VelocityJudge | None, *,
                        velocity_model=None, seconds: float = 20.0, seed: int = 0,
                        temperature: float = 1.0, prime: float = 0.0, feedback: float | None = None,
                        event_bias: float | None = None) -> dict:
    """Generate ``seconds`` from each inspiration (Performances, or PianoRolls on the model's grid)
    with chord model ``cm`` and judge it.

    ``real`` are PianoRolls of real pieces of the target genre (one window of ``seconds`` from
    each, a third of the way in, for the discriminator and the texture figures). ``feedback``,
    ``event_bias``: as for the model's ``sample`` (default its ``habit_feedback`` and ``event_bias``).
    A generator whose harmony reads keys is told each inspiration's key (:func:`~midistyle.chords.generation.inspiration_key`).

    Returns
    -------
    dict
        ``judged_target`` (share the content judge assigns to ``cm.genre``; None without a judge),
        ``discriminator`` (balanced accuracy, logistic), ``discriminator_boosted`` (the same with
        gradient-boosted trees), ``texture`` (median generated / real of
        :data:`TEXTURE_NAMES`), ``coherence`` (:func:`compare_coherence`: key clarity, key
        stability and repetition, generated / real), ``separators`` (:func:`separators`: what tells the generated
        windows from the real ones most), ``link`` (:func:`inspiration_link`), ``pieces``.
    """
    gen_rolls, ins_rolls, pairs = [], [], []
    for k, perf in enumerate(inspirations):
        roll = perf if isinstance(perf, PianoRoll) else encode(perf, cm.settings)
        primer = None
        if prime > 0:
            primer = roll_frames(roll, cm.config.frame_steps)[:max(1, int(round(prime / cm.frame_seconds)))]
        emb = clf.embed(roll if isinstance(perf, PianoRoll) else encode(perf, clf.settings))
        midi, _, notes = compose(cm, emb, seconds, seed=seed + k,
                                 temperature=temperature, prime=primer, velocity_model=velocity_model,
                                 feedback=feedback, event_bias=event_bias, key=inspiration_key(cm, roll))
        ins_rolls.append(roll)
        if notes:
            gen_rolls.append(encode(mio.performance_from_midifile(midi, "generated"), cm.settings))
            pairs.append((roll, gen_rolls[-1]))
    real_starts = [min(r.duration / 3, max(r.duration - seconds, 0.0)) for r in real]
    tex_real = [texture_figures(r, a, seconds) for r, a in zip(real, real_starts)]
    tex_gen = [texture_figures(g) for g in gen_rolls]
    texture = {k: {"generated": float(np.median([t[k] for t in tex_gen])) if tex_gen else float("nan"),
                   "real": float(np.median([t[k] for t in tex_real]))} for k in TEXTURE_NAMES}
    for v in texture.values():
        v["ratio"] = v["generated"] / v["real"] if v["real"] else float("nan")
    coh = compare_coherence([coherence(r, a, seconds) for r, a in zip(real, real_starts)],
                            [coherence(g) for g in gen_rolls])
    width = len(GENERATION_ROW_NAMES)
    rows_real = np.array([generation_row(r, a, seconds) for r, a in zip(real, real_starts)]).reshape(-1, width)
    rows_gen = np.array([generation_row(g) for g in gen_rolls]).reshape(-1, width)
    res = {"pieces": len(inspirations), "generated_with_notes": len(gen_rolls), "seconds": seconds,
           "seed": seed, "temperature": temperature, "prime": prime,
           "feedback": cm.habit_feedback if feedback is None else feedback,
           "event_bias": cm.event_bias if event_bias is None else event_bias, "texture": texture,
           "coherence": coh,
           "discriminator": discriminator_balanced_accuracy(rows_real, rows_gen),
           "discriminator_boosted": discriminator_balanced_accuracy(rows_real, rows_gen, family="boosted"),
           "separators": separators(rows_real, rows_gen),
           "link": inspiration_link([a for a, _ in pairs], [b for _, b in pairs], prime) if len(pairs) > 1 else None,
           "judged_target": None}
    if judge is not None and gen_rolls:
        res["judged_target"] = float(np.mean([p == cm.genre for p in judge.predict(
            np.array([content_statistics(g) for g in gen_rolls]))]))
    return res


def steadiness(cm, embeddings: list, real: list, *, seconds: float = 60.0, block: float = 10.0, seed: int = 0,
               feedback: float | None = None, event_bias: float | None = None) -> dict:
    """Does a long draw keep its texture? Notes per second and sustain-pedal share of each
    ``block`` of a ``seconds`` draw from each embedding (seed ``seed + k``), medians over the
    draws, against the medians of the same blocks of the real pieces ``real`` (PianoRolls, long
    enough ones only; from a third of the way in). ``feedback``, ``event_bias``: as for the model's
    ``sample`` (default its :attr:`habit_feedback` and :attr:`event_bias`).

    Returns
    -------
    dict
        ``block_seconds``, ``generated`` and ``real``: ``notes_per_s`` and ``pedal_share`` per block.
    """

    fb = cm.habit_feedback if feedback is None else feedback
    drawn = draw_blocks(cm, embeddings, seconds=seconds, block=block, seed=seed, feedback=fb, event_bias=event_bias)
    n_blocks = drawn.shape[1]
    out = {"block_seconds": block, "seconds": n_blocks * block, "feedback": fb,
           "event_bias": cm.event_bias if event_bias is None else event_bias}
    gen = drawn.tolist()
    rows = []
    for r in real:
        a0 = r.duration / 3
        if r.duration - a0 < n_blocks * block:
            continue
        tex = [texture_figures(r, a0 + b * block, block) for b in range(n_blocks)]
        rows.append([(t["notes_per_s"], t["pedal_share"]) for t in tex])
    for name, table in (("generated", gen), ("real", rows)):
        arr = np.array(table, np.float64).reshape(-1, n_blocks, 2) if table else np.full((1, n_blocks, 2), np.nan)
        out[name] = {"notes_per_s": np.round(np.median(arr[:, :, 0], axis=0), 2).tolist(),
                     "pedal_share": np.round(np.median(arr[:, :, 1], axis=0), 3).tolist(), "pieces": len(table)}
    return out
