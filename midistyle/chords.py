"""Chord generation: one LSTM per target genre plays new music, started from the style embedding
of an inspiration piece (and, with ``prime``, from its first seconds).

Representation (per frame of ``frame_steps`` 25 ms steps, 25 ms by default, and per key): an
**onset** bit (the key is struck in this frame), a **hold** bit (a key that sounded in the frame
before keeps sounding) and one **sustain pedal** bit per frame. A key sounds in a frame when it
is struck there or held on from the frame before, so no key can sound without having been
struck, and a key can be struck again while it sounds (repeated notes).

The LSTM reads the previous frame (onsets, sounding keys, pedal, two running pitch-class
profiles of the onsets so far, running pedal and onset rates; silence before the first) and gives the logit of an onset event
(some key is struck), per key the logit of being struck given an event and of a hold, and the
pedal's logit. With ``within_frame`` (the default) a key's onset logit also depends on the keys
below it struck in the same frame (one learned weight per pair of keys, :class:`EarlierKeysOnly
<midistyle.nn.layers.EarlierKeysOnly>`), so the keys of a frame are drawn lowest first, each given
those below it: which notes make a chord, and that a run strikes one key at a time, are learned
rather than left to independent draws. With ``lowest_key``, the lowest key struck in an event
comes from one softmax over the keys instead (so an event always strikes a key, and the keys
compete: one of them, not several or none, continues a line), and only the keys above it are drawn
key by key given it. Generation draws a frame at ``sigmoid(logit / temperature)`` (the softmax at
``softmax(logit / temperature)``): the event, then the struck keys in that order; only keys that
sounded before can hold; the frame is fed back.

Conditioning: the genre classifier's embedding of the piece (mean over its segments,
:meth:`midistyle.classifier.GenreClassifier.embed`) goes through learned Dense layers to the LSTM's
initial hidden state (tanh) and cell state (linear); in training, a quarter of the windows start
from the embedding of a piece of another genre, so that an inspiration from another genre still
starts the model in its own genre. Training transposes each window by up to +-``transpose``
semitones.

Why one model per genre rather than one genre-conditioned model: the rest of midistyle is
organised per genre (velocity models, the registry's genre names), a genre can be added or
retrained without touching the others, and each model keeps its whole capacity for its genre.

Output: each struck key becomes a note that lasts while it is held; the sustain pedal becomes
CC64 events; velocities are drawn by the genre's velocity model (:mod:`midistyle.velocity`) when
one is shipped, else a constant 64 with a warning.

Training needs TensorFlow; generation and scoring run in NumPy from the ``.npz``. Files::

    chords-GENRE.keras  Keras 3 model         chords-GENRE.json  sidecar (settings, classifier
    chords-GENRE.npz    NumPy weights         fingerprint, base rates, validation figures)
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass

import numpy as np

from .errors import InputError, ModelError, SettingsMismatchError
from .modelfiles import (bundle_stem, check_model_output, commit_bundle, plot_history, stage_bundle, timed,
                         training_summary)
from .codec.pianoroll import EncoderSettings, PianoRoll, encode
from .settings import Settings
from .velocity import note_beats_of

KIND = "chords"
FORMAT_VERSION = 3
#: Decay per 50 ms of the two running pitch-class profiles the LSTM reads (about 1.7 s and 7 s
#: half-lives); a frame of ``k`` 25 ms steps decays by ``d ** (k / 2)`` (:func:`frame_decays`).
KEY_DECAYS = (0.98, 0.995)
#: Decay per 50 ms of the running pedal share and onset-event rate the LSTM reads (about 3.5 s half-life).
HABIT_DECAY = 0.99
#: Where those two running habits sit among the model inputs (the last two columns).
HABIT_COLUMNS = slice(-2, None)


def frame_decays(frame_steps: int) -> tuple:
    """``(key decays, habit decay)`` per frame of ``frame_steps`` 25 ms steps: the same half-lives
    in seconds whatever the frame."""
    e = frame_steps / 2.0
    return tuple(d ** e for d in KEY_DECAYS), HABIT_DECAY ** e


def key_memory_decay(frame_steps: int, half_life: float) -> float:
    """Decay per frame of ``frame_steps`` 25 ms steps of the per-key trace of the last strike
    (:attr:`ChordsConfig.key_memory`, a half-life in seconds)."""
    return 0.5 ** (0.025 * frame_steps / half_life)


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


def _pc_matrix(n_pitches: int, pitch_low: int) -> np.ndarray:
    pc = np.zeros((n_pitches, 12))
    pc[np.arange(n_pitches), (np.arange(n_pitches) + pitch_low) % 12] = 1.0
    return pc


def running_inputs(onset: np.ndarray, sound: np.ndarray, pedal: np.ndarray, pitch_low: int = 21, *,
                   frame_steps: int, habit0=None, key_memory: float = 0.0, event_memory: int = 0) -> np.ndarray:
    """Model inputs of frames (see :meth:`Frames.model_input`), vectorised over time; the running
    pedal share and event rate start from ``habit0`` (default 0, as in training); the short
    memories of :func:`memory_inputs` sit just before those two."""
    from scipy.signal import lfilter

    key_decays, habit = frame_decays(frame_steps)
    counts = onset.astype(np.float64) @ _pc_matrix(onset.shape[1], pitch_low)
    extra = []
    for d in key_decays:
        h = lfilter([1.0], [1.0, -d], counts, axis=0) if len(counts) else counts
        extra.append(h / np.maximum(h.sum(axis=1, keepdims=True), 1e-6))
    extra += memory_inputs(onset, frame_steps=frame_steps, key_memory=key_memory, event_memory=event_memory)
    start = np.zeros(2) if habit0 is None else np.asarray(habit0, np.float64)
    fade = habit ** np.arange(1, len(onset) + 1)
    for x, h0 in zip((pedal.astype(np.float64), onset.any(axis=1).astype(np.float64)), start):
        h = lfilter([1.0 - habit], [1.0, -habit], x) if len(x) else x
        extra.append((h + h0 * fade)[:, None])
    return np.concatenate([onset, sound, pedal[:, None]] + extra, axis=1).astype(np.float32)


TICKS_PER_SECOND = 960          # 480 ticks per beat at 120 bpm
MAX_SECONDS = 3600.0


@dataclass
class ChordsConfig(Settings):
    """Architecture and training settings of a chord generator."""

    frame_steps: int = 1           # 25 ms steps per frame: 1 -> 25 ms
    units: int = 256
    cond_dropout: float = 0.1      # dropout on the embedding in training
    foreign_cond: float = 0.25     # share of training windows started from another genre's embedding
    transpose: int = 6             # training windows shifted by up to +- this many semitones
    seq_len: int = 256             # frames per training window (6.4 s of 25 ms frames)
    batch_size: int = 32
    epochs: int = 40
    steps_per_epoch: int = 60
    patience: int = 4
    learning_rate: float = 3e-3
    input_noise: float = 0.003     # training: share of key / pedal bits of the fed-back frames flipped
    within_frame: bool = True      # a key's onset depends on the keys below it struck in the same frame
    key_memory: float = 0.0        # half-life (s) of a per-key trace of its last strike, read each frame (0: none)
    event_memory: int = 0          # frames of past onset events (struck or not) read each frame (0: none)
    relative_keys: int = 0         # keys up to this many semitones away reach a key's onset through the
                                   # trace of key_memory by one weight per distance, shared over the keyboard
    lowest_key: bool = False       # an onset event's lowest struck key comes from one softmax over the keys
                                   # (an event always strikes a key); the keys above it as with within_frame
    seed: int = 0

    def validate(self) -> None:
        """Sizes >= 1, shares in [0, 1], transposition >= 0."""
        self.require_min(1, "frame_steps", "units", "seq_len", "batch_size", "epochs", "steps_per_epoch", "patience")
        self.require_min(0, "transpose", "seed", "key_memory", "event_memory", "relative_keys")
        self.require("event_memory", isinstance(self.event_memory, int), "must be a whole number of frames")
        self.require("relative_keys", isinstance(self.relative_keys, int) and (not self.relative_keys or self.key_memory),
                     "must be a whole number of semitones, and needs key_memory > 0")
        for name in ("foreign_cond", "input_noise"):
            value = getattr(self, name)
            self.require(name, isinstance(value, (int, float)) and 0 <= value <= 1, "must be in [0, 1]")
        self.require("cond_dropout", isinstance(self.cond_dropout, (int, float)) and 0 <= self.cond_dropout < 1,
                     "must be in [0, 1)")
        self.require("learning_rate", isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0,
                     "must be > 0")
        self.require("within_frame", isinstance(self.within_frame, bool), "must be true or false")
        self.require("lowest_key", isinstance(self.lowest_key, bool) and (not self.lowest_key or self.within_frame),
                     "must be true or false, and needs within_frame")


@dataclass
class Frames:
    """A piece on the generator's frame grid: ``onset`` and ``sound`` (F, P) bool, ``pedal`` (F,) bool,
    frames of ``frame_steps`` 25 ms steps."""

    onset: np.ndarray
    sound: np.ndarray
    pedal: np.ndarray
    frame_steps: int

    def __len__(self):
        return len(self.onset)

    @property
    def hold(self) -> np.ndarray:
        """Keys sounding on from the frame before (not struck in this frame)."""
        return self.sound & ~self.onset

    def model_input(self, pitch_low: int = 21, habit0=None, cfg: "ChordsConfig | None" = None) -> np.ndarray:
        """The frames as the model reads them (F, :func:`input_size`) float32: onsets, sounding
        keys, pedal, running pitch-class profiles of the onsets so far (one per decay of
        :data:`KEY_DECAYS`, each summing to 1: the key it is in), and running averages of the
        pedal and of onset events (decay :data:`HABIT_DECAY`: how this piece pedals and how dense
        it is, so that one lift of the pedal or one pause does not change the piece's habits); a
        model whose ``cfg`` asks for them also reads the short memories of :func:`memory_inputs`."""
        return running_inputs(self.onset, self.sound, self.pedal, pitch_low, frame_steps=self.frame_steps,
                              habit0=habit0, **memory_settings(cfg))

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


def notes_to_midi(notes: list, settings: EncoderSettings, seconds: float, *, frame_steps: int = 1,
                  pedal: list = (), velocities=None, name: str = "chords"):
    """A type-0 MIDI file (120 bpm, 480 ticks per beat, piano) of frame notes, ending at ``seconds``.

    Parameters
    ----------
    notes : list of (start_frame, end_frame, column)
    settings : EncoderSettings
        Grid of the steps and pitch of column 0.
    seconds : float
        Length of the file (its end-of-track event).
    frame_steps : int
        Steps per frame.
    pedal : list of (start_frame, end_frame)
        Sustain pedal down (CC64 127) / up (CC64 0).
    velocities : array, optional
        One velocity per note (default 64).
    """
    import mido

    def tick(frame):
        return int(round(frame * frame_steps * settings.step * TICKS_PER_SECOND))

    end = int(round(seconds * TICKS_PER_SECOND))
    vel = np.full(len(notes), 64) if velocities is None else np.clip(np.rint(velocities), 1, 127).astype(int)
    ev = []
    for (a, b, p), v in zip(notes, vel):
        pitch = int(p) + settings.pitch_low
        ev.append((min(tick(a), end), 2, pitch, mido.Message("note_on", channel=0, note=pitch, velocity=int(v))))
        ev.append((min(tick(b), end), 1, pitch, mido.Message("note_off", channel=0, note=pitch, velocity=0)))
    for a, b in pedal:
        ev.append((min(tick(a), end), 0, -1, mido.Message("control_change", channel=0, control=64, value=127)))
        ev.append((min(tick(b), end), 0, -2, mido.Message("control_change", channel=0, control=64, value=0)))
    ev.sort(key=lambda e: (e[0], e[1], e[2]))
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("track_name", name=name, time=0))
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("program_change", channel=0, program=0, time=0))
    last = 0
    for t, _, _, msg in ev:
        tr.append(msg.copy(time=t - last))
        last = t
    tr.append(mido.MetaMessage("end_of_track", time=max(end - last, 0)))
    mf = mido.MidiFile(type=0, ticks_per_beat=480)
    mf.tracks.append(tr)
    return mf


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


# ----------------------------------------------------------------------------- the model
def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def memory_settings(cfg: "ChordsConfig | None") -> dict:
    """``key_memory`` and ``event_memory`` of ``cfg`` (none without one)."""
    return {"key_memory": cfg.key_memory, "event_memory": cfg.event_memory} if cfg is not None else {}


def memory_column(n_pitches: int) -> int:
    """Where the short memories (:func:`memory_inputs`) start among a frame's model inputs."""
    return 2 * n_pitches + 1 + 12 * len(KEY_DECAYS)


def input_size(n_pitches: int, cfg: "ChordsConfig | None" = None) -> int:
    """Inputs per frame of a chord model over ``n_pitches`` keys (with ``cfg``'s short memories)."""
    m = memory_settings(cfg)
    return (memory_column(n_pitches) + (n_pitches if m.get("key_memory") else 0)
            + m.get("event_memory", 0) + 2)


def previous_frames(fr: Frames, pitch_low: int = 21, habit0=None, cfg: "ChordsConfig | None" = None) -> np.ndarray:
    """Teacher-forcing input: each frame sees the one before it (silence first), (F, input_size)."""
    x = fr.model_input(pitch_low, habit0, cfg)
    first = np.zeros_like(x[:1])
    if habit0 is not None:
        first[0, HABIT_COLUMNS] = habit0
    return np.concatenate([first, x[:-1]])


def n_outputs(n_pitches: int, cfg: "ChordsConfig | None" = None) -> int:
    """Logits per frame: each key's onset given an onset event, each key's hold, the pedal, the event
    and, with ``cfg.lowest_key``, each key's logit of being the lowest struck (one softmax)."""
    return 2 * n_pitches + 2 + (n_pitches if cfg is not None and cfg.lowest_key else 0)


def _lowest_and_above(onset):
    """``(lowest, above)`` masks of struck keys (..., P): the lowest struck key of each frame, and the
    keys above it (whose onsets the per-key logits decide when the event's lowest key has its softmax)."""
    onset = np.asarray(onset, np.float64)
    below = np.cumsum(onset, axis=-1) - onset
    return onset * (below == 0), (below > 0).astype(np.float64)


def _log_softmax(z):
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
    p = np.clip(_sigmoid(logits[..., :2 * P + 2]), 1e-7, 1 - 1e-7)
    cell = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    keys = cell[..., :P].sum(-1)
    if logits.shape[-1] == 3 * P + 2:
        lowest, above = _lowest_and_above(y[..., :P])
        keys = -(lowest * _log_softmax(logits[..., 2 * P + 2:])).sum(-1) + (cell[..., :P] * above).sum(-1)
    return cell[..., 2 * P + 1] + y[..., 2 * P + 1] * keys + (cell[..., P:2 * P] * m).sum(-1) + cell[..., 2 * P]


def onset_probabilities(logits: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """Probability of each key's onset given the frames before and the keys below it struck in the
    frame (``onset`` (..., P), teacher forcing): P(event) x P(key | event, keys below). With a
    lowest-key softmax, a key with none struck below it gets its softmax share, the chance that it
    is the event's lowest key (not that share renormalised over the keys from it up, which would
    make the top key certain whenever nothing is struck: no real probability of its onset)."""
    P = np.shape(onset)[-1]
    p_key = _sigmoid(logits[..., :P])
    if logits.shape[-1] == 3 * P + 2:
        _, above = _lowest_and_above(onset)
        p_key = np.where(above > 0, p_key, np.exp(_log_softmax(logits[..., 2 * P + 2:])))
    return _sigmoid(logits[..., 2 * P + 1:2 * P + 2]) * p_key


class ChordModel:
    """A trained chord generator for one genre (NumPy runtime).

    Use :meth:`load`; :meth:`sample` draws frames from an embedding (and a prime), :meth:`logits`
    scores real frames (teacher forcing).
    """

    def __init__(self, meta: dict, runtime, path: str):
        self.meta = meta
        self.runtime = runtime
        self.path = path
        self.genre = meta["genre"]
        self.settings = EncoderSettings.from_dict(meta["encoder"])
        self.config = ChordsConfig.from_dict(meta["config"])
        #: running pedal share and onset-event rate a draw without a prime starts from (:func:`habit_start`)
        self.habit_start = [float(x) for x in meta["habit_start"]]
        #: How much of its own draws' running pedal share and event rate (away from
        #: :attr:`habit_start`) a draw reads back by default (:func:`anchored_habits`): 1, as in
        #: training; over a minute that loop drifts (classical thins out, jazz pedals more and more)
        self.habit_feedback = float(meta.get("habit_feedback", 1.0))
        #: The feedback a steady draw (``chords --steady``) reads back with, chosen on the training
        #: pieces so that a minute keeps its texture (:func:`calibrate_feedback`)
        self.steady_feedback = float(meta.get("steady_feedback", self.habit_feedback))
        #: Added to the onset-event logit when drawing: chosen on the training pieces so that draws
        #: keep the notes per second of real playing (:func:`calibrate_event_bias`; 0 if not calibrated)
        self.event_bias = float(meta.get("event_bias", 0.0))
        #: The onset-event bias a steady draw adds (0 unless no habit feedback alone kept the
        #: training pieces' draws steady, :func:`calibrate_feedback`)
        self.steady_event_bias = float(meta.get("steady_event_bias", self.event_bias))

    def draw_settings(self, steady: bool = False) -> dict:
        """``feedback`` and ``event_bias`` of a plain or a steady draw (:attr:`steady_feedback`,
        :attr:`steady_event_bias`), as :meth:`sample` takes them."""
        if steady:
            return {"feedback": self.steady_feedback, "event_bias": self.steady_event_bias}
        return {"feedback": self.habit_feedback, "event_bias": self.event_bias}

    @property
    def frame_seconds(self) -> float:
        """Seconds per generated frame."""
        return self.settings.step * self.config.frame_steps

    @classmethod
    def load(cls, path: str) -> "ChordModel":
        """Load a chord model from its ``.keras`` path (sidecar ``.json`` and ``.npz`` beside it).

        Raises
        ------
        ModelError
            Missing or unreadable files, or not a chord model.
        SettingsMismatchError
            Sidecar and weights disagree (pitches, embedding size), or an older format.
        """
        from .modelfiles import read_sidecar
        from .nn.numpy_runtime import ConditionedLSTMRuntime, load_weights

        files, meta = read_sidecar(path, KIND)
        if meta.get("format_version") != FORMAT_VERSION:
            raise SettingsMismatchError(f"{path}: chord model format {meta.get('format_version')}, "
                                        f"this midistyle reads {FORMAT_VERSION}")
        try:
            settings = EncoderSettings.from_dict(meta["encoder"])
            cfg = ChordsConfig.from_dict(meta["config"])
            emb_dim = int(meta["classifier"]["embedding_dim"])
            start = [float(x) for x in meta["habit_start"]]
            if len(start) != 2 or not all(0.0 <= x <= 1.0 for x in start):
                raise ValueError(f"habit_start must be two shares in [0, 1], got {meta['habit_start']}")
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise ModelError(f"{files['json']}: incomplete chord-model sidecar ({exc})") from None
        if not os.path.exists(files["npz"]):
            raise ModelError(f"{files['npz']}: weights for the NumPy runtime are missing")
        try:
            rt = ConditionedLSTMRuntime(load_weights(files["npz"]))
        except Exception as exc:  # damaged archive: zip, pickle or missing-array errors
            raise ModelError(f"{files['npz']}: not chord-model weights ({type(exc).__name__}: {exc})") from None
        if rt.n_in != input_size(settings.n_pitches, cfg):
            raise SettingsMismatchError(f"{files['npz']}: weights take {rt.n_in} inputs per frame, encoder "
                                        f"settings {settings.to_dict()} and memories {memory_settings(cfg)} give "
                                        f"{input_size(settings.n_pitches, cfg)}")
        n_out = n_outputs(settings.n_pitches, cfg)
        if rt.w["out/kernel"].shape[1] != n_out:
            raise SettingsMismatchError(f"{files['npz']}: weights give {rt.w['out/kernel'].shape[1]} outputs per "
                                        f"frame, the sidecar's settings (lowest_key={cfg.lowest_key}) read {n_out}")
        if (rt.within is not None) != cfg.within_frame or (
                rt.within is not None and rt.within.shape != (settings.n_pitches, n_out)):
            raise SettingsMismatchError(f"{files['npz']}: within-frame weights "
                                        f"{None if rt.within is None else rt.within.shape} do not fit the sidecar's "
                                        f"within_frame={cfg.within_frame} over {settings.n_pitches} keys")
        if rt.cond_dim != emb_dim:
            raise SettingsMismatchError(f"{files['npz']}: weights take a {rt.cond_dim}-d embedding, "
                                        f"sidecar says {emb_dim}")
        return cls(meta, rt, files["keras"])

    def check_classifier(self, clf) -> None:
        """Raise :class:`SettingsMismatchError` unless ``clf`` is the classifier this model was trained with."""
        want = self.meta["classifier"]
        self.settings.check(clf.settings, what=f"classifier {clf.path} (chord model {self.path})")
        if clf.embedding_dim != int(want["embedding_dim"]):
            raise SettingsMismatchError(f"{clf.path}: gives {clf.embedding_dim}-d embeddings, chord model "
                                        f"{self.path} takes {want['embedding_dim']}-d")
        if want.get("fingerprint") and clf.fingerprint and clf.fingerprint != want["fingerprint"]:
            raise SettingsMismatchError(
                f"chord model {self.path} was trained on the embeddings of classifier {want['fingerprint']}, "
                f"but {clf.path} is {clf.fingerprint} (retrain the chord model with this classifier)")

    def logits(self, frames: list, conds: np.ndarray, habit0=None, feedback: float = 1.0) -> list:
        """Teacher-forced logits (F, 2P + 2) of each :class:`Frames` given the frames before it
        (running pedal share and event rate from ``habit0``: 0 as in training, or
        :attr:`habit_start` as a draw without a prime starts; read as a draw reads them with
        ``feedback``, see :func:`anchored_habits`)."""
        out = []
        for fr, c in zip(frames, conds):
            cur = fr.onset[None].astype(np.float32) if self.config.within_frame else None
            x = previous_frames(fr, self.settings.pitch_low, habit0, self.config)
            if feedback != 1.0:
                x[:, HABIT_COLUMNS] = anchored_habits(x[:, HABIT_COLUMNS], self.habit_start, feedback)
            out.append(self.runtime.logits(x[None],
                                           np.asarray(c, np.float32)[None], cur)[0])
        return out

    def sample(self, cond: np.ndarray, n_frames: int, seed=None, temperature: float = 1.0,
               prime: Frames | None = None, feedback: float | None = None,
               event_bias: float | None = None) -> Frames:
        """Draw ``n_frames`` frames started from embedding ``cond`` (D,).

        With ``prime``, those frames are first read through the LSTM (teacher forced) and the
        draw continues after them (the prime itself is not returned). A frame is drawn at once:
        first whether keys are struck (the onset event), then, if so, each key with its
        probability given the event and (``within_frame``) the keys below it already struck in this
        frame, lowest key first (with ``lowest_key``, the lowest struck key comes from the softmax and
        the keys above it are drawn so); a key that sounded before and is not struck holds with its hold
        probability; the pedal likewise. Every probability is ``sigmoid(logit / temperature)``,
        the onset event's logit first raised by ``event_bias`` (default :attr:`event_bias`).
        The running pedal share and event rate start at :attr:`habit_start` (before the prime, if any)
        and the drawn frames are read back with ``feedback`` (default :attr:`habit_feedback`,
        :func:`anchored_habits`).
        """
        if not temperature > 0:
            raise InputError(f"temperature must be positive (got {temperature})")
        fb = self.habit_feedback if feedback is None else float(feedback)
        if not 0.0 <= fb <= 1.0:
            raise InputError(f"feedback must be in [0, 1] (got {feedback})")
        start = np.array(self.habit_start, np.float64)
        rng = np.random.default_rng(seed)
        rt = self.runtime
        P = self.settings.n_pitches
        pcs = (np.arange(P) + self.settings.pitch_low) % 12
        state = rt.initial_state(np.asarray(cond, np.float32)[None])
        x = np.zeros((1, rt.n_in), np.float32)
        x[0, HABIT_COLUMNS] = self.habit_start
        prev_sound = np.zeros(P, bool)
        key_decays, habit_decay = frame_decays(self.config.frame_steps)
        prof = np.zeros((len(key_decays), 12))
        decay = np.array(key_decays)[:, None]
        habit = np.array(self.habit_start, np.float64)   # running pedal share, onset-event rate
        if prime is not None and len(prime):
            xs = previous_frames(prime, self.settings.pitch_low, self.habit_start, self.config)
            xk = xs @ rt.K
            for t in range(len(xs)):
                _, state = rt.step(xs[t][None], state, xk[t][None])
            last = prime.model_input(self.settings.pitch_low, self.habit_start, self.config)
            x = last[-1:]
            prev_sound = prime.sound[-1].copy()
            counts = prime.onset.astype(np.float64) @ _pc_matrix(P, self.settings.pitch_low)
            for c in counts:
                prof = decay * prof + c
            habit = last[-1, HABIT_COLUMNS].astype(np.float64)
        # the short memories (memory_inputs) carried on from the last frame read
        cfg = self.config
        at = memory_column(P)
        recent = x[0, at:at + P].astype(np.float64) if cfg.key_memory else np.zeros(0)
        events = x[0, at + len(recent):at + len(recent) + cfg.event_memory].astype(np.float64)
        key_decay = key_memory_decay(cfg.frame_steps, cfg.key_memory) if cfg.key_memory else 0.0
        on = np.zeros((n_frames, P), bool)
        sound = np.zeros((n_frames, P), bool)
        ped = np.zeros(n_frames, bool)
        u = rng.random((n_frames, 2 * P + 2))
        u_low = rng.random(n_frames) if cfg.lowest_key else None
        inv_t = 1.0 / temperature
        within = None if rt.within is None else rt.within[:, :P]
        bias = np.zeros(n_outputs(P, cfg), np.float32)
        bias[2 * P + 1] = self.event_bias if event_bias is None else float(event_bias)
        for t in range(n_frames):
            logit, state = rt.step(x, state)
            logit = logit + bias
            p = _sigmoid(logit[0] * inv_t)
            if u[t, 2 * P + 1] >= p[2 * P + 1]:
                o = np.zeros(P, bool)
            elif within is None:
                o = u[t, :P] < p[:P]
            elif cfg.lowest_key:
                o = draw_keys_above_lowest(logit[0], within, u[t, :P], u_low[t], inv_t)
            else:
                o = draw_keys_in_order(logit[0, :P], within, u[t, :P], inv_t)
            s_ = o | (prev_sound & (u[t, P:2 * P] < p[P:2 * P]))
            on[t], sound[t], ped[t] = o, s_, u[t, 2 * P] < p[2 * P]
            prof = decay * prof + np.bincount(pcs[o], minlength=12)
            norm = prof / np.maximum(prof.sum(axis=1, keepdims=True), 1e-6)
            habit = habit_decay * habit + (1.0 - habit_decay) * np.array([ped[t], o.any()], np.float64)
            if cfg.key_memory:
                recent = np.maximum(key_decay * recent, o)
            if cfg.event_memory:
                events = np.concatenate([[float(o.any())], events[:-1]])
            x = np.concatenate([o, s_, [ped[t]], norm.ravel(), recent, events,
                                anchored_habits(habit, start, fb)]).astype(np.float32)[None]
            prev_sound = s_
        return Frames(on, sound, ped, self.config.frame_steps)


def draw_keys_in_order(logit: np.ndarray, within: np.ndarray, u: np.ndarray, inv_t: float) -> np.ndarray:
    """Keys struck in one frame, drawn lowest first (bool array like ``logit``).

    Key ``k`` is struck when ``u[k]`` is below ``sigmoid((logit[k] + sum of within[j, k] over the
    struck keys j < k) * inv_t)``: ``logit`` (P,) from the LSTM, ``within`` (P, P) the within-frame
    weights, ``u`` (P,) uniforms, ``inv_t`` one over the temperature. Each pass finds the next
    struck key at once, so the loop runs once per struck key, not once per key."""
    z = np.array(logit, np.float64)
    o = np.zeros(len(z), bool)
    i = 0
    while i < len(z):
        hit = np.flatnonzero(u[i:] < _sigmoid(z[i:] * inv_t))
        if not len(hit):
            break
        j = i + int(hit[0])
        o[j] = True
        z += within[j]
        i = j + 1
    return o


def draw_keys_above_lowest(logit: np.ndarray, within: np.ndarray, u: np.ndarray, u_lowest: float,
                           inv_t: float) -> np.ndarray:
    """Keys struck in one frame of a model with a lowest-key softmax (``logit`` (3P + 2,) of
    :func:`n_outputs` with ``lowest_key``): the lowest struck key is drawn from
    ``softmax(logit[2P + 2:] * inv_t)`` by the uniform ``u_lowest``, then the keys above it as
    :func:`draw_keys_in_order` draws them, given it. A bool array (P,) with at least one key."""
    P = within.shape[0]
    q = np.exp(_log_softmax(np.asarray(logit[2 * P + 2:], np.float64) * inv_t))
    j = min(int(np.searchsorted(np.cumsum(q), u_lowest * q.sum(), side="right")), P - 1)
    z = np.asarray(logit[:P], np.float64) + within[j]
    z[:j + 1] = -np.inf
    o = draw_keys_in_order(z, within, u, inv_t)
    o[j] = True
    return o


def default_output(src: str, style: str) -> str:
    """``song.mid`` -> ``song.chords-STYLE.mid`` beside it."""
    from .velocity import default_output as _d

    return _d(src, f"chords-{style}")


def shipped_velocity_model(style: str):
    """The shipped velocity model of ``style``, or (None, reason)."""
    from .registry import velocity_model_path
    from .velocity import VelocityModel

    try:
        return VelocityModel.load(velocity_model_path(style)), None
    except ModelError as exc:
        return None, str(exc)


def compose(cm: ChordModel, emb: np.ndarray, seconds: float, *, seed: int, temperature: float = 1.0,
            prime: Frames | None = None, velocity_model=None, feedback: float | None = None,
            event_bias: float | None = None) -> tuple:
    """Draw ``seconds`` of music from a chord model and make it a MIDI file (in memory).

    Returns ``(mido.MidiFile, Frames, notes)``; velocities are drawn by ``velocity_model``
    (seeded with ``seed``) when given, else 64; the sustain pedal becomes CC64 events.
    ``feedback``, ``event_bias``: as for :meth:`ChordModel.sample`.
    """
    from .codec import io as mio

    fr = cm.sample(emb, int(np.ceil(seconds / cm.frame_seconds)), seed=seed, temperature=temperature, prime=prime,
                   feedback=feedback, event_bias=event_bias)
    notes = frames_to_notes(fr)
    midi = notes_to_midi(notes, cm.settings, seconds, frame_steps=cm.config.frame_steps,
                         pedal=pedal_runs(fr.pedal), name=f"midistyle chords ({cm.genre})")
    if velocity_model is not None and notes:
        gen = mio.performance_from_midifile(midi, "generated")
        vel = velocity_model.sample(encode(gen, velocity_model.settings), beats=note_beats_of(gen), seed=seed)
        midi = mio.with_velocities(gen, vel)
    return midi, fr, notes


def generate(inspire: str, style: str, output: str | None = None, seconds: float = 30.0, seed: int | None = None,
             temperature: float = 1.0, force: bool = False, model: str | None = None,
             classifier: str | None = None, velocity: bool = True, prime: float = 0.0, steady: bool = False) -> dict:
    """Generate music in ``style`` from the style embedding of ``inspire``, write a MIDI file.

    Parameters
    ----------
    inspire : str
        MIDI file, score or ``corpus:NAME`` whose embedding starts the generator.
    style : str
        Target genre (a shipped chord model, :func:`midistyle.registry.chords_model_path`).
    output : str, optional
        Output path (default ``IN.chords-STYLE.mid`` beside the input).
    seconds : float
        Length of the output.
    seed : int, optional
        Seed of the draws (a fresh one if None; it is returned). Same seed, same file.
    temperature : float
        > 1 more adventurous, < 1 more conservative.
    force : bool
        Overwrite an existing output (never the input).
    model, classifier : str, optional
        Chord model / classifier paths instead of the shipped ones.
    velocity : bool
        Draw velocities with the style's velocity model when one is shipped (else constant 64).
    prime : float
        Seconds of the inspiration's beginning read through the generator before it draws, so
        the output continues in its key, register and texture (0: the embedding alone).
    steady : bool
        Read back only part of the draw's own running pedal share and density (the model's
        :attr:`~ChordModel.steady_feedback`) and raise the onset event by the model's
        :attr:`~ChordModel.steady_event_bias`, so that a long draw keeps its texture; by default
        the habits are read back in full, as in training, and after about 20 s the classical
        generator thins out and the jazz generator pedals more and more.

    Returns
    -------
    dict
        ``input``, ``output``, ``style``, ``seconds``, ``seed``, ``temperature``, ``prime``, ``feedback``,
        ``event_bias``, ``notes``, ``polyphony``, ``notes_per_s``, ``pedal_share``, ``velocity_model`` (path or
        None) and ``warning`` (or None).
    """
    from .codec import io as mio
    from .classifier import GenreClassifier
    from .fsutil import check_output
    from .registry import chords_model_path, classifier_path

    if not (isinstance(seconds, (int, float)) and 0 < seconds <= MAX_SECONDS):
        raise InputError(f"seconds must be in (0, {MAX_SECONDS:g}] (got {seconds})")
    if not temperature > 0:
        raise InputError(f"temperature must be positive (got {temperature})")
    if not (isinstance(prime, (int, float)) and 0 <= prime <= MAX_SECONDS):
        raise InputError(f"prime must be in [0, {MAX_SECONDS:g}] seconds (got {prime})")
    if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2 ** 63):
        raise InputError(f"seed must be an integer >= 0 (got {seed})")
    cm = ChordModel.load(model if model is not None else chords_model_path(style))
    clf = GenreClassifier.load(classifier or classifier_path())
    cm.check_classifier(clf)
    out = output or default_output(inspire, style)
    protect = () if inspire.startswith(mio.CORPUS_PREFIX) else (inspire,)
    check_output(out, force=force, protect=protect)
    perf = mio.read(inspire)
    emb = clf.embed(encode(perf, clf.settings))
    if seed is None:
        seed = secrets.randbelow(2 ** 31)
    primer = None
    if prime > 0:
        primer = roll_frames(encode(perf, cm.settings), cm.config.frame_steps)[:max(1, int(round(prime / cm.frame_seconds)))]
    vm, warnings = None, []
    if velocity:
        vm, why = shipped_velocity_model(style)
        if vm is None:
            warnings.append(f"no velocity model for {style!r}, notes get velocity 64 ({why})")
    draw = cm.draw_settings(steady)
    if steady and "steady_feedback" not in cm.meta:
        warnings.append(f"{cm.path} has no steady calibration (models/calibrate_chords.py): "
                        "this steady draw reads its habits back in full, like a plain one")
    midi, fr, notes = compose(cm, emb, seconds, seed=seed, temperature=temperature, prime=primer, velocity_model=vm,
                              **draw)
    tex = texture_stats(fr, cm.frame_seconds, cm.settings.pitch_low)
    if not notes:
        warnings.append("the generator drew only silence (try another seed or a higher temperature)")
    else:
        off = [f"{k} {tex[k]:.2f} outside [{lo:g}, {hi:g}]" for k, (lo, hi) in cm.meta.get("typical_texture", {}).items()
               if not lo <= tex[k] <= hi]
        if off:
            warnings.append(f"untypical for {style} (5th-95th percentile of the training pieces): {', '.join(off)} "
                            f"(try another seed or temperature)")
    warning = "; ".join(warnings) or None
    vm_path = vm.path if vm is not None and notes else None
    mio.save_midi(midi, out, force=force, protect=protect)
    return {"input": inspire, "output": out, "style": style, "seconds": float(seconds), "seed": int(seed),
            "temperature": float(temperature), "prime": float(prime), **draw, "notes": len(notes),
            "polyphony": round(tex["polyphony"], 2), "notes_per_s": round(tex["notes_per_s"], 2),
            "pedal_share": round(tex["pedal_share"], 3), "velocity_model": vm_path, "warning": warning}


# ----------------------------------------------------------------------------- likelihood
def _f1(y: np.ndarray, pred: np.ndarray) -> dict:
    tp = float(np.sum(y & pred))
    fp = float(np.sum(~y & pred))
    fn = float(np.sum(y & ~pred))
    prec = tp / max(tp + fp, 1.0)
    rec = tp / max(tp + fn, 1.0)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(prec + rec, 1e-12)}


