"""What the notes tell: per-note and per-piece features, written once.

Used by the velocity model's inputs (piece context), the local-feature baseline regressor and
the velocity-only genre judge. Pure NumPy functions over a :class:`~midistyle.codec.pianoroll.PianoRoll`.
"""
from __future__ import annotations

import numpy as np

from ..codec.pianoroll import PianoRoll
from ..errors import ModelError

#: Names of :func:`piece_context` columns.
CONTEXT_NAMES = ["log_notes_per_s", "mean_polyphony", "mean_pitch", "pitch_spread", "mean_log_duration",
                 "sustain_share", "grid_regularity", "chord_onset_share"]
#: Names of :func:`note_table` columns.
NOTE_FEATURE_NAMES = ["pitch", "pitch_sq", "log_duration", "chord_size", "local_density", "top_of_chord",
                      "bottom_of_chord", "sustain"]


def _in_range_notes(roll: PianoRoll):
    m = roll.in_range()
    n = roll.notes[m]
    return n, roll.note_steps[m], m


def piece_context(roll: PianoRoll) -> np.ndarray:
    """Piece-level context the notes give (length :data:`CONTEXT_NAMES`), roughly 0..1 scaled.

    A window of a few seconds cannot tell how loud a piece is overall; these summarise the
    whole piece: density, polyphony, register, note lengths, pedalling, and how regular the
    timing is (step-sequenced files sit on a grid and tend to be played flat).
    """
    n, st, _ = _in_range_notes(roll)
    dur = max(roll.duration, 1e-3)
    if len(n) == 0:
        return np.zeros(len(CONTEXT_NAMES), np.float32)
    pitch = n["pitch"].astype(np.float64)
    logd = np.log1p(np.maximum(n["end"] - n["start"], 0.0))
    on_times = np.unique(np.round(n["start"], 3))
    ioi = np.diff(on_times)
    if len(ioi) > 2:
        vals, counts = np.unique(np.round(ioi, 3), return_counts=True)
        base = vals[np.argmax(counts)]
        ratio = ioi / max(base, 1e-3)
        grid = float(np.mean(np.abs(ratio - np.round(ratio)) < 0.02))
    else:
        grid = 0.0
    per_step = np.bincount(st, minlength=roll.n_steps)
    chord_share = float(np.sum(per_step[per_step >= 2]) / max(len(n), 1))
    return np.array([
        np.log1p(len(n) / dur) / 3.0,
        roll.held.sum(1).mean() / 5.0,
        pitch.mean() / 127.0,
        pitch.std() / 24.0,
        logd.mean(),
        float((roll.pedals[:, 0] >= 64).mean()),
        grid,
        chord_share,
    ], dtype=np.float32)


def note_table(roll: PianoRoll, density_window: float = 1.0) -> tuple:
    """Local features of each in-range note.

    Returns
    -------
    X : float array (N, len(NOTE_FEATURE_NAMES))
        pitch/127, its square, log duration, chord size (onsets in the same step), local
        density (onsets per second within +-density_window s), top / bottom of its chord,
        sustain pedal down at the onset.
    mask : bool array over ``roll.notes``
        Which notes the rows describe (notes inside the pitch range).
    """
    n, st, m = _in_range_notes(roll)
    T = roll.n_steps
    per_step = np.bincount(st, minlength=T).astype(np.float64)
    w = max(1, int(round(density_window / roll.settings.step)))
    cum = np.concatenate([[0.0], np.cumsum(per_step)])
    lo = np.clip(st - w, 0, T)
    hi = np.clip(st + w + 1, 0, T)
    density = (cum[hi] - cum[lo]) / (2 * density_window)
    pitch = n["pitch"].astype(np.float64)
    # top / bottom of chord: highest / lowest pitch among onsets of the same step
    order = np.lexsort((pitch, st))
    top = np.zeros(len(n))
    bottom = np.zeros(len(n))
    if len(n):
        s_sorted = st[order]
        last = np.append(s_sorted[1:] != s_sorted[:-1], True)
        first = np.insert(s_sorted[1:] != s_sorted[:-1], 0, True)
        top[order[last]] = 1.0
        bottom[order[first]] = 1.0
    X = np.stack([
        pitch / 127.0, (pitch / 127.0) ** 2,
        np.log1p(np.maximum(n["end"] - n["start"], 0.0)),
        per_step[st] / 4.0, density / 10.0, top, bottom,
        (roll.pedals[np.minimum(st, T - 1), 0] >= 64).astype(np.float64),
    ], axis=1)
    return X, m


