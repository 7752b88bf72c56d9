"""Genre classifier and style embedding: a dilated 1-D CNN over piano-roll segments.

Input per frame (see :func:`segment_features`): held notes and onsets, optionally velocity,
max-pooled in time from the 25 ms grid to ``pool`` steps (default 4 -> 100 ms frames; a held
or struck key anywhere in the 100 ms counts). A piece is cut into segments of ``segment``
frames (default 256 = 25.6 s); each goes through the dilated stack of
:func:`midistyle.nn.layers.wavenet_body`, is pooled over time (mean and max), mapped to the
style embedding (Dense, tanh, ``embedding_dim`` = 48 by default) and to a softmax over the
genres of the training data (any number).

Piece level: the segment probabilities are averaged (segments cover the piece without gaps;
the last one is aligned to the end, and a piece shorter than one segment is one segment of
its own length). The piece embedding is the mean of its segment embeddings.

Training needs TensorFlow; prediction runs in NumPy from an exported ``.npz``. A model is::

    classifier.keras   Keras 3 model (architecture + weights)
    classifier.json    sidecar: kind, genres, encoder settings, features, config, validation figures
    classifier.npz     weights for the NumPy runtime
"""
from __future__ import annotations

import hashlib
import os
import time
import zipfile
from dataclasses import dataclass

import numpy as np

from .codec.dataset import genre_splits, open_dataset
from .codec.pianoroll import EncoderSettings, PianoRoll, encode
from .errors import InputError, ModelError, SettingsMismatchError
from .fsutil import atomic_output
from .modelfiles import (bundle_stem, check_model_output, commit_bundle, plot_history, read_sidecar, stage_bundle, timed,
                         training_summary)
from .nn.numpy_runtime import load_weights, segment_classifier_forward
from .nn.training import array_dataset, fit_with_checkpoints, full_batch_rows, generator_dataset, get_strategy
from .registry import classifier_path
from .settings import Settings

KIND = "classifier"
FEATURE_VERSION = 1


@dataclass
class ClassifierConfig(Settings):
    """Architecture and training settings of the genre classifier."""

    pool: int = 4                  # 25 ms steps per frame (max-pooled): 4 -> 100 ms
    segment: int = 256             # frames per segment (256 x 100 ms = 25.6 s)
    use_velocity: bool = False     # add velocity / 127 at onsets as a third input block
    harmony: bool = True           # add the interval-class content of the held notes (7 channels)
    channels: int = 32
    stacks: int = 1
    layers_per_stack: int = 7      # dilations 1..64: receptive field 128 frames (12.8 s)
    kernel: int = 2
    embedding_dim: int = 48
    dropout: float = 0.2
    transpose: int = 3             # training augmentation: random shift of up to +-N semitones
    batch_size: int = 32
    epochs: int = 30
    steps_per_epoch: int = 60
    patience: int = 6
    learning_rate: float = 2e-3
    seed: int = 0

    def validate(self) -> None:
        """Sizes >= 1, dropout in [0, 1), transposition >= 0."""
        self.require_min(1, "pool", "segment", "channels", "stacks", "layers_per_stack", "kernel", "embedding_dim",
                         "batch_size", "epochs", "steps_per_epoch", "patience")
        self.require_min(0, "transpose", "seed")
        self.require("dropout", isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1, "must be in [0, 1)")
        self.require("learning_rate", isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0,
                     "must be > 0")


HARMONY_NAMES = ["ic1", "ic2", "ic3", "ic4", "ic5", "ic6", "pitch_classes"]


def n_features(settings: EncoderSettings, use_velocity: bool, harmony: bool = False) -> int:
    """Input channels of :func:`segment_features`."""
    return (3 if use_velocity else 2) * settings.n_pitches + (len(HARMONY_NAMES) if harmony else 0)