def windows(fr: Frames, seq_len: int) -> list:
    """Non-overlapping windows of ``seq_len`` frames (the last, shorter one kept)."""
    return [fr[a:a + seq_len] for a in range(0, len(fr), seq_len)]


def markov_rates(pieces: list) -> np.ndarray:
    """A first-order baseline per key (4, P): P(key struck | event, key silent before),
    P(key struck | event, key sounding before), P(hold | sounding before, not struck), and in the
    last row P(pedal | up before), P(pedal | down before), P(event | no event before),
    P(event | event before)."""
    P = pieces[0].onset.shape[1]
    cnt = np.ones((4, P))
    tot = np.full((4, P), 2.0)
    for f in pieces:
        ev = f.onset.any(axis=1)
        prev, on, hold, e = f.sound[:-1], f.onset[1:], f.hold[1:], ev[1:, None]
        cnt[0] += (~prev & on).sum(0)
        tot[0] += (~prev & e).sum(0)
        cnt[1] += (prev & on).sum(0)
        tot[1] += (prev & e).sum(0)
        cnt[2] += (prev & ~on & hold).sum(0)
        tot[2] += (prev & ~on).sum(0)
        for col, (a, b) in enumerate(((f.pedal[:-1], f.pedal[1:]), (ev[:-1], ev[1:]))):
            cnt[3, 2 * col] += (~a & b).sum()
            tot[3, 2 * col] += (~a).sum()
            cnt[3, 2 * col + 1] += (a & b).sum()
            tot[3, 2 * col + 1] += a.sum()
    return cnt / tot


