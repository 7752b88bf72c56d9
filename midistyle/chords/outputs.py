"""What a chord model's logits per frame mean: their layout (:func:`n_outputs`), the training
targets, the NLL of a frame and each key's onset probability (teacher forcing)."""
from __future__ import annotations

import numpy as np

from .config import ChordsConfig
from .frames import Frames


def n_outputs(n_pitches: int, cfg: ChordsConfig | None = None) -> int:
    """Logits per frame: each key's onset given an onset event, each key's hold, the pedal, the event
    and, with ``cfg.lowest_key``, each key's logit of being the lowest struck (one softmax)."""
    return 2 * n_pitches + 2 + (n_pitches if cfg is not None and cfg.lowest_key else 0)


def sigmoid(x):
    """The logistic function, elementwise (through ``tanh``: no overflow)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _lowest_and_above(onset):
    """``(lowest, above)`` masks of struck keys (..., P): the lowest struck key of each frame, and the
    keys above it (whose onsets the per-key logits decide when the event's lowest key has its softmax)."""
    onset = np.asarray(onset, np.float64)
    below = np.cumsum(onset, axis=-1) - onset
    return onset * (below == 0), (below > 0).astype(np.float64)


def log_softmax(z):
    """Log-softmax over the last axis."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def frame_targets(fr: Frames) -> np.ndarray:
    """Training targets (F, 3P + 2): onsets, holds, pedal, onset event (any key struck), and the
    mask of keys whose hold is decided (they sounded in the frame before and are not struck again)."""
    prev_sound = np.concatenate([np.zeros_like(fr.sound[:1]), fr.sound[:-1]])
    mask = prev_sound & ~fr.onset
    event = fr.onset.any(axis=1)
    return np.concatenate([fr.onset, fr.hold & mask, fr.pedal[:, None], event[:, None], mask],
                          axis=1).astype(np.float32)


def frame_nll(targets: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Negative log-likelihood (nats) of each frame, (..., F): whether keys are struck (the event),
    which ones (given the event), the decided holds and the pedal. Logits with a lowest-key softmax
    (:func:`n_outputs` with ``lowest_key``) score the lowest struck key by it and only the keys above
    by their own logits."""
    P = (targets.shape[-1] - 2) // 3
    y, m = targets[..., :2 * P + 2], targets[..., 2 * P + 2:]
    p = np.clip(sigmoid(logits[..., :2 * P + 2]), 1e-7, 1 - 1e-7)
    cell = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    keys = cell[..., :P].sum(-1)
    if logits.shape[-1] == 3 * P + 2:
        lowest, above = _lowest_and_above(y[..., :P])
        keys = -(lowest * log_softmax(logits[..., 2 * P + 2:])).sum(-1) + (cell[..., :P] * above).sum(-1)
    return cell[..., 2 * P + 1] + y[..., 2 * P + 1] * keys + (cell[..., P:2 * P] * m).sum(-1) + cell[..., 2 * P]


def onset_probabilities(logits: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """Probability of each key's onset given the frames before and the keys below it struck in the
    frame (``onset`` (..., P), teacher forcing): P(event) x P(key | event, keys below). With a
    lowest-key softmax, a key with none struck below it gets its softmax share, the chance that it
    is the event's lowest key (not that share renormalised over the keys from it up, which would
    make the top key certain whenever nothing is struck: no real probability of its onset)."""
    P = np.shape(onset)[-1]
    p_key = sigmoid(logits[..., :P])
    if logits.shape[-1] == 3 * P + 2:
        _, above = _lowest_and_above(onset)
        p_key = np.where(above > 0, p_key, np.exp(log_softmax(logits[..., 2 * P + 2:])))
    return sigmoid(logits[..., 2 * P + 1:2 * P + 2]) * p_key


def log_odds(p):
    """The logit of probabilities, clipped to [1e-5, 1 - 1e-5]."""
    p = np.clip(p, 1e-5, 1 - 1e-5)
    return np.log(p / (1 - p))
