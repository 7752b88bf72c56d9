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


@keras.saving.register_keras_serializable(package="midistyle")
def masked_centered_mse(y_true, y_pred):
    """Masked MSE after removing each sequence's own mean over counted cells.

    Measures only the *relative* dynamics within a window (which notes are louder than
    others), not the overall level.
    """
    mask = ops.cast(y_true >= 0, y_pred.dtype)
    axes = tuple(range(1, len(y_pred.shape)))
    n = ops.maximum(ops.sum(mask, axis=axes, keepdims=True), 1.0)
    mt = ops.sum(y_true * mask, axis=axes, keepdims=True) / n
    mp = ops.sum(y_pred * mask, axis=axes, keepdims=True) / n
    err = ops.square((y_pred - mp) - (y_true - mt)) * mask
    return ops.sum(err) / ops.maximum(ops.sum(mask), 1.0)


@keras.saving.register_keras_serializable(package="midistyle")
def velocity_loss(y_true, y_pred):
    """Masked MSE plus the centred (within-window) masked MSE: level and relative dynamics."""
    return masked_mse(y_true, y_pred) + masked_centered_mse(y_true, y_pred)
