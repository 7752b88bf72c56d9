"""Velocity style transfer: one dilated causal CNN per genre predicts how hard each note is struck.

Model inputs per time step (see :func:`frame_features`): onsets, held notes, each onset's note
duration (log seconds), sustain and soft pedal, and the piece context of
:func:`midistyle.notefeatures.piece_context` broadcast over time. Output: velocity / 127 per
pitch per step, trained with an MSE masked to onset cells.

The network is causal, but its output is delayed by ``lookahead`` steps, so the velocity of a
note at step t is predicted from everything up to t + lookahead (a pianist reads ahead too).

Training needs TensorFlow; prediction of the WaveNet architecture runs in NumPy from an exported
``.npz`` (no TensorFlow start-up). A model is three files with one stem::

    velocity-GENRE.keras   Keras 3 model (architecture + weights)
    velocity-GENRE.json    sidecar: kind, genre, encoder settings, features, lookahead, baselines,
                           validation figures
    velocity-GENRE.npz     weights for the NumPy runtime
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from .errors import InputError, ModelError, SettingsMismatchError
from .notefeatures import CONTEXT_NAMES, RidgeBaseline, piece_context
from .pianoroll import EncoderSettings, PianoRoll, encode

KIND = "velocity"
FEATURE_VERSION = 1


@dataclass
class VelocityConfig:
    """Architecture and training settings of a velocity model."""

    arch: str = "wavenet"          # "wavenet" or "bilstm"
    channels: int = 40
    stacks: int = 2
    layers_per_stack: int = 9
    lstm_units: int = 64
    lookahead: int = 40            # steps (1 s at 25 ms)
    window: int = 1024             # training window, steps
    batch_size: int = 16
    epochs: int = 14
    patience: int = 4
    learning_rate: float = 2e-3
    seed: int = 0
    max_steps_per_epoch: int = 0   # 0: one pass over the training pieces
    centered_loss: bool = True     # add the within-window centred MSE (relative dynamics)
    val_windows_per_piece: int = 8


def n_features(settings: EncoderSettings) -> int:
    """Input channels of :func:`frame_features` for these settings."""
    return 3 * settings.n_pitches + 2 + len(CONTEXT_NAMES)


def frame_features(roll: PianoRoll) -> np.ndarray:
    """Model inputs of one piece, float32 (T, 3P + 2 + context)."""
    T, P = roll.onsets.shape
    dur = np.zeros((T, P), np.float32)
    m = roll.in_range()
    n = roll.notes[m]
    d = np.log1p(np.maximum(n["end"] - n["start"], 0.0)).astype(np.float32)
    np.maximum.at(dur, (roll.note_steps[m], n["pitch"] - roll.settings.pitch_low), d)
    ctx = np.broadcast_to(piece_context(roll), (T, len(CONTEXT_NAMES)))
    return np.concatenate([roll.onsets.astype(np.float32), roll.held.astype(np.float32), dur,
                           roll.pedals.astype(np.float32) / 127.0, ctx], axis=1)


def frame_targets(roll: PianoRoll) -> np.ndarray:
    """Velocity / 127 at onset cells, -1 elsewhere (the masked loss skips negatives)."""
    return np.where(roll.onsets, roll.velocity.astype(np.float32) / 127.0, -1.0).astype(np.float32)


def _padded(roll: PianoRoll, lookahead: int):
    """Features padded with ``lookahead`` silent steps at the end, targets delayed to match."""
    X = frame_features(roll)
    Y = frame_targets(roll)
    if lookahead:
        X = np.concatenate([X, np.zeros((lookahead, X.shape[1]), np.float32)])
        Y = np.concatenate([np.full((lookahead, Y.shape[1]), -1.0, np.float32), Y])
    return X, Y


# ----------------------------------------------------------------------------- model files
def model_files(path: str) -> dict:
    """Paths of the three files of a model, from any one of them or the stem."""
    stem = os.fspath(path)
    for ext in (".keras", ".json", ".npz"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    return {"keras": stem + ".keras", "json": stem + ".json", "npz": stem + ".npz"}


class VelocityModel:
    """A trained velocity model, ready to predict (NumPy runtime where possible).

    Use :meth:`load`; ``predict_matrix`` / ``predict_notes`` take a :class:`PianoRoll` encoded
    with the model's :attr:`settings`.
    """

    def __init__(self, meta: dict, runtime, path: str):
        self.meta = meta
        self.runtime = runtime
        self.path = path
        self.settings = EncoderSettings.from_dict(meta["encoder"])
        self.genre = meta["genre"]
        self.lookahead = int(meta["config"]["lookahead"])

    @classmethod
    def load(cls, path: str, prefer_numpy: bool = True) -> "VelocityModel":
        """Load a model from its ``.keras`` path (sidecar ``.json`` and ``.npz`` beside it)."""
        files = model_files(path)
        if not os.path.exists(files["json"]):
            if not os.path.exists(files["keras"]):
                raise ModelError(f"{path}: no such model")
            raise ModelError(f"{path}: settings sidecar {files['json']} is missing")
        try:
            with open(files["json"]) as fh:
                meta = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{files['json']}: unreadable model sidecar ({exc})") from None
        if meta.get("kind") != KIND:
            raise ModelError(f"{path}: not a velocity model (kind={meta.get('kind')!r})")
        if meta.get("feature_version") != FEATURE_VERSION:
            raise SettingsMismatchError(f"{path}: made for feature version {meta.get('feature_version')}, "
                                        f"this midistyle uses {FEATURE_VERSION}")
        settings = EncoderSettings.from_dict(meta["encoder"])
        if meta.get("n_features") != n_features(settings):
            raise SettingsMismatchError(f"{path}: model expects {meta.get('n_features')} input features, "
                                        f"encoder settings {settings.to_dict()} give {n_features(settings)}")
        if prefer_numpy and meta["config"]["arch"] == "wavenet" and os.path.exists(files["npz"]):
            from .nn.numpy_runtime import WaveNetRuntime

            rt = WaveNetRuntime(files["npz"])
            k = rt.w["in/kernel"]
            if k.shape[1] != meta["n_features"]:
                raise SettingsMismatchError(f"{files['npz']}: weights take {k.shape[1]} features, "
                                            f"sidecar says {meta['n_features']}")
            return cls(meta, rt, files["keras"])
        if not os.path.exists(files["keras"]):
            raise ModelError(f"{files['keras']}: no such model file")
        import keras

        from .nn import losses  # noqa: F401  (registers the custom loss)

        model = keras.saving.load_model(files["keras"], compile=False)
        if model.input_shape[-1] != meta["n_features"]:
            raise SettingsMismatchError(f"{files['keras']}: model takes {model.input_shape[-1]} features, "
                                        f"sidecar says {meta['n_features']}")
        return cls(meta, lambda x: model.predict(x[None], verbose=0)[0], files["keras"])

    def check(self, roll: PianoRoll) -> None:
        """Raise :class:`SettingsMismatchError` if ``roll`` was encoded with other settings."""
        self.settings.check(roll.settings, what=f"input (model {self.path})")

    def predict_matrix(self, roll: PianoRoll) -> np.ndarray:
        """Predicted velocity (1..127, float) for every cell (T, P)."""
        self.check(roll)
        X, _ = _padded(roll, self.lookahead)
        out = np.asarray(self.runtime(X))[self.lookahead:]
        return np.clip(out * 127.0, 1.0, 127.0)

    def predict_notes(self, roll: PianoRoll) -> np.ndarray:
        """Predicted velocity of every note of ``roll.notes`` (out-of-range notes keep theirs)."""
        return roll.note_velocities(self.predict_matrix(roll))


# ----------------------------------------------------------------------------- restyle
def restyle(inputs, genre: str | None = None, model: str | VelocityModel | None = None,
            output: str | None = None, force: bool = False) -> list:
    """Restyle the velocities of each input with a genre's model; exact timing is kept.

    Parameters
    ----------
    inputs : list of str
        MIDI files, scores or ``corpus:NAME``.
    genre : str, optional
        Shipped model to use (see :func:`midistyle.registry.velocity_model_path`).
    model : str or VelocityModel, optional
        A model path (or loaded model) instead of the shipped one.
    output : str, optional
        Output path (only with one input). Default: ``NAME.GENRE.mid`` beside each input.
    force : bool
        Overwrite existing outputs (never the input itself).

    Returns
    -------
    list of dict
        Per input: ``input``, ``output``, ``notes``, ``mean_velocity_before`` / ``after``.
    """
    from . import io as mio
    from .registry import velocity_model_path

    if isinstance(model, VelocityModel):
        vm = model
    else:
        vm = VelocityModel.load(model if model is not None else velocity_model_path(genre))
    tag = genre or vm.genre
    if output is not None and len(inputs) > 1:
        raise InputError("-o/--output needs exactly one input (default names are used for several)")
    # read everything first, so a bad input fails before anything is written
    perfs = [mio.read(p) for p in inputs]
    results = []
    for src, perf in zip(inputs, perfs):
        roll = encode(perf, vm.settings)
        vel = vm.predict_notes(roll)
        out = output or default_output(src, tag)
        mio.write_velocities(perf, vel, out, force=force)
        results.append({"input": src, "output": out, "notes": int(len(vel)),
                        "mean_velocity_before": round(float(perf.notes["velocity"].mean()), 2),
                        "mean_velocity_after": round(float(np.clip(np.rint(vel), 1, 127).mean()), 2)})
    return results


def default_output(src: str, tag: str) -> str:
    """``song.mid`` -> ``song.TAG.mid`` beside it (``corpus:a/b`` -> ``b.TAG.mid`` here)."""
    from .io import CORPUS_PREFIX

    if src.startswith(CORPUS_PREFIX):
        return os.path.basename(src[len(CORPUS_PREFIX):]).replace(".", "_") + f".{tag}.mid"
    stem = os.path.splitext(src)[0]
    return f"{stem}.{tag}.mid"


# ----------------------------------------------------------------------------- evaluation
def note_metrics(true: np.ndarray, pred: np.ndarray) -> dict:
    """RMSE, MAE and Pearson r of predicted against true note velocities."""
    true = np.asarray(true, np.float64)
    pred = np.asarray(pred, np.float64)
    err = pred - true
    r = float(np.corrcoef(true, pred)[0, 1]) if np.std(true) > 0 and np.std(pred) > 0 else float("nan")
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))), "r": r, "notes": int(len(true))}


def evaluate(model: VelocityModel, rolls, names=None) -> dict:
    """Note-level figures of ``model`` and baselines on real performances.

    Methods compared on the same notes: ``model``; ``genre_mean`` (the training genre's mean
    velocity); ``piece_mean`` (each piece's own mean, an oracle); ``local_regressor`` (ridge on
    local note features) when the model carries one. RMSE and MAE pool all notes; ``r`` is the
    within-piece Pearson correlation averaged over pieces.
    """
    genre_mean = float(model.meta["genre_mean_velocity"])
    baseline = RidgeBaseline(model.meta["local_regressor"]) if model.meta.get("local_regressor") else None
    preds = {"model": [], "genre_mean": [], "piece_mean": []}
    if baseline is not None:
        preds["local_regressor"] = []
    trues, per_piece = [], []
    for k, roll in enumerate(rolls):
        m = roll.in_range()
        true = roll.notes["velocity"][m].astype(np.float64)
        if len(true) == 0:
            continue
        p = {"model": model.predict_notes(roll)[m],
             "genre_mean": np.full(len(true), genre_mean),
             "piece_mean": np.full(len(true), true.mean())}
        if baseline is not None:
            p["local_regressor"] = baseline.predict(roll)[m]
        trues.append(true)
        for key in preds:
            preds[key].append(p[key])
        per_piece.append({"name": names[k] if names else str(k), "notes": int(len(true)),
                          **{f"{key}_rmse": float(np.sqrt(np.mean((p[key] - true) ** 2))) for key in p}})
    if not trues:
        raise InputError("nothing to evaluate: no notes in range")
    true_all = np.concatenate(trues)
    out = {"pieces": len(trues), "notes": int(len(true_all)), "methods": {}}
    for key, lst in preds.items():
        mm = note_metrics(true_all, np.concatenate(lst))
        rs = [np.corrcoef(t, q)[0, 1] for t, q in zip(trues, lst) if np.std(t) > 0 and np.std(q) > 0]
        mm["r"] = float(np.mean(rs)) if rs else float("nan")
        out["methods"][key] = mm
    out["per_piece"] = per_piece
    return out


# ----------------------------------------------------------------------------- training
def _piece_windows(X, Y, window, rng):
    """Non-overlapping windows of one piece from a random offset (shorter pieces are padded)."""
    T = len(X)
    if T <= window:
        pad = window - T
        yield (np.concatenate([X, np.zeros((pad, X.shape[1]), np.float32)]),
               np.concatenate([Y, np.full((pad, Y.shape[1]), -1.0, np.float32)]))
        return
    off = int(rng.integers(0, window)) if rng is not None else 0
    starts = list(range(off, T - window + 1, window))
    for a in starts:
        yield X[a:a + window], Y[a:a + window]


def _window_stream(ds, indices, cfg: VelocityConfig, seed: int):
    """Endless generator of training windows, streaming piece by piece from the HDF5 file."""
    rng = np.random.default_rng(seed)
    while True:
        for i in rng.permutation(indices):
            X, Y = _padded(ds.piece(int(i)), cfg.lookahead)
            for w in _piece_windows(X, Y, cfg.window, rng):
                yield w


def build_model(cfg: VelocityConfig, n_in: int, n_out: int):
    """Keras model for ``cfg.arch`` ("wavenet" or "bilstm")."""
    from .nn.layers import build_bilstm, build_wavenet

    if cfg.arch == "wavenet":
        return build_wavenet(n_in, n_out, channels=cfg.channels, stacks=cfg.stacks,
                             layers_per_stack=cfg.layers_per_stack, name="velocity_wavenet")
    if cfg.arch == "bilstm":
        return build_bilstm(n_in, n_out, units=cfg.lstm_units, name="velocity_bilstm")
    raise InputError(f"unknown architecture {cfg.arch!r} (wavenet, bilstm)")


def get_strategy(name: str = "default"):
    """A ``tf.distribute`` strategy by name: default (one device), mirrored (all local GPUs),
    multiworker (``TF_CONFIG`` cluster)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise InputError(f"unknown strategy {name!r} (default, mirrored, multiworker)")


