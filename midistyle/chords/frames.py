"""A piece on the chord generator's frame grid (:class:`Frames`): made from a piano roll, read
back as notes and pedal runs, its texture, its harmony per harmony step, and the frames as the
model reads them in training (teacher forcing)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codec.pianoroll import PianoRoll
from .config import HABIT_COLUMNS, ChordsConfig, memory_settings
from .harmony import HarmonyVocabulary, advance_inputs, find_key, step_keys, step_weights, transpose_key
from .inputs import advance_column, advance_columns, running_inputs


@dataclass
class Frames:
    """A piece on the generator's frame grid: ``onset`` and ``sound`` (F, P) bool, ``pedal`` (F,) bool,
    frames of ``frame_steps`` 25 ms steps; ``harmony``: the pitch-class masks of the harmony steps a
    generator with a harmony layer drew them under (from the first frame), None for real frames;
    ``keys``: likewise the key of each of those steps, for a harmony layer that reads keys."""

    onset: np.ndarray
    sound: np.ndarray
    pedal: np.ndarray
    frame_steps: int
    harmony: np.ndarray | None = None
    keys: np.ndarray | None = None

    def __len__(self):
        return len(self.onset)

    @property
    def hold(self) -> np.ndarray:
        """Keys sounding on from the frame before (not struck in this frame)."""
        return self.sound & ~self.onset

    def model_input(self, pitch_low: int = 21, habit0=None, cfg: ChordsConfig | None = None) -> np.ndarray:
        """The frames as the model reads them (F, :func:`.inputs.input_size`) float32: onsets,
        sounding keys, pedal, running pitch-class profiles of the onsets so far (one per decay of
        :data:`.config.KEY_DECAYS`, each summing to 1: the key it is in), and running averages of
        the pedal and of onset events (decay :data:`.config.HABIT_DECAY`: how this piece pedals and
        how dense it is, so that one lift of the pedal or one pause does not change the piece's
        habits); a model whose ``cfg`` asks for them also reads the short memories of
        :func:`.inputs.memory_inputs`."""
        return running_inputs(self.onset, self.sound, self.pedal, pitch_low, frame_steps=self.frame_steps,
                              habit0=habit0, advance=advance_columns(self.onset.shape[1], cfg),
                              **memory_settings(cfg))

    def transposed(self, k: int) -> "Frames":
        """Shifted by ``k`` keys (notes pushed out of range are dropped)."""
        def sh(a):
            out = np.zeros_like(a)
            if k >= 0:
                out[:, k:] = a[:, :a.shape[1] - k]
            else:
                out[:, :k] = a[:, -k:]
            return out
        return Frames(sh(self.onset), sh(self.sound), self.pedal, self.frame_steps)

    def __getitem__(self, sl) -> "Frames":
        return Frames(self.onset[sl], self.sound[sl], self.pedal[sl], self.frame_steps)


def to_frames(held: np.ndarray, onsets: np.ndarray, pedals: np.ndarray, frame_steps: int) -> Frames:
    """Piano-roll matrices (T, P) and pedals (T, 2) -> :class:`Frames`.

    A key is struck in a frame when one of its steps has an onset, sounds when one of its steps
    is held; the pedal is down when the sustain value is >= 64 for at least half the frame.
    """
    k = frame_steps
    T = held.shape[0]
    n = -(-T // k)

    def pool(a):
        a = np.asarray(a)
        if n * k - T:
            a = np.concatenate([a, np.zeros((n * k - T,) + a.shape[1:], a.dtype)])
        return a.reshape((n, k) + a.shape[1:])

    on = pool(onsets.astype(bool)).any(axis=1)
    sound = pool(held.astype(bool)).any(axis=1) | on
    ped = (pool(np.asarray(pedals)[:, 0] >= 64).sum(axis=1) * 2) >= k
    return Frames(on, sound, ped, frame_steps)


def roll_frames(roll: PianoRoll, frame_steps: int) -> Frames:
    """:func:`to_frames` of a :class:`PianoRoll`."""
    return to_frames(roll.held, roll.onsets, roll.pedals, frame_steps)


def frames_to_notes(fr: Frames) -> list:
    """Struck keys -> ``(start_frame, end_frame, column)`` notes: each onset starts a note that lasts
    while the key keeps sounding and no new onset of it comes. Sorted by start and column."""
    on, sound = np.asarray(fr.onset, bool), np.asarray(fr.sound, bool)
    F, P = on.shape
    notes = []
    for p in np.flatnonzero(on.any(axis=0)):
        starts = np.flatnonzero(on[:, p])
        # a note ends at the first frame (after its start) that is silent or struck again
        stop = ~sound[:, p] | on[:, p]
        stops = np.flatnonzero(np.append(stop, True))
        ends = stops[np.searchsorted(stops, starts, side="right")]
        notes.extend(zip(starts.tolist(), np.minimum(ends, F).tolist(), [int(p)] * len(starts)))
    notes.sort()
    return notes


def pedal_runs(pedal: np.ndarray) -> list:
    """``(start_frame, end_frame)`` of each run of frames with the pedal down."""
    d = np.diff(np.concatenate([[0], np.asarray(pedal, np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def texture_stats(fr: Frames, frame_seconds: float, pitch_low: int = 21) -> dict:
    """Polyphony, density, register and pedalling of frames.

    Returns
    -------
    dict
        ``polyphony`` (mean sounding keys over sounding frames), ``silence`` (share of silent
        frames), ``notes_per_s``, ``note_seconds`` (median note length), ``pitch_mean``,
        ``pitch_p5``, ``pitch_p95`` (over struck keys), ``pedal_share``.
    """
    n = fr.sound.sum(axis=1)
    notes = frames_to_notes(fr)
    if not notes:
        return {"polyphony": 0.0, "silence": 1.0, "notes_per_s": 0.0, "note_seconds": float("nan"),
                "pitch_mean": float("nan"), "pitch_p5": float("nan"), "pitch_p95": float("nan"),
                "pedal_share": float(np.mean(fr.pedal)) if len(fr) else 0.0}
    arr = np.array(notes)
    pitch = arr[:, 2] + pitch_low
    return {"polyphony": float(n[n > 0].mean()), "silence": float(np.mean(n == 0)),
            "notes_per_s": float(len(notes) / max(len(fr) * frame_seconds, 1e-9)),
            "note_seconds": float(np.median(arr[:, 1] - arr[:, 0]) * frame_seconds),
            "pitch_mean": float(pitch.mean()), "pitch_p5": float(np.percentile(pitch, 5)),
            "pitch_p95": float(np.percentile(pitch, 95)), "pedal_share": float(np.mean(fr.pedal))}


def windows(fr: Frames, seq_len: int) -> list:
    """Non-overlapping windows of ``seq_len`` frames (the last, shorter one kept)."""
    return [fr[a:a + seq_len] for a in range(0, len(fr), seq_len)]


def frame_harmony(fr: Frames, vocab: HarmonyVocabulary, step: int, pitch_low: int = 21) -> np.ndarray:
    """The harmony tokens of real frames, one per ``step`` frames from the first
    (:meth:`midistyle.chords.harmony.HarmonyVocabulary.tokens` of their held notes)."""
    return vocab.tokens(step_weights(fr.sound, step, pitch_low))


def frame_keys(fr: Frames, step: int, pitch_low: int = 21) -> np.ndarray:
    """The key (0-23) of each harmony step of real frames (:func:`midistyle.chords.harmony.step_keys`
    of their sounding keys)."""
    return step_keys(step_weights(fr.sound, step, pitch_low))


def window_keys(keys: np.ndarray, first: int, n_frames: int, step: int, shift: int = 0) -> np.ndarray:
    """The key of each harmony step of a window of ``n_frames`` frames from frame ``first`` of a piece
    whose steps have ``keys`` (:func:`frame_keys`): the key of the piece's step where each
    window step starts, transposed by ``shift`` semitones with the window."""
    starts = (first + np.arange(-(-n_frames // step)) * step) // step
    return transpose_key(np.asarray(keys)[np.minimum(starts, len(keys) - 1)], shift)


def frames_key(fr: Frames, pitch_low: int = 21) -> int:
    """The one key (0-23) of a stretch of frames: the best key of all its sound
    (:func:`midistyle.chords.harmony.find_key`)."""
    return int(find_key(step_weights(fr.sound, max(len(fr), 1), pitch_low).sum(axis=0)))


def previous_frames(fr: Frames, pitch_low: int = 21, habit0=None, cfg: ChordsConfig | None = None,
                    harmony_masks: np.ndarray | None = None, harmony_keys: np.ndarray | None = None) -> np.ndarray:
    """Teacher-forcing input: each frame sees the one before it (silence first), (F, input_size);
    with a harmony layer, also what the frame knows in advance (its harmony and the next, from
    ``harmony_masks`` per harmony step, the keys struck whole harmony steps before it and, with
    ``cfg.harmony_key``, the key of its step from ``harmony_keys``)."""
    x = fr.model_input(pitch_low, habit0, cfg)
    first = np.zeros_like(x[:1])
    if habit0 is not None:
        first[0, HABIT_COLUMNS] = habit0
    x = np.concatenate([first, x[:-1]])
    n_adv = advance_columns(fr.onset.shape[1], cfg)
    if n_adv:
        if harmony_masks is None:
            raise ValueError("harmony_masks: a model with a harmony layer reads each frame's harmony")
        if cfg.harmony_key and harmony_keys is None:
            raise ValueError("harmony_keys: a model whose harmony reads keys reads each frame's key")
        at = advance_column(fr.onset.shape[1], cfg)
        x[:, at:at + n_adv] = advance_inputs(harmony_masks, fr.onset, 0, len(fr), step=cfg.harmony,
                                             lags=cfg.figure_lags, keys=harmony_keys if cfg.harmony_key else None)
    return x
