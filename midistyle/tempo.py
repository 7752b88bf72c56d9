"""Tempo that breathes: a beat-level model of rubato, learned from performers' tempo maps.

About a quarter of TPD's classical files are sequenced: their notes sit on a 16th / triplet grid
of the file's beats and the performer's rubato lives in the tempo map. Per beat (a quarter note
of the file's ticks) this module reads what the score tells (:func:`beat_features`: onsets,
register, pitch range, harmonic change, note lengths, rests ahead, position in the bar and the
piece) and the **log beat period** relative to the piece's median (:func:`beat_curve`). A model of
the project's autoregressive WaveNet family (:func:`midistyle.nn.layers.build_autoregressive_wavenet`:
a non-causal stack over the beat features, a causal dilated stack over the periods played so far)
gives a categorical distribution over :attr:`TempoConfig.bins` classes of that deviation, drawn beat
by beat in NumPy (:class:`TempoModel`), seeded like the velocities. :func:`tempo_events` turns a
drawn curve into MIDI tempo events over the score's own ticks, so every note keeps its tick.

The beats assume quarter notes; bar positions assume 4/4 (every TPD file's time signature).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .beats import beat_curve, has_rubato, n_beats, on_beat_grid
from .judges.chordeval import discriminator_balanced_accuracy
from .codec import io as mio
from .errors import InputError, ModelError, SettingsMismatchError
from .modelfiles import (bundle_stem, check_model_output, commit_bundle, plot_history, read_sidecar, stage_bundle,
                         training_summary)
from .nn.numpy_runtime import ARWaveNetRuntime, load_weights
from .nn.sequences import event_windows, previous_inputs
from .nn.training import array_dataset, fit_with_checkpoints, generator_dataset
from .settings import Settings

__all__ = ["KIND", "BEAT_FEATURE_NAMES", "TempoConfig", "beat_features", "TempoModel", "tempo_events", "curve_statistics", "tempo_curve_features",
           "select_pieces", "window_features", "calibrate_temperature", "evaluate", "train"]

KIND = "tempo"
FEATURE_VERSION = 1
#: names of the per-beat inputs of :func:`beat_features`
BEAT_FEATURE_NAMES = (
    "has_onsets", "log_onsets", "mean_pitch", "low_pitch", "pitch_range", "log_duration", "longest",
    "offbeat_share", "pc_change", "density_change", "density_8", "rest_ahead", "rest_behind",
    "bar_sin", "bar_cos", "half_bar", "downbeat", "piece_pos", "to_end", "last_bar", "first_bar",
    "log_beats", "piece_density")
#: beats per window of the real-vs-drawn discriminator (eight 4/4 bars)
DISCRIMINATOR_WINDOW = 32


@dataclass
class TempoConfig(Settings):
    """Architecture, classes and training settings of a tempo model (validated on creation).

    ``bins`` classes of the log beat period minus the piece's median cover ``[-span, span]``."""

    bins: int = 64
    span: float = 0.5
    cond_channels: int = 32
    cond_dilations: tuple = (1, 2, 4, 8, 16)
    channels: int = 16
    ar_dilations: tuple = (1, 2, 4, 8, 16, 32)
    skip_channels: int = 32
    head_units: int = 32
    window: int = 256              # training window, beats
    batch_size: int = 16
    epochs: int = 40
    patience: int = 6
    learning_rate: float = 2e-3
    mean_weight: float = 5.0
    dropout: float = 0.2
    input_noise: float = 0.005      # small: the model learns to follow the periods it played (smooth rubato)
    seed: int = 0
    steps_per_epoch: int = 60

    def validate(self) -> None:
        """Sizes >= 1, dilations >= 1, rates and span in range."""
        self.require_min(2, "bins")
        self.require_min(1, "cond_channels", "channels", "skip_channels", "head_units", "window", "batch_size",
                         "epochs", "patience", "steps_per_epoch")
        self.require_min(0, "mean_weight", "input_noise", "seed")
        self.require_dilations("cond_dilations", "ar_dilations")
        self.require("span", isinstance(self.span, (int, float)) and 0 < self.span <= 2, "must be in (0, 2]")
        self.require_positive("learning_rate")
        self.require("dropout", isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1, "must be in [0, 1)")

    def to_class(self, deviation) -> np.ndarray:
        """Class of each log-period deviation (clipped to the span)."""
        d = np.clip(np.asarray(deviation, np.float64), -self.span, self.span)
        return np.rint((d + self.span) / (2 * self.span) * (self.bins - 1)).astype(np.int64)

    def from_class(self, classes) -> np.ndarray:
        """Log-period deviation of each class (the class centre)."""
        return np.asarray(classes, np.float64) / (self.bins - 1) * 2 * self.span - self.span