def train(dataset_path: str, genre: str, output: str, cfg: VelocityConfig | None = None,
          strategy: str = "default", progress: bool = True, force: bool = False) -> dict:
    """Train a velocity model for ``genre`` on an HDF5 dataset from :mod:`midistyle.dataset`.

    Uses the dataset's train split for fitting and its validation split for early stopping
    and figures; constant-velocity pieces are left out with a warning. Writes the model's
    three files plus ``STEM.log.csv`` (per-epoch log) and ``STEM.loss.png`` (loss curves).

    Returns
    -------
    dict
        The sidecar written (settings, figures, timings).
    """
    import sys

    from .dataset import Dataset
    from .errors import OutputError

    cfg = cfg or VelocityConfig()
    files = model_files(output)
    if not files["keras"].endswith(".keras") or not output.endswith(".keras"):
        raise OutputError(f"{output}: model path must end with .keras")
    if os.path.exists(files["keras"]) and not force:
        raise OutputError(f"{files['keras']}: exists (use --force to overwrite)")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise OutputError(f"{output}: folder does not exist")
    ds = Dataset(dataset_path)
    if genre not in ds.genre_names:
        raise InputError(f"{dataset_path}: no genre {genre!r} (has: {', '.join(ds.genre_names)})")
    const = [ds.names[i] for i in ds.select(genre) if ds.constant_velocity[i]]
    for name in const:
        print(f"warning: {name}: constant velocity, left out of velocity training", file=sys.stderr)
    tr_idx = ds.select(genre, "train", skip_constant=True)
    va_idx = ds.select(genre, "val", skip_constant=True)
    if not tr_idx or not va_idx:
        raise InputError(f"{dataset_path}: genre {genre!r} needs pieces in both splits")

    import keras
    import tensorflow as tf

    from .nn.losses import masked_mse, masked_rmse_127, velocity_loss
    from .nn.numpy_runtime import export_weights

    keras.utils.set_random_seed(cfg.seed)
    settings = ds.settings
    n_in, P = n_features(settings), settings.n_pitches
    n_windows = sum(max(1, int(ds.roll_length[i] + cfg.lookahead) // cfg.window) for i in tr_idx)
    steps = max(1, n_windows // cfg.batch_size)
    if cfg.max_steps_per_epoch:
        steps = min(steps, cfg.max_steps_per_epoch)
    sig = (tf.TensorSpec((cfg.window, n_in), tf.float32), tf.TensorSpec((cfg.window, P), tf.float32))
    train_ds = (tf.data.Dataset.from_generator(lambda: _window_stream(ds, tr_idx, cfg, cfg.seed), output_signature=sig)
                .shuffle(64, seed=cfg.seed).batch(cfg.batch_size, drop_remainder=True).prefetch(2))
    # validation: fixed windows (up to val_windows_per_piece per piece, from the start), built once
    vX, vY = [], []
    for i in va_idx:
        X, Y = _padded(ds.piece(i), cfg.lookahead)
        for k, w in enumerate(_piece_windows(X, Y, cfg.window, None)):
            if k >= cfg.val_windows_per_piece:
                break
            vX.append(w[0])
            vY.append(w[1])
    val_ds = tf.data.Dataset.from_tensor_slices((np.stack(vX), np.stack(vY))).batch(cfg.batch_size)

    with get_strategy(strategy).scope():
        model = build_model(cfg, n_in, P)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                      loss=velocity_loss if cfg.centered_loss else masked_mse, metrics=[masked_rmse_127])
    from .nn.training import fit_with_checkpoints

    stem = files["keras"][: -len(".keras")]
    hist, train_s = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=steps, patience=cfg.patience,
                                         lr_patience=1, min_lr=1e-4, progress=progress)

    # baselines and figures at note level on the validation pieces
    tr_rolls_for_stats = [ds.piece(i) for i in tr_idx]
    genre_mean = float(np.mean(np.concatenate([r.notes["velocity"] for r in tr_rolls_for_stats])))
    ridge = RidgeBaseline().fit(tr_rolls_for_stats)
    del tr_rolls_for_stats
    meta = {
        "kind": KIND, "genre": genre, "feature_version": FEATURE_VERSION,
        "encoder": settings.to_dict(), "n_features": n_in, "context_features": CONTEXT_NAMES,
        "config": asdict(cfg), "strategy": strategy,
        "genre_mean_velocity": genre_mean, "local_regressor": ridge.coef.tolist(),
        "data": {"dataset": os.path.basename(dataset_path), "dataset_md5s": None,
                 "train_pieces": len(tr_idx), "val_pieces": len(va_idx),
                 "constant_velocity_left_out": const},
        "training": {"seconds": round(train_s, 1), "epochs_run": len(hist.history["loss"]),
                     "steps_per_epoch": steps, "batch_size": cfg.batch_size, "window": cfg.window,
                     "examples_per_s": round(len(hist.history["loss"]) * steps * cfg.batch_size / train_s, 2),
                     "frames_per_s": round(len(hist.history["loss"]) * steps * cfg.batch_size * cfg.window / train_s, 1),
                     "history": {k: [float(x) for x in v] for k, v in hist.history.items()}},
    }
    tmp_keras = stem + ".tmp.keras"
    model.save(tmp_keras)
    if cfg.arch == "wavenet":
        export_weights(model, stem + ".tmp.npz")
    vm = VelocityModel(meta, (lambda x: model.predict(x[None], verbose=0)[0]), files["keras"])
    ev = evaluate(vm, [ds.piece(i) for i in va_idx], [ds.names[i] for i in va_idx])
    meta["validation"] = {k: v for k, v in ev.items() if k != "per_piece"}
    os.replace(tmp_keras, files["keras"])
    if cfg.arch == "wavenet":
        os.replace(stem + ".tmp.npz", files["npz"])
    elif os.path.exists(files["npz"]):
        os.unlink(files["npz"])
    with open(files["json"], "w") as fh:
        json.dump(meta, fh, indent=1)
    _plot_history(hist.history, stem + ".loss.png", f"velocity model, {genre} ({cfg.arch})")
    ds.close()
    return meta


def _plot_history(history: dict, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in ("masked_rmse_127", "val_masked_rmse_127"):
        if key in history:
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=key.replace("masked_rmse_127", "RMSE").replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("onset RMSE (velocity units)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
