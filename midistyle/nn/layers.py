"""Keras builders: the dilated causal (WaveNet-style) stack, a segment classifier on it, an LSTM
with a conditioned initial state, and an autoregressive WaveNet over events (velocity models).

Layer names follow a fixed scheme (``in``, ``f{i}``, ``g{i}``, ``res{i}``, ``skip{i}``,
``post1``, ``embed``, ``init_h``, ``init_c``, ``lstm``, ``out``) so
:mod:`midistyle.nn.numpy_runtime` can run the same networks without TensorFlow.
"""
import keras
from keras import layers


def dilations(stacks: int, layers_per_stack: int) -> list:
    """Dilation of each layer: 1, 2, 4, ... 2**(layers_per_stack-1), repeated ``stacks`` times."""
    return [2 ** i for _ in range(stacks) for i in range(layers_per_stack)]


def receptive_field(stacks: int, layers_per_stack: int, kernel: int = 2) -> int:
    """Steps of input that one output step depends on."""
    return 1 + (kernel - 1) * sum(dilations(stacks, layers_per_stack))


def wavenet_body(x, channels: int, stacks: int, layers_per_stack: int, kernel: int = 2,
                 skip_channels: int | None = None):
    """Dilated causal residual stack with gated activations and skip connections.

    Returns the summed skip path after a ReLU (shape: time x skip_channels).
    """
    skip_channels = skip_channels or channels
    x = layers.Conv1D(channels, 1, name="in")(x)
    skips = []
    for i, d in enumerate(dilations(stacks, layers_per_stack)):
        f = layers.Conv1D(channels, kernel, dilation_rate=d, padding="causal", activation="tanh", name=f"f{i}")(x)
        g = layers.Conv1D(channels, kernel, dilation_rate=d, padding="causal", activation="sigmoid", name=f"g{i}")(x)
        z = layers.Multiply(name=f"gate{i}")([f, g])
        skips.append(layers.Conv1D(skip_channels, 1, name=f"skip{i}")(z))
        x = layers.Add(name=f"resadd{i}")([x, layers.Conv1D(channels, 1, name=f"res{i}")(z)])
    s = layers.Add(name="skipsum")(skips) if len(skips) > 1 else skips[0]
    return layers.Activation("relu", name="skiprelu")(s)


def build_segment_classifier(n_in: int, n_classes: int, channels: int = 32, stacks: int = 1,
                             layers_per_stack: int = 7, kernel: int = 2, embedding_dim: int = 48,
                             dropout: float = 0.2, name: str = "segment_classifier") -> keras.Model:
    """Dilated 1-D CNN classifier of variable-length segments with an embedding layer.

    (batch, time, n_in) -> :func:`wavenet_body` -> global mean and max over time (``gap``,
    ``gmp``) -> ``embed`` (Dense ``embedding_dim``, tanh) -> ``out`` (Dense ``n_classes``,
    softmax). The ``embed`` activations are the style embedding.
    """
    inp = keras.Input((None, n_in), name="features")
    s = wavenet_body(inp, channels, stacks, layers_per_stack, kernel)
    pooled = layers.Concatenate(name="pool")([layers.GlobalAveragePooling1D(name="gap")(s),
                                              layers.GlobalMaxPooling1D(name="gmp")(s)])
    if dropout:
        pooled = layers.Dropout(dropout, name="drop")(pooled)
    emb = layers.Dense(embedding_dim, activation="tanh", name="embed")(pooled)
    out = layers.Dense(n_classes, activation="softmax", name="out")(emb)
    return keras.Model(inp, out, name=name)


@keras.saving.register_keras_serializable(package="midistyle")
class EarlierKeysOnly(keras.constraints.Constraint):
    """Kernel constraint of the within-frame layer of :func:`build_conditioned_lstm`: input key
    ``j`` may only reach output column ``k`` when ``j < k < n_keys`` (a key's logit depends on the
    keys below it in the same frame, never on itself or above); with ``holds``, every input key also
    reaches the next ``n_keys + 1`` columns (the holds and the pedal, decided once the frame's keys
    are struck); the other outputs on none."""

    def __init__(self, n_keys: int, holds: bool = False):
        self.n_keys = int(n_keys)
        self.holds = bool(holds)

    def __call__(self, w):
        rows = keras.ops.arange(w.shape[0])[:, None]
        cols = keras.ops.arange(w.shape[1])[None, :]
        mask = keras.ops.logical_and(rows < cols, cols < self.n_keys)
        if self.holds:
            after = keras.ops.logical_and(cols >= self.n_keys, cols < 2 * self.n_keys + 1)
            mask = keras.ops.logical_or(mask, keras.ops.logical_and(after, rows >= 0))
        return w * keras.ops.cast(mask, w.dtype)

    def get_config(self):
        return {"n_keys": self.n_keys, "holds": self.holds}