# ----------------------------------------------------------------------------- what a score tells per beat
def beat_features(perf) -> np.ndarray:
    """Per-beat inputs (B, len(:data:`BEAT_FEATURE_NAMES`)) of a performance or score, from its
    ticks alone (never its seconds, velocities or pedals: what a notated score also has)."""
    B = n_beats(perf)
    if B == 0:
        return np.zeros((0, len(BEAT_FEATURE_NAMES)), np.float32)
    tpb = float(perf.ticks_per_beat)
    n = perf.notes
    nb = (n["start_tick"] // perf.ticks_per_beat).astype(np.int64)
    pitch = n["pitch"].astype(np.float64)
    dur = np.maximum(n["end_tick"] - n["start_tick"], 0) / tpb
    cnt = np.bincount(nb, minlength=B).astype(np.float64)
    has = cnt > 0
    safe = np.maximum(cnt, 1)
    mean_p = np.bincount(nb, pitch, B) / safe
    low = np.full(B, 128.0)
    high = np.full(B, -1.0)
    np.minimum.at(low, nb, pitch)
    np.maximum.at(high, nb, pitch)
    rng = np.where(has, high - low, 0.0)
    low = np.where(has, low, 0.0)
    logd = np.bincount(nb, np.log1p(dur), B) / safe
    longest = np.zeros(B)
    np.maximum.at(longest, nb, np.log1p(dur))
    off = np.bincount(nb, (n["start_tick"] % perf.ticks_per_beat != 0).astype(np.float64), B) / safe
    mask = np.zeros(B, np.int64)
    np.bitwise_or.at(mask, nb, 1 << (n["pitch"].astype(np.int64) % 12))
    prev = np.concatenate([[0], mask[:-1]])
    change = np.array([bin(x).count("1") for x in (mask ^ prev)], np.float64) / 12.0
    logc = np.log1p(cnt)
    kern = np.ones(9) / 9.0
    dens8 = np.convolve(logc, kern, mode="same")
    before = np.convolve(np.concatenate([np.zeros(4), logc]), np.ones(4) / 4.0, mode="valid")[:B]
    rest_ahead = np.concatenate([~has[1:], [True]]).astype(np.float64)
    rest_behind = np.concatenate([[True], ~has[:-1]]).astype(np.float64)
    b = np.arange(B, dtype=np.float64)
    bar = (b % 4) / 4.0
    return np.column_stack([
        has, logc / 3.0, np.where(has, mean_p, 0.0) / 127.0, low / 127.0, rng / 48.0, logd, longest,
        off, change, (logc - before) / 3.0, dens8 / 3.0, rest_ahead, rest_behind,
        np.sin(2 * np.pi * bar), np.cos(2 * np.pi * bar), np.cos(np.pi * (b % 2)), (b % 4 == 0),
        b / max(B - 1, 1), np.log1p(B - 1 - b) / 7.0, (b >= B - 4), (b < 4),
        np.full(B, np.log1p(B) / 7.0), np.full(B, logc.mean() / 3.0),
    ]).astype(np.float32)


def curve_statistics(deviation) -> dict:
    """``std`` and ``lag1`` (autocorrelation) of a log-period deviation curve."""
    d = np.asarray(deviation, np.float64)
    d = d - d.mean() if len(d) else d
    lag1 = float(np.corrcoef(d[:-1], d[1:])[0, 1]) if len(d) > 4 and d[:-1].std() > 1e-9 and d[1:].std() > 1e-9 else 0.0
    return {"std": float(d.std()) if len(d) else 0.0, "lag1": lag1}


#: names of :func:`tempo_curve_features`
CURVE_FEATURE_NAMES = ("std", "lag1", "lag2", "lag4", "mean_abs_step", "p10", "p90", "skew", "slow_at_rest")


def tempo_curve_features(deviation, features=None) -> np.ndarray:
    """What a tempo curve looks like (the real-vs-performed discriminator's features): spread,
    autocorrelations at 1, 2 and 4 beats, step size, percentiles, skew, and how much slower the
    beats before a rest are (with the beat ``features``)."""
    d = np.asarray(deviation, np.float64)
    d = d - d.mean()
    sd = d.std() + 1e-9

    def lag(k):
        return float(np.corrcoef(d[:-k], d[k:])[0, 1]) if len(d) > k + 4 and d[:-k].std() > 1e-9 and d[k:].std() > 1e-9 else 0.0

    slow = 0.0
    if features is not None:
        rest = np.asarray(features)[:, BEAT_FEATURE_NAMES.index("rest_ahead")] > 0.5
        if rest.any() and (~rest).any():
            slow = float(d[rest].mean() - d[~rest].mean()) / sd
    return np.array([d.std(), lag(1), lag(2), lag(4), np.abs(np.diff(d)).mean() if len(d) > 1 else 0.0,
                     np.percentile(d, 10), np.percentile(d, 90), float(np.mean((d / sd) ** 3)), slow])


# ----------------------------------------------------------------------------- writing a curve
def tempo_events(perf, deviation) -> list:
    """``[(tick, microseconds per beat), ...]``: one tempo event per beat, the score's own tempo at
    that beat times ``exp(deviation)`` (its sections keep their tempi; the rubato moves around them)."""
    d = np.asarray(deviation, np.float64)
    B = len(d)
    ticks = np.arange(B, dtype=np.int64) * perf.ticks_per_beat
    base = np.exp(beat_curve(perf)[:B]) * 1e6
    us = np.clip(np.rint(base * np.exp(d)), 1, 2 ** 24 - 1).astype(np.int64)
    keep = np.concatenate([[True], us[1:] != us[:-1]])
    return list(zip(ticks[keep].tolist(), us[keep].tolist()))


# ----------------------------------------------------------------------------- the model
class TempoModel:
    """A trained tempo model, run in NumPy. Use :meth:`load`; :meth:`sample` draws a curve."""

    def __init__(self, meta: dict, runtime, path: str):
        self.meta, self.runtime, self.path = meta, runtime, path
        self.genre = meta["genre"]
        self.config = TempoConfig.from_dict(meta["config"])

    @classmethod
    def load(cls, path: str) -> "TempoModel":
        """Load ``STEM.json`` + ``STEM.npz`` (any of the bundle's paths); :class:`ModelError` if
        incomplete, :class:`SettingsMismatchError` if the weights disagree with the sidecar."""
        files, meta = read_sidecar(path, KIND)
        if not os.path.exists(files["npz"]):
            raise ModelError(f"{files['npz']}: weights for the NumPy runtime are missing")
        try:
            rt = ARWaveNetRuntime(load_weights(files["npz"]))
            n_in = rt.n_features
        except Exception as exc:
            raise ModelError(f"{files['npz']}: not tempo-model weights ({type(exc).__name__}: {exc})") from None
        if meta.get("feature_version") != FEATURE_VERSION or n_in != len(BEAT_FEATURE_NAMES):
            raise SettingsMismatchError(f"{files['npz']}: weights take {n_in} beat features (version "
                                        f"{meta.get('feature_version')}); this midistyle reads {len(BEAT_FEATURE_NAMES)} "
                                        f"(version {FEATURE_VERSION}): retrain the tempo model")
        return cls(meta, rt, files["keras"])

    @property
    def temperature(self) -> float:
        """The model's calibrated sampling temperature (1 when none is stored)."""
        return float(self.meta.get("sampling_temperature", 1.0))

    def sample(self, perf, *, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
        """A drawn log-period deviation per beat of ``perf`` (B,), mean 0 over the piece (the
        score's overall tempo is kept). ``temperature`` multiplies the model's own. A draw that
        wanders further than the training pieces' players did (its std above the sidecar's
        ``max_std``, their 90th percentile) is scaled down to it: on a score unlike the training
        pieces the beat-by-beat draw can drift."""
        X = beat_features(perf)
        if not len(X):
            return np.zeros(0)
        cls = self.runtime.sample(X, np.random.default_rng(seed), temperature=self.temperature * temperature,
                                  scale=float(self.config.bins - 1))
        d = self.config.from_class(cls)
        d = d - d.mean()
        cap = float(self.meta.get("max_std", np.inf))
        sd = float(d.std())
        return d * (cap / sd) if sd > cap else d

    def log_likelihood(self, perf) -> np.ndarray:
        """Log-probability (nats) of each beat's class of the real curve, teacher forced."""
        X = beat_features(perf)
        c = beat_curve(perf)
        y = self.config.to_class(c - np.median(c))
        lg = self.runtime.logits(X, previous_inputs(y, self.config.bins - 1))
        lg = lg - lg.max(1, keepdims=True)
        logp = lg - np.log(np.exp(lg).sum(1, keepdims=True))
        return logp[np.arange(len(y)), y]


# ----------------------------------------------------------------------------- training
def select_pieces(paths) -> tuple:
    """``(performances, skipped)``: the files whose notes sit on a beat grid and whose tempo map
    carries rubato (:func:`on_beat_grid`, :func:`has_rubato`) — what a tempo model can learn from."""
    keep, skipped = [], []
    for p in paths:
        try:
            perf = mio.read(p)
        except InputError:
            skipped.append(p)
            continue
        if on_beat_grid(perf) and has_rubato(perf):
            keep.append(perf)
        else:
            skipped.append(p)
    return keep, skipped


def piece_sequence(perf, cfg: TempoConfig) -> tuple:
    """(beat features (B, F), classes (B,)) of one sequenced performance."""
    c = beat_curve(perf)
    return beat_features(perf), cfg.to_class(c - np.median(c))


def build_model(cfg: TempoConfig):
    """The Keras model of ``cfg`` (:func:`midistyle.nn.layers.build_autoregressive_wavenet`)."""
    from .nn.layers import build_autoregressive_wavenet  # lazy: Keras layers load TensorFlow

    return build_autoregressive_wavenet(len(BEAT_FEATURE_NAMES), cfg.bins, cond_channels=cfg.cond_channels,
                                        cond_dilations=cfg.cond_dilations, channels=cfg.channels,
                                        ar_dilations=cfg.ar_dilations, skip_channels=cfg.skip_channels,
                                        head_units=cfg.head_units, dropout=cfg.dropout, name="tempo_ar_wavenet")


def _datasets(train_seqs, val_seqs, cfg: TempoConfig):
    import tensorflow as tf

    W, F, scale = cfg.window, len(BEAT_FEATURE_NAMES), float(cfg.bins - 1)
    sig = ({"features": tf.TensorSpec((W, F), tf.float32), "previous": tf.TensorSpec((W, 2), tf.float32)},
           {"logits": tf.TensorSpec((W,), tf.int64), "mean": tf.TensorSpec((W, 1), tf.float32)},
           {"logits": tf.TensorSpec((W,), tf.float32), "mean": tf.TensorSpec((W,), tf.float32)})

    def stream():
        rng = np.random.default_rng(cfg.seed)
        while True:
            order = rng.permutation(len(train_seqs))
            yield from event_windows([train_seqs[i] for i in order], W, rng, noise=cfg.input_noise, scale=scale)

    val = list(event_windows(val_seqs, W, None, scale=scale))
    val_arrays = tuple({k: np.stack([w[j][k] for w in val]) for k in val[0][j]} for j in range(3))
    return generator_dataset(stream, sig, cfg.batch_size, shuffle=128, seed=cfg.seed), \
        array_dataset(val_arrays, cfg.batch_size)


def evaluate(model: TempoModel, perfs: list, *, seed: int = 0, temperature: float = 1.0) -> dict:
    """How the model's drawn curves compare with the real ones of ``perfs`` (sequenced, with
    rubato): per piece the std and lag-1 autocorrelation of the log beat period, real and drawn;
    medians of the std ratio and of the lag-1 difference; NLL per beat; a cross-validated logistic
    real-vs-drawn discriminator on :func:`tempo_curve_features` (0.5: indistinguishable)."""
    rows, nll = [], []
    for k, perf in enumerate(perfs):
        c = beat_curve(perf)
        drawn = model.sample(perf, seed=seed + k, temperature=temperature)
        r, g = curve_statistics(c - np.median(c)), curve_statistics(drawn)
        rows.append({"source": os.path.basename(perf.source), "beats": int(len(c)), "std_real": r["std"],
                     "std_drawn": g["std"], "lag1_real": r["lag1"], "lag1_drawn": g["lag1"]})
        nll.append(-model.log_likelihood(perf))
    real_f, fake_f = window_features(model, perfs, seed=seed, temperature=temperature)
    ratio = [x["std_drawn"] / max(x["std_real"], 1e-9) for x in rows]
    lagdiff = [x["lag1_drawn"] - x["lag1_real"] for x in rows]
    disc = discriminator_balanced_accuracy(np.array(real_f), np.array(fake_f)) if len(rows) >= 4 else float("nan")
    return {"pieces": len(rows), "beats": int(sum(x["beats"] for x in rows)), "windows": len(real_f),
            "nll_per_beat": float(np.mean(np.concatenate(nll))) if nll else float("nan"),
            "std_ratio_median": float(np.median(ratio)) if rows else float("nan"),
            "lag1_real_median": float(np.median([x["lag1_real"] for x in rows])) if rows else float("nan"),
            "lag1_drawn_median": float(np.median([x["lag1_drawn"] for x in rows])) if rows else float("nan"),
            "lag1_diff_median": float(np.median(np.abs(lagdiff))) if rows else float("nan"),
            "discriminator": disc, "seed": seed, "temperature": temperature, "per_piece": rows}


def window_features(model: TempoModel, perfs: list, *, seed: int = 0, temperature: float = 1.0) -> tuple:
    """``(real, drawn)`` rows of :func:`tempo_curve_features` over windows of
    :data:`DISCRIMINATOR_WINDOW` beats of each piece's real curve and of a curve drawn for it."""
    real_f, fake_f = [], []
    for k, perf in enumerate(perfs):
        c = beat_curve(perf)
        real, X = c - np.median(c), beat_features(perf)
        drawn = model.sample(perf, seed=seed + k, temperature=temperature)
        for a in range(0, len(c) - DISCRIMINATOR_WINDOW + 1, DISCRIMINATOR_WINDOW):
            b = a + DISCRIMINATOR_WINDOW
            real_f.append(tempo_curve_features(real[a:b], X[a:b]))
            fake_f.append(tempo_curve_features(drawn[a:b], X[a:b]))
    return np.array(real_f), np.array(fake_f)


def calibrate_temperature(model: TempoModel, perfs: list, temperatures=(0.8, 0.85, 0.9, 1.0), *,
                          max_std_d: float = 0.1, seed: int = 0) -> dict:
    """The sampling temperature of a tempo model, chosen on (training) pieces: of the
    ``temperatures`` whose drawn windows keep the real rubato's spread (Cohen's d of the std within
    ``max_std_d``), the one the real-vs-drawn discriminator tells apart least. Returns the table
    and ``chosen`` (1 when none qualifies)."""
    saved, model.meta["sampling_temperature"] = model.meta.get("sampling_temperature"), 1.0
    rows = []
    try:
        for t in temperatures:
            real, fake = window_features(model, perfs, seed=seed, temperature=t)
            d = (fake.mean(0) - real.mean(0)) / np.sqrt((fake.var(0) + real.var(0)) / 2 + 1e-12)
            rows.append({"temperature": t, "discriminator": round(discriminator_balanced_accuracy(real, fake), 4),
                         "std_d": round(float(d[0]), 3), "step_d": round(float(d[4]), 3)})
    finally:
        model.meta["sampling_temperature"] = saved if saved is not None else 1.0
    ok = [r for r in rows if abs(r["std_d"]) <= max_std_d]
    chosen = min(ok, key=lambda r: r["discriminator"])["temperature"] if ok else 1.0
    return {"table": rows, "chosen": chosen, "pieces": len(perfs), "seed": seed}


def train(train_paths, val_paths, genre: str, output: str, cfg: TempoConfig | None = None, *,
          progress: bool = True, force: bool = False) -> dict:
    """Train a tempo model on the sequenced pieces with rubato among ``train_paths``, validate on
    those of ``val_paths`` (early stopping, figures). Writes the bundle (``.keras``, ``.json``,
    ``.npz``) plus ``STEM.log.csv`` and ``STEM.loss.png``; returns the sidecar."""
    cfg = cfg or TempoConfig()
    files = check_model_output(output, force=force)
    tr, tr_skip = select_pieces(train_paths)
    va, _ = select_pieces(val_paths)
    if len(tr) < 4 or len(va) < 1:
        raise InputError(f"too few sequenced pieces with a tempo map that varies: {len(tr)} for training, "
                         f"{len(va)} for validation (need 4 and 1)")
    import keras

    keras.utils.set_random_seed(cfg.seed)
    train_seqs = [piece_sequence(p, cfg) for p in tr]
    val_seqs = [piece_sequence(p, cfg) for p in va]
    train_ds, val_ds = _datasets(train_seqs, val_seqs, cfg)
    model = build_model(cfg)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        "mean": keras.losses.MeanSquaredError()},
                  loss_weights={"logits": 1.0, "mean": cfg.mean_weight})
    stem = bundle_stem(output)
    hist, seconds = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=cfg.steps_per_epoch, patience=cfg.patience,
                                         progress=progress)
    stds = [float(np.std(beat_curve(p) - np.median(beat_curve(p)))) for p in tr]
    meta = {"kind": KIND, "genre": genre, "feature_version": FEATURE_VERSION,
            "max_std": round(float(np.percentile(stds, 90)), 4),
            "beat_features": list(BEAT_FEATURE_NAMES), "config": cfg.to_dict(),
            "data": {"train_pieces": len(tr), "val_pieces": len(va), "train_beats": int(sum(len(v) for _, v in train_seqs)),
                     "train_files_skipped": len(tr_skip)},
            "training": training_summary(hist.history, seconds, steps_per_epoch=cfg.steps_per_epoch,
                                         batch_size=cfg.batch_size, sequence=("window", cfg.window, "beats"))}
    staged = stage_bundle(model, files, optimizer=True)
    tm = TempoModel(meta, ARWaveNetRuntime(load_weights(staged[1])), files["keras"])
    meta["validation"] = evaluate(tm, va)
    commit_bundle(files, *staged, meta)
    plot_history(hist.history, stem + ".loss.png", f"tempo model, {genre}",
                 panels=(("logits_loss", "NLL per beat (nats)"), ("mean_loss", "regression MSE")))
    return meta
