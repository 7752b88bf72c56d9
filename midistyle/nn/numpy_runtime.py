"""Run a trained WaveNet-style model with NumPy only (no TensorFlow start-up).

Weights are exported from Keras by layer name (see :mod:`midistyle.nn.layers`) into an ``.npz``.
"""
from __future__ import annotations

import numpy as np


def export_weights(model, path: str) -> None:
    """Save every Conv1D layer's kernel and bias of ``model`` into ``path`` (.npz)."""
    arrays = {}
    for layer in model.layers:
        w = layer.get_weights()
        if len(w) == 2 and w[0].ndim == 3:
            arrays[f"{layer.name}/kernel"] = w[0].astype(np.float32)
            arrays[f"{layer.name}/bias"] = w[1].astype(np.float32)
            arrays[f"{layer.name}/dilation"] = np.array(layer.dilation_rate[0])
    np.savez(path, **arrays)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _conv(w, name, x):
    k = w[f"{name}/kernel"]
    b = w[f"{name}/bias"]
    if k.shape[0] == 1:
        return x @ k[0] + b
    d = int(w[f"{name}/dilation"])
    T = x.shape[0]
    y = x @ k[-1] + b
    for j in range(k.shape[0] - 1):
        shift = (k.shape[0] - 1 - j) * d
        if shift < T:
            y[shift:] += x[:T - shift] @ k[j]
    return y


class WaveNetRuntime:
    """Forward pass of :func:`midistyle.nn.layers.build_wavenet` from exported weights.

    Parameters
    ----------
    weights : str or mapping
        ``.npz`` path written by :func:`export_weights`, or its loaded arrays.
    out_activation : str
        "sigmoid" or "linear", as in the Keras model.
    """

    def __init__(self, weights, out_activation: str = "sigmoid"):
        self.w = dict(np.load(weights)) if isinstance(weights, str) else dict(weights)
        self.n_layers = len([k for k in self.w if k.startswith("f") and k.endswith("/kernel")])
        self.out_activation = out_activation

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Map features (time, n_in) to outputs (time, n_out), float32."""
        w = self.w
        x = _conv(w, "in", np.asarray(x, np.float32))
        skip = None
        for i in range(self.n_layers):
            z = np.tanh(_conv(w, f"f{i}", x)) * _sigmoid(_conv(w, f"g{i}", x))
            s = _conv(w, f"skip{i}", z)
            skip = s if skip is None else skip + s
            if f"res{i}/kernel" in w:  # Keras drops the last residual branch (its output is unused)
                x = x + _conv(w, f"res{i}", z)
        h = np.maximum(_conv(w, "post1", np.maximum(skip, 0)), 0)
        out = _conv(w, "out", h)
        return _sigmoid(out) if self.out_activation == "sigmoid" else out
