"""Masked losses: cells whose target is negative do not count."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="midistyle")
def masked_mse(y_true, y_pred):
    """Mean squared error over cells with ``y_true >= 0`` (e.g. note onsets only).

    Silent cells carry target -1 and contribute nothing; a batch without any counted cell
    gives loss 0.
    """
    mask = ops.cast(y_true >= 0, y_pred.dtype)
    err = ops.square(y_pred - y_true) * mask
    return ops.sum(err) / ops.maximum(ops.sum(mask), 1.0)


@keras.saving.register_keras_serializable(package="midistyle")
def masked_rmse_127(y_true, y_pred):
    """Root of :func:`masked_mse`, in MIDI velocity units (targets scaled to 0..1)."""
    return ops.sqrt(masked_mse(y_true, y_pred)) * 127.0