def _logit(p):
    p = np.clip(p, 1e-5, 1 - 1e-5)
    return np.log(p / (1 - p))


def markov_logits(fr: Frames, markov: np.ndarray) -> np.ndarray:
    """The Markov baseline's logits (F, 2P + 2) for ``fr`` (teacher forced)."""
    prev = np.concatenate([np.zeros_like(fr.sound[:1]), fr.sound[:-1]])
    pprev = np.concatenate([[False], fr.pedal[:-1]])
    eprev = np.concatenate([[False], fr.onset.any(axis=1)[:-1]])
    on = np.where(prev, markov[1], markov[0])
    hold = np.broadcast_to(markov[2], prev.shape)
    ped = np.where(pprev, markov[3, 1], markov[3, 0])
    ev = np.where(eprev, markov[3, 3], markov[3, 2])
    return _logit(np.concatenate([on, hold, ped[:, None], ev[:, None]], axis=1))


def evaluate(cm: ChordModel, pieces: list, embeddings: list, markov: np.ndarray) -> dict:
    """Frame-level NLL and onset F1 of the model against the per-key Markov baseline (teacher forcing).

    Every piece is cut into windows of ``seq_len`` frames, each started from the piece's embedding
    and silence, as in training.

    Returns
    -------
    dict
        Per method (``model``, ``markov``): ``nll_per_frame`` (nats: onset event, struck keys,
        decided holds, pedal), ``onset_f1`` at threshold 0.5 and ``onset_f1_best`` (best threshold, an oracle
        choice in each method's favour), with ``frames``, ``windows``, ``pieces``.
    """
    seq = cm.config.seq_len
    W, C = [], []
    for f, e in zip(pieces, embeddings):
        for w in windows(f, seq):
            W.append(w)
            C.append(e)
    logits = {"model": cm.logits(W, C), "markov": [markov_logits(w, markov) for w in W]}
    Y = np.concatenate([w.onset for w in W])
    T = np.concatenate([frame_targets(w) for w in W])
    res = {"frames": int(len(Y)), "windows": len(W), "pieces": len(pieces)}
    for name, lg in logits.items():
        lg = np.concatenate(lg)
        p_on = onset_probabilities(lg, Y)
        cands = np.unique(np.quantile(p_on, np.linspace(0.9, 0.9995, 30)))
        res[name] = {"nll_per_frame": float(frame_nll(T, lg).mean()), "onset_f1": _f1(Y, p_on >= 0.5)["f1"],
                     "onset_f1_best": max(_f1(Y, p_on >= t)["f1"] for t in cands)}
    return res


