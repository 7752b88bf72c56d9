"""Keras builders: the dilated causal (WaveNet-style) stack, a bidirectional LSTM, a segment
classifier on the dilated stack, and an LSTM with a conditioned initial state.

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


def build_wavenet(n_in: int, n_out: int, channels: int = 32, stacks: int = 2, layers_per_stack: int = 9,
                  kernel: int = 2, out_activation: str = "sigmoid", name: str = "wavenet") -> keras.Model:
    """Sequence-to-sequence WaveNet-style model: (batch, time, n_in) -> (batch, time, n_out)."""
    inp = keras.Input((None, n_in), name="features")
    s = wavenet_body(inp, channels, stacks, layers_per_stack, kernel)
    h = layers.Conv1D(channels, 1, activation="relu", name="post1")(s)
    out = layers.Conv1D(n_out, 1, activation=out_activation, name="out")(h)
    return keras.Model(inp, out, name=name)


def build_bilstm(n_in: int, n_out: int, units: int = 64, n_layers: int = 2,
                 out_activation: str = "sigmoid", name: str = "bilstm") -> keras.Model:
    """StyleNet-style bidirectional LSTM: (batch, time, n_in) -> (batch, time, n_out)."""
    inp = keras.Input((None, n_in), name="features")
    x = layers.Dense(units, activation="relu", name="in")(inp)
    for i in range(n_layers):
        x = layers.Bidirectional(layers.LSTM(units, return_sequences=True), name=f"bilstm{i}")(x)
    out = layers.Dense(n_out, activation=out_activation, name="out")(x)
    return keras.Model(inp, out, name=name)


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


def build_conditioned_lstm(n_in: int, cond_dim: int, units: int = 256, n_out: int | None = None,
                           cond_dropout: float = 0.0, skip_input: bool = True,
                           name: str = "conditioned_lstm") -> keras.Model:
    """LSTM whose initial state is a learned function of a conditioning vector.

    Inputs ``frames`` (batch, time, n_in) and ``cond`` (batch, cond_dim); ``init_h`` (Dense,
    tanh) and ``init_c`` (Dense, linear) map ``cond`` to the initial hidden and cell state of
    ``lstm``; ``out`` (Dense, linear) gives one logit per output unit and step, from the LSTM
    output and (with ``skip_input``) the step's input itself, so that "keep what sounds" is one
    weight per key rather than something the LSTM must learn. ``cond_dropout`` drops embedding
    entries in training only.
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
    return keras.Model([frames, cond], out, name=name)
