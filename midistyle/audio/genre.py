"""Audio genre classifier: seed 000's clip features into a small dense network.

Training data: 10 s excerpts of the TPD pieces, rendered through the SoundFont path
(:mod:`midistyle.audio.render`), a few per piece at evenly spaced positions; features of
:mod:`midistyle.audio.features`, standardised with the training means and deviations; the split is
the dataset's (by piece). The network is Dense(64, ReLU) - Dropout - Dense(32, ReLU) - Dropout -
Dense(genres, softmax), trained with Adam and early stopping on the loss of a held-out 15 % of the
training pieces (the validation split is only measured).

A model is three files::

    audio-genre.keras   Keras 3 model (architecture + weights; for retraining / inspection)
    audio-genre.json    sidecar: kind, genres, feature settings and names, standardisation,
                        layers, excerpt settings, validation figures, training time
    audio-genre.npz     weights for the NumPy runtime: prediction needs no TensorFlow

Train with ``python -m midistyle.audio.genre train DATA.h5 -o models/audio-genre.keras``
(see ``models/train_audio.sh``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..codec.dataset import Dataset
from ..codec.io import read
from ..errors import InputError, MidistyleError, ModelError
from ..modelfiles import check_model_output, commit_bundle, read_sidecar, stage_bundle
from ..nn.numpy_runtime import dense, load_weights
from ..registry import audio_genre_path
from ..settings import Settings, is_number
from .features import FeatureSettings, clip_features, feature_names
from .render import render_performance

KIND = "audio-genre"


def model_path() -> str:
    """Path of the audio genre classifier (the shipped ``audio-genre.keras``, see
    :func:`midistyle.registry.audio_genre_path`); ModelError if none is found."""
    return audio_genre_path()


# ----------------------------------------------------------------------------- inference
class AudioGenreClassifier:
    """A trained audio genre classifier, run in NumPy.

    Use :meth:`load`; :meth:`predict` takes a waveform at the model's sample rate.
    """

    def __init__(self, meta: dict, weights: dict, path: str):
        self.meta = meta
        self.w = weights
        self.path = path
        self.genres = list(meta["genres"])
        self.features = FeatureSettings.from_dict(meta["features"])
        self.mean = np.asarray(meta["standardise"]["mean"], np.float32)
        self.std = np.asarray(meta["standardise"]["std"], np.float32)
        self.layers = [(d["name"], d["activation"]) for d in meta["layers"]]
        self.excerpt = float(meta["excerpt_seconds"])

    @classmethod
    def load(cls, path: str | None = None) -> "AudioGenreClassifier":
        """Load a model from its ``.keras`` / ``.json`` / ``.npz`` path or stem (default: the shipped one).

        Raises
        ------
        ModelError
            Missing or unreadable files, or a model of another kind.
        """
        f, meta = read_sidecar(path or model_path(), KIND)
        try:
            weights = load_weights(f["npz"])
        except FileNotFoundError as exc:
            raise ModelError(f"{f['npz']}: model file missing ({exc.filename})") from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"{f['npz']}: cannot read model ({exc})") from None
        return cls(meta, weights, f["keras"])

    def probabilities_from_features(self, X: np.ndarray) -> np.ndarray:
        """Genre probabilities (n, genres) of feature vectors (n, features)."""
        h = (np.atleast_2d(np.asarray(X, np.float32)) - self.mean) / self.std
        for name, act in self.layers:
            h = dense(self.w, name, h, act)
        return h

    def windows(self, y: np.ndarray) -> list:
        """The clip cut into excerpt-long windows (hop half a window; a short clip is one window)."""
        n = int(round(self.excerpt * self.features.sr))
        if len(y) <= n:
            return [y]
        hop = n // 2
        starts = list(range(0, len(y) - n + 1, hop))
        if starts[-1] + n < len(y):
            starts.append(len(y) - n)
        return [y[a:a + n] for a in starts]

    def predict(self, y: np.ndarray) -> dict:
        """Genre probabilities of a waveform (mean over its windows): ``{genre: probability}``."""
        X = np.stack([clip_features(w, self.features) for w in self.windows(np.asarray(y, np.float32))])
        p = self.probabilities_from_features(X).mean(axis=0)
        return {g: float(v) for g, v in zip(self.genres, p)}


# ----------------------------------------------------------------------------- training data
@dataclass
class AudioGenreConfig(Settings):
    """Training settings.

    Attributes
    ----------
    excerpt_seconds : float
        Length of each rendered excerpt (10 s).
    excerpts_per_piece : int
        Excerpts per piece, at evenly spaced positions (3).
    epochs, batch_size, learning_rate, patience, dropout : training settings
    monitor_fraction : float
        Share of the training pieces held out for early stopping (the validation split is
        only measured, never used to choose the model).
    hidden : tuple of int
        Dense layer widths.
    seed : int
    workers : int
        Processes rendering excerpts (default: all cores).
    """

    excerpt_seconds: float = 10.0
    excerpts_per_piece: int = 3
    epochs: int = 300
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 30
    dropout: float = 0.3
    monitor_fraction: float = 0.15
    hidden: tuple = (64, 32)
    seed: int = 0
    workers: int | None = None

    def validate(self) -> None:
        """Raise :class:`midistyle.settings.SettingsError`, naming the field, on settings that cannot work."""
        self.require("excerpt_seconds", is_number(self.excerpt_seconds) and self.excerpt_seconds > 0, "must be > 0")
        self.require_min(1, "excerpts_per_piece", "epochs", "batch_size")
        self.require_min(0, "patience", "seed")
        self.require("learning_rate", is_number(self.learning_rate) and self.learning_rate > 0, "must be > 0")
        self.require("dropout", is_number(self.dropout) and 0 <= self.dropout < 1, "must be in [0, 1)")
        self.require("monitor_fraction", is_number(self.monitor_fraction) and 0 < self.monitor_fraction < 1,
                     "must be in (0, 1)")
        self.require("hidden", isinstance(self.hidden, tuple)
                     and all(isinstance(w, int) and w >= 1 for w in self.hidden), "must be a list of layer widths >= 1")
        self.require("workers", self.workers is None or (isinstance(self.workers, int) and self.workers >= 1),
                     "must be None (all cores) or >= 1")


def excerpt_starts(duration: float, seconds: float, k: int) -> list:
    """``k`` evenly spaced excerpt starts inside a piece of ``duration`` seconds (fewer if short)."""
    if duration <= seconds:
        return [0.0]
    last = duration - seconds
    if k == 1:
        return [last / 2]
    return [float(v) for v in np.linspace(0.05 * last, 0.95 * last, k)]


def _excerpt_job(args):
    path, seconds, k, fs_dict = args
    fs = FeatureSettings.from_dict(fs_dict)
    try:
        perf = read(path)
    except Exception as exc:  # a piece that cannot be read is reported, not fatal
        return path, None, str(exc)
    rows = []
    for st in excerpt_starts(perf.duration, seconds, k):
        y = render_performance(perf, sr=fs.sr, start=st, duration=seconds)
        if float(np.max(np.abs(y))) == 0.0:
            continue
        rows.append(clip_features(y, fs))
    return path, (np.stack(rows) if rows else None), None


def build_features(data: str, tpd_root: str, cfg: AudioGenreConfig, fs: FeatureSettings,
                   cache: str | None = None, progress: bool = True) -> dict:
    """Render excerpts of every piece of an HDF5 dataset and compute their features (cached).

    Parameters
    ----------
    data : str
        Dataset written by ``midistyle dataset convert`` (names, genres and split of the pieces).
    tpd_root : str
        Folder holding ``GENRE/NAME`` MIDI files of the pieces.
    cfg : AudioGenreConfig
    fs : FeatureSettings
    cache : str, optional
        ``.npz`` to reuse when its settings match, written otherwise.

    Returns
    -------
    dict with X (n, features), genre (n,), split (n,), piece (n,) arrays and ``skipped``.
    """
    from multiprocessing import get_context

    from tqdm import tqdm

    key = hashlib.md5(json.dumps([fs.to_dict(), cfg.excerpt_seconds, cfg.excerpts_per_piece,
                                  os.path.abspath(data)], sort_keys=True).encode()).hexdigest()[:12]
    if cache and os.path.exists(cache):
        with np.load(cache, allow_pickle=False) as z:
            if str(z["key"]) == key:
                return {k: z[k] for k in ("X", "genre", "split", "piece")} | {"skipped": list(z["skipped"])}
    with Dataset(data) as ds:
        pieces = [(ds.names[i], ds.genres[i], ds.split[i]) for i in range(len(ds))]
    jobs = [(os.path.join(tpd_root, g, n), cfg.excerpt_seconds, cfg.excerpts_per_piece, fs.to_dict())
            for n, g, _ in pieces]
    X, genre, split, piece, skipped = [], [], [], [], []
    workers = cfg.workers or os.cpu_count() or 1
    with get_context("spawn").Pool(workers) as pool:
        it = pool.imap(_excerpt_job, jobs, chunksize=2)
        for (name, g, sp), (path, feats, err) in tqdm(zip(pieces, it), total=len(jobs), desc="rendering excerpts",
                                                      unit="piece", disable=not progress, file=sys.stderr):
            if feats is None:
                skipped.append(f"{path}: {err or 'silent'}")
                continue
            X.append(feats)
            genre += [g] * len(feats)
            split += [sp] * len(feats)
            piece += [name] * len(feats)
    out = {"X": np.concatenate(X).astype(np.float32), "genre": np.array(genre), "split": np.array(split),
           "piece": np.array(piece), "skipped": skipped}
    if cache:
        os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
        np.savez(cache, key=key, **{k: out[k] for k in ("X", "genre", "split", "piece")},
                 skipped=np.array(skipped, dtype=str))
    return out


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, genres: list) -> dict:
    n = len(genres)
    cm = np.zeros((n, n), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    f1 = []
    for k in range(n):
        tp = cm[k, k]
        prec = tp / max(cm[:, k].sum(), 1)
        rec = tp / max(cm[k, :].sum(), 1)
        f1.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return {"accuracy": float(np.trace(cm) / max(cm.sum(), 1)), "macro_f1": float(np.mean(f1)),
            "f1": {g: float(v) for g, v in zip(genres, f1)}, "confusion": cm.tolist(), "n": int(cm.sum())}


@dataclass
class _Split:
    """The excerpts of a training run (:func:`_split`): labels, the split as boolean masks, and the
    standardisation fitted on the excerpts the network is fitted on."""

    genres: list
    y: np.ndarray
    fit: np.ndarray            # training excerpts the network is fitted on
    monitor: np.ndarray        # training excerpts of the held-out pieces that early stopping watches
    val: np.ndarray            # validation excerpts: only measured
    monitor_pieces: set
    mean: np.ndarray
    std: np.ndarray


def _split(d: dict, cfg: AudioGenreConfig, data: str) -> _Split:
    """Labels and masks of the excerpts ``d`` (:func:`build_features`) of dataset ``data``: early
    stopping watches a held-out share of the *training* pieces, so the validation figures stay
    untouched by model selection."""
    genres = sorted(set(d["genre"].tolist()))
    y = np.array([genres.index(g) for g in d["genre"]])
    tr, va = d["split"] == "train", d["split"] == "val"
    if not tr.any() or not va.any():
        raise InputError(f"{data}: needs pieces in both the train and the val split")
    mon_pieces = {p for p in set(d["piece"][tr].tolist())
                  if int(hashlib.md5(f"{cfg.seed}:{p}".encode()).hexdigest(), 16) % 100 < 100 * cfg.monitor_fraction}
    mon = tr & np.isin(d["piece"], sorted(mon_pieces))
    fit = tr & ~mon
    return _Split(genres, y, fit, mon, va, mon_pieces, d["X"][fit].mean(axis=0), d["X"][fit].std(axis=0) + 1e-6)


def _build(cfg: AudioGenreConfig, n_in: int, n_genres: int) -> tuple:
    """The compiled network and the description of its layers stored in the sidecar."""
    import keras

    inp = keras.Input((n_in,), name="features")
    h = inp
    layers = []
    for i, width in enumerate(cfg.hidden):
        h = keras.layers.Dense(width, activation="relu", name=f"d{i}")(h)
        h = keras.layers.Dropout(cfg.dropout, name=f"drop{i}")(h)
        layers.append({"name": f"d{i}", "activation": "relu"})
    out = keras.layers.Dense(n_genres, activation="softmax", name="out")(h)
    layers.append({"name": "out", "activation": "softmax"})
    model = keras.Model(inp, out, name="audio_genre")
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, layers


def _fit(model, Xn: np.ndarray, s: _Split, cfg: AudioGenreConfig) -> tuple:
    """Fit on the fitting excerpts with early stopping on the monitored ones: ``(history, seconds)``."""
    import keras

    t0 = time.time()
    hist = model.fit(Xn[s.fit], s.y[s.fit], validation_data=(Xn[s.monitor], s.y[s.monitor]), epochs=cfg.epochs,
                     batch_size=cfg.batch_size, verbose=0, shuffle=True,
                     callbacks=[keras.callbacks.EarlyStopping(patience=cfg.patience, restore_best_weights=True)])
    return hist.history, time.time() - t0


def _validation(model, Xn: np.ndarray, pieces: np.ndarray, s: _Split) -> tuple:
    """``(figures, probabilities of the validation excerpts)``: excerpt and piece level (mean of
    a piece's excerpt probabilities) figures of the validation split, and the accuracies on the
    fitted and the monitored excerpts."""
    p = model.predict(Xn[s.val], verbose=0)
    clip_m = _metrics(s.y[s.val], p.argmax(axis=1), s.genres)
    val_pieces = pieces[s.val]
    pt, pp = [], []
    for name in sorted(set(val_pieces.tolist())):
        m = val_pieces == name
        pt.append(int(s.y[s.val][m][0]))
        pp.append(int(p[m].mean(axis=0).argmax()))
    piece_m = _metrics(np.array(pt), np.array(pp), s.genres)
    ptr = model.predict(Xn[s.fit], verbose=0)
    train_acc = float((ptr.argmax(axis=1) == s.y[s.fit]).mean())
    pmon = model.predict(Xn[s.monitor], verbose=0)
    monitor_acc = float((pmon.argmax(axis=1) == s.y[s.monitor]).mean())
    return {"excerpts": clip_m, "pieces": piece_m, "train_accuracy": train_acc, "monitor_accuracy": monitor_acc}, p


def _sidecar(d: dict, s: _Split, cfg: AudioGenreConfig, fs: FeatureSettings, layers: list, validation: dict,
             training: dict, *, dataset: str) -> dict:
    """The sidecar of a classifier trained on the excerpts ``d`` of ``dataset`` (its file name)."""
    return {
        "kind": KIND, "genres": s.genres, "features": fs.to_dict(), "feature_names": feature_names(fs),
        "standardise": {"mean": s.mean.tolist(), "std": s.std.tolist()}, "layers": layers,
        "excerpt_seconds": cfg.excerpt_seconds,
        "config": cfg.to_dict(),
        "data": {"dataset": dataset, "train_excerpts": int(s.fit.sum()),
                 "monitor_excerpts": int(s.monitor.sum()), "val_excerpts": int(s.val.sum()),
                 "train_pieces": int(len(set(d["piece"][s.fit].tolist()))), "monitor_pieces": len(s.monitor_pieces),
                 "val_pieces": len(set(d["piece"][s.val].tolist())),
                 "skipped": d["skipped"], "render": "midistyle.audio.render, TimGM6mb.sf2 piano, 22050 Hz"},
        "validation": validation,
        "training": training,
    }


def _check_runtime(path: str, X_val: np.ndarray, p: np.ndarray) -> None:
    """The NumPy runtime of the model written at ``path`` must agree with Keras (probabilities
    ``p`` of the validation features ``X_val``); :class:`ModelError` otherwise."""
    clf = AudioGenreClassifier.load(path)
    diff = float(np.abs(clf.probabilities_from_features(X_val) - p).max())
    if diff > 1e-4:
        raise ModelError(f"NumPy runtime disagrees with Keras by {diff:.2g}")


def train(data: str, tpd_root: str, output: str, cfg: AudioGenreConfig | None = None, *,
          cache: str | None = None, force: bool = False, progress: bool = True) -> dict:
    """Train the audio genre classifier and write ``.keras``, ``.json`` and ``.npz``.

    Parameters
    ----------
    data : str
        HDF5 dataset (for names, genres and the train / validation split).
    tpd_root : str
        Folder of the MIDI files (``GENRE/NAME``).
    output : str
        Model path ending in ``.keras``.
    cfg : AudioGenreConfig, optional
    cache : str, optional
        Feature cache (``.npz``).
    force : bool
        Replace an existing model.
    progress : bool

    Returns
    -------
    dict
        The sidecar written.
    """
    cfg = cfg or AudioGenreConfig()
    f = check_model_output(output, force=force)
    if not os.path.isdir(tpd_root):
        raise InputError(f"{tpd_root}: no such folder of MIDI files")
    fs = FeatureSettings()
    t0 = time.time()
    d = build_features(data, tpd_root, cfg, fs, cache=cache, progress=progress)
    t_feat = time.time() - t0
    s = _split(d, cfg, data)
    import keras                         # TensorFlow loads once the input is checked
    import tensorflow as tf

    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    Xn = ((d["X"] - s.mean) / s.std).astype(np.float32)
    model, layers = _build(cfg, Xn.shape[1], len(s.genres))
    history, t_fit = _fit(model, Xn, s, cfg)
    validation, p = _validation(model, Xn, d["piece"], s)
    training = {"seconds": time.time() - t0, "feature_seconds": t_feat, "fit_seconds": t_fit,
                "epochs_run": len(history["loss"]), "seed": cfg.seed,
                "best_monitor_loss": float(min(history["val_loss"]))}
    meta = _sidecar(d, s, cfg, fs, layers, validation, training, dataset=os.path.basename(data))
    commit_bundle(f, *stage_bundle(model, f, optimizer=True), meta)
    _check_runtime(f["keras"], d["X"][s.val], p)
    return meta


def main(argv=None) -> int:
    """``python -m midistyle.audio.genre train DATA.h5 --tpd DIR -o MODEL.keras``."""
    ap = argparse.ArgumentParser(prog="python -m midistyle.audio.genre",
                                 description="Train the audio genre classifier on rendered TPD excerpts.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="render excerpts, compute features, train, write MODEL.{keras,json,npz}")
    t.add_argument("data", metavar="DATA.h5")
    t.add_argument("--tpd", required=True, help="folder of GENRE/NAME.mid files the dataset was built from")
    t.add_argument("-o", "--output", required=True)
    t.add_argument("--cache", help="feature cache .npz (reused when the settings match)")
    t.add_argument("--excerpts-per-piece", type=int, default=3)
    t.add_argument("--excerpt-seconds", type=float, default=10.0)
    t.add_argument("--epochs", type=int, default=300)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--workers", type=int, default=None)
    t.add_argument("--force", action="store_true")
    t.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    cfg = AudioGenreConfig(excerpts_per_piece=a.excerpts_per_piece, excerpt_seconds=a.excerpt_seconds,
                           epochs=a.epochs, seed=a.seed, workers=a.workers)
    try:
        meta = train(a.data, a.tpd, a.output, cfg, cache=a.cache, force=a.force, progress=not a.quiet)
    except MidistyleError as exc:
        print(f"midistyle: error: {exc}", file=sys.stderr)
        return 2
    v = meta["validation"]
    print(json.dumps({"output": a.output, "training": meta["training"], "validation": {
        "excerpt_accuracy": v["excerpts"]["accuracy"], "excerpt_macro_f1": v["excerpts"]["macro_f1"],
        "piece_accuracy": v["pieces"]["accuracy"], "piece_macro_f1": v["pieces"]["macro_f1"],
        "train_accuracy": v["train_accuracy"], "monitor_accuracy": v["monitor_accuracy"]}, "data": {k: v2 for k, v2 in meta["data"].items() if k != "skipped"}},
        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
