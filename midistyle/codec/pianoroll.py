"""The piano roll: aligned time x pitch matrices, and the codec to and from MIDI.

The time grid is in **seconds**, not beats: performed (unquantized) MIDI has no reliable beat
grid, and a seconds grid is indifferent to tempo maps and ticks-per-beat, since every event is
first mapped to seconds through the file's own tempo map. The default step of 25 ms
(40 steps/s) keeps the notes of fast performed passages apart (a pianist's repeated notes on
one key are at least ~60 ms apart) while a 20 s receptive field stays within 800 steps.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, SettingsMismatchError
from ..settings import Settings, SettingsError, is_number
from .io import SOFT_CC, SUSTAIN_CC, Performance, read

#: Finest time step :class:`EncoderSettings` accepts (1 ms): about one tick of a 480 ticks-per-beat
#: file at 120 bpm, finer than any performer's timing; a finer grid only multiplies the memory.
MIN_STEP = 0.001


@dataclass(frozen=True)
class EncoderSettings(Settings):
    """How a performance is put on the grid.

    Attributes
    ----------
    step : float
        Seconds per time step (default 0.025; at least :data:`MIN_STEP`).
    pitch_low, pitch_high : int
        Lowest and highest MIDI pitch kept, inclusive (default the 88 piano keys, 21..108).
    """

    step: float = 0.025
    pitch_low: int = 21
    pitch_high: int = 108

    def validate(self) -> None:
        """``step`` a finite number of seconds >= :data:`MIN_STEP`; ``0 <= pitch_low <= pitch_high <= 127``."""
        self.require("step", is_number(self.step) and math.isfinite(self.step) and self.step >= MIN_STEP,
                     f"must be a finite number of seconds >= {MIN_STEP:g}")
        self.require_min(0, "pitch_low", "pitch_high")
        self.require("pitch_high", self.pitch_high <= 127, "must be <= 127")
        self.require("pitch_low", self.pitch_low <= self.pitch_high, "must be <= pitch_high")

    @property
    def n_pitches(self) -> int:
        """Number of pitch columns."""
        return self.pitch_high - self.pitch_low + 1

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderSettings":
        """Inverse of :meth:`to_dict` (unknown keys are ignored; every field must be there, since
        silently defaulting one would hide a grid mismatch)."""
        for name in ("step", "pitch_low", "pitch_high"):
            if not isinstance(d, dict) or name not in d:
                raise SettingsError(cls.__name__, name, "is missing")
        return super().from_dict(d)

    def check(self, other: "EncoderSettings", what: str = "model") -> None:
        """Raise :class:`SettingsMismatchError` unless ``other`` equals these settings."""
        if self != other:
            raise SettingsMismatchError(
                f"{what} was made with encoder settings {other.to_dict()}, "
                f"but these are {self.to_dict()}")


@dataclass
class PianoRoll:
    """A performance on a time x pitch grid.

    Attributes
    ----------
    onsets : bool array (T, P)
        True where a note starts.
    held : bool array (T, P)
        True while a note sounds (the "chords" matrix).
    velocity : uint8 array (T, P)
        Strike velocity at onset cells, 0 elsewhere.
    pedals : uint8 array (T, 2)
        Sustain (CC64) and soft (CC67) pedal values, held between changes.
    settings : EncoderSettings
        Grid used.
    notes : structured array or None
        The source note table (:data:`midistyle.codec.io.NOTE_DTYPE`), when encoded from a file.
    note_steps : int array or None
        Onset step of each note of ``notes``.
    """

    onsets: np.ndarray
    held: np.ndarray
    velocity: np.ndarray
    pedals: np.ndarray
    settings: EncoderSettings
    notes: np.ndarray | None = None
    note_steps: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """Number of time steps T."""
        return self.onsets.shape[0]

    @property
    def duration(self) -> float:
        """Length of the grid in seconds."""
        return self.n_steps * self.settings.step

    def step_span(self, start: float = 0.0, seconds: float | None = None) -> tuple:
        """``(a, b)``: the steps of ``[start, start + seconds)`` within the roll (to its end if
        ``seconds`` is None)."""
        step = self.settings.step
        a = min(max(int(start / step), 0), self.n_steps)
        b = self.n_steps if seconds is None else min(self.n_steps, a + int(round(seconds / step)))
        return a, b

    def starting_in(self, a: int, b: int) -> np.ndarray:
        """Boolean mask over ``notes``: in-range notes whose onset step lies in ``[a, b)``."""
        return self.in_range() & (self.note_steps >= a) & (self.note_steps < b)

    def in_range(self) -> np.ndarray:
        """Boolean mask over ``notes``: notes whose pitch lies in the grid's range."""
        s = self.settings
        return (self.notes["pitch"] >= s.pitch_low) & (self.notes["pitch"] <= s.pitch_high)

    def note_velocities(self, velocity_matrix: np.ndarray) -> np.ndarray:
        """Read one velocity per source note from a (T, P) matrix at its onset cell.

        Notes outside the pitch range keep their original velocity.
        """
        if self.notes is None:
            raise ValueError("this piano roll has no source notes")
        out = self.notes["velocity"].astype(np.float64).copy()
        m = self.in_range()
        out[m] = velocity_matrix[self.note_steps[m], self.notes["pitch"][m] - self.settings.pitch_low]
        return out