class RidgeBaseline:
    """Per-genre linear regressor of velocity on :func:`note_table` features (the quality bar)."""

    def __init__(self, coef=None):
        self.coef = None if coef is None else np.asarray(coef, np.float64)

    def fit(self, rolls, alpha: float = 1.0) -> "RidgeBaseline":
        """Least squares with an L2 penalty over all in-range notes of ``rolls``."""
        Xs, ys = [], []
        for r in rolls:
            X, m = note_table(r)
            Xs.append(X)
            ys.append(r.notes["velocity"][m].astype(np.float64))
        X = np.concatenate(Xs)
        X1 = np.hstack([np.ones((len(X), 1)), X])
        y = np.concatenate(ys)
        reg = alpha * np.eye(X1.shape[1])
        reg[0, 0] = 0
        self.coef = np.linalg.solve(X1.T @ X1 + reg, X1.T @ y)
        return self

    def predict(self, roll) -> np.ndarray:
        """Velocity of every note of ``roll.notes`` (out-of-range notes keep theirs)."""
        X, m = note_table(roll)
        out = roll.notes["velocity"].astype(np.float64).copy()
        out[m] = np.hstack([np.ones((len(X), 1)), X]) @ self.coef
        return np.clip(out, 1, 127)


#: Names of :func:`velocity_relations` columns.
JUDGE_FEATURE_NAMES = ["vel_mean", "vel_std", "corr_pitch", "corr_duration", "corr_chord", "corr_density",
                       "top_minus_chord", "lag1_autocorr", "vel_iqr", "corr_sustain"]


def safe_corr(a, b) -> float:
    """Pearson correlation of two arrays; 0 when either is (nearly) constant or too short."""
    if len(a) < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def velocity_relations(roll: PianoRoll, velocities=None) -> np.ndarray:
    """How velocities relate to the notes of one piece (features of the velocity-only judge).

    Only velocity statistics and velocity-vs-note relations: nothing here describes the notes
    alone, so a judge on these looks at how the piece is *played*, not what is played.
    """
    X, m = note_table(roll)
    v = (roll.notes["velocity"] if velocities is None else np.asarray(velocities))[m].astype(np.float64)
    st = roll.note_steps[m]
    order = np.argsort(st, kind="stable")
    vs = v[order]
    # top note minus mean of its chord
    chord = X[:, 3] * 4.0 > 1
    if chord.any():
        sums = np.bincount(st, weights=v, minlength=roll.n_steps)
        cnt = np.bincount(st, minlength=roll.n_steps)
        tm = (X[:, 5] > 0) & chord
        top_minus = float(np.mean(v[tm] - sums[st[tm]] / cnt[st[tm]])) / 20.0 if tm.any() else 0.0
    else:
        top_minus = 0.0
    lag1 = safe_corr(vs[:-1], vs[1:]) if len(vs) > 3 else 0.0
    q75, q25 = np.percentile(v, [75, 25]) if len(v) else (0, 0)
    return np.array([
        v.mean() / 127.0, v.std() / 30.0, safe_corr(v, X[:, 0]), safe_corr(v, X[:, 2]), safe_corr(v, X[:, 3]),
        safe_corr(v, X[:, 4]), top_minus, lag1, (q75 - q25) / 30.0, safe_corr(v, X[:, 7]),
    ], dtype=np.float64)


