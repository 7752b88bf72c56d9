"""Event sequences for the autoregressive WaveNets (:func:`midistyle.nn.layers.build_autoregressive_wavenet`):
the teacher-forcing input and the training windows, written once for every model of that family
(velocity per note, tempo per beat). NumPy only."""
from __future__ import annotations

import numpy as np

__all__ = ["previous_inputs", "event_windows"]


def previous_inputs(values, scale: float = 127.0) -> np.ndarray:
    """Teacher-forcing input (N, 2): each event's previous value class / ``scale`` and a
    has-previous flag."""
    v = np.asarray(values, np.float32)
    prev = np.zeros((len(v), 2), np.float32)
    if len(v) > 1:
        prev[1:, 0] = v[:-1] / scale
        prev[1:, 1] = 1.0
    return prev


def event_windows(seqs, window: int, rng=None, max_per_piece: int = 0, noise: float = 0.0, scale: float = 127.0):
    """Cut (X, classes) sequences into training windows of ``window`` events (the last one padded).

    Teacher forcing uses the whole piece, so a window's first event still sees the value before
    it. Training windows start at a random offset (``rng``); validation ones at 0. ``noise``
    (training) blurs the previous values the network reads, so that it learns not to trust its
    own draws blindly (less drift when it plays from its own samples). ``scale`` maps a class to
    0..1 (the regression head's target and the fed-back value).
    Yields dicts ready for Keras: inputs, targets and per-event weights (0 on padding).
    """
    for X, v in seqs:
        prev = previous_inputs(v, scale)
        N = len(v)
        off = int(rng.integers(0, window)) if rng is not None and N > window else 0
        starts = [max(a, 0) for a in range(off - window if off else 0, N, window)]
        for k, a in enumerate(starts):
            if max_per_piece and k >= max_per_piece:
                break
            b = min(a + window, N) if a or not off else off
            pad = window - (b - a)
            f = np.pad(X[a:b], ((0, pad), (0, 0)))
            pv = np.pad(prev[a:b], ((0, pad), (0, 0)))
            if noise and rng is not None:
                pv[:, 0] += (rng.normal(0.0, noise, window) * pv[:, 1]).astype(np.float32)
            y = np.pad(v[a:b], (0, pad))
            wt = np.pad(np.ones(b - a, np.float32), (0, pad))
            yield ({"features": f, "previous": pv},
                   {"logits": y, "mean": (y / scale).astype(np.float32)[:, None]},
                   {"logits": wt, "mean": wt})