# ----------------------------------------------------------------------------- training
#: Texture figures whose range in the training pieces is stored with a model and checked at generation.
CHECKED_TEXTURE = ("notes_per_s", "polyphony")


def typical_texture(pieces: list, frame_seconds: float, pitch_low: int = 21, seconds: float = 20.0) -> dict:
    """5th and 95th percentile of :data:`CHECKED_TEXTURE` over ``seconds`` windows of real pieces."""
    n = max(1, int(round(seconds / frame_seconds)))
    stats = [texture_stats(f[a:a + n], frame_seconds, pitch_low) for f in pieces for a in range(0, len(f) - n + 1, n)]
    return {k: [round(float(np.percentile([t[k] for t in stats], q)), 3) for q in (5, 95)] for k in CHECKED_TEXTURE}


def anchored_habits(habits: np.ndarray, start, feedback: float) -> np.ndarray:
    """Running habits as a draw reads them back: ``start + feedback * (habits - start)``. At
    ``feedback`` 1 the draw reads its own running pedal share and event rate, as in training; below
    1 it reads them pulled towards the habit start, so that a sparse stretch does not make the next
    one sparser and sparser."""
    s = np.asarray(start, np.float64)
    return (s + feedback * (np.asarray(habits, np.float64) - s)).astype(np.asarray(habits).dtype)


