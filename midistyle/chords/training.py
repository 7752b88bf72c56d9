"""Training a chord generator (:func:`train`): frames and embeddings of a dataset's pieces, endless
transposed training windows, the Keras LSTM started as the per-key Markov baseline and fitted, the
harmony LSTM when the settings ask for one, then the files and the validation figures.

TensorFlow and Keras (with :mod:`midistyle.nn.layers` and :mod:`midistyle.nn.training`, which import
them) load inside the functions that fit, so that importing this module stays light."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from ..classifier import GenreClassifier, segment_features
from ..codec.dataset import genre_splits, open_dataset
from ..modelfiles import (bundle_stem, check_model_output, commit_bundle, plot_history, stage_bundle, timed,
                          training_summary)
from ..nn.numpy_runtime import ConditionedLSTMRuntime, load_weights
from ..codec.pianoroll import EncoderSettings
from .calibrate import habit_start, typical_texture
from .config import FORMAT_VERSION, KIND, ChordsConfig
from .frames import Frames, frame_harmony, frame_keys, previous_frames, roll_frames, window_keys, windows
from .harmony import HarmonyVocabulary, add_weights, fit_harmony, step_weights, strongest_set
from .inputs import input_size, memory_column
from .likelihood import evaluate, harmony_likelihood, markov_rates
from .model import ChordModel
from .outputs import frame_targets, log_odds, n_outputs


def load_pieces(ds, indices, clf, frame_steps: int | None) -> tuple:
    """:class:`Frames` (None when ``frame_steps`` is None) and classifier embeddings of dataset pieces."""
    frames, embs = [], []
    cfg = clf.config
    for i in indices:
        roll = ds.piece(i)
        emb, _ = clf.segment_outputs_from_features(segment_features(roll, cfg.pool, cfg.use_velocity, cfg.harmony))
        embs.append(emb.mean(axis=0))
        if frame_steps is not None:
            frames.append(roll_frames(roll, frame_steps))
    return (frames if frame_steps is not None else None), embs


def _window_stream(frames: list, embs: list, cfg: ChordsConfig, seed: int, foreign: list | None = None,
                   pitch_low: int = 21, vocab: HarmonyVocabulary | None = None):
    """Endless training windows: piece weighted by length, random offset, random transposition
    within +-``cfg.transpose``; input = the previous frames.

    With ``foreign`` embeddings (training pieces of the other genres), a share ``cfg.foreign_cond``
    of the windows starts from one of those instead of its own piece's embedding: at generation
    the inspiration usually comes from another genre, and the model must still continue in its
    own genre from such a start."""
    rng = np.random.default_rng(seed)
    lens = np.array([len(f) for f in frames], np.float64)
    w = lens / lens.sum()
    L = cfg.seq_len
    piece_keys = [frame_keys(f, cfg.harmony, pitch_low) for f in frames] if cfg.harmony_key else None
    while True:
        k = int(rng.choice(len(frames), p=w))
        f = frames[k]
        a = 0
        if len(f) > L:
            a = int(rng.integers(0, len(f) - L + 1))
            f = f[a:a + L]
        else:
            pad = L - len(f)
            f = Frames(np.pad(f.onset, ((0, pad), (0, 0))), np.pad(f.sound, ((0, pad), (0, 0))), np.pad(f.pedal, (0, pad)),
                       f.frame_steps)
        shift = int(rng.integers(-cfg.transpose, cfg.transpose + 1)) if cfg.transpose else 0
        if shift:
            f = f.transposed(shift)
        e = embs[k]
        if foreign and rng.random() < cfg.foreign_cond:
            e = foreign[int(rng.integers(len(foreign)))]
        keys = window_keys(piece_keys[k], a, L, cfg.harmony, shift) if piece_keys is not None else None
        x = previous_frames(f, pitch_low, cfg=cfg, harmony_masks=_window_masks(f, vocab, cfg, pitch_low),
                            harmony_keys=keys)
        if cfg.input_noise:       # read a slightly wrong past, as the model does when it plays its own draws
            P = f.onset.shape[1]
            flip = rng.random((len(x), 2 * P + 1)) < cfg.input_noise
            x[:, :2 * P + 1] = np.abs(x[:, :2 * P + 1] - flip)
        yield model_inputs(x, e, f, cfg), frame_targets(f)


def _window_masks(fr: Frames, vocab: HarmonyVocabulary | None, cfg: ChordsConfig, pitch_low: int):
    """The harmony masks of a training window on its own grid (None without a harmony layer)."""
    return vocab.masks[frame_harmony(fr, vocab, cfg.harmony, pitch_low)] if cfg.harmony else None


def model_inputs(x: np.ndarray, emb: np.ndarray, fr: Frames, cfg: ChordsConfig) -> tuple:
    """The Keras model's inputs for frames ``fr`` read as ``x`` from embedding ``emb``: (x, emb),
    plus the keys struck in each frame when ``cfg.within_frame``."""
    base = (x, np.asarray(emb, np.float32))
    return base + (fr.onset.astype(np.float32),) if cfg.within_frame else base


def frame_loss(y_true, y_pred):
    """Keras loss: the per-frame NLL of :func:`frame_nll` (targets of :func:`frame_targets`)."""
    import keras

    ops = keras.ops
    P = (y_true.shape[-1] - 2) // 3
    y, m = y_true[..., :2 * P + 2], y_true[..., 2 * P + 2:]
    cell = ops.binary_crossentropy(y, y_pred[..., :2 * P + 2], from_logits=True)
    keys = ops.sum(cell[..., :P], axis=-1)
    if y_pred.shape[-1] == 3 * P + 2:
        on = y[..., :P]
        below = ops.cumsum(on, axis=-1) - on
        lowest = on * ops.cast(ops.equal(below, 0.0), on.dtype)
        above = ops.cast(below > 0.0, on.dtype)
        keys = (-ops.sum(lowest * ops.log_softmax(y_pred[..., 2 * P + 2:], axis=-1), axis=-1)
                + ops.sum(cell[..., :P] * above, axis=-1))
    return cell[..., 2 * P + 1] + y[..., 2 * P + 1] * keys + ops.sum(cell[..., P:2 * P] * m, axis=-1) + cell[..., 2 * P]


def _init_as_markov(model, markov: np.ndarray, units: int) -> None:
    """Start the output layer as the per-key Markov chain (:func:`markov_rates`): biases = the
    logits of the rates after silence / no pedal / no event, skip weights from "sounding before"
    and "pedal before" = the logit gains; LSTM rows scaled down to 0.1. The untrained model then
    scores near the baseline and training only adds what the LSTM knows beyond it."""
    out = model.get_layer("out")
    k, b = out.get_weights()
    k = k.copy()
    P = markov.shape[1]
    k[:units] *= 0.1
    k[units:] = 0.0
    k[units + P: units + 2 * P, :P] = np.diag(log_odds(markov[1]) - log_odds(markov[0]))
    k[units + 2 * P, 2 * P] = log_odds(markov[3, 1]) - log_odds(markov[3, 0])
    b = np.concatenate([log_odds(markov[0]), log_odds(markov[2]), [log_odds(markov[3, 0]), log_odds(markov[3, 2])]])
    if len(b) < k.shape[1]:      # a lowest-key softmax starts at the keys' rates after silence
        b = np.concatenate([b, np.log(markov[0] / markov[0].sum())])
    out.set_weights([k.astype(np.float32), b.astype(np.float32)])


@dataclass
class _TrainingData:
    """What a chord generator is fitted and validated on (:func:`_training_data`)."""

    encoder: EncoderSettings
    train_pieces: int
    train_frames: list
    train_embs: list           # classifier embedding of each training piece
    val_frames: list
    val_embs: list
    foreign: list | None       # embeddings of the other genres' training pieces
    load_seconds: float
    markov: np.ndarray         # per-key Markov rates of the training frames
    typical: dict              # typical texture of the training pieces
    habit_start: list          # where a draw without a prime starts its running pedal share and event rate
    vocab: HarmonyVocabulary | None = None   # the harmonies of the training pieces (with a harmony layer)


def _training_data(ds, genre: str, tr_idx: list, va_idx: list, clf, cfg: ChordsConfig) -> _TrainingData:
    """Frames and embeddings of the pieces (timed), with the other genres' embeddings when
    ``cfg.foreign_cond``, then the Markov baseline, the typical texture and the habit start
    (:func:`habit_start`) of the training pieces."""
    t0 = time.time()
    tr_frames, tr_embs = load_pieces(ds, tr_idx, clf, cfg.frame_steps)
    va_frames, va_embs = load_pieces(ds, va_idx, clf, cfg.frame_steps)
    other_idx = [i for i in ds.select(None, "train") if ds.genres[i] != genre]
    foreign = load_pieces(ds, other_idx, clf, None)[1] if cfg.foreign_cond > 0 and other_idx else None
    load_s = time.time() - t0
    markov = markov_rates(tr_frames)
    typical = typical_texture(tr_frames, ds.settings.step * cfg.frame_steps, ds.settings.pitch_low)
    start = habit_start(tr_frames)
    vocab = None
    if cfg.harmony:
        low = ds.settings.pitch_low
        masks = np.concatenate([strongest_set(step_weights(f.sound, cfg.harmony, low)) for f in tr_frames])
        vocab = HarmonyVocabulary.fit(masks, cfg.harmony_vocab)
    return _TrainingData(ds.settings, len(tr_idx), tr_frames, tr_embs, va_frames, va_embs, foreign, load_s,
                         markov, typical, start, vocab)


def _datasets(data: _TrainingData, cfg: ChordsConfig, emb_dim: int, replicas: int = 1) -> tuple:
    """``tf.data`` of the training windows (:func:`_window_stream`, endless) and of the first
    four full windows of each validation piece."""
    import tensorflow as tf

    from ..nn.training import array_dataset, full_batch_rows, generator_dataset

    P, L, low = data.encoder.n_pitches, cfg.seq_len, data.encoder.pitch_low
    ins = (tf.TensorSpec((L, input_size(P, cfg)), tf.float32), tf.TensorSpec((emb_dim,), tf.float32))
    sig = (ins + ((tf.TensorSpec((L, P), tf.float32),) if cfg.within_frame else ()),
           tf.TensorSpec((L, 3 * P + 2), tf.float32))
    train_ds = generator_dataset(lambda: _window_stream(data.train_frames, data.train_embs, cfg, cfg.seed,
                                                        data.foreign, low, data.vocab), sig, cfg.batch_size, shard=True)
    vX, vY = [], []
    for f, e in zip(data.val_frames, data.val_embs):
        piece_keys = frame_keys(f, cfg.harmony, low) if cfg.harmony_key else None
        for j, w in enumerate(windows(f, L)[:4]):
            if len(w) == L:
                keys = window_keys(piece_keys, j * L, L, cfg.harmony) if piece_keys is not None else None
                x = previous_frames(w, low, cfg=cfg, harmony_masks=_window_masks(w, data.vocab, cfg, low),
                                    harmony_keys=keys)
                vX.append(model_inputs(x, e, w, cfg))
                vY.append(frame_targets(w))
    rows = full_batch_rows(len(vX), 64, replicas)
    inputs = tuple(np.stack(part)[rows] for part in zip(*vX))
    return train_ds, array_dataset((inputs, np.stack(vY)[rows]), 64, shard=True)


def _fit(data: _TrainingData, cfg: ChordsConfig, emb_dim: int, genre: str, dist, stem: str, progress: bool) -> tuple:
    """Build the LSTM under strategy ``dist``, start it as the Markov baseline, compile and fit it:
    ``(model, history, seconds)``."""
    import keras

    from ..nn.layers import build_conditioned_lstm
    from ..nn.training import fit_with_checkpoints

    P = data.encoder.n_pitches
    train_ds, val_ds = _datasets(data, cfg, emb_dim, dist.num_replicas_in_sync)
    with dist.scope():
        # with a lowest-key softmax, the last strikes reach it by their distance too
        relative = ((memory_column(P), P, cfg.relative_keys, (0, 2 * P + 2) if cfg.lowest_key else (0,))
                    if cfg.relative_keys else None)
        model = build_conditioned_lstm(input_size(P, cfg), emb_dim, units=cfg.units, n_out=n_outputs(P, cfg),
                                       cond_dropout=cfg.cond_dropout, within_frame=P if cfg.within_frame else 0,
                                       relative=relative, within_holds=cfg.within_holds,
                                       name=f"chords_{genre}")
        _init_as_markov(model, data.markov, cfg.units)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0), loss=frame_loss)
    hist, seconds = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=cfg.steps_per_epoch, patience=cfg.patience,
                                         lr_patience=1, min_lr=2e-4, progress=progress)
    return model, hist.history, seconds


def _sidecar(data: _TrainingData, clf, cfg: ChordsConfig, genre: str, history: dict, seconds: float, *,
             dataset: str) -> dict:
    """The sidecar of a chord generator trained on ``data`` from ``dataset`` (its file name) with
    the embeddings of classifier ``clf``, before its validation figures."""
    return {
        "kind": KIND, "format_version": FORMAT_VERSION, "genre": genre, "encoder": data.encoder.to_dict(),
        "frame_seconds": data.encoder.step * cfg.frame_steps, "config": cfg.to_dict(),
        "classifier": {"path": os.path.basename(clf.path), "fingerprint": clf.fingerprint,
                       "embedding_dim": clf.embedding_dim},
        "markov": [[round(float(x), 6) for x in row] for row in data.markov],
        "typical_texture": data.typical,
        "habit_start": data.habit_start,
        "data": {"dataset": dataset, "train_pieces": data.train_pieces, "val_pieces": len(data.val_frames),
                 "train_frames": int(sum(len(f) for f in data.train_frames)),
                 "val_frames": int(sum(len(f) for f in data.val_frames)),
                 "foreign_embeddings": len(data.foreign or []),
                 "split": "by piece, as stored in the dataset (pieces/split)"},
        "training": training_summary(history, seconds, steps_per_epoch=cfg.steps_per_epoch,
                                     batch_size=cfg.batch_size, load_seconds=data.load_seconds,
                                     sequence=("seq_len", cfg.seq_len, "frames")),
    }


def _harmony_tokens(data: _TrainingData, cfg: ChordsConfig) -> dict:
    """Harmony tokens and embeddings of the training and validation pieces, for :func:`fit_harmony`;
    with ``cfg.harmony_key``, also the key of each step (``train_keys``, ``val_keys``)."""
    low = data.encoder.pitch_low

    def tok(frames):
        return [frame_harmony(f, data.vocab, cfg.harmony, low) for f in frames]

    out = {"vocab": data.vocab, "train": tok(data.train_frames), "train_embs": data.train_embs,
           "val": tok(data.val_frames), "val_embs": data.val_embs}
    if cfg.harmony_key:
        out["train_keys"] = [frame_keys(f, cfg.harmony, low) for f in data.train_frames]
        out["val_keys"] = [frame_keys(f, cfg.harmony, low) for f in data.val_frames]
    return out


def major_share(keys: list) -> float:
    """Share of harmony steps in a major key, over the key sequences ``keys`` (0.5 without any)."""
    k = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    return float(np.mean(k < 12)) if len(k) else 0.5


def train(dataset_path: str, genre: str, classifier: str, output: str, cfg: ChordsConfig | None = None,
          progress: bool = True, force: bool = False, strategy: str = "default") -> dict:
    """Train the chord generator of ``genre`` on the onsets, held notes and pedal of its pieces.

    Parameters
    ----------
    dataset_path : str
        HDF5 dataset (:mod:`midistyle.dataset`); its train split is fitted, its validation split
        drives early stopping and the figures.
    genre : str
        Genre to model.
    classifier : str
        Genre classifier whose embeddings condition the model (its encoder settings must equal
        the dataset's).
    output : str
        Model path ending in ``.keras`` (``.json``, ``.npz``, ``.log.csv``, ``.loss.png`` beside).
    cfg : ChordsConfig, optional
    progress : bool
        Keras progress bars.
    force : bool
        Overwrite an existing model.
    strategy : str
        ``tf.distribute`` strategy (:func:`midistyle.nn.training.get_strategy`): default, mirrored
        or multiworker (one strategy per process).

    Returns
    -------
    dict
        The sidecar written (settings, timings, validation NLL / onset F1 against the baseline).
    """
    cfg = cfg or ChordsConfig()
    files = check_model_output(output, force=force)
    with open_dataset(dataset_path) as ds:
        tr_idx, va_idx = genre_splits(ds, genre, dataset_path)
        clf = GenreClassifier.load(classifier)
        clf.settings.check(ds.settings, what=f"dataset {dataset_path} (classifier {clf.path})")
        import keras                         # TensorFlow loads once the input is checked

        from ..nn.training import get_strategy

        dist = get_strategy(strategy)        # before any other TensorFlow work
        keras.utils.set_random_seed(cfg.seed)
        data = _training_data(ds, genre, tr_idx, va_idx, clf, cfg)
    stem = bundle_stem(output)
    harmony = None
    if cfg.harmony:
        tokens = _harmony_tokens(data, cfg)
        harmony = fit_harmony(tokens, cfg, clf.embedding_dim, data.foreign, stem, progress)
        if cfg.harmony_key:
            harmony["major_share"] = round(major_share(tokens["train_keys"]), 4)
    model, history, seconds = _fit(data, cfg, clf.embedding_dim, genre, dist, stem, progress)
    staged = stage_bundle(model, files)
    meta = _sidecar(data, clf, cfg, genre, history, seconds, dataset=os.path.basename(dataset_path))
    meta["strategy"] = strategy
    if harmony is not None:
        add_weights(staged[1], harmony.pop("weights"), prefix="harmony/")
        meta["harmony"] = {"vocabulary": data.vocab.to_dict(), "temperature": 1.0, **harmony}
    cm = ChordModel(meta, ConditionedLSTMRuntime(load_weights(staged[1])), files["keras"])
    meta["validation"] = timed(evaluate, cm, data.val_frames, data.val_embs, data.markov)
    if cm.harmony is not None:
        meta["harmony"]["validation"] = harmony_likelihood(cm, data.val_frames, data.val_embs)
    commit_bundle(files, *staged, meta)
    plot_history(history, stem + ".loss.png", f"chord generator, {genre}", panels=(("loss", "NLL per frame (nats)"),))
    return meta
