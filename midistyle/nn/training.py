"""Training loop shared by the Keras models: ``fit()`` with the same callbacks everywhere, the
``tf.data`` input pipelines built the same way, and the ``tf.distribute`` strategies."""
from __future__ import annotations

import functools
import os
import time

from ..errors import InputError
from .distributed import fit_multiworker, is_multiworker, multiworker_strategy


@functools.lru_cache(maxsize=None)
def _mirrored(devices: tuple):
    """One MirroredStrategy per set of devices and process: a second one over the same devices
    fails in its first collective reduce (TensorFlow's collective keys), so a process that trains
    several models mirrored (e.g. a classifier, then chords on its embedding) shares it."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices=list(devices))


def get_strategy(name: str = "default"):
    """A ``tf.distribute`` strategy by name. Create it before any other TensorFlow work.

    - ``default``: one device.
    - ``mirrored``: synchronous data parallelism over this machine's GPUs, or, without GPUs,
      over its logical CPU devices (``tf.config.set_logical_device_configuration``).
    - ``multiworker``: ``MultiWorkerMirroredStrategy`` over the workers that ``TF_CONFIG`` names
      (an :class:`InputError` when it is missing or malformed); :func:`fit_with_checkpoints` then
      trains with :func:`midistyle.nn.distributed.fit_multiworker` (Keras 3's ``fit()`` cannot,
      keras-team/keras#20585), datasets sharded by :func:`shard_by_data` (auto-shard policy DATA).
    """
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return _mirrored(tuple(d.name for d in devices))
    if name == "multiworker":
        return multiworker_strategy()
    raise InputError(f"unknown strategy {name!r} (default, mirrored, multiworker)")


def full_batch_rows(n: int, batch_size: int, replicas: int):
    """Row indices of ``n`` validation examples for ``replicas`` replicas: all of them once with one
    replica; with several, repeated from the start up to whole global batches (``batch_size`` x
    ``replicas``, at least one), so that every replica sees the same number of full batches."""
    import numpy as np

    if replicas <= 1:
        return np.arange(n)
    full = batch_size * replicas
    return np.resize(np.arange(n), max(full, n - n % full))


def shard_by_data(ds):
    """``ds`` with the auto-shard policy DATA: under a multi-worker strategy each worker takes
    every n-th batch (generated streams have no files to shard by)."""
    import tensorflow as tf

    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts)


def generator_dataset(generate, signature, batch_size: int, *, shuffle: int = 0, seed: int | None = None,
                      shard: bool = False):
    """``tf.data`` of the examples that ``generate()`` yields (typically endless), in full batches.

    Parameters
    ----------
    generate : callable
        Called with no argument, returns an iterator of examples.
    signature
        ``tf.TensorSpec`` structure of one example (``output_signature``).
    batch_size : int
        Examples per batch; the last, incomplete batch is dropped.
    shuffle, seed
        With ``shuffle`` > 0, examples are shuffled in a buffer of that many, with ``seed``.
    shard : bool
        Set the auto-shard policy DATA (:func:`shard_by_data`), for distributed training.

    Returns
    -------
    tf.data.Dataset
        ``from_generator`` -> ``shuffle`` -> ``batch`` -> ``prefetch(2)``.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
    if shuffle:
        ds = ds.shuffle(shuffle, seed=seed)
    ds = ds.batch(batch_size, drop_remainder=True).prefetch(2)
    return shard_by_data(ds) if shard else ds


def array_dataset(arrays, batch_size: int, *, shard: bool = False):
    """``tf.data`` of fixed examples (a structure of arrays, one row per example) in batches of
    ``batch_size`` (the last one may be smaller), in order: validation data. ``shard`` as in
    :func:`generator_dataset`."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(arrays).batch(batch_size)
    return shard_by_data(ds) if shard else ds


def fit_with_checkpoints(model, train_ds, val_ds, stem: str, *, epochs: int, steps_per_epoch: int | None,
                         patience: int, lr_patience: int = 1, min_lr: float = 1e-4,
                         progress: bool = True):
    """``model.fit`` with a CSV log, early stopping on ``val_loss`` (best weights restored), a
    best-model checkpoint and learning-rate halving on plateaus.

    Parameters
    ----------
    model : keras.Model
        Compiled model.
    train_ds, val_ds : tf.data.Dataset
        Training and validation data.
    stem : str
        Output path without ``.keras``: the log goes to ``STEM.log.csv``; the checkpoint
        ``STEM.best.tmp.keras`` is removed at the end.
    epochs, steps_per_epoch : int
        As in ``fit``.
    patience : int
        Epochs without a better validation loss before stopping.
    lr_patience, min_lr
        Plateau length before the learning rate is halved, and its floor.
    progress : bool
        Keras progress bars.

    Returns
    -------
    (keras.callbacks.History, float)
        The history and the training wall time in seconds.
    """
    import keras

    if is_multiworker(model):  # built under MultiWorkerMirroredStrategy: fit() cannot train it
        return fit_multiworker(model, train_ds, val_ds, stem, epochs=epochs, steps_per_epoch=steps_per_epoch,
                               patience=patience, lr_patience=lr_patience, min_lr=min_lr, progress=progress)
    ckpt = stem + ".best.tmp.keras"
    callbacks = [
        keras.callbacks.CSVLogger(stem + ".log.csv"),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(ckpt, monitor="val_loss", save_best_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=lr_patience, min_lr=min_lr),
    ]
    t0 = time.time()
    try:
        hist = model.fit(train_ds, validation_data=val_ds, epochs=epochs, steps_per_epoch=steps_per_epoch,
                         callbacks=callbacks, verbose=1 if progress else 0)
    finally:
        if os.path.exists(ckpt):
            os.unlink(ckpt)
    return hist, time.time() - t0