def steps_of(seconds: np.ndarray, step: float) -> np.ndarray:
    """Grid step of each time (rounded to the nearest step)."""
    return np.floor(np.asarray(seconds) / step + 0.5).astype(np.int64)


def pedal_matrix(pedals: np.ndarray, n_steps: int, step: float) -> np.ndarray:
    """Sample-and-hold the sustain and soft pedal values on the grid, shape (T, 2) uint8."""
    out = np.zeros((n_steps, 2), dtype=np.uint8)
    for col, cc in enumerate((SUSTAIN_CC, SOFT_CC)):
        ev = pedals[pedals["cc"] == cc]
        if not len(ev):
            continue
        st = np.clip(steps_of(ev["time"], step), 0, n_steps - 1)
        # value in force at each step: last event with step <= t
        idx = np.searchsorted(st, np.arange(n_steps), side="right") - 1
        vals = np.where(idx >= 0, ev["value"][np.maximum(idx, 0)], 0)
        out[:, col] = np.clip(vals, 0, 127)
    return out


#: Longest piece :func:`encode` accepts by default (2 hours): a damaged delta time can make a file
#: last years, and a dense grid of it would not fit in memory.
MAX_SECONDS = 7200.0

#: Most grid cells (steps x pitches) :func:`encode` accepts by default: 2 h at the default step over
#: all 128 pitches needs 37 million; 100 million cells take about 300 MB in the roll's matrices, and a
#: long piece at a very fine step would need many GiB.
MAX_CELLS = 100_000_000


def encode(source, settings: EncoderSettings | None = None, *, max_seconds: float | None = MAX_SECONDS,
           max_cells: int | None = MAX_CELLS) -> PianoRoll:
    """Encode a performance (or anything :func:`midistyle.codec.io.read` takes) as a :class:`PianoRoll`.

    Parameters
    ----------
    source : Performance, str, path or symusic.Score
        A performance, a path / ``corpus:NAME`` to read, or a ``symusic.Score``.
    settings : EncoderSettings, optional
        Grid; defaults to 25 ms steps over the 88 piano keys.
    max_seconds : float or None
        Refuse (:class:`InputError`) a piece longer than this before allocating its grid
        (default :data:`MAX_SECONDS`; None: no limit).
    max_cells : int or None
        Refuse (:class:`InputError`, naming the settings field ``step``) a grid of more steps x
        pitches than this before allocating it (default :data:`MAX_CELLS`; None: no limit).

    Notes
    -----
    Onsets are rounded to the nearest step; a note holds from its onset step up to (not
    including) its rounded end step, and at least one step. When two notes of one pitch start
    in the same step, the louder velocity is kept in the matrix.
    """
    settings = settings or EncoderSettings()
    perf = source if isinstance(source, Performance) else read(source)
    check_duration(perf, max_seconds)
    n_steps = grid_length(perf.notes, perf.duration, settings.step)
    check_grid_size(perf, n_steps, settings, max_cells)
    return roll_from_notes(perf.notes, pedal_matrix(perf.pedals, n_steps, settings.step), settings)


def check_duration(perf: Performance, max_seconds: float | None = MAX_SECONDS) -> None:
    """Raise :class:`InputError` when ``perf`` lasts longer than ``max_seconds`` (None: no limit)."""
    if max_seconds is not None and perf.duration > max_seconds:
        raise InputError(f"{perf.source}: lasts {perf.duration / 3600:.1f} h, longer than the limit of "
                         f"{max_seconds / 3600:g} h set by max_seconds", field="max_seconds")


def check_grid_size(perf: Performance, n_steps: int, settings: EncoderSettings,
                    max_cells: int | None = MAX_CELLS) -> None:
    """Raise :class:`InputError` (field ``step``) when a grid of ``n_steps`` steps over the pitches of
    ``settings`` would hold more than ``max_cells`` cells (None: no limit)."""
    cells = n_steps * settings.n_pitches
    if max_cells is not None and cells > max_cells:
        raise InputError(f"{perf.source}: {perf.duration:.1f} s at a step of {settings.step:g} s needs a grid of "
                         f"{n_steps} steps x {settings.n_pitches} pitches ({cells:.3g} cells), more than the "
                         f"limit of {max_cells:.3g} set by max_cells; use a coarser step", field="step")