def draw_blocks(cm: "ChordModel", embeddings: list, *, seconds: float, block: float, min_blocks: int = 1,
                seed: int = 0, feedback: float | None = None, event_bias: float | None = None) -> np.ndarray:
    """Notes per second and sustain-pedal share of each ``block`` seconds of a draw of ``seconds``
    (whole blocks, at least ``min_blocks``) from each embedding (seed ``seed + k``; ``feedback``
    and ``event_bias`` as for :meth:`ChordModel.sample`): array (draws, blocks, 2)."""
    block_frames = max(1, int(round(block / cm.frame_seconds)))
    n_blocks = max(min_blocks, int(seconds // block))
    out = np.zeros((len(embeddings), n_blocks, 2))
    secs = block_frames * cm.frame_seconds
    for k, emb in enumerate(embeddings):
        fr = cm.sample(emb, n_blocks * block_frames, seed=seed + k, feedback=feedback, event_bias=event_bias)
        on = fr.onset.reshape(n_blocks, block_frames, -1).sum(axis=(1, 2))
        out[k, :, 0] = on / secs
        out[k, :, 1] = fr.pedal.reshape(n_blocks, block_frames).mean(axis=1)
    return out


def calibrate_feedback(cm: "ChordModel", embeddings: list, *, feedbacks=(1.0, 0.75, 0.5, 0.25),
                       event_biases=(), seconds: float = 60.0, block: float = 10.0, seed: int = 0) -> dict:
    """How much of its own running habits a steady draw should read back (:attr:`ChordModel.steady_feedback`)
    and, when that alone does not keep it steady, how much to raise its onset event
    (:attr:`ChordModel.steady_event_bias`).

    For each ``feedback``, draws ``seconds`` from each embedding (training pieces': this is chosen
    without the validation split) and compares the last ``block`` seconds with the first: median
    over draws of the notes per second and of the pedal share. If no feedback keeps both within
    25 %, the smallest feedback is tried with each of ``event_biases`` in turn, up to the first
    that does (a generator whose short memories of its own onsets thin it out is held by a bias on
    the event, not by its habits). :func:`choose_feedback` keeps the largest steady feedback, at
    the smallest bias.
    """
    table = []

    def add(fb, bias):
        med = np.median(draw_blocks(cm, embeddings, seconds=seconds, block=block, min_blocks=2, seed=seed,
                                    feedback=fb, event_bias=bias), axis=0)
        table.append({"feedback": float(fb), "event_bias": float(bias), "notes_per_s": np.round(med[:, 0], 2).tolist(),
                      "pedal_share": np.round(med[:, 1], 3).tolist()})
        return len(med)

    n = 0
    for fb in feedbacks:
        n = add(fb, 0.0)
    for bias in event_biases:
        if any(_drift(r) <= STEADY_TOLERANCE for r in table):
            break
        add(min(feedbacks), bias)
    chosen = choose_feedback(table)
    return {"seconds": n * block, "block_seconds": block, "draws": len(embeddings), "table": table,
            "chosen": chosen["feedback"], "chosen_event_bias": chosen["event_bias"]}


def calibrate_event_bias(cm: "ChordModel", embeddings: list, real_rate: float, *,
                         biases=(-0.2, -0.1, 0.0, 0.05, 0.1, 0.15, 0.2, 0.3), seconds: float = 30.0,
                         seed: int = 0) -> dict:
    """The onset-event bias (:attr:`ChordModel.event_bias`) whose draws keep real playing's density.

    Drawing, the LSTM reads its own frames, not a real piece's, and a draw drifts from the notes
    per second it was trained on (the classical generator thins out). For each bias, draws
    ``seconds`` (a ``chords`` command's default length) from each embedding (training pieces':
    chosen without the validation split) and takes the median notes per second; keeps the bias
    whose median is nearest ``real_rate`` (the median of real ``seconds`` windows of the same pieces,
    :func:`real_density`)."""
    table = []
    for b in biases:
        rate = float(np.median(draw_blocks(cm, embeddings, seconds=seconds, block=seconds, seed=seed,
                                           event_bias=b)[:, 0, 0]))
        table.append({"event_bias": float(b), "notes_per_s": round(rate, 2)})
    best = min(table, key=lambda r: (abs(r["notes_per_s"] - real_rate), abs(r["event_bias"])))
    return {"seconds": seconds, "draws": len(embeddings), "real_notes_per_s": round(float(real_rate), 2),
            "table": table, "chosen": best["event_bias"]}


def real_density(pieces: list, frame_seconds: float, seconds: float = 30.0) -> float:
    """Median notes per second of the whole ``seconds`` windows of real pieces (:class:`Frames`)."""
    n = max(1, int(round(seconds / frame_seconds)))
    rates = [w.onset.sum() / (n * frame_seconds) for f in pieces for w in windows(f, n) if len(w) == n]
    return float(np.median(rates)) if rates else 0.0


#: How far (relative) the last block of a steady draw may move from its first (:func:`choose_feedback`).
STEADY_TOLERANCE = 0.25


def _drift(row: dict) -> float:
    return max(abs(row[k][-1] / max(row[k][0], 1e-9) - 1.0) for k in ("notes_per_s", "pedal_share"))


def choose_feedback(table: list, *, tolerance: float = STEADY_TOLERANCE) -> dict:
    """The row of :func:`calibrate_feedback`'s table with the largest ``feedback`` (then the smallest
    ``event_bias``, 0 when a row has none) whose last block keeps the notes per second and the
    pedal share of its first within ``tolerance`` (relative); the steadiest row if none does. Returns
    ``{"feedback", "event_bias"}``."""
    ok = [r for r in table if _drift(r) <= tolerance]
    row = max(ok, key=lambda r: (r["feedback"], -abs(r.get("event_bias", 0.0)))) if ok else min(table, key=_drift)
    return {"feedback": float(row["feedback"]), "event_bias": float(row.get("event_bias", 0.0))}


def habit_start(pieces: list) -> list:
    """Mean running pedal share and onset-event rate (the last two model inputs) over every frame
    of real pieces: where a draw without a prime starts them, as in a piece already under way
    (from zero, the model reads "this piece has played nothing and never pedals" and keeps to it
    for seconds)."""
    rows = np.concatenate([f.model_input()[:, HABIT_COLUMNS] for f in pieces]).astype(np.float64)
    return [round(float(x), 6) for x in rows.mean(axis=0)]


def load_pieces(ds, indices, clf, frame_steps: int | None) -> tuple:
    """:class:`Frames` (None when ``frame_steps`` is None) and classifier embeddings of dataset pieces."""
    from .classifier import segment_features

    frames, embs = [], []
    cfg = clf.config
    for i in indices:
        roll = ds.piece(i)
        emb, _ = clf.segment_outputs_from_features(segment_features(roll, cfg.pool, cfg.use_velocity, cfg.harmony))
        embs.append(emb.mean(axis=0))
        if frame_steps is not None:
            frames.append(roll_frames(roll, frame_steps))
    return (frames if frame_steps is not None else None), embs


def _window_stream(frames: list, embs: list, cfg: ChordsConfig, seed: int, foreign: list | None = None,
                   pitch_low: int = 21):
    """Endless training windows: piece weighted by length, random offset, random transposition
    within +-``cfg.transpose``; input = the previous frames.

    With ``foreign`` embeddings (training pieces of the other genres), a share ``cfg.foreign_cond``
    of the windows starts from one of those instead of its own piece's embedding: at generation
    the inspiration usually comes from another genre, and the model must still continue in its
    own genre from such a start."""
    rng = np.random.default_rng(seed)
    lens = np.array([len(f) for f in frames], np.float64)
    w = lens / lens.sum()
    L = cfg.seq_len
    while True:
        k = int(rng.choice(len(frames), p=w))
        f = frames[k]
        if len(f) > L:
            a = int(rng.integers(0, len(f) - L + 1))
            f = f[a:a + L]
        else:
            pad = L - len(f)
            f = Frames(np.pad(f.onset, ((0, pad), (0, 0))), np.pad(f.sound, ((0, pad), (0, 0))), np.pad(f.pedal, (0, pad)),
                       f.frame_steps)
        if cfg.transpose:
            f = f.transposed(int(rng.integers(-cfg.transpose, cfg.transpose + 1)))
        e = embs[k]
        if foreign and rng.random() < cfg.foreign_cond:
            e = foreign[int(rng.integers(len(foreign)))]
        x = previous_frames(f, pitch_low, cfg=cfg)
        if cfg.input_noise:       # read a slightly wrong past, as the model does when it plays its own draws
            P = f.onset.shape[1]
            flip = rng.random((len(x), 2 * P + 1)) < cfg.input_noise
            x[:, :2 * P + 1] = np.abs(x[:, :2 * P + 1] - flip)
        yield model_inputs(x, e, f, cfg), frame_targets(f)


def model_inputs(x: np.ndarray, emb: np.ndarray, fr: Frames, cfg: ChordsConfig) -> tuple:
    """The Keras model's inputs for frames ``fr`` read as ``x`` from embedding ``emb``: (x, emb),
    plus the keys struck in each frame when ``cfg.within_frame``."""
    base = (x, np.asarray(emb, np.float32))
    return base + (fr.onset.astype(np.float32),) if cfg.within_frame else base


def frame_loss(y_true, y_pred):
    """Keras loss: the per-frame NLL of :func:`frame_nll` (targets of :func:`frame_targets`)."""
    import keras

    ops = keras.ops
    P = (y_true.shape[-1] - 2) // 3
    y, m = y_true[..., :2 * P + 2], y_true[..., 2 * P + 2:]
    cell = ops.binary_crossentropy(y, y_pred[..., :2 * P + 2], from_logits=True)
    keys = ops.sum(cell[..., :P], axis=-1)
    if y_pred.shape[-1] == 3 * P + 2:
        on = y[..., :P]
        below = ops.cumsum(on, axis=-1) - on
        lowest = on * ops.cast(ops.equal(below, 0.0), on.dtype)
        above = ops.cast(below > 0.0, on.dtype)
        keys = (-ops.sum(lowest * ops.log_softmax(y_pred[..., 2 * P + 2:], axis=-1), axis=-1)
                + ops.sum(cell[..., :P] * above, axis=-1))
    return cell[..., 2 * P + 1] + y[..., 2 * P + 1] * keys + ops.sum(cell[..., P:2 * P] * m, axis=-1) + cell[..., 2 * P]


def _init_as_markov(model, markov: np.ndarray, units: int) -> None:
    """Start the output layer as the per-key Markov chain (:func:`markov_rates`): biases = the
    logits of the rates after silence / no pedal / no event, skip weights from "sounding before"
    and "pedal before" = the logit gains; LSTM rows scaled down to 0.1. The untrained model then
    scores near the baseline and training only adds what the LSTM knows beyond it."""
    out = model.get_layer("out")
    k, b = out.get_weights()
    k = k.copy()
    P = markov.shape[1]
    k[:units] *= 0.1
    k[units:] = 0.0
    k[units + P: units + 2 * P, :P] = np.diag(_logit(markov[1]) - _logit(markov[0]))
    k[units + 2 * P, 2 * P] = _logit(markov[3, 1]) - _logit(markov[3, 0])
    b = np.concatenate([_logit(markov[0]), _logit(markov[2]), [_logit(markov[3, 0]), _logit(markov[3, 2])]])
    if len(b) < k.shape[1]:      # a lowest-key softmax starts at the keys' rates after silence
        b = np.concatenate([b, np.log(markov[0] / markov[0].sum())])
    out.set_weights([k.astype(np.float32), b.astype(np.float32)])


@dataclass
class _TrainingData:
    """What a chord generator is fitted and validated on (:func:`_training_data`)."""

    encoder: EncoderSettings
    train_pieces: int
    train_frames: list
    train_embs: list           # classifier embedding of each training piece
    val_frames: list
    val_embs: list
    foreign: list | None       # embeddings of the other genres' training pieces
    load_seconds: float
    markov: np.ndarray         # per-key Markov rates of the training frames
    typical: dict              # typical texture of the training pieces
    habit_start: list          # where a draw without a prime starts its running pedal share and event rate


def _training_data(ds, genre: str, tr_idx: list, va_idx: list, clf, cfg: ChordsConfig) -> _TrainingData:
    """Frames and embeddings of the pieces (timed), with the other genres' embeddings when
    ``cfg.foreign_cond``, then the Markov baseline, the typical texture and the habit start
    (:func:`habit_start`) of the training pieces."""
    t0 = time.time()
    tr_frames, tr_embs = load_pieces(ds, tr_idx, clf, cfg.frame_steps)
    va_frames, va_embs = load_pieces(ds, va_idx, clf, cfg.frame_steps)
    other_idx = [i for i in ds.select(None, "train") if ds.genres[i] != genre]
    foreign = load_pieces(ds, other_idx, clf, None)[1] if cfg.foreign_cond > 0 and other_idx else None
    load_s = time.time() - t0
    markov = markov_rates(tr_frames)
    typical = typical_texture(tr_frames, ds.settings.step * cfg.frame_steps, ds.settings.pitch_low)
    start = habit_start(tr_frames)
    return _TrainingData(ds.settings, len(tr_idx), tr_frames, tr_embs, va_frames, va_embs, foreign, load_s,
                         markov, typical, start)


def _datasets(data: _TrainingData, cfg: ChordsConfig, emb_dim: int, replicas: int = 1) -> tuple:
    """``tf.data`` of the training windows (:func:`_window_stream`, endless) and of the first
    four full windows of each validation piece."""
    import tensorflow as tf

    from .nn.training import array_dataset, full_batch_rows, generator_dataset

    P, L, low = data.encoder.n_pitches, cfg.seq_len, data.encoder.pitch_low
    ins = (tf.TensorSpec((L, input_size(P, cfg)), tf.float32), tf.TensorSpec((emb_dim,), tf.float32))
    sig = (ins + ((tf.TensorSpec((L, P), tf.float32),) if cfg.within_frame else ()),
           tf.TensorSpec((L, 3 * P + 2), tf.float32))
    train_ds = generator_dataset(lambda: _window_stream(data.train_frames, data.train_embs, cfg, cfg.seed,
                                                        data.foreign, low), sig, cfg.batch_size, shard=True)
    vX, vY = [], []
    for f, e in zip(data.val_frames, data.val_embs):
        for w in windows(f, L)[:4]:
            if len(w) == L:
                vX.append(model_inputs(previous_frames(w, low, cfg=cfg), e, w, cfg))
                vY.append(frame_targets(w))
    rows = full_batch_rows(len(vX), 64, replicas)
    inputs = tuple(np.stack(part)[rows] for part in zip(*vX))
    return train_ds, array_dataset((inputs, np.stack(vY)[rows]), 64, shard=True)


def _fit(data: _TrainingData, cfg: ChordsConfig, emb_dim: int, genre: str, dist, stem: str, progress: bool) -> tuple:
    """Build the LSTM under strategy ``dist``, start it as the Markov baseline, compile and fit it:
    ``(model, history, seconds)``."""
    import keras

    from .nn.layers import build_conditioned_lstm
    from .nn.training import fit_with_checkpoints

    P = data.encoder.n_pitches
    train_ds, val_ds = _datasets(data, cfg, emb_dim, dist.num_replicas_in_sync)
    with dist.scope():
        # with a lowest-key softmax, the last strikes reach it by their distance too
        relative = ((memory_column(P), P, cfg.relative_keys, (0, 2 * P + 2) if cfg.lowest_key else (0,))
                    if cfg.relative_keys else None)
        model = build_conditioned_lstm(input_size(P, cfg), emb_dim, units=cfg.units, n_out=n_outputs(P, cfg),
                                       cond_dropout=cfg.cond_dropout, within_frame=P if cfg.within_frame else 0,
                                       relative=relative,
                                       name=f"chords_{genre}")
        _init_as_markov(model, data.markov, cfg.units)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0), loss=frame_loss)
    hist, seconds = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=cfg.steps_per_epoch, patience=cfg.patience,
                                         lr_patience=1, min_lr=2e-4, progress=progress)
    return model, hist.history, seconds


