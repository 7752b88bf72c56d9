"""Training loop shared by the Keras models: ``fit()`` with the same callbacks everywhere."""
from __future__ import annotations

import os
import time

import keras


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