class VelocityJudge:
    """Logistic regression from :func:`velocity_relations` to genre (binary or multinomial)."""

    def __init__(self, genres=None, mean=None, scale=None, W=None):
        self.genres = list(genres or [])
        self.mean = None if mean is None else np.asarray(mean)
        self.scale = None if scale is None else np.asarray(scale)
        self.W = None if W is None else np.asarray(W)

    def fit(self, feats: np.ndarray, labels: list, l2: float = 1e-2, iters: int = 3000, lr: float = 0.5):
        """Full-batch gradient descent on the softmax cross-entropy."""
        self.genres = sorted(set(labels))
        y = np.array([self.genres.index(g) for g in labels])
        self.mean = feats.mean(0)
        self.scale = feats.std(0) + 1e-6
        Z = np.hstack([np.ones((len(feats), 1)), (feats - self.mean) / self.scale])
        K = len(self.genres)
        W = np.zeros((Z.shape[1], K))
        Y = np.eye(K)[y]
        for _ in range(iters):
            P = self._softmax(Z @ W)
            grad = Z.T @ (P - Y) / len(Z) + l2 * np.vstack([np.zeros((1, K)), W[1:]])
            W -= lr * grad
        self.W = W
        return self

    @staticmethod
    def _softmax(a):
        a = a - a.max(1, keepdims=True)
        e = np.exp(a)
        return e / e.sum(1, keepdims=True)

    def proba(self, feats: np.ndarray) -> np.ndarray:
        """Genre probabilities, columns in :attr:`genres` order."""
        feats = np.atleast_2d(feats)
        Z = np.hstack([np.ones((len(feats), 1)), (feats - self.mean) / self.scale])
        return self._softmax(Z @ self.W)

    def predict(self, feats: np.ndarray) -> list:
        """Most probable genre of each row."""
        return [self.genres[i] for i in self.proba(feats).argmax(1)]

    def to_dict(self) -> dict:
        """JSON-ready parameters."""
        return {"genres": self.genres, "mean": self.mean.tolist(), "scale": self.scale.tolist(), "W": self.W.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "VelocityJudge":
        """Parameters from :meth:`to_dict`."""
        return cls(d["genres"], d["mean"], d["scale"], d["W"])


def load_judge(path) -> "VelocityJudge | None":
    """The judge saved at ``path`` (JSON with a ``params`` entry from :meth:`VelocityJudge.to_dict`), or None."""
    import json

    if path is None:
        return None
    try:
        with open(path) as fh:
            return VelocityJudge.from_dict(json.load(fh)["params"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable velocity judge ({exc})") from None


#: Names of :func:`velocity_profile` columns (the real-vs-restyled discriminator's features).
PROFILE_FEATURE_NAMES = JUDGE_FEATURE_NAMES + ["vel_p10", "vel_p90", "mean_abs_step", "lag4_autocorr", "vel_skew"]


def velocity_profile(roll: PianoRoll, velocities=None) -> np.ndarray:
    """:func:`velocity_relations` plus distribution and continuity statistics of one piece.

    Used to tell a real performance from a restyled one: spread (10th / 90th percentile),
    how far successive notes jump, slower continuity (lag-4 autocorrelation) and skewness.
    """
    rel = velocity_relations(roll, velocities)
    m = roll.in_range()
    v = (roll.notes["velocity"] if velocities is None else np.asarray(velocities))[m].astype(np.float64)
    vs = v[np.argsort(roll.note_steps[m], kind="stable")]
    if len(v) < 6:
        return np.concatenate([rel, np.zeros(5)])
    p10, p90 = np.percentile(v, [10, 90])
    sd = v.std()
    skew = float(np.mean(((v - v.mean()) / sd) ** 3)) if sd > 0 else 0.0
    return np.concatenate([rel, [p10 / 127.0, p90 / 127.0, np.mean(np.abs(np.diff(vs))) / 30.0,
                                 safe_corr(vs[:-4], vs[4:]), skew / 2.0]])


def judge_statistics(roll: PianoRoll, velocities=None, *, n_features: int = len(PROFILE_FEATURE_NAMES)) -> np.ndarray:
    """The row a velocity-only judge reads: :func:`velocity_profile` (how velocities relate to the
    notes, their spread and their continuity), or for a judge fitted on ``n_features`` =
    ``len(JUDGE_FEATURE_NAMES)`` columns, :func:`velocity_relations` alone."""
    if n_features == len(JUDGE_FEATURE_NAMES):
        return velocity_relations(roll, velocities)
    if n_features != len(PROFILE_FEATURE_NAMES):
        raise ValueError(f"n_features: a velocity judge reads {len(JUDGE_FEATURE_NAMES)} or "
                         f"{len(PROFILE_FEATURE_NAMES)} columns, not {n_features}")
    return velocity_profile(roll, velocities)


#: Names of :func:`content_statistics` columns.
CONTENT_FEATURE_NAMES = (["log_notes_per_s", "polyphony", "polyphony_std", "silence", "log_dur_median",
                          "log_dur_mean", "log_dur_std", "pitch_mean", "pitch_std", "pitch_p10", "pitch_p90"]
                         + [f"pc_rank{k}" for k in range(12)] + ["pc_entropy"]
                         + [f"interval_{b}" for b in ("0", "1-2", "3-4", "5-7", "8-12", "13+")]
                         + [f"ioi_{b}" for b in ("lt50ms", "50-100ms", "100-200ms", "200-400ms", "400-800ms", "ge800ms")]
                         + ["chord_onset_share", "sustain_share"])


def content_statistics(roll: PianoRoll, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """What is played in a stretch of a piece, never how loud (length :data:`CONTENT_FEATURE_NAMES`).

    Density, polyphony and silence, note lengths, register, the pitch-class profile sorted by
    weight (key-free) and its entropy, melodic intervals between successive onsets, the
    distribution of gaps between onsets, chordal onsets and sustain-pedal use, over the notes
    that start in ``[start, start + seconds)``. The features of the independent content judge
    and of the real-vs-generated discriminator of :mod:`midistyle.judges.chordeval`.
    """
    s = roll.settings
    a, b = roll.step_span(start, seconds)
    span = max((b - a) * s.step, 1e-3)
    m = roll.starting_in(a, b)
    n = roll.notes[m]
    st = roll.note_steps[m]
    per = roll.held[a:b].sum(1)
    sounding = per[per > 0]
    silence = float(np.mean(per == 0)) if len(per) else 1.0
    sustain = float(np.mean(roll.pedals[a:b, 0] >= 64)) if b > a else 0.0
    if len(n) < 2:
        out = np.zeros(len(CONTENT_FEATURE_NAMES))
        out[3], out[-1] = silence, sustain
        return out
    order = np.lexsort((n["pitch"], st))
    n, st = n[order], st[order]
    pitch = n["pitch"].astype(np.float64)
    logd = np.log(np.maximum(n["end"] - n["start"], 0.0) + 0.01)
    pc = np.bincount(n["pitch"] % 12, minlength=12).astype(np.float64)
    pc /= pc.sum()
    ent = -float(np.sum(pc[pc > 0] * np.log(pc[pc > 0]))) / np.log(12)
    iv = np.abs(np.diff(pitch))
    iv_hist = np.histogram(iv, bins=[-0.5, 0.5, 2.5, 4.5, 7.5, 12.5, 1e9])[0] / max(len(iv), 1)
    ioi = np.diff(np.unique(st) * s.step)
    ioi_hist = np.histogram(ioi, bins=[0, 0.05, 0.1, 0.2, 0.4, 0.8, 1e9])[0] / max(len(ioi), 1)
    cnt = np.bincount(st - a)
    return np.concatenate([
        [np.log1p(len(n) / span), sounding.mean() / 5.0 if len(sounding) else 0.0,
         sounding.std() / 5.0 if len(sounding) else 0.0, silence,
         np.median(logd), logd.mean(), logd.std(), pitch.mean() / 127.0, pitch.std() / 24.0,
         np.percentile(pitch, 10) / 127.0, np.percentile(pitch, 90) / 127.0],
        np.sort(pc)[::-1], [ent], iv_hist, ioi_hist,
        [float(np.sum(cnt[cnt >= 3]) / len(n)), sustain]])