def _sidecar(data: _TrainingData, clf, cfg: ChordsConfig, genre: str, history: dict, seconds: float, *,
             dataset: str) -> dict:
    """The sidecar of a chord generator trained on ``data`` from ``dataset`` (its file name) with
    the embeddings of classifier ``clf``, before its validation figures."""
    return {
        "kind": KIND, "format_version": FORMAT_VERSION, "genre": genre, "encoder": data.encoder.to_dict(),
        "frame_seconds": data.encoder.step * cfg.frame_steps, "config": cfg.to_dict(),
        "classifier": {"path": os.path.basename(clf.path), "fingerprint": clf.fingerprint,
                       "embedding_dim": clf.embedding_dim},
        "markov": [[round(float(x), 6) for x in row] for row in data.markov],
        "typical_texture": data.typical,
        "habit_start": data.habit_start,
        "data": {"dataset": dataset, "train_pieces": data.train_pieces, "val_pieces": len(data.val_frames),
                 "train_frames": int(sum(len(f) for f in data.train_frames)),
                 "val_frames": int(sum(len(f) for f in data.val_frames)),
                 "foreign_embeddings": len(data.foreign or []),
                 "split": "by piece, as stored in the dataset (pieces/split)"},
        "training": training_summary(history, seconds, steps_per_epoch=cfg.steps_per_epoch,
                                     batch_size=cfg.batch_size, load_seconds=data.load_seconds,
                                     sequence=("seq_len", cfg.seq_len, "frames")),
    }


