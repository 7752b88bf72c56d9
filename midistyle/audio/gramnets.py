"""Seed 000's Gram-style networks beside the single Conv1D (``TransferSettings.net``: cnn, rnn, bilstm).

Seed 000 compares several random-weight feature networks on the log-magnitude STFT, each giving
a style loss on the Gram matrix of its output and a content loss on the output itself, optimised
with Adam:

* ``cnn``: one Conv1D with the frequency bins as channels, 4096 filters of width 3 (the Ulyanov
  network with a narrower kernel), ReLU;
* ``rnn``: a simple recurrent layer over the STFT frames followed by a dense layer;
* ``bilstm``: a bidirectional LSTM over the frames followed by a dense layer.

The recurrent networks' style loss adds a spectral-envelope term (``envelope_weight``, default
:data:`RECURRENT_ENVELOPE_WEIGHT`): their random Gram alone is matched by quiet spectrograms.

The Gram matrix is that of the network's output over time, normalised by the number of frames, so
clips of different lengths compare. Weights are random and fixed (seeded Glorot / orthogonal
initialisers). :class:`RecurrentGramLoss` has the interface of
:class:`midistyle.audio.transfer.UlyanovLoss`, so :func:`midistyle.audio.transfer.stylise` runs
it with the same optimisers, progress, Griffin-Lim and plots.
"""
from __future__ import annotations

import numpy as np

from ..errors import MidistyleError
from .optimise import SpectrogramLoss

#: Feature networks (``TransferSettings.net``): "conv1d" is the Ulyanov reference (width ``kernel``).
NETS = ("conv1d", "cnn", "rnn", "bilstm")
#: Width of the ``cnn`` network's filters (seed 000).
CNN_KERNEL = 3
#: Output features of the recurrent networks when ``filters`` is not given.
RECURRENT_UNITS = 256
#: Weight of the spectral-envelope term of the recurrent networks' style loss when not given
#: (``TransferSettings.envelope_weight``). Seed 000's recurrent Gram alone is matched by quiet
#: spectrograms: on 2 s of rendered TPD jazz restyled as classical, an independent 4096-filter
#: Conv1D judge found the result 0.59x (rnn) / 0.74x (bilstm) of the content's distance to the
#: style; with this term 0.13x / 0.11x (weights 10 and 100 measured; 10 kept, the smaller change).
RECURRENT_ENVELOPE_WEIGHT = 10.0


def build_recurrent(net: str, n_bins: int, units: int, activation: str = "relu", seed: int = 0):
    """Random-weight recurrent feature network: (batch, frames, bins) -> (batch, frames, units).

    Parameters
    ----------
    net : str
        "rnn" (SimpleRNN, tanh) or "bilstm" (LSTM in both directions, ``units`` each).
    n_bins : int
        STFT bins (input channels).
    units : int
        Width of the recurrent layer(s) and of the dense output layer.
    activation : str
        Activation of the dense output layer (one of the transfer's activations).
    seed : int
        Seed of the initialisers.

    Returns
    -------
    keras.Model
    """
    import keras
    from keras import layers

    def inits(k):
        return dict(kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 10 + k),
                    recurrent_initializer=keras.initializers.Orthogonal(seed=seed * 10 + k + 1))

    act = {"leaky_relu": lambda u: keras.activations.leaky_relu(u, 0.2)}.get(activation, activation)
    inp = keras.Input((None, n_bins))
    if net == "rnn":
        h = layers.SimpleRNN(units, return_sequences=True, **inits(0))(inp)
    elif net == "bilstm":
        fwd = layers.LSTM(units, return_sequences=True, **inits(0))
        bwd = layers.LSTM(units, return_sequences=True, go_backwards=True, **inits(2))
        h = layers.Bidirectional(fwd, backward_layer=bwd)(inp)
    else:
        raise MidistyleError(f"not a recurrent network: {net!r}")
    out = layers.Dense(units, activation=act, kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 10 + 5),
                       bias_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=seed * 10 + 6))(h)
    model = keras.Model(inp, out, name=f"random_{net}")
    model.trainable = False
    return model


class RecurrentGramLoss(SpectrogramLoss):
    """Style + content loss of a random recurrent network (same interface as ``UlyanovLoss``).

    Parameters
    ----------
    style : array, shape (frames_s, bins)
        Log-magnitude STFT frames of the style.
    content : array, shape (frames, bins) or None
        Content frames (None: texture, no content term).
    frames : int
        Frames of the result.
    settings : midistyle.audio.transfer.TransferSettings
        ``net`` names the network, ``filters`` its width (see :func:`net_defaults`),
        ``content_weight`` alpha, ``seed`` the weights, ``envelope_weight`` the spectral-envelope
        term (part of the style loss).
    """

    form = "direct"

    def __init__(self, style: np.ndarray, content: np.ndarray | None, frames: int, settings):
        import tensorflow as tf

        s = settings
        self.settings = s
        self.frames = int(frames)
        n_bins = style.shape[1]
        self.model = build_recurrent(s.net, n_bins, int(s.filters), s.activation, s.seed)
        model = self.model
        Fs = model(style[None].astype(np.float32), training=False)[0]
        Gs = tf.matmul(Fs, Fs, transpose_a=True) / float(style.shape[0])
        alpha = float(s.content_weight) if content is not None else 0.0
        Fc = model(content[None].astype(np.float32), training=False)[0] if alpha > 0 else None
        n = float(self.frames)
        beta = float(s.envelope_weight)
        envelope = tf.constant(style.mean(axis=0).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec((self.frames, n_bins), tf.float32)])
        def value_and_grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                F = model(x[None], training=False)[0]
                G = tf.matmul(F, F, transpose_a=True) / n
                sl = tf.reduce_sum(tf.square(G - Gs))
                if beta:
                    sl = sl + beta * tf.reduce_sum(tf.square(tf.reduce_mean(x, axis=0) - envelope))
                cl = alpha * tf.reduce_sum(tf.square(F - Fc)) if Fc is not None else tf.constant(0.0)
                L = sl + cl
            return L, sl, cl, tape.gradient(L, x)

        self._vg = value_and_grad
        self.evaluations = 0


def net_defaults(net: str) -> dict:
    """Settings seed 000 used for ``net`` (the CLI's defaults when an option is not given).

    ``conv1d``: the Ulyanov reference (4096 filters of width 11, L-BFGS-B); ``cnn``: 4096 filters
    of width 3, Adam; ``rnn`` / ``bilstm``: :data:`RECURRENT_UNITS` units, Adam, a spectral-envelope
    term of weight :data:`RECURRENT_ENVELOPE_WEIGHT`.
    """
    if net not in NETS:
        raise MidistyleError(f"net must be one of {', '.join(NETS)}, not {net!r}", field="net")
    if net == "conv1d":
        return {"filters": 4096, "kernel": 11, "optimizer": "lbfgs"}
    if net == "cnn":
        return {"filters": 4096, "kernel": CNN_KERNEL, "optimizer": "adam"}
    return {"filters": RECURRENT_UNITS, "kernel": 1, "optimizer": "adam", "envelope_weight": RECURRENT_ENVELOPE_WEIGHT}
