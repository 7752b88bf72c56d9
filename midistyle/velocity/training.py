"""Training a velocity model (Keras, TensorFlow): data, fit, sidecar, validation.

TensorFlow and Keras load inside the functions that use them, once the input is checked."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from ..codec.dataset import genre_splits, open_dataset
from ..codec.pianoroll import EncoderSettings
from ..judges.notefeatures import RidgeBaseline
from ..modelfiles import bundle_stem, check_model_output, commit_bundle, plot_history, stage_bundle, training_summary
from ..nn.numpy_runtime import ARWaveNetRuntime
from ..nn.sequences import event_windows
from ..nn.training import array_dataset, fit_with_checkpoints, full_batch_rows, generator_dataset, get_strategy
from .evaluation import evaluate
from .inputs import NOTE_INPUT_NAMES, piece_sequence
from .model import FEATURE_VERSION, KIND, N_CLASSES, VelocityConfig, VelocityModel


def build_model(cfg: VelocityConfig, n_in: int):
    """The Keras model of ``cfg`` (:func:`midistyle.nn.layers.build_autoregressive_wavenet`)."""
    from ..nn.layers import build_autoregressive_wavenet  # lazy: Keras layers load TensorFlow

    return build_autoregressive_wavenet(n_in, N_CLASSES, cond_channels=cfg.cond_channels,
                                        cond_dilations=cfg.cond_dilations, channels=cfg.channels,
                                        ar_dilations=cfg.ar_dilations, skip_channels=cfg.skip_channels,
                                        head_units=cfg.head_units, dropout=cfg.dropout,
                                        name="velocity_ar_wavenet")


@dataclass
class _TrainingData:
    """What a velocity model is fitted and validated on (:func:`_training_data`)."""

    train_pieces: int
    train_seqs: list           # (note inputs, velocities) per training piece
    genre_mean: float          # mean velocity of the training notes
    ridge: RidgeBaseline       # local regressor fitted on the training pieces
    val_rolls: list
    val_seqs: list
    val_names: list
    steps: int                 # steps per epoch


def _constant_velocity_pieces(ds, genre: str) -> list:
    """Names of the constant-velocity pieces of ``genre``, each reported on stderr as left out."""
    const = [ds.names[i] for i in ds.select(genre) if ds.constant_velocity[i]]
    for name in const:
        print(f"warning: {name}: constant velocity, left out of velocity training", file=sys.stderr)
    return const


def _training_data(ds, tr_idx: list, va_idx: list, cfg: VelocityConfig) -> _TrainingData:
    """The note sequences of the training and validation pieces, the baselines fitted on the
    training notes and the steps per epoch (one pass over the training windows, capped)."""
    train_rolls = [ds.piece(i) for i in tr_idx]
    train_seqs = [piece_sequence(r) for r in train_rolls]
    genre_mean = float(np.mean(np.concatenate([v for _, v in train_seqs])))
    ridge = RidgeBaseline().fit(train_rolls)
    del train_rolls
    val_rolls = [ds.piece(i) for i in va_idx]
    val_seqs = [piece_sequence(r) for r in val_rolls]
    n_windows = sum(max(1, -(-len(v) // cfg.window)) for _, v in train_seqs)
    steps = max(1, n_windows // cfg.batch_size)
    if cfg.max_steps_per_epoch:
        steps = min(steps, cfg.max_steps_per_epoch)
    return _TrainingData(len(tr_idx), train_seqs, genre_mean, ridge, val_rolls, val_seqs,
                         [ds.names[i] for i in va_idx], steps)


def _datasets(data: _TrainingData, cfg: VelocityConfig, replicas: int) -> tuple:
    """``tf.data`` of the training windows (endless: pieces in a seeded random order, random
    offsets, noisy previous velocities, shuffled) and of the validation windows (fixed; with
    several replicas, repeated to full batches of the same count on every replica)."""
    import tensorflow as tf

    W = cfg.window
    sig = ({"features": tf.TensorSpec((W, len(NOTE_INPUT_NAMES)), tf.float32),
            "previous": tf.TensorSpec((W, 2), tf.float32)},
           {"logits": tf.TensorSpec((W,), tf.int64), "mean": tf.TensorSpec((W, 1), tf.float32)},
           {"logits": tf.TensorSpec((W,), tf.float32), "mean": tf.TensorSpec((W,), tf.float32)})

    def stream():
        rng = np.random.default_rng(cfg.seed)
        while True:
            order = rng.permutation(len(data.train_seqs))
            yield from event_windows([data.train_seqs[i] for i in order], W, rng, noise=cfg.input_noise)

    train_ds = generator_dataset(stream, sig, cfg.batch_size, shuffle=256, seed=cfg.seed, shard=True)
    val = list(event_windows(data.val_seqs, W, None, cfg.val_windows_per_piece))
    val = [val[i] for i in full_batch_rows(len(val), cfg.batch_size, replicas)]
    val_ds = array_dataset(tuple({k: np.stack([w[j][k] for w in val]) for k in val[0][j]} for j in range(3)),
                           cfg.batch_size, shard=True)
    return train_ds, val_ds


def _fit(data: _TrainingData, cfg: VelocityConfig, dist, stem: str, progress: bool) -> tuple:
    """Build and compile the model under strategy ``dist`` and fit it by likelihood plus the
    regression head's MSE: ``(model, history, seconds)``."""
    import keras

    train_ds, val_ds = _datasets(data, cfg, dist.num_replicas_in_sync)
    with dist.scope():
        model = build_model(cfg, len(NOTE_INPUT_NAMES))
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                      loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                            "mean": keras.losses.MeanSquaredError()},
                      loss_weights={"logits": 1.0, "mean": cfg.mean_weight})
    hist, seconds = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=data.steps, patience=cfg.patience,
                                         lr_patience=1, min_lr=1e-4, progress=progress)
    return model, hist.history, seconds