def train(dataset_path: str, genre: str, classifier: str, output: str, cfg: ChordsConfig | None = None,
          progress: bool = True, force: bool = False, strategy: str = "default") -> dict:
    """Train the chord generator of ``genre`` on the onsets, held notes and pedal of its pieces.

    Parameters
    ----------
    dataset_path : str
        HDF5 dataset (:mod:`midistyle.dataset`); its train split is fitted, its validation split
        drives early stopping and the figures.
    genre : str
        Genre to model.
    classifier : str
        Genre classifier whose embeddings condition the model (its encoder settings must equal
        the dataset's).
    output : str
        Model path ending in ``.keras`` (``.json``, ``.npz``, ``.log.csv``, ``.loss.png`` beside).
    cfg : ChordsConfig, optional
    progress : bool
        Keras progress bars.
    force : bool
        Overwrite an existing model.
    strategy : str
        ``tf.distribute`` strategy (:func:`midistyle.nn.training.get_strategy`): default, mirrored
        or multiworker (one strategy per process).

    Returns
    -------
    dict
        The sidecar written (settings, timings, validation NLL / onset F1 against the baseline).
    """
    from .classifier import GenreClassifier
    from .codec.dataset import genre_splits, open_dataset
    from .nn.numpy_runtime import ConditionedLSTMRuntime, load_weights

    cfg = cfg or ChordsConfig()
    files = check_model_output(output, force=force)
    with open_dataset(dataset_path) as ds:
        tr_idx, va_idx = genre_splits(ds, genre, dataset_path)
        clf = GenreClassifier.load(classifier)
        clf.settings.check(ds.settings, what=f"dataset {dataset_path} (classifier {clf.path})")
        import keras                         # TensorFlow loads once the input is checked

        from .nn.training import get_strategy

        dist = get_strategy(strategy)        # before any other TensorFlow work
        keras.utils.set_random_seed(cfg.seed)
        data = _training_data(ds, genre, tr_idx, va_idx, clf, cfg)
    stem = bundle_stem(output)
    model, history, seconds = _fit(data, cfg, clf.embedding_dim, genre, dist, stem, progress)
    staged = stage_bundle(model, files)
    meta = _sidecar(data, clf, cfg, genre, history, seconds, dataset=os.path.basename(dataset_path))
    meta["strategy"] = strategy
    cm = ChordModel(meta, ConditionedLSTMRuntime(load_weights(staged[1])), files["keras"])
    meta["validation"] = timed(evaluate, cm, data.val_frames, data.val_embs, data.markov)
    commit_bundle(files, *staged, meta)
    plot_history(history, stem + ".loss.png", f"chord generator, {genre}", panels=(("loss", "NLL per frame (nats)"),))
    return meta
