"""Per-note inputs of the velocity model: what the notes of a piece tell, in playing order."""
from __future__ import annotations

import numpy as np

from ..beats import grid_share
from ..codec.pianoroll import PianoRoll
from ..judges.notefeatures import CONTEXT_NAMES, piece_context

#: Names of the per-note inputs of :func:`note_inputs` (piece context last).
NOTE_INPUT_NAMES = (
    ["pitch", "log_duration", "ioi_prev", "ioi_next", "chord_size", "chord_rank", "top_of_chord",
     "bottom_of_chord", "top_line", "bass_line", "register_in_sounding", "sounding", "density_1s",
     "density_4s", "pitch_vs_local", "sustain", "soft", "phrase_pos", "phrase_len", "since_phrase",
     "to_phrase_end", "piece_pos", "grid", "beat_sin", "beat_cos", "bar_sin", "bar_cos", "on_beat",
     "downbeat"] + [f"ctx_{n}" for n in CONTEXT_NAMES])
CHORD_RANK = NOTE_INPUT_NAMES.index("chord_rank")
#: the note inputs a notated score cannot carry like a performance does (it has no pedal and its
#: timing is a metronome's): for a score they are set to what the genre's performances have
#: (the model's ``score_inputs``, :func:`score_inputs_of`)
SCORE_BLIND_INPUTS = ("ctx_sustain_share", "ctx_grid_regularity", "sustain")


def note_beats(roll: PianoRoll, ticks_per_beat: int | None = None) -> np.ndarray | None:
    """Onset of every note of ``roll.notes`` in beats (quarter notes) from its ticks, or None.

    Datasets store it (``beat``); a note table read from a file has ``start_tick`` and needs the
    file's ``ticks_per_beat``.
    """
    names = roll.notes.dtype.names
    if "beat" in names:
        return roll.notes["beat"].astype(np.float64)
    if "start_tick" in names and ticks_per_beat:
        return roll.notes["start_tick"] / float(ticks_per_beat)
    return None


def _window_sum(counts: np.ndarray, centre: np.ndarray, w: int) -> np.ndarray:
    """Sum of ``counts`` (per step) over ``centre +- w`` steps."""
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    T = len(counts)
    return cum[np.clip(centre + w + 1, 0, T)] - cum[np.clip(centre - w, 0, T)]


def playing_order(roll: PianoRoll) -> np.ndarray:
    """Index into ``roll.notes`` of the in-range notes in the order the model plays them: by onset
    step, higher pitch first within a step."""
    idx = np.flatnonzero(roll.in_range())
    return idx[np.lexsort((-roll.notes["pitch"][idx], roll.note_steps[idx]))]