def _sidecar(genre: str, encoder: EncoderSettings, cfg: VelocityConfig, strategy: str, data: _TrainingData,
             history: dict, seconds: float, *, dataset: str, left_out: list) -> dict:
    """The sidecar of a model trained on ``data`` from ``dataset`` (its file name) with the
    constant-velocity pieces ``left_out``, before its validation figures."""
    n_notes = sum(len(v) for _, v in data.train_seqs)
    return {
        "kind": KIND, "genre": genre, "feature_version": FEATURE_VERSION,
        "encoder": encoder.to_dict(), "n_features": len(NOTE_INPUT_NAMES), "note_inputs": list(NOTE_INPUT_NAMES),
        "config": cfg.to_dict(), "strategy": strategy,
        "genre_mean_velocity": data.genre_mean, "local_regressor": data.ridge.coef.tolist(),
        "data": {"dataset": dataset, "train_pieces": data.train_pieces, "val_pieces": len(data.val_rolls),
                 "train_notes": int(n_notes), "constant_velocity_left_out": left_out},
        "training": training_summary(history, seconds, steps_per_epoch=data.steps, batch_size=cfg.batch_size,
                                     sequence=("window", cfg.window, "notes")),
    }


def _validation(meta: dict, npz: str, keras_path: str, data: _TrainingData) -> dict:
    """:func:`evaluate` of the model in ``npz`` (NumPy runtime) on the validation pieces, without
    the per-piece rows."""
    ev = evaluate(VelocityModel(meta, ARWaveNetRuntime(npz), keras_path), data.val_rolls, data.val_names)
    return {k: v for k, v in ev.items() if k != "per_piece"}


def train(dataset_path: str, genre: str, output: str, cfg: VelocityConfig | None = None,
          strategy: str = "default", progress: bool = True, force: bool = False) -> dict:
    """Train a velocity model for ``genre`` on an HDF5 dataset from :mod:`midistyle.codec.dataset`.

    Fits on the dataset's train split by likelihood (teacher forcing) plus the regression head's
    MSE; early stopping and the figures use its validation split. Constant-velocity pieces are
    left out with a warning. Writes the model's three files plus ``STEM.log.csv`` and
    ``STEM.loss.png``.

    Returns
    -------
    dict
        The sidecar written (settings, figures, timings).
    """
    cfg = cfg or VelocityConfig()
    files = check_model_output(output, force=force)
    with open_dataset(dataset_path) as ds:
        const = _constant_velocity_pieces(ds, genre)
        tr_idx, va_idx = genre_splits(ds, genre, dataset_path, skip_constant=True)
        import keras                         # TensorFlow loads once the input is checked

        dist = get_strategy(strategy)        # before any other TensorFlow work
        keras.utils.set_random_seed(cfg.seed)
        data = _training_data(ds, tr_idx, va_idx, cfg)
        encoder = ds.settings
    stem = bundle_stem(output)
    model, history, seconds = _fit(data, cfg, dist, stem, progress)
    meta = _sidecar(genre, encoder, cfg, strategy, data, history, seconds,
                    dataset=os.path.basename(dataset_path), left_out=const)
    staged = stage_bundle(model, files, optimizer=True)
    meta["validation"] = _validation(meta, staged[1], files["keras"], data)
    commit_bundle(files, *staged, meta)
    plot_history(history, stem + ".loss.png", f"velocity model, {genre}",
                 panels=(("logits_loss", "NLL per note (nats)"), ("mean_loss", "regression MSE (velocity/127)")))
    return meta