def grid_length(notes: np.ndarray, duration: float, step: float) -> int:
    """Steps of the grid of a note table lasting ``duration`` seconds (each note holds >= 1 step)."""
    st = steps_of(notes["start"], step)
    en = np.maximum(steps_of(notes["end"], step), st + 1)
    return int(max(en.max(initial=0), steps_of(duration, step) + 1))


def held_matrix(starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray, n_steps: int,
                n_pitches: int) -> np.ndarray:
    """(T, P) bool: cell ``(t, p)`` is True when some note of pitch ``p`` holds over step ``t``,
    i.e. ``starts <= t < ends`` (steps; pitches are grid columns).

    Paints the held cells directly (work ~ total note length) and falls back to a running sum
    over the grid (work ~ T x P) when the notes hold more cells than that.
    """
    lengths = ends - starts
    total = int(lengths.sum())
    if total > n_steps * n_pitches // 4:
        delta = np.zeros((n_steps + 1, n_pitches), dtype=np.int32)
        np.add.at(delta, (starts, pitches), 1)
        np.add.at(delta, (ends, pitches), -1)
        return np.cumsum(delta[:-1], axis=0) > 0
    first = starts * n_pitches + pitches                     # flat index of each note's first cell
    offset = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    held = np.zeros(n_steps * n_pitches, dtype=bool)
    held[np.repeat(first, lengths) + offset * n_pitches] = True
    return held.reshape(n_steps, n_pitches)


def roll_from_notes(notes: np.ndarray, pedals: np.ndarray, settings: EncoderSettings) -> PianoRoll:
    """The :class:`PianoRoll` of a note table (fields pitch, velocity, start, end in seconds) on a
    grid as long as ``pedals`` (a :func:`pedal_matrix`), as :func:`encode` makes it."""
    n_steps = len(pedals)
    st = steps_of(notes["start"], settings.step)
    en = np.maximum(steps_of(notes["end"], settings.step), st + 1)
    P = settings.n_pitches
    m = (notes["pitch"] >= settings.pitch_low) & (notes["pitch"] <= settings.pitch_high)
    p = notes["pitch"][m].astype(np.int64) - settings.pitch_low
    s, e = st[m], en[m]
    onsets = np.zeros((n_steps, P), dtype=bool)
    onsets[s, p] = True
    velocity = np.zeros((n_steps, P), dtype=np.uint8)
    np.maximum.at(velocity, (s, p), notes["velocity"][m].astype(np.uint8))
    return PianoRoll(onsets=onsets, held=held_matrix(s, e, p, n_steps, P), velocity=velocity,
                     pedals=pedals, settings=settings, notes=notes, note_steps=st)


def decode(roll: PianoRoll, program: int = 0, default_velocity: int = 64):
    """Turn a :class:`PianoRoll` into a :class:`pretty_midi.PrettyMIDI` (one piano track).

    A note starts at every onset cell, and at a held cell that follows a silent one (a held
    matrix without onsets, e.g. generated chords); it lasts while the cell stays held and no
    new onset of the same pitch begins. Its velocity is the velocity matrix at its start, or
    ``default_velocity`` where that is 0. Pedal changes become CC64 / CC67 events.
    """
    import pretty_midi

    s = roll.settings
    T = roll.n_steps
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program, name="piano")
    held = np.asarray(roll.held, bool) | np.asarray(roll.onsets, bool)
    prev = np.vstack([np.zeros((1, held.shape[1]), bool), held[:-1]])
    starts = np.asarray(roll.onsets, bool) | (held & ~prev)
    for pi in range(held.shape[1]):
        st_idx = np.flatnonzero(starts[:, pi])
        if not len(st_idx):
            continue
        # a note ends at the next start of this pitch or at the first unheld step
        unheld = np.flatnonzero(~held[:, pi])
        ends = np.full(len(st_idx), T)
        if len(unheld):
            k = np.searchsorted(unheld, st_idx, side="right")
            ends = np.where(k < len(unheld), unheld[np.minimum(k, len(unheld) - 1)], T)
        ends = np.minimum(ends, np.append(st_idx[1:], T))
        vels = roll.velocity[st_idx, pi].astype(int)
        vels = np.where(vels > 0, vels, default_velocity)
        for a, b, v in zip(st_idx.tolist(), ends.tolist(), vels.tolist()):
            inst.notes.append(pretty_midi.Note(velocity=int(np.clip(v, 1, 127)), pitch=pi + s.pitch_low,
                                               start=a * s.step, end=max(b, a + 1) * s.step))
    for col, cc in enumerate((SUSTAIN_CC, SOFT_CC)):
        vals = roll.pedals[:, col].astype(int)
        change = np.flatnonzero(np.diff(np.concatenate([[0], vals])) != 0)
        for t in change.tolist():
            inst.control_changes.append(pretty_midi.ControlChange(number=cc, value=int(vals[t]), time=t * s.step))
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(inst)
    return pm