def note_inputs(roll: PianoRoll, beats: np.ndarray | None = None) -> tuple:
    """Per-note model inputs of one piece, in playing order.

    Parameters
    ----------
    roll : PianoRoll
        An encoded piece with its note table.
    beats : array, optional
        Onset of each note of ``roll.notes`` in beats (:func:`note_beats`); without it, or when
        the onsets do not sit on a grid of those beats (performed files), the metrical inputs are 0.

    Returns
    -------
    X : float32 array (N, len(NOTE_INPUT_NAMES))
    order : int array (N,)
        Index into ``roll.notes`` of each row: in-range notes by onset step, higher pitch first.
    """
    s = roll.settings
    order = playing_order(roll)
    N = len(order)
    if N == 0:
        return np.zeros((0, len(NOTE_INPUT_NAMES)), np.float32), order
    n = roll.notes[order]
    st = np.asarray(roll.note_steps[order], np.int64)
    T, P = roll.n_steps, s.n_pitches
    st = np.clip(st, 0, T - 1)
    pitch = n["pitch"].astype(np.float64)
    pi = (pitch - s.pitch_low).astype(np.int64)
    start = st * s.step
    dur = np.maximum(n["end"] - n["start"], 0.0)
    # onset groups (notes that start in the same step)
    new = np.r_[True, st[1:] != st[:-1]]
    grp = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    gt = start[first]
    ioi = np.diff(gt)
    ioi_prev = np.r_[4.0, ioi][grp]
    ioi_next = np.r_[ioi, 4.0][grp]
    size = np.bincount(grp)[grp].astype(np.float64)
    rank = np.arange(N) - first[grp]
    # voices: what sounds at the onset
    held = roll.held[st]
    held[np.arange(N), pi] = True
    sounding = held.sum(1).astype(np.float64)
    hi = P - 1 - np.argmax(held[:, ::-1], axis=1)
    lo = np.argmax(held, axis=1)
    # local density and register
    per_step = np.bincount(st, minlength=T).astype(np.float64)
    w1, w2, w4 = (max(1, int(round(x / s.step))) for x in (1.0, 2.0, 4.0))
    dens1 = _window_sum(per_step, st, w1) / 2.0
    dens4 = _window_sum(per_step, st, w4) / 8.0
    psum = np.bincount(st, weights=pitch, minlength=T)
    local_pitch = _window_sum(psum, st, w2) / np.maximum(_window_sum(per_step, st, w2), 1)
    ped = roll.pedals[st].astype(np.float64) / 127.0
    # phrases: a gap of at least max(0.4 s, 3 x the median gap between onsets) starts one
    med = float(np.median(ioi)) if len(ioi) else 0.5
    brk = np.r_[True, ioi >= max(0.4, 3.0 * med)]
    ph = np.cumsum(brk) - 1
    ph_start = gt[brk][ph]
    ph_last = np.maximum.reduceat(gt, np.flatnonzero(brk))[ph]
    ph_len = np.maximum(ph_last - ph_start, 1e-3)
    g_pos = (gt - ph_start) / ph_len
    duration = max(roll.duration, 1e-3)
    # metre, where the file has a grid
    b = None if beats is None else np.asarray(beats, np.float64)[order]
    grid = grid_share(b) if b is not None else 0.0
    on = grid >= 0.8
    bb = b if on else np.zeros(N)
    gf = 1.0 if on else 0.0
    ctx = piece_context(roll)
    X = np.column_stack([
        (pitch - 64.0) / 24.0, np.log(dur + 0.02), np.log1p(np.minimum(ioi_prev, 4.0)),
        np.log1p(np.minimum(ioi_next, 4.0)), size / 4.0, rank / 4.0, (rank == 0), (rank == size - 1),
        pi >= hi, pi <= lo, (pi - lo) / np.maximum(hi - lo, 1), sounding / 6.0,
        np.log1p(dens1), np.log1p(dens4), (pitch - local_pitch) / 12.0, ped[:, 0], ped[:, 1],
        g_pos[grp], np.log1p(ph_len[grp]), np.log1p(start - ph_start[grp]),
        np.log1p(np.maximum(ph_last[grp] - start, 0)), start / duration, np.full(N, grid),
        gf * np.sin(2 * np.pi * bb), gf * np.cos(2 * np.pi * bb), gf * np.sin(np.pi * bb / 2),
        gf * np.cos(np.pi * bb / 2), gf * (np.abs(bb - np.round(bb)) < 0.03),
        gf * (np.abs(bb / 4 - np.round(bb / 4)) < 0.01),
        np.broadcast_to(ctx, (N, len(ctx))),
    ]).astype(np.float32)
    return X, order



def note_beats_of(perf) -> np.ndarray:
    """Onset of every note of a :class:`~midistyle.codec.io.Performance` in beats (its ticks / ticks per beat)."""
    return perf.notes["start_tick"] / float(perf.ticks_per_beat)



def piece_sequence(roll: PianoRoll, beats=None) -> tuple:
    """(note inputs (N, F), true velocities (N,) int) of one piece, in playing order."""
    X, order = note_inputs(roll, note_beats(roll) if beats is None else beats)
    return X, roll.notes["velocity"][order].astype(np.int64)
