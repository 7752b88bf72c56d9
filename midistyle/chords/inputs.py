"""The input layout of a chord model's frames: what each frame reads (onsets, sounding keys, pedal,
running pitch-class profiles, the short memories, what it knows in advance of the harmony, the
running habits) and where each part sits."""
from __future__ import annotations

import numpy as np

from .config import KEY_DECAYS, ChordsConfig, frame_decays, key_memory_decay, memory_settings
from .harmony import advance_size


def memory_inputs(onset: np.ndarray, *, frame_steps: int, key_memory: float = 0.0, event_memory: int = 0) -> list:
    """The short memories a chord model may read each frame (see :class:`ChordsConfig`), vectorised
    over time: with ``key_memory``, per key ``decay ** (frames since it was last struck)`` (0 before
    its first strike), so that the next note can be placed relative to the last ones; with
    ``event_memory``, whether keys were struck in this frame and in each of the ``event_memory - 1``
    before it, so that the next onset can keep the pulse. A list of (F, n) float arrays."""
    F = len(onset)
    out = []
    if key_memory:
        t = np.arange(F)[:, None]
        last = np.maximum.accumulate(np.where(onset, t, -1), axis=0) if F else np.zeros(onset.shape, int)
        d = key_memory_decay(frame_steps, key_memory)
        out.append(np.where(last >= 0, d ** (t - np.maximum(last, 0)), 0.0))
    if event_memory:
        ev = onset.any(axis=1).astype(np.float64)
        hist = np.zeros((F, int(event_memory)))
        for j in range(min(int(event_memory), F)):
            hist[j:, j] = ev[:F - j]
        out.append(hist)
    return out


def pitch_class_matrix(n_pitches: int, pitch_low: int) -> np.ndarray:
    """(P, 12) one-hot pitch class of each key (key 0 is MIDI pitch ``pitch_low``)."""
    pc = np.zeros((n_pitches, 12))
    pc[np.arange(n_pitches), (np.arange(n_pitches) + pitch_low) % 12] = 1.0
    return pc


def running_inputs(onset: np.ndarray, sound: np.ndarray, pedal: np.ndarray, pitch_low: int = 21, *,
                   frame_steps: int, habit0=None, key_memory: float = 0.0, event_memory: int = 0,
                   advance: int = 0) -> np.ndarray:
    """Model inputs of frames (see :meth:`midistyle.chords.frames.Frames.model_input`), vectorised over time; the running
    pedal share and event rate start from ``habit0`` (default 0, as in training); the short
    memories of :func:`memory_inputs` sit just before those two, and before them ``advance``
    columns left at zero for what a frame knows in advance (:func:`midistyle.chords.frames.previous_frames` fills them)."""
    from scipy.signal import lfilter

    key_decays, habit = frame_decays(frame_steps)
    counts = onset.astype(np.float64) @ pitch_class_matrix(onset.shape[1], pitch_low)
    extra = []
    for d in key_decays:
        h = lfilter([1.0], [1.0, -d], counts, axis=0) if len(counts) else counts
        extra.append(h / np.maximum(h.sum(axis=1, keepdims=True), 1e-6))
    extra += memory_inputs(onset, frame_steps=frame_steps, key_memory=key_memory, event_memory=event_memory)
    if advance:
        extra.append(np.zeros((len(onset), advance)))
    start = np.zeros(2) if habit0 is None else np.asarray(habit0, np.float64)
    fade = habit ** np.arange(1, len(onset) + 1)
    for x, h0 in zip((pedal.astype(np.float64), onset.any(axis=1).astype(np.float64)), start):
        h = lfilter([1.0 - habit], [1.0, -habit], x) if len(x) else x
        extra.append((h + h0 * fade)[:, None])
    return np.concatenate([onset, sound, pedal[:, None]] + extra, axis=1).astype(np.float32)


def memory_column(n_pitches: int) -> int:
    """Where the short memories (:func:`memory_inputs`) start among a frame's model inputs."""
    return 2 * n_pitches + 1 + 12 * len(KEY_DECAYS)


def advance_columns(n_pitches: int, cfg: ChordsConfig | None) -> int:
    """Columns of what a frame knows in advance (:func:`midistyle.chords.harmony.advance_inputs`): its
    harmony and the next, the keys struck ``figure_lags`` harmony steps before and, with ``harmony_key``, the
    key of its step (0 without harmony)."""
    return advance_size(n_pitches, cfg.figure_lags, cfg.harmony_key) if cfg is not None and cfg.harmony else 0


def advance_column(n_pitches: int, cfg: ChordsConfig | None = None) -> int:
    """Where the advance columns start among a frame's model inputs (after the short memories)."""
    m = memory_settings(cfg)
    return memory_column(n_pitches) + (n_pitches if m.get("key_memory") else 0) + m.get("event_memory", 0)


def input_size(n_pitches: int, cfg: ChordsConfig | None = None) -> int:
    """Inputs per frame of a chord model over ``n_pitches`` keys (with ``cfg``'s short memories and
    harmony)."""
    return advance_column(n_pitches, cfg) + advance_columns(n_pitches, cfg) + 2
