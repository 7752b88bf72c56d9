"""Gram matrices and Gram (style) losses, for TensorFlow tensors and NumPy arrays.

Feature maps are ``F`` of shape (frames, channels). The Gram matrix is ``F^T F / n`` with ``n`` the
number of frames, so clips of different lengths give comparable Grams. The style loss is the
squared Frobenius distance of two Grams,

    L = || F^T F / n - Fs^T Fs / ns ||^2,

which can be computed two ways with the same result:

* ``direct``: form the (channels x channels) Gram: about ``4 n K^2`` flops with its gradient.
* ``kernel``: expand the square, ``L = ||F F^T||^2 / n^2 - 2 ||F Fs^T||^2 / (n ns) + ||Gs||^2``:
  only (frames x frames) products, about ``4 n (n + ns) K`` flops, far cheaper while clips are
  shorter than ``K`` frames (4096 filters: 95 s at hop 512). The value's cancellation is computed
  in float64; the gradient ``4/n^2 (F F^T) F - 4/(n ns) (F Fs^T) Fs`` stays float32.

TensorFlow is imported inside the functions that need it, so importing this module is light.
"""
from __future__ import annotations

import numpy as np


def gram_np(F: np.ndarray, n: int | None = None) -> np.ndarray:
    """Gram matrix ``F^T F / n`` of a (frames, channels) array (NumPy, float64 accumulate).

    Parameters
    ----------
    F : array (frames, channels)
    n : int, optional
        Normaliser; default the number of frames.
    """
    F = np.asarray(F, np.float32)
    n = F.shape[0] if n is None else n
    return (F.T @ F).astype(np.float64) / max(n, 1)


def style_loss_np(F: np.ndarray, Fs: np.ndarray) -> float:
    """``|| gram(F) - gram(Fs) ||_F^2`` in NumPy (float64 reductions), through whichever of the
    direct and kernel forms is cheaper."""
    F = np.asarray(F, np.float32)
    Fs = np.asarray(Fs, np.float32)
    n, ns, K = F.shape[0], Fs.shape[0], F.shape[1]
    if n + ns < K:
        F64, Fs64 = F.astype(np.float64), Fs.astype(np.float64)
        a = np.sum(np.square(F64 @ F64.T)) / n ** 2
        b = np.sum(np.square(F64 @ Fs64.T)) / (n * ns)
        c = np.sum(np.square(Fs64 @ Fs64.T)) / ns ** 2
        return float(max(a - 2 * b + c, 0.0))
    return float(np.sum(np.square(gram_np(F) - gram_np(Fs))))


def choose_form(n: int, ns: int, channels: int) -> str:
    """"kernel" when the (frames x frames) form needs fewer flops than the Gram itself, else "direct"."""
    return "kernel" if n * (n + ns) < n * channels else "direct"


def gram(F, n=None):
    """Gram matrix ``F^T F / n`` of a (frames, channels) TensorFlow tensor."""
    import tensorflow as tf

    n = tf.cast(tf.shape(F)[0], F.dtype) if n is None else n
    return tf.matmul(F, F, transpose_a=True) / n


def style_loss_direct(F, style_gram):
    """``|| gram(F) - style_gram ||^2`` for a TensorFlow tensor ``F`` (differentiable)."""
    import tensorflow as tf

    return tf.reduce_sum(tf.square(gram(F) - style_gram))


class KernelStyleLoss:
    """Style loss against a fixed style feature map in the (frames x frames) form.

    Parameters
    ----------
    Fs : array (style frames, channels)
        Style features; their Gram norm is precomputed once (float64).

    Calling ``value_and_grad(F)`` on a float32 tensor ``F`` returns the loss (float64 tensor) and
    ``dL/dF`` (float32 tensor); it is meant to run inside a ``tf.function``.
    """

    def __init__(self, Fs):
        import tensorflow as tf

        Fs = np.asarray(Fs, np.float32)
        self.ns = Fs.shape[0]
        self.Fs = tf.constant(Fs)
        self.Fs64 = tf.constant(Fs.astype(np.float64))
        Fs64 = Fs.astype(np.float64)
        self.c = float(np.sum(np.square(Fs64 @ Fs64.T)) / self.ns ** 2)

    def value_and_grad(self, F):
        import tensorflow as tf

        n = tf.cast(tf.shape(F)[0], tf.float32)
        ns = float(self.ns)
        F64 = tf.cast(F, tf.float64)
        n64 = tf.cast(n, tf.float64)
        A64 = tf.matmul(F64, F64, transpose_b=True)          # (n, n)
        B64 = tf.matmul(F64, self.Fs64, transpose_b=True)    # (n, ns)
        value = (tf.reduce_sum(tf.square(A64)) / n64 ** 2
                 - 2.0 * tf.reduce_sum(tf.square(B64)) / (n64 * ns) + self.c)
        A, B = tf.cast(A64, tf.float32), tf.cast(B64, tf.float32)
        grad = (4.0 / (n * n)) * tf.matmul(A, F) - (4.0 / (n * ns)) * tf.matmul(B, self.Fs)
        return tf.maximum(value, 0.0), grad