@keras.saving.register_keras_serializable(package="midistyle")
class RelativeKeys(keras.constraints.Constraint):
    """Kernel constraint of the relative layer of :func:`build_conditioned_lstm`: input rows
    ``first .. first + n_keys - 1`` (one per key) reach output columns ``c .. c + n_keys - 1`` (one
    per key) for each ``c`` of ``columns`` through a weight that depends only on the distance
    between the two keys (at most ``width`` semitones; one set of weights per block of columns):
    what one key tells of another a few semitones away is learned once for the whole keyboard. The
    projection keeps the mean of each diagonal; every other weight is zero."""

    def __init__(self, first: int, n_keys: int, width: int, columns=(0,)):
        self.first, self.n_keys, self.width = int(first), int(n_keys), int(width)
        self.columns = tuple(int(c) for c in columns)

    def __call__(self, w):
        import numpy as np

        P, D = self.n_keys, self.width
        offsets = np.arange(P)[None, :] - np.arange(P)[:, None]           # column key - row key
        diag = np.stack([(offsets == d) for d in range(-D, D + 1)]).astype("float32")   # (2D + 1, P, P)
        out = keras.ops.zeros_like(w)
        for c in self.columns:
            block = w[self.first:self.first + P, c:c + P]
            means = keras.ops.sum(block[None] * diag, axis=(1, 2)) / np.maximum(diag.sum(axis=(1, 2)), 1.0)
            tied = keras.ops.tensordot(means, diag, axes=1)
            out = out + keras.ops.pad(tied, [[self.first, w.shape[0] - self.first - P], [c, w.shape[1] - c - P]])
        return out

    def get_config(self):
        return {"first": self.first, "n_keys": self.n_keys, "width": self.width, "columns": list(self.columns)}


def build_conditioned_lstm(n_in: int, cond_dim: int, units: int = 256, n_out: int | None = None,
                           cond_dropout: float = 0.0, skip_input: bool = True, within_frame: int = 0,
                           relative: tuple | None = None, within_holds: bool = False,
                           name: str = "conditioned_lstm") -> keras.Model:
    """LSTM whose initial state is a learned function of a conditioning vector.

    Inputs ``frames`` (batch, time, n_in) and ``cond`` (batch, cond_dim); ``init_h`` (Dense,
    tanh) and ``init_c`` (Dense, linear) map ``cond`` to the initial hidden and cell state of
    ``lstm``; ``out`` (Dense, linear) gives one logit per output unit and step, from the LSTM
    output and (with ``skip_input``) the step's input itself, so that "keep what sounds" is one
    weight per key rather than something the LSTM must learn. ``cond_dropout`` drops embedding
    entries in training only.

    With ``within_frame`` = P > 0, a third input ``current`` (batch, time, P) holds the keys
    struck in the step itself (teacher forcing) and ``within`` (Dense P -> n_out, no bias, started
    at zero, :class:`EarlierKeysOnly`) adds to output ``k < P`` a weight for every key ``j < k``
    struck: the first P outputs become autoregressive over the keys of one step (lowest first).
    With ``within_holds``, the struck keys also reach outputs P .. 2P (holds and pedal, decided after them).

    With ``relative`` = ``(first, P, width[, columns])``, ``relative`` (Dense n_in -> n_out, no bias,
    started at zero, :class:`RelativeKeys`) adds to output ``c + k`` (``k < P``, ``c`` in
    ``columns``, default ``(0,)``) a weight per input row ``first + j`` that depends only on
    ``k - j`` (``|k - j| <= width``). It reads the step's input
    like ``out`` does, so the NumPy runtime folds it into ``out``'s kernel.
    """
    n_out = n_out or n_in
    frames = keras.Input((None, n_in), name="frames")
    cond = keras.Input((cond_dim,), name="cond")
    c = layers.Dropout(cond_dropout, name="cond_drop")(cond) if cond_dropout else cond
    h0 = layers.Dense(units, activation="tanh", name="init_h")(c)
    c0 = layers.Dense(units, name="init_c")(c)
    x = layers.LSTM(units, return_sequences=True, name="lstm")(frames, initial_state=[h0, c0])
    if skip_input:
        x = layers.Concatenate(name="lstm_and_input")([x, frames])
    out = layers.Dense(n_out, name="out")(x)
    if relative:
        rel = layers.Dense(n_out, use_bias=False, kernel_initializer="zeros",
                           kernel_constraint=RelativeKeys(*relative), name="relative")(frames)
        out = layers.Add(name="out_relative")([out, rel])
    if not within_frame:
        return keras.Model([frames, cond], out, name=name)
    current = keras.Input((None, within_frame), name="current")
    within = layers.Dense(n_out, use_bias=False, kernel_initializer="zeros",
                          kernel_constraint=EarlierKeysOnly(within_frame, within_holds), name="within")(current)
    return keras.Model([frames, cond, current], layers.Add(name="out_within")([out, within]), name=name)