def harmony_features(held: np.ndarray, pitch_low: int) -> np.ndarray:
    """Interval-class content of each frame's held notes, float32 (frames, 7).

    From the set of pitch classes held in a frame: for each interval class 1..6 (semitone ..
    tritone), the number of pitch-class pairs that far apart (capped at 4, scaled to 0..1),
    and the number of pitch classes / 12. Transposition-invariant: it says what kind of chord
    sounds (e.g. sevenths and tritones), not on which root.
    """
    held = np.asarray(held, np.float32)
    P = held.shape[1]
    onehot = np.zeros((P, 12), np.float32)
    onehot[np.arange(P), (pitch_low + np.arange(P)) % 12] = 1.0
    c = np.minimum(held @ onehot, 1.0)
    ics = [(c * np.roll(c, -k, axis=1)).sum(axis=1) for k in range(1, 7)]
    ics[5] *= 0.5  # the tritone pairs are counted from both ends
    out = [np.minimum(x, 4.0) / 4.0 for x in ics] + [c.sum(axis=1) / 12.0]
    return np.stack(out, axis=1).astype(np.float32)


def max_pool_time(a: np.ndarray, k: int) -> np.ndarray:
    """Max over consecutive blocks of ``k`` rows (the last block may be shorter)."""
    a = np.asarray(a)
    if k == 1:
        return a
    T = a.shape[0]
    n = -(-T // k)
    pad = n * k - T
    if pad:
        a = np.concatenate([a, np.zeros((pad,) + a.shape[1:], a.dtype)])
    return a.reshape(n, k, *a.shape[1:]).max(axis=1)


def features_from_arrays(held, onsets, velocity=None, pool: int = 4, harmony_pitch_low: int | None = None) -> np.ndarray:
    """Pooled model inputs from (T, P) matrices: float32 (ceil(T / pool), C).

    Blocks: held, onsets, velocity / 127 (when ``velocity`` is given), then
    :func:`harmony_features` of the pooled held notes (when ``harmony_pitch_low`` is given: the
    MIDI pitch of column 0).
    """
    h = max_pool_time(np.asarray(held, np.uint8), pool)
    out = [h.astype(np.float32), max_pool_time(np.asarray(onsets, np.uint8), pool).astype(np.float32)]
    if velocity is not None:
        out.append(max_pool_time(np.asarray(velocity, np.uint8), pool).astype(np.float32) / 127.0)
    if harmony_pitch_low is not None:
        out.append(harmony_features(h, harmony_pitch_low))
    return np.concatenate(out, axis=1)


def segment_features(roll: PianoRoll, pool: int = 4, use_velocity: bool = False, harmony: bool = False) -> np.ndarray:
    """Model inputs of one piece (see :func:`features_from_arrays`), float32 (frames, C)."""
    return features_from_arrays(roll.held, roll.onsets, roll.velocity if use_velocity else None, pool,
                                roll.settings.pitch_low if harmony else None)


def segment_starts(n_frames: int, segment: int) -> list:
    """Start frames of the segments covering ``n_frames`` (last aligned to the end; [0] if short)."""
    if n_frames <= segment:
        return [0]
    starts = list(range(0, n_frames - segment + 1, segment))
    if starts[-1] + segment < n_frames:
        starts.append(n_frames - segment)
    return starts


def weights_fingerprint(w: dict) -> str:
    """Short sha1 of a model's weight arrays (names and values), to tie dependent models to it."""
    h = hashlib.sha1()
    for k in sorted(w):
        h.update(k.encode())
        h.update(np.ascontiguousarray(w[k]).tobytes())
    return h.hexdigest()[:16]


class GenreClassifier:
    """A trained genre classifier, ready to predict and embed (NumPy runtime by default).

    Use :meth:`load`. Inputs are :class:`PianoRoll` objects encoded with :attr:`settings`
    (or files, through :meth:`predict_file`).

    Attributes
    ----------
    genres : list of str
        Output classes, in the order of the probability vector.
    settings : EncoderSettings
        Grid the model was trained on.
    config : ClassifierConfig
        Architecture and feature settings.
    fingerprint : str
        Hash of the weights (chord models record the classifier they were conditioned on).
    """

    def __init__(self, meta: dict, forward, path: str, fingerprint: str = ""):
        self.meta = meta
        self.forward = forward
        self.path = path
        self.fingerprint = fingerprint
        self.settings = EncoderSettings.from_dict(meta["encoder"])
        self.genres = list(meta["genres"])
        self.config = ClassifierConfig.from_dict(meta["config"])

    @property
    def embedding_dim(self) -> int:
        """Length of the style embedding."""
        return int(self.config.embedding_dim)

    @classmethod
    def load(cls, path: str, prefer_numpy: bool = True) -> "GenreClassifier":
        """Load a classifier from its ``.keras`` path (sidecar ``.json`` and ``.npz`` beside it).

        Parameters
        ----------
        path : str
            Model path (``.keras``, ``.json``, ``.npz`` or the stem).
        prefer_numpy : bool
            Run the NumPy forward pass from the ``.npz`` (no TensorFlow); ``False`` loads Keras.

        Raises
        ------
        ModelError
            Missing or unreadable files, or not a classifier.
        SettingsMismatchError
            Sidecar and weights disagree (feature version, input width, genres).
        """
        files, meta = read_sidecar(path, KIND)
        if meta.get("feature_version") != FEATURE_VERSION:
            raise SettingsMismatchError(f"{path}: made for feature version {meta.get('feature_version')}, "
                                        f"this midistyle uses {FEATURE_VERSION}")
        try:
            settings = EncoderSettings.from_dict(meta["encoder"])
            cfg = ClassifierConfig.from_dict(meta["config"])
            genres = list(meta["genres"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{files['json']}: incomplete classifier sidecar ({exc})") from None
        n_in = n_features(settings, cfg.use_velocity, cfg.harmony)
        if meta.get("n_features") != n_in:
            raise SettingsMismatchError(f"{path}: model expects {meta.get('n_features')} input features, "
                                        f"encoder settings {settings.to_dict()} give {n_in}")
        if prefer_numpy and os.path.exists(files["npz"]):
            try:
                w = load_weights(files["npz"])
            except (OSError, ValueError) as exc:
                raise ModelError(f"{files['npz']}: unreadable weights ({exc})") from None
            if "in/kernel" not in w or "out/kernel" not in w:
                raise ModelError(f"{files['npz']}: not classifier weights")
            if w["in/kernel"].shape[1] != n_in:
                raise SettingsMismatchError(f"{files['npz']}: weights take {w['in/kernel'].shape[1]} features, "
                                            f"sidecar says {n_in}")
            if w["out/kernel"].shape[1] != len(genres):
                raise SettingsMismatchError(f"{files['npz']}: weights give {w['out/kernel'].shape[1]} classes, "
                                            f"sidecar names {len(genres)} genres")
            return cls(meta, lambda x: segment_classifier_forward(w, x), files["keras"], weights_fingerprint(w))
        if not os.path.exists(files["keras"]):
            raise ModelError(f"{files['keras']}: no such model file")
        model = load_keras_classifier(files["keras"])
        if model.input_shape[-1] != n_in:
            raise SettingsMismatchError(f"{files['keras']}: model takes {model.input_shape[-1]} features, "
                                        f"sidecar says {n_in}")
        if model.output_shape[-1] != len(genres):
            raise SettingsMismatchError(f"{files['keras']}: model gives {model.output_shape[-1]} classes, "
                                        f"sidecar names {len(genres)} genres")
        return cls(meta, keras_forward(model), files["keras"], meta.get("fingerprint", ""))

    # ------------------------------------------------------------------ prediction
    def check(self, roll: PianoRoll) -> None:
        """Raise :class:`SettingsMismatchError` if ``roll`` was encoded with other settings."""
        self.settings.check(roll.settings, what=f"input (classifier {self.path})")

    def features(self, roll: PianoRoll) -> np.ndarray:
        """Model inputs of ``roll`` (frames, C); checks the encoder settings."""
        self.check(roll)
        return segment_features(roll, self.config.pool, self.config.use_velocity, self.config.harmony)

    def segment_outputs(self, roll: PianoRoll) -> tuple:
        """Embedding (S, D) and genre probabilities (S, G) of every segment of ``roll``."""
        return self.segment_outputs_from_features(self.features(roll))

    def segment_outputs_from_features(self, feats: np.ndarray) -> tuple:
        """Like :meth:`segment_outputs`, from :func:`segment_features` output."""
        seg = self.config.segment
        starts = segment_starts(len(feats), seg)
        if len(starts) == 1:
            e, p = self.forward(feats[:seg])
            return np.asarray(e, np.float32)[None], np.asarray(p, np.float64)[None]
        embs, probs = [], []
        for k in range(0, len(starts), 64):  # batches of full-length segments
            e, p = self.forward(np.stack([feats[a:a + seg] for a in starts[k:k + 64]]))
            embs.append(e)
            probs.append(p)
        return np.concatenate(embs).astype(np.float32), np.concatenate(probs).astype(np.float64)

    def predict(self, roll: PianoRoll) -> dict:
        """Piece-level prediction: ``{"genre": str, "probabilities": {genre: p}}`` (mean over segments)."""
        _, probs = self.segment_outputs(roll)
        return self._result(probs)

    def _result(self, probs: np.ndarray) -> dict:
        p = probs.mean(axis=0)
        return {"genre": self.genres[int(np.argmax(p))],
                "probabilities": {g: round(float(x), 6) for g, x in zip(self.genres, p)}}

    def embed(self, roll: PianoRoll, per_segment: bool = False) -> np.ndarray:
        """Style embedding of ``roll``: the mean over segments (D,), or every segment's (S, D)."""
        emb, _ = self.segment_outputs(roll)
        return emb if per_segment else emb.mean(axis=0)

    def predict_file(self, path: str) -> dict:
        """Read and encode a file, then :meth:`predict`; adds ``"file"``."""
        res = self.predict(encode(path, self.settings))
        return {"file": os.fspath(path), **res}


def load_keras_classifier(path: str):
    """The Keras model of ``path``: one input and one output of shape (..., width), with an ``embed``
    layer. Raises :class:`ModelError` naming ``path`` when Keras cannot load it (damaged, not a
    ``.keras`` archive, unknown layers) or it is not shaped like a classifier."""
    if not zipfile.is_zipfile(path):         # Keras would say "File not found" of a damaged file
        raise ModelError(f"{path}: not a Keras model archive (damaged, or another format)")
    import keras

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:                 # Keras raises ValueError, KeyError, TypeError, OSError, ...
        raise ModelError(f"{path}: cannot load the Keras model ({one_line(exc)})") from None
    try:
        shapes = model.input_shape, model.output_shape
    except (AttributeError, ValueError):     # not built, or layers without one shape
        shapes = None, None
    if not all(isinstance(s, tuple) and len(s) >= 2 and isinstance(s[-1], int) for s in shapes):
        raise ModelError(f"{path}: not a classifier network (input shape {shapes[0]}, output shape {shapes[1]})")
    if "embed" not in [layer.name for layer in getattr(model, "layers", ())]:
        raise ModelError(f"{path}: not a classifier network (no layer named embed)")
    return model


def one_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of ``exc``'s message (its type's name when it has none), at most ``limit`` characters."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line if len(line) <= limit else line[:limit - 3] + "..."


def keras_forward(model):
    """(embedding, probabilities) of one segment (or a batch) from a Keras classifier (the reference path)."""
    import keras

    sub = keras.Model(model.inputs, [model.get_layer("embed").output, model.output])

    def forward(x):
        x = np.asarray(x, np.float32)
        e, p = sub.predict(x if x.ndim == 3 else x[None], verbose=0)
        return (e, p) if x.ndim == 3 else (e[0], p[0])
    return forward


def load_default(model: str | None = None) -> GenreClassifier:
    """The classifier at ``model``, or the shipped one (:func:`midistyle.registry.classifier_path`)."""
    return GenreClassifier.load(model or classifier_path())


def classify(paths, model: str | GenreClassifier | None = None) -> list:
    """Predict the genre of each file.

    Parameters
    ----------
    paths : list of str
        MIDI files, scores or ``corpus:NAME``.
    model : str or GenreClassifier, optional
        Classifier to use (default: the shipped one).

    Returns
    -------
    list of dict
        Per file: ``file``, ``genre`` and ``probabilities`` (genre -> probability).
        Every input is read before anything is returned, so a bad file fails the whole call.
    """
    clf = model if isinstance(model, GenreClassifier) else load_default(model)
    return [clf.predict_file(p) for p in paths]


def embed(source, model: str | GenreClassifier | None = None, per_segment: bool = False) -> np.ndarray:
    """Style embedding of a file (or :class:`PianoRoll`), float32 (D,) or per segment (S, D)."""
    clf = model if isinstance(model, GenreClassifier) else load_default(model)
    roll = source if isinstance(source, PianoRoll) else encode(source, clf.settings)
    return clf.embed(roll, per_segment=per_segment)


def save_npy(array: np.ndarray, path: str, *, force: bool = False, protect: tuple = ()) -> None:
    """Write ``array`` to ``path`` (.npy) atomically; refuse to overwrite without ``force``,
    never overwrite a path in ``protect``."""
    with atomic_output(path, force=force, protect=protect, suffix=".npy.tmp") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def evaluate(clf: GenreClassifier, features: list, labels: list, names: list | None = None) -> dict:
    """Segment- and piece-level accuracy and confusion matrices.

    Parameters
    ----------
    clf : GenreClassifier
    features : list of arrays
        :func:`segment_features` of each piece (made with ``clf.config``).
    labels : list of str
        True genre of each piece.
    names : list of str, optional
        Piece names, for the list of misclassified pieces.

    Returns
    -------
    dict
        ``segment_accuracy``, ``piece_accuracy``, ``segments``, ``pieces``, ``confusion_segments``
        and ``confusion_pieces`` (rows: true genre, columns: predicted, in ``genres`` order),
        ``per_genre_piece_accuracy`` and ``misclassified`` pieces with their probabilities.
    """
    G = len(clf.genres)
    gi = {g: k for k, g in enumerate(clf.genres)}
    cs = np.zeros((G, G), int)
    cp = np.zeros((G, G), int)
    wrong = []
    for k, (f, lab) in enumerate(zip(features, labels)):
        if lab not in gi:
            raise InputError(f"genre {lab!r} is not one the classifier knows ({', '.join(clf.genres)})")
        _, probs = clf.segment_outputs_from_features(f)
        t = gi[lab]
        for p in probs.argmax(axis=1):
            cs[t, p] += 1
        res = clf._result(probs)
        cp[t, gi[res["genre"]]] += 1
        if res["genre"] != lab:
            wrong.append({"name": names[k] if names else str(k), "genre": lab,
                          "probabilities": res["probabilities"], "segments": int(len(probs))})
    return {
        "genres": clf.genres,
        "pieces": int(cp.sum()), "segments": int(cs.sum()),
        "segment_accuracy": float(np.trace(cs) / max(cs.sum(), 1)),
        "piece_accuracy": float(np.trace(cp) / max(cp.sum(), 1)),
        "per_genre_piece_accuracy": {g: float(cp[i, i] / max(cp[i].sum(), 1)) for i, g in enumerate(clf.genres)},
        "confusion_segments": cs.tolist(), "confusion_pieces": cp.tolist(),
        "misclassified": wrong,
    }


def format_confusion(matrix, genres) -> str:
    """A small text table of a confusion matrix (rows true, columns predicted)."""
    w = max(8, max(len(g) for g in genres) + 1)
    lines = ["true \\ pred".ljust(w + 2) + "".join(g.rjust(w) for g in genres)]
    for g, row in zip(genres, matrix):
        lines.append(g.ljust(w + 2) + "".join(str(x).rjust(w) for x in row))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- training
def load_features(ds, indices, cfg: ClassifierConfig, compact: bool = False) -> list:
    """:func:`segment_features` of pieces of a :class:`~midistyle.codec.dataset.Dataset`.

    With ``compact`` the arrays stay uint8 (velocity unscaled) to save memory; turn them into
    model inputs with :func:`_as_float`.
    """
    out = []
    for i in indices:
        roll = ds.piece(i)
        blocks = [max_pool_time(roll.held.view(np.uint8), cfg.pool), max_pool_time(roll.onsets.view(np.uint8), cfg.pool)]
        if cfg.use_velocity:
            blocks.append(max_pool_time(roll.velocity, cfg.pool))
        f = np.concatenate(blocks, axis=1).astype(np.uint8)
        out.append(f if compact else _as_float(f, cfg, ds.settings))
    return out


def _as_float(f: np.ndarray, cfg: ClassifierConfig, settings: EncoderSettings) -> np.ndarray:
    """Compact uint8 blocks of :func:`load_features` -> model inputs (same as :func:`segment_features`)."""
    P = settings.n_pitches
    x = f.astype(np.float32)
    if cfg.use_velocity:
        x[:, 2 * P:] /= 127.0
    if cfg.harmony:
        x = np.concatenate([x, harmony_features(f[:, :P], settings.pitch_low)], axis=1)
    return x


def _shift_pitch(x: np.ndarray, k: int, P: int) -> np.ndarray:
    """Transpose every P-wide block of ``x`` (frames, nP) by ``k`` semitones, zero-filled."""
    if k == 0:
        return x
    out = np.zeros_like(x)
    for b in range(x.shape[1] // P):
        blk = x[:, b * P:(b + 1) * P]
        if k > 0:
            out[:, b * P + k:(b + 1) * P] = blk[:, :P - k]
        else:
            out[:, b * P:(b + 1) * P + k] = blk[:, -k:]
    return out


def _segment_stream(feats_by_class: list, cfg: ClassifierConfig, settings: EncoderSettings, seed: int):
    """Endless (segment, label) pairs: genres in turn, pieces weighted by length (capped at
    4 segments), random offset and transposition."""
    rng = np.random.default_rng(seed)
    P = settings.n_pitches
    weights = []
    for feats in feats_by_class:
        w = np.array([min(len(f), 4 * cfg.segment) for f in feats], np.float64)
        weights.append(w / w.sum())
    G = len(feats_by_class)
    while True:
        for c in rng.permutation(G):
            feats = feats_by_class[c]
            f = feats[int(rng.choice(len(feats), p=weights[c]))]
            if len(f) > cfg.segment:
                a = int(rng.integers(0, len(f) - cfg.segment + 1))
                x = f[a:a + cfg.segment]
            else:
                x = np.concatenate([f, np.zeros((cfg.segment - len(f), f.shape[1]), f.dtype)])
            if cfg.transpose:
                x = _shift_pitch(x, int(rng.integers(-cfg.transpose, cfg.transpose + 1)), P)
            yield _as_float(x, cfg, settings), np.int32(c)


@dataclass
class _TrainingData:
    """What a classifier is fitted and validated on (:func:`_training_data`)."""

    genres: list
    settings: EncoderSettings
    train_pieces: dict         # genre -> pieces in the train split
    val_pieces: dict
    train_feats: list          # per genre, the compact features of its training pieces
    val_feats: list            # model inputs of the validation pieces, genre by genre
    val_labels: list
    val_names: list
    load_seconds: float


def _training_data(ds, splits: dict, cfg: ClassifierConfig) -> _TrainingData:
    """Features of the pieces of ``splits`` (genre -> (train, val) indices), timed."""
    genres = list(splits)
    t0 = time.time()
    tr_feats = [load_features(ds, splits[g][0], cfg, compact=True) for g in genres]
    va_idx = [i for g in genres for i in splits[g][1]]
    va_feats = load_features(ds, va_idx, cfg)
    va_labels = [ds.genres[i] for i in va_idx]
    return _TrainingData(genres, ds.settings, {g: len(splits[g][0]) for g in genres},
                         {g: len(splits[g][1]) for g in genres}, tr_feats, va_feats, va_labels,
                         [ds.names[i] for i in va_idx], time.time() - t0)


def _datasets(data: _TrainingData, cfg: ClassifierConfig, n_in: int, replicas: int = 1) -> tuple:
    """``tf.data`` of the training segments (:func:`_segment_stream`, endless) and of every
    segment of the validation pieces (the last one zero-padded; with several replicas, repeated to
    full batches of the same count on every replica)."""
    import tensorflow as tf

    sig = (tf.TensorSpec((cfg.segment, n_in), tf.float32), tf.TensorSpec((), tf.int32))
    train_ds = generator_dataset(lambda: _segment_stream(data.train_feats, cfg, data.settings, cfg.seed), sig,
                                 cfg.batch_size, shard=True)
    vX, vY = [], []
    for f, lab in zip(data.val_feats, data.val_labels):
        for a in segment_starts(len(f), cfg.segment):
            x = f[a:a + cfg.segment]
            if len(x) < cfg.segment:
                x = np.concatenate([x, np.zeros((cfg.segment - len(x), n_in), np.float32)])
            vX.append(x)
            vY.append(data.genres.index(lab))
    rows = full_batch_rows(len(vX), 64, replicas)
    return train_ds, array_dataset((np.stack(vX)[rows], np.array(vY, np.int32)[rows]), 64, shard=True)


def _fit(data: _TrainingData, cfg: ClassifierConfig, dist, stem: str, progress: bool) -> tuple:
    """Build and compile the classifier under strategy ``dist`` and fit it on segments:
    ``(model, history, seconds)``."""
    import keras

    from .nn.layers import build_segment_classifier  # lazy: Keras layers load TensorFlow
    n_in = n_features(data.settings, cfg.use_velocity, cfg.harmony)
    train_ds, val_ds = _datasets(data, cfg, n_in, dist.num_replicas_in_sync)
    with dist.scope():
        model = build_segment_classifier(n_in, len(data.genres), channels=cfg.channels, stacks=cfg.stacks,
                                         layers_per_stack=cfg.layers_per_stack, kernel=cfg.kernel,
                                         embedding_dim=cfg.embedding_dim, dropout=cfg.dropout,
                                         name="genre_classifier")
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist, seconds = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=cfg.steps_per_epoch, patience=cfg.patience,
                                         lr_patience=2, min_lr=1e-4, progress=progress)
    return model, hist.history, seconds


def _sidecar(data: _TrainingData, cfg: ClassifierConfig, fingerprint: str, history: dict, seconds: float, *,
             dataset: str) -> dict:
    """The sidecar of a classifier trained on ``data`` from ``dataset`` (its file name), before
    its validation figures."""
    settings = data.settings
    return {
        "kind": KIND, "feature_version": FEATURE_VERSION, "genres": data.genres,
        "encoder": settings.to_dict(), "n_features": n_features(settings, cfg.use_velocity, cfg.harmony),
        "inputs": ["held", "onsets"] + (["velocity"] if cfg.use_velocity else []) + (HARMONY_NAMES if cfg.harmony else []),
        "frame_seconds": settings.step * cfg.pool, "segment_seconds": settings.step * cfg.pool * cfg.segment,
        "config": cfg.to_dict(), "fingerprint": fingerprint,
        "data": {"dataset": dataset, "train_pieces": data.train_pieces, "val_pieces": data.val_pieces,
                 "split": "by piece, as stored in the dataset (pieces/split)"},
        "training": training_summary(history, seconds, steps_per_epoch=cfg.steps_per_epoch,
                                     batch_size=cfg.batch_size, load_seconds=data.load_seconds),
    }


def train(dataset_path: str, output: str, cfg: ClassifierConfig | None = None, progress: bool = True,
          force: bool = False, strategy: str = "default") -> dict:
    """Train a genre classifier on an HDF5 dataset from :mod:`midistyle.codec.dataset`.

    Fits on the dataset's train split (split by piece) and validates on its validation split
    each epoch (segment-level loss) with early stopping, a best-model checkpoint, a CSV log
    and a loss-curve PNG beside the output. The genres are those of the dataset (two or more).

    Parameters
    ----------
    dataset_path : str
        HDF5 dataset.
    output : str
        Model path ending in ``.keras``; ``.json``, ``.npz``, ``.log.csv`` and ``.loss.png``
        are written beside it.
    cfg : ClassifierConfig, optional
        Settings (fixed seed by default).
    progress : bool
        Show Keras progress bars.
    force : bool
        Overwrite an existing model.
    strategy : str
        ``tf.distribute`` strategy (:func:`midistyle.nn.training.get_strategy`): default, mirrored
        or multiworker.

    Returns
    -------
    dict
        The sidecar written: settings, training time, validation figures (segment and piece
        accuracy, confusion matrices).
    """
    cfg = cfg or ClassifierConfig()
    files = check_model_output(output, force=force)
    with open_dataset(dataset_path) as ds:
        genres = ds.genre_names
        if len(genres) < 2:
            raise InputError(f"{dataset_path}: a classifier needs at least two genres (has: {', '.join(genres) or 'none'})")
        splits = {g: genre_splits(ds, g, dataset_path) for g in genres}
        import keras                         # TensorFlow loads once the input is checked

        dist = get_strategy(strategy)        # before any other TensorFlow work
        keras.utils.set_random_seed(cfg.seed)
        data = _training_data(ds, splits, cfg)
    stem = bundle_stem(output)
    model, history, seconds = _fit(data, cfg, dist, stem, progress)
    staged = stage_bundle(model, files)
    w = load_weights(staged[1])
    meta = _sidecar(data, cfg, weights_fingerprint(w), history, seconds, dataset=os.path.basename(dataset_path))
    meta["strategy"] = strategy
    clf = GenreClassifier(meta, lambda x: segment_classifier_forward(w, x), files["keras"], meta["fingerprint"])
    meta["validation"] = timed(evaluate, clf, data.val_feats, data.val_labels, data.val_names)
    commit_bundle(files, *staged, meta)
    plot_history(history, stem + ".loss.png", "genre classifier", panels=(("loss", "cross-entropy (segments)"),))
    return meta
