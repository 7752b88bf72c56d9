"""Beats of a performance or score, from its ticks and its tempo map: how many there are, whether
its onsets sit on a beat grid (a score, or a sequenced performance), the period of every beat and
whether it varies as a performer's does. Below the models: the velocity model reads the grid, the
tempo model the periods."""
from __future__ import annotations

import numpy as np
from .codec.io import tick_to_seconds

__all__ = ["MIN_RUBATO", "n_beats", "grid_share", "on_beat_grid", "beat_curve", "tempo_curve", "has_rubato"]

#: a piece whose beat periods vary less than this (std of the log) has no rubato
MIN_RUBATO = 0.01


def n_beats(perf) -> int:
    """Beats (quarter notes of the file's ticks) from 0 to the last onset, inclusive."""
    if not len(perf.notes):
        return 0
    return int(perf.notes["start_tick"].max() // perf.ticks_per_beat) + 1


def grid_share(beats: np.ndarray) -> float:
    """Share of onsets on a sixteenth or eighth-triplet grid of the file's beats (1 = sequenced)."""
    b = np.asarray(beats, np.float64)
    if len(b) < 8 or not np.all(np.isfinite(b)):
        return 0.0
    d4 = np.abs(b * 4 - np.round(b * 4))
    d3 = np.abs(b * 3 - np.round(b * 3))
    return float(np.mean((d4 < 0.04) | (d3 < 0.03)))


def on_beat_grid(perf, share: float = 0.9) -> bool:
    """Whether at least ``share`` of the onsets sit on a 16th / eighth-triplet grid of the file's
    beats: a score or a sequenced performance, whose beats mean something."""
    return grid_share(perf.notes["start_tick"] / float(perf.ticks_per_beat)) >= share


def beat_curve(perf) -> np.ndarray:
    """Log beat period (seconds) of each beat from the file's tempo map (B,)."""
    B = n_beats(perf)
    ticks, tempos = perf.tempo
    idx = np.searchsorted(ticks, np.arange(B) * perf.ticks_per_beat, side="right") - 1
    return np.log(tempos[np.maximum(idx, 0)] / 1e6)


def tempo_curve(perf) -> tuple:
    """``(seconds, bpm)`` of each beat: when it starts and its tempo in quarter notes per minute
    (for figures, :func:`midistyle.plot.plot_pieces`)."""
    B = n_beats(perf)
    return (tick_to_seconds(np.arange(B) * perf.ticks_per_beat, perf.tempo, perf.ticks_per_beat),
            60.0 / np.exp(beat_curve(perf)))


def has_rubato(perf) -> bool:
    """Whether the tempo map varies from beat to beat, as a performer's does: at least one tempo
    event per 16 beats (8 at least) and a std of the log beat period >= :data:`MIN_RUBATO`. A
    score's few sectional tempo marks are no rubato."""
    c = beat_curve(perf)
    if len(c) <= 8 or perf.tempo_changes < max(8, len(c) / 16):
        return False
    return float(np.std(c - np.median(c))) >= MIN_RUBATO