def build_autoregressive_wavenet(n_in: int, n_classes: int, *, cond_channels: int = 64,
                                 cond_dilations=(1, 2, 4, 8, 16, 32), channels: int = 32,
                                 ar_dilations=(1, 2, 4, 8, 16), skip_channels: int = 64,
                                 head_units: int = 64, dropout: float = 0.0, name: str = "ar_wavenet") -> keras.Model:
    """WaveNet over a sequence of events, conditioned on their features, predicting a distribution.

    Two inputs: ``features`` (batch, N, n_in), what is known of every event in advance, and
    ``previous`` (batch, N, 2), the value of the event before each one (scaled to 0..1) and a
    flag that there is one (teacher forcing). A non-causal dilated stack (``cond_*``) reads the
    features on both sides; a causal dilated gated stack (``ar_*``) reads the previous values,
    each gate conditioned on the features of its event (WaveNet local conditioning). Outputs:
    ``logits`` (batch, N, n_classes) of each event's value, and ``mean`` (batch, N, 1), a 0..1
    regression from the features alone. ``dropout`` (training only) acts on the conditioning.

    Layer names: ``cond_in``, ``cond_conv{k}``, ``cond_res{k}``, ``mean_hidden``, ``mean``,
    ``ar_in``, ``ar_f{k}``, ``ar_g{k}``, ``ar_cf{k}``, ``ar_cg{k}``, ``ar_res{k}``, ``ar_skip{k}``,
    ``skip_cond``, ``head``, ``logits`` (see :class:`midistyle.nn.numpy_runtime.ARWaveNetRuntime`).
    """
    feats = keras.Input((None, n_in), name="features")
    prev = keras.Input((None, 2), name="previous")
    h = layers.Dense(cond_channels, name="cond_in")(feats)
    for k, d in enumerate(cond_dilations):
        a = layers.Conv1D(cond_channels, 3, dilation_rate=d, padding="same", activation="relu",
                          name=f"cond_conv{k}")(h)
        h = layers.Add(name=f"cond_add{k}")([h, layers.Dense(cond_channels, name=f"cond_res{k}")(a)])
    cond = layers.Dropout(dropout, name="cond_dropout")(h) if dropout else h
    m = layers.Dense(cond_channels, activation="relu", name="mean_hidden")(cond)
    mean = layers.Dense(1, activation="sigmoid", name="mean")(m)
    x = layers.Dense(channels, name="ar_in")(prev)
    skips = [layers.Dense(skip_channels, name="skip_cond")(cond)]
    for k, d in enumerate(ar_dilations):
        f = layers.Add(name=f"ar_fadd{k}")([
            layers.Conv1D(channels, 2, dilation_rate=d, padding="causal", name=f"ar_f{k}")(x),
            layers.Dense(channels, use_bias=False, name=f"ar_cf{k}")(cond)])
        g = layers.Add(name=f"ar_gadd{k}")([
            layers.Conv1D(channels, 2, dilation_rate=d, padding="causal", name=f"ar_g{k}")(x),
            layers.Dense(channels, use_bias=False, name=f"ar_cg{k}")(cond)])
        z = layers.Multiply(name=f"ar_gate{k}")([layers.Activation("tanh")(f), layers.Activation("sigmoid")(g)])
        skips.append(layers.Dense(skip_channels, name=f"ar_skip{k}")(z))
        if k < len(ar_dilations) - 1:
            x = layers.Add(name=f"ar_resadd{k}")([x, layers.Dense(channels, name=f"ar_res{k}")(z)])
    s = layers.Activation("relu", name="skiprelu")(layers.Add(name="skipsum")(skips))
    hh = layers.Dense(head_units, activation="relu", name="head")(s)
    logits = layers.Dense(n_classes, name="logits")(hh)
    return keras.Model({"features": feats, "previous": prev}, {"logits": logits, "mean": mean}, name=name)
