"""Velocity style transfer: one autoregressive WaveNet per genre *plays* each note.

The model works on the sequence of notes (in onset order, top note first within a chord), not on
25 ms frames. For each note it knows, in advance, what the notes tell (:func:`note_inputs`: pitch,
duration, time to the neighbouring onsets, chord size and rank, the voice it belongs to (top line,
inner, bass), local density and register, pedals, position in its phrase and in the piece,
metrical position where the file has a beat grid, and the piece context). A non-causal dilated
stack reads those features on both sides; a causal dilated gated stack reads the velocities
already played (teacher forcing in training); the output is a categorical distribution over the
127 velocities of each note, trained by likelihood, plus a regression head for the expected
velocity. At inference (:meth:`VelocityModel.sample`) the piece is played note by note, each
velocity drawn given the notes and the velocities drawn so far, with cached layer states in
NumPy, so the dynamics have the genre's spread and its continuity. The input's own velocities
are never read: a flat score is played like any other.

A model is three files with one stem::

    velocity-GENRE.keras   Keras 3 model (architecture + weights), for training and checks
    velocity-GENRE.json    sidecar: kind, genre, encoder settings, feature names, config, figures
    velocity-GENRE.npz     weights for the NumPy runtime used at inference
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .errors import InputError, ModelError, SettingsMismatchError
from .modelfiles import (bundle_stem, check_model_output, commit_bundle, plot_history, read_sidecar, stage_bundle,
                         training_summary)
from .beats import grid_share
from .nn.sequences import event_windows, previous_inputs
from .notefeatures import CONTEXT_NAMES, RidgeBaseline, piece_context
from .pianoroll import EncoderSettings, PianoRoll, encode
from .settings import Settings

KIND = "velocity"
FEATURE_VERSION = 2
N_CLASSES = 128          # velocity values 0..127 (0 is never a strike, so never drawn in practice)

#: Names of the per-note inputs of :func:`note_inputs` (piece context last).
NOTE_INPUT_NAMES = (
    ["pitch", "log_duration", "ioi_prev", "ioi_next", "chord_size", "chord_rank", "top_of_chord",
     "bottom_of_chord", "top_line", "bass_line", "register_in_sounding", "sounding", "density_1s",
     "density_4s", "pitch_vs_local", "sustain", "soft", "phrase_pos", "phrase_len", "since_phrase",
     "to_phrase_end", "piece_pos", "grid", "beat_sin", "beat_cos", "bar_sin", "bar_cos", "on_beat",
     "downbeat"] + [f"ctx_{n}" for n in CONTEXT_NAMES])
_CHORD_RANK = NOTE_INPUT_NAMES.index("chord_rank")
#: the note inputs a notated score cannot carry like a performance does (it has no pedal and its
#: timing is a metronome's): for a score they are set to what the genre's performances have
#: (the model's ``score_inputs``, :func:`score_inputs_of`)
SCORE_BLIND_INPUTS = ("ctx_sustain_share", "ctx_grid_regularity", "sustain")
#: MIDI velocities of the dynamic marks (MuseScore's defaults)
DYNAMICS = {"ppp": 16, "pp": 33, "p": 49, "mp": 64, "mf": 80, "f": 96, "ff": 112, "fff": 126}
#: a piece whose notes take at most this many velocities is taken for a score (a notation program
#: writes one velocity per dynamic mark; a performance has dozens)
SCORE_MAX_VELOCITIES = 8


@dataclass
class VelocityConfig(Settings):
    """Architecture and training settings of a velocity model (validated on creation)."""

    cond_channels: int = 64
    cond_dilations: tuple = (1, 2, 4, 8, 16, 32)
    channels: int = 32
    ar_dilations: tuple = (1, 2, 4, 8, 16, 32, 64, 128)
    skip_channels: int = 64
    head_units: int = 64
    window: int = 512              # training window, notes
    batch_size: int = 32
    epochs: int = 40
    patience: int = 5
    learning_rate: float = 2e-3
    mean_weight: float = 20.0      # weight of the regression head's MSE (velocity/127) in the loss
    dropout: float = 0.3           # on the note conditioning, training only
    input_noise: float = 0.03      # std of noise on the previous velocity / 127 fed in training
    seed: int = 0
    max_steps_per_epoch: int = 0   # 0: one pass over the training notes
    val_windows_per_piece: int = 4

    def validate(self) -> None:
        """Sizes >= 1, dilations >= 1, rates in range."""
        self.require_min(1, "cond_channels", "channels", "skip_channels", "head_units", "window", "batch_size",
                         "epochs", "val_windows_per_piece", "patience")
        self.require_min(0, "max_steps_per_epoch", "mean_weight", "input_noise", "seed")
        self.require_dilations("cond_dilations", "ar_dilations")
        self.require_positive("learning_rate")
        self.require("dropout", isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1, "must be in [0, 1)")


# ----------------------------------------------------------------------------- note inputs
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


# ----------------------------------------------------------------------------- model files
class VelocityModel:
    """A trained velocity model: sample a performance, or predict the expected velocities.

    Use :meth:`load`. Methods take a :class:`PianoRoll` encoded with the model's
    :attr:`settings` and, optionally, the notes' onsets in beats (:func:`note_beats`).
    """

    def __init__(self, meta: dict, runtime, path: str):
        self.meta = meta
        self.runtime = runtime
        self.path = path
        self.settings = EncoderSettings.from_dict(meta["encoder"])
        self.genre = meta["genre"]
        #: The model's own sampling temperature (chosen on validation, :func:`calibrate_sampling`)
        #: for the first (top) note struck at an onset; the ``temperature`` users give multiplies
        #: it, so 1 means "as calibrated".
        self.sampling_temperature = float(meta.get("sampling_temperature", 1.0))
        #: Its temperature for the other notes of a chord (struck in the same step as the note
        #: above them): a chord is one motion of the hand, its notes share their loudness more
        #: tightly than the teacher-forced distribution says (calibrated with the one above).
        self.chord_temperature = float(meta.get("chord_temperature", self.sampling_temperature))

    @classmethod
    def load(cls, path: str) -> "VelocityModel":
        """Load a model from its ``.keras`` path (sidecar ``.json`` and ``.npz`` beside it)."""
        from .nn.numpy_runtime import ARWaveNetRuntime

        files, meta = read_sidecar(path, KIND)
        if meta.get("feature_version") != FEATURE_VERSION:
            raise SettingsMismatchError(f"{path}: made for feature version {meta.get('feature_version')}, "
                                        f"this midistyle uses {FEATURE_VERSION}")
        try:
            EncoderSettings.from_dict(meta["encoder"])
            meta["genre"], meta["n_features"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{files['json']}: incomplete model sidecar ({exc})") from None
        if meta["n_features"] != len(NOTE_INPUT_NAMES):
            raise SettingsMismatchError(f"{path}: model expects {meta['n_features']} note inputs, "
                                        f"this midistyle gives {len(NOTE_INPUT_NAMES)}")
        if not os.path.exists(files["npz"]):
            raise ModelError(f"{files['npz']}: weights for the NumPy runtime are missing")
        try:
            rt = ARWaveNetRuntime(files["npz"])
        except Exception as exc:  # damaged archive: zip, pickle or missing-array errors
            raise ModelError(f"{files['npz']}: unreadable weights ({type(exc).__name__}: {exc})") from None
        if rt.n_features != meta["n_features"]:
            raise SettingsMismatchError(f"{files['npz']}: weights take {rt.n_features} inputs, "
                                        f"sidecar says {meta['n_features']}")
        return cls(meta, rt, files["keras"])

    def check(self, roll: PianoRoll) -> None:
        """Raise :class:`SettingsMismatchError` if ``roll`` was encoded with other settings."""
        self.settings.check(roll.settings, what=f"input (model {self.path})")

    def _inputs(self, roll, beats, score: bool = False):
        self.check(roll)
        X, order = note_inputs(roll, beats)
        if score:
            pedalled = bool(len(X)) and X[0, NOTE_INPUT_NAMES.index("ctx_sustain_share")] > 0
            for name, value in self.meta.get("score_inputs", {}).items():
                if name in NOTE_INPUT_NAMES and not (pedalled and "sustain" in name):
                    X[:, NOTE_INPUT_NAMES.index(name)] = value
        return X, order

    def score_target(self, drawn_mean: float) -> tuple:
        """``(mean velocity, spread factor)`` a score drawn at ``drawn_mean`` is brought to: the
        genre's typical level plus ``weight`` times how far the draw is from the model's typical
        draw for scores, the deviations scaled by ``spread`` (the sidecar's ``score_level``,
        :func:`calibrate_scores`; the draw as it is when uncalibrated). A score's notes tell the
        model little of how loud the piece is played, so its own level is trusted only that much."""
        c = self.meta.get("score_level")
        if not c or "level" not in c:
            return float(drawn_mean), 1.0
        return float(c["level"] + c["weight"] * (drawn_mean - c["drawn_level"])), float(c["spread"])

    def sample(self, roll: PianoRoll, *, beats=None, seed: int = 0, temperature: float = 1.0,
               score: bool = False) -> np.ndarray:
        """A performance: velocity of every note of ``roll.notes``, drawn note by note.

        Same ``seed``, same velocities. Notes outside the pitch range keep theirs. The draw uses
        ``temperature`` times the model's :attr:`sampling_temperature` for the top note struck at
        each onset and times its :attr:`chord_temperature` for the other notes of the chord.
        ``score``: the input is a notated score (:func:`looks_like_score`): the inputs it cannot
        carry (:data:`SCORE_BLIND_INPUTS`) read as the genre's performances have them.
        """
        if not temperature > 0:
            raise InputError(f"temperature must be > 0, got {temperature!r}")
        X, order = self._inputs(roll, beats, score)
        out = roll.notes["velocity"].astype(np.float64).copy()
        first = X[:, _CHORD_RANK] == 0
        drawn = self.runtime.sample(X, np.random.default_rng(seed), temperature=temperature * np.where(
            first, self.sampling_temperature, self.chord_temperature))
        out[order] = np.clip(drawn, 1, 127)
        return out

    def mean(self, roll: PianoRoll, *, beats=None, score: bool = False) -> np.ndarray:
        """Expected velocity of every note (the regression head; deterministic); ``score`` as in
        :meth:`sample`."""
        X, order = self._inputs(roll, beats, score)
        out = roll.notes["velocity"].astype(np.float64).copy()
        if len(X):
            out[order] = np.clip(self.runtime.condition(X)["mean"] * 127.0, 1.0, 127.0)
        return out

    def predict_notes(self, roll: PianoRoll, *, beats=None, mean: bool = False, seed: int = 0,
                      temperature: float = 1.0, score: bool = False, level=None) -> np.ndarray:
        """:meth:`mean` if ``mean`` else :meth:`sample`; for a ``score``, brought to the genre's
        level and spread (:meth:`score_target`); with ``level`` (:func:`parse_level`), its mean
        velocity moved there."""
        if mean:
            v = self.mean(roll, beats=beats, score=score)
        else:
            v = self.sample(roll, beats=beats, seed=seed, temperature=temperature, score=score)
        m = roll.in_range()
        if score and m.any():
            target, spread = self.score_target(float(v[m].mean()))
            v = shape_level(v, m, level=float(np.clip(target, 1, 127)), spread=spread)
        if level is not None:
            v = shape_level(v, m, level=parse_level(level))
        return v

    def note_log_likelihood(self, roll: PianoRoll, velocities=None, *, beats=None) -> np.ndarray:
        """Log-probability (nats) of each in-range note's velocity given the notes and the
        velocities before it (teacher forced), in playing order, under the trained distribution
        (before the sampling temperature)."""
        X, order = self._inputs(roll, beats)
        v = (roll.notes["velocity"] if velocities is None else np.asarray(velocities))[order]
        v = np.clip(np.rint(v), 0, N_CLASSES - 1).astype(np.int64)
        lg = self.runtime.logits(X, previous_inputs(v))
        lg = lg - lg.max(1, keepdims=True)
        logp = lg - np.log(np.exp(lg).sum(1, keepdims=True))
        return logp[np.arange(len(v)), v]


# ----------------------------------------------------------------------------- restyle
def parse_level(level) -> float:
    """A dynamic mark (:data:`DYNAMICS`: pp, p, mp, mf, f, ff, ...) or a MIDI velocity 1..127 as a
    mean velocity; :class:`InputError` naming ``level`` otherwise."""
    if isinstance(level, str):
        text = level.strip().lower()
        if text in DYNAMICS:
            return float(DYNAMICS[text])
        try:
            level = float(text)
        except ValueError:
            raise InputError(f"level must be one of {', '.join(DYNAMICS)} or a velocity 1..127, got {level!r}",
                             field="level") from None
    if not (isinstance(level, (int, float)) and 1 <= level <= 127):
        raise InputError(f"level must be one of {', '.join(DYNAMICS)} or a velocity 1..127, got {level!r}",
                         field="level")
    return float(level)


def shape_level(velocities, mask=None, *, level: float | None = None, spread: float = 1.0) -> np.ndarray:
    """Velocities whose mean over ``mask`` (default all) is moved to ``level`` (kept when None)
    and whose deviations from it are multiplied by ``spread``; clipped to 1..127."""
    v = np.asarray(velocities, np.float64)
    m = np.ones(len(v), bool) if mask is None else np.asarray(mask, bool)
    if not m.any():
        return v.copy()
    mu = float(v[m].mean())
    target = mu if level is None else float(level)
    out = v.copy()
    out[m] = np.clip(target + (v[m] - mu) * spread, 1.0, 127.0)
    return out


def looks_like_score(perf) -> bool:
    """Whether ``perf`` reads as a notated score rather than a performance: its notes take at most
    :data:`SCORE_MAX_VELOCITIES` velocities (a notation program writes one per dynamic mark), or
    they sit on a beat grid with no sustain pedal and no performer's tempo map (a score with
    hairpins written out as many velocities)."""
    if len(np.unique(perf.notes["velocity"])) <= SCORE_MAX_VELOCITIES:
        return True
    from .beats import has_rubato, on_beat_grid

    pedalled = bool(np.any((perf.pedals["cc"] == 64) & (perf.pedals["value"] >= 64)))
    return not pedalled and on_beat_grid(perf) and not has_rubato(perf)


def score_inputs_of(model: "VelocityModel", performances) -> dict:
    """The genre's performances' typical values of :data:`SCORE_BLIND_INPUTS` (medians over
    ``performances``, real training pieces), which a score's notes are given instead."""
    ctx = np.array([note_inputs(encode(p, model.settings), note_beats_of(p))[0][0] for p in performances])
    out = {name: float(np.median(ctx[:, NOTE_INPUT_NAMES.index(name)])) for name in SCORE_BLIND_INPUTS
           if name.startswith("ctx_")}
    out["sustain"] = 1.0 if out.get("ctx_sustain_share", 0.0) >= 0.5 else 0.0
    return out


def calibrate_scores(model: "VelocityModel", performances: list, scores: list, *, seed: int = 0) -> dict:
    """``score_level`` of a model (:meth:`VelocityModel.score_target`), from the model playing
    ``scores`` (score-like versions of ``performances``, real training pieces) with its score inputs:
    ``level``, the median of the real pieces' mean velocities; ``drawn_level``, the median of the
    drawn ones; ``weight``, the least-squares slope of real on drawn piece means (clipped to 0..1:
    how much a score's draw says of its piece's level); ``spread``, the median ratio of real to
    drawn velocity spread."""
    real_m, drawn_m, ratios = [], [], []
    for k, (perf, sc) in enumerate(zip(performances, scores)):
        roll = encode(sc, model.settings)
        m = roll.in_range()
        v = model.sample(roll, beats=note_beats_of(sc), seed=seed + k, score=True)[m]
        real = perf.notes["velocity"][m].astype(np.float64)
        if len(v) < 16 or real.std() < 1 or v.std() < 1e-6:
            continue
        real_m.append(real.mean())
        drawn_m.append(v.mean())
        ratios.append(real.std() / v.std())
    r, d = np.array(real_m), np.array(drawn_m)
    weight = float(np.clip(np.cov(d, r)[0, 1] / max(np.var(d, ddof=1), 1e-9), 0.0, 1.0)) if len(r) > 2 else 0.0
    return {"level": round(float(np.median(r)), 2), "drawn_level": round(float(np.median(d)), 2),
            "weight": round(weight, 3), "spread": round(float(np.median(ratios)), 3), "pieces": len(r), "seed": seed}


def note_beats_of(perf) -> np.ndarray:
    """Onset of every note of a :class:`~midistyle.io.Performance` in beats (its ticks / ticks per beat)."""
    return perf.notes["start_tick"] / float(perf.ticks_per_beat)


def blend_velocities(before, after, strength: float) -> np.ndarray:
    """Each note moved from its own velocity (``before``) toward ``after`` by ``strength``: 0
    keeps ``before``, 1 gives ``after`` exactly, 0.5 lands half-way (the amount knob of
    humanize tools). :class:`InputError` naming ``strength`` outside [0, 1]."""
    if not (isinstance(strength, (int, float)) and 0.0 <= strength <= 1.0):
        raise InputError(f"strength must lie in [0, 1], got {strength!r}", field="strength")
    after = np.asarray(after, np.float64)
    if strength == 1:
        return after
    before = np.asarray(before, np.float64)
    return before + float(strength) * (after - before)


def restyle(inputs, genre: str | None = None, model: str | VelocityModel | None = None,
            output: str | None = None, force: bool = False, *, seed: int = 0, temperature: float = 1.0,
            mean: bool = False, strength: float = 1.0, level=None, score: bool | None = None,
            plot: str | None = None, max_seconds: float | None = 7200.0) -> list:
    """Play each input with a genre's model: only the velocities change, every tick is kept.

    Parameters
    ----------
    inputs : list of str or symusic.Score
        MIDI files, scores, ``corpus:NAME`` or ``symusic.Score`` objects (which need ``output``).
    genre : str, optional
        Shipped model to use (see :func:`midistyle.registry.velocity_model_path`).
    model : str or VelocityModel, optional
        A model path (or loaded model) instead of the shipped one.
    output : str, optional
        Output path (only with one input). Default: ``NAME.GENRE.mid`` beside each input.
    force : bool
        Overwrite existing outputs (never the input itself).
    seed : int
        Seed of the draws: same seed, same input, same bytes. Input k of several uses ``seed + k``.
    temperature : float
        Sharpness of the draws (1: the model's distribution; lower: nearer its most likely value).
    mean : bool
        Write the expected velocity of each note instead of a drawn performance.
    strength : float
        How far each note moves from its own velocity toward the model's (0: unchanged, 1: the
        model's; :func:`blend_velocities`). The draw itself does not depend on it.
    level : str or float, optional
        The mean velocity of the result: a dynamic mark (pp .. ff) or a velocity
        (:func:`parse_level`); by default the model's, which for a score is brought to the
        genre's performances.
    score : bool, optional
        Whether an input is a notated score (:meth:`VelocityModel.sample`); by default each input
        is judged by :func:`looks_like_score`.
    plot : str, optional
        PNG of the input's and the output's velocity over the piano roll (one input only).
    max_seconds : float or None
        Refuse inputs longer than this (see :func:`midistyle.pianoroll.encode`).

    Returns
    -------
    list of dict
        Per input: ``input``, ``output``, ``notes``, ``strength``, ``score`` (read as a score),
        ``level``, ``mean_velocity_before`` / ``after``, ``std_velocity_before`` / ``after``.
    """
    from . import io as mio
    from .registry import velocity_model_path

    if not temperature > 0:
        raise InputError(f"temperature must be > 0, got {temperature!r}", field="temperature")
    blend_velocities([], [], strength)          # checks strength before any work
    if level is not None:
        parse_level(level)
    if isinstance(model, VelocityModel):
        vm = model
    else:
        vm = VelocityModel.load(model if model is not None else velocity_model_path(genre))
    tag = genre or vm.genre
    if output is not None and len(inputs) > 1:
        raise InputError("an output path needs exactly one input (default names are used for several)")
    names = mio.input_names(inputs, output)
    if plot is not None and len(inputs) > 1:
        raise InputError("a plot needs exactly one input")
    if plot is not None:
        from .fsutil import check_output

        check_output(plot, force=force, protect=tuple(n for n in names if n != mio.SYMUSIC_SOURCE),
                     extensions=(".png",))
    # read everything first, so a bad input fails before anything is written
    perfs = [mio.read(p, exact=True) for p in inputs]   # exact: it is written back
    rolls = [encode(perf, vm.settings, max_seconds=max_seconds) for perf in perfs]
    results = []
    for k, (src, perf, roll) in enumerate(zip(names, perfs, rolls)):
        is_score = looks_like_score(perf) if score is None else bool(score)
        vel = blend_velocities(perf.notes["velocity"], vm.predict_notes(
            roll, beats=note_beats_of(perf), mean=mean, seed=seed + k, temperature=temperature, score=is_score,
            level=level), strength)
        out = output or default_output(src, tag)
        mio.write_velocities(perf, vel, out, force=force)
        after = np.clip(np.rint(vel), 1, 127)
        if plot is not None:
            from .plot import plot_velocity_compare

            plot_velocity_compare(roll, after, plot, titles=(f"input: {os.path.basename(src)}",
                                                           f"played as {tag} ({'expected' if mean else f'seed {seed + k}'}"
                                                           + (f", strength {strength:g})" if strength != 1 else ")")),
                                  force=force)
        results.append({"input": src, "output": out, "notes": int(len(vel)), "strength": float(strength),
                        "score": is_score, "level": None if level is None else parse_level(level),
                        "mean_velocity_before": round(float(perf.notes["velocity"].mean()), 2),
                        "mean_velocity_after": round(float(after.mean()), 2),
                        "std_velocity_before": round(float(perf.notes["velocity"].std()), 2),
                        "std_velocity_after": round(float(after.std()), 2)})
    return results


def default_output(src: str, tag: str) -> str:
    """``song.mid`` -> ``song.TAG.mid`` beside it (``corpus:a/b`` -> ``b.TAG.mid`` here)."""
    from .io import CORPUS_PREFIX

    if src.startswith(CORPUS_PREFIX):
        return os.path.basename(src[len(CORPUS_PREFIX):]).replace(".", "_") + f".{tag}.mid"
    stem = os.path.splitext(src)[0]
    return f"{stem}.{tag}.mid"


# ----------------------------------------------------------------------------- evaluation
def note_metrics(true: np.ndarray, pred: np.ndarray) -> dict:
    """RMSE, MAE and Pearson r of predicted against true note velocities."""
    true = np.asarray(true, np.float64)
    pred = np.asarray(pred, np.float64)
    err = pred - true
    r = float(np.corrcoef(true, pred)[0, 1]) if np.std(true) > 0 and np.std(pred) > 0 else float("nan")
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))), "r": r, "notes": int(len(true))}


def error_split(trues: list, preds: list) -> dict:
    """Where the squared error of per-piece predictions comes from: ``rmse_piece_level`` (how far
    each piece's mean prediction is from its mean velocity: how loud the piece is overall) and
    ``rmse_within_piece`` (the rest), with ``rmse**2 = piece_level**2 + within_piece**2`` over all notes."""
    n = sum(len(t) for t in trues)
    piece = within = 0.0
    for t, q in zip(trues, preds):
        e = np.asarray(q, np.float64) - np.asarray(t, np.float64)
        b = e.mean()
        piece += len(e) * b * b
        within += float(np.sum((e - b) ** 2))
    return {"rmse_piece_level": float(np.sqrt(piece / max(n, 1))), "rmse_within_piece": float(np.sqrt(within / max(n, 1)))}


def _lag1(v: np.ndarray) -> float:
    v = np.asarray(v, np.float64)
    if len(v) < 4 or v[:-1].std() < 1e-9 or v[1:].std() < 1e-9:
        return 0.0
    return float(np.corrcoef(v[:-1], v[1:])[0, 1])


def discriminator_accuracy(real: np.ndarray, fake: np.ndarray, folds: int = 10) -> float:
    """Cross-validated accuracy of a logistic regression telling real from restyled pieces.

    ``real[k]`` and ``fake[k]`` are feature rows (:func:`midistyle.notefeatures.velocity_profile`)
    of the same piece; folds hold out a piece's two versions together. 0.5 = indistinguishable.
    """
    from .notefeatures import VelocityJudge

    n = len(real)
    if n < 4:
        return float("nan")
    folds = min(folds, n)
    fold = np.arange(n) % folds
    correct = 0
    for f in range(folds):
        tr, te = fold != f, fold == f
        X = np.vstack([real[tr], fake[tr]])
        y = ["real"] * int(tr.sum()) + ["restyled"] * int(tr.sum())
        judge = VelocityJudge().fit(X, y, iters=800)
        correct += sum(p == "real" for p in judge.predict(real[te]))
        correct += sum(p == "restyled" for p in judge.predict(fake[te]))
    return correct / (2 * n)


def calibrate_sampling(model: VelocityModel, rolls, *, temperatures=(0.95, 1.1, 1.2),
                       chord_temperatures=(0.4, 0.55, 0.75, 0.95), seeds: int = 3, beats=None,
                       spread=(0.85, 1.15)) -> dict:
    """Choose the model's sampling temperatures on validation performances.

    For each pair of a temperature (top note of each onset) and a chord temperature (the other
    notes of a chord), both relative to the trained distribution (``chord_temperatures=(None,)``:
    the same as the first), draw every piece with ``seeds`` seeds and measure the real-vs-sampled
    :func:`discriminator_accuracy` (mean over seeds) and the spread ratio (median std(sampled) /
    std(real)); the pair is then chosen by :func:`choose_sampling`.

    Returns
    -------
    dict
        ``{"table": [{temperature, chord_temperature, discriminator, discriminator_per_seed,
        spread_ratio}], "chosen": T, "chosen_chord": Tc, ...}``
    """
    from .notefeatures import velocity_profile

    keep = model.sampling_temperature, model.chord_temperature
    try:
        rolls = [r for r in rolls if r.in_range().sum() >= 2]
        b = beats if beats is not None else [note_beats(r) for r in rolls]
        real = np.array([velocity_profile(r) for r in rolls])
        table = []
        for t in temperatures:
            for tc in chord_temperatures:
                tc = t if tc is None else tc
                model.sampling_temperature, model.chord_temperature = t, tc
                accs, ratios = [], []
                for s in range(seeds):
                    fake, rat = [], []
                    for k, r in enumerate(rolls):
                        v = model.sample(r, beats=b[k], seed=1000 * s + k)
                        fake.append(velocity_profile(r, v))
                        m = r.in_range()
                        sd = r.notes["velocity"][m].std()
                        if sd > 0:
                            rat.append(v[m].std() / sd)
                    accs.append(discriminator_accuracy(real, np.array(fake)))
                    ratios.append(float(np.median(rat)))
                table.append({"temperature": t, "chord_temperature": tc, "discriminator": float(np.mean(accs)),
                              "discriminator_per_seed": [round(a, 3) for a in accs],
                              "spread_ratio": float(np.mean(ratios))})
    finally:
        model.sampling_temperature, model.chord_temperature = keep
    best = choose_sampling(table, spread=spread)
    return {"table": table, "chosen": best["temperature"], "chosen_chord": best["chord_temperature"],
            "seeds": seeds, "rule": f"one-standard-error rule on the discriminator, spread ratio in {list(spread)}"}


def choose_sampling(table: list, *, spread=(0.85, 1.15)) -> dict:
    """The row of a :func:`calibrate_sampling` table its figures support (one-standard-error rule).

    Among rows whose spread ratio lies within ``spread``, find the lowest mean discriminator
    accuracy and its standard error over seeds; of the rows within one standard error of it
    (indistinguishable given the seeds' noise), take the one closest to the trained distribution
    (smallest ``|1 - temperature| + |1 - chord_temperature|``; a row without a chord temperature
    uses its temperature for both).
    """
    ok = [row for row in table if spread[0] <= row["spread_ratio"] <= spread[1]] or table
    best = min(ok, key=lambda row: row["discriminator"])
    per = np.asarray(best["discriminator_per_seed"], np.float64)
    se = float(per.std(ddof=1) / np.sqrt(len(per))) if len(per) > 1 else 0.0
    near = [row for row in ok if row["discriminator"] <= best["discriminator"] + se]

    def change(row):
        t = row["temperature"]
        return abs(1.0 - t) + abs(1.0 - row.get("chord_temperature", t))

    chosen = dict(min(near, key=change))
    chosen.setdefault("chord_temperature", chosen["temperature"])
    return chosen


def choose_temperature(table: list, *, spread=(0.85, 1.15)) -> float:
    """The temperature of the row :func:`choose_sampling` picks."""
    return choose_sampling(table, spread=spread)["temperature"]


def evaluate(model: VelocityModel, rolls, names=None, *, beats=None, seed: int = 0,
             temperature: float = 1.0, judge=None) -> dict:
    """How ``model`` plays real performances, against the real velocities of the same notes.

    Note level (the expected velocity, :meth:`VelocityModel.mean`): RMSE / MAE / r of ``model``
    and of the baselines ``genre_mean``, ``piece_mean`` (each piece's own mean, an oracle) and
    ``local_regressor`` (ridge on local note features, when the model carries one); r is the
    within-piece correlation averaged over pieces; the RMSE split into its piece-level and
    within-piece parts (:func:`error_split`). Performance level (sampled with ``seed``):
    ``spread_ratio`` (median over pieces of std(sampled) / std(real)), lag-1 autocorrelation of
    successive notes (real vs sampled), negative log-likelihood per note (teacher forced, nats),
    ``discriminator`` (cross-validated real-vs-sampled accuracy on per-piece velocity statistics;
    0.5 = indistinguishable) and, with a ``judge`` (:class:`midistyle.notefeatures.VelocityJudge`),
    the share of sampled pieces it assigns to the model's genre.
    """
    from .notefeatures import judge_statistics, velocity_profile

    genre_mean = float(model.meta["genre_mean_velocity"])
    baseline = RidgeBaseline(model.meta["local_regressor"]) if model.meta.get("local_regressor") else None
    keys = ["model", "genre_mean", "piece_mean"] + (["local_regressor"] if baseline is not None else [])
    preds = {k: [] for k in keys}
    trues, per_piece, nll, n_nll = [], [], 0.0, 0
    spread, lag_real, lag_fake, prof_real, prof_fake, judge_feats = [], [], [], [], [], []
    for k, roll in enumerate(rolls):
        m = roll.in_range()
        true = roll.notes["velocity"][m].astype(np.float64)
        if len(true) < 2:
            continue
        b = beats[k] if beats is not None else note_beats(roll)
        p = {"model": model.mean(roll, beats=b)[m], "genre_mean": np.full(len(true), genre_mean),
             "piece_mean": np.full(len(true), true.mean())}
        if baseline is not None:
            p["local_regressor"] = baseline.predict(roll)[m]
        sampled = model.sample(roll, beats=b, seed=seed + k, temperature=temperature)
        ll = model.note_log_likelihood(roll, beats=b)
        nll -= float(ll.sum())
        n_nll += len(ll)
        order = playing_order(roll)
        sd = float(true.std())
        if sd > 0:
            spread.append(float(sampled[m].std()) / sd)
        lag_real.append(_lag1(roll.notes["velocity"][order]))
        lag_fake.append(_lag1(sampled[order]))
        prof_real.append(velocity_profile(roll))
        prof_fake.append(velocity_profile(roll, sampled))
        if judge is not None:
            judge_feats.append(judge_statistics(roll, sampled, n_features=len(judge.mean)))
        trues.append(true)
        for key in keys:
            preds[key].append(p[key])
        per_piece.append({"name": names[k] if names else str(k), "notes": int(len(true)),
                          "std_real": sd, "std_sampled": float(sampled[m].std()),
                          **{f"{key}_rmse": float(np.sqrt(np.mean((p[key] - true) ** 2))) for key in p}})
    if not trues:
        raise InputError("nothing to evaluate: no piece has notes in range")
    true_all = np.concatenate(trues)
    out = {"pieces": len(trues), "notes": int(len(true_all)), "methods": {}}
    for key, lst in preds.items():
        mm = note_metrics(true_all, np.concatenate(lst))
        rs = [np.corrcoef(t, q)[0, 1] for t, q in zip(trues, lst) if np.std(t) > 0 and np.std(q) > 0]
        mm["r"] = float(np.mean(rs)) if rs else float("nan")
        mm.update(error_split(trues, lst))
        out["methods"][key] = mm
    out["performance"] = {
        "seed": seed, "temperature": temperature,
        "spread_ratio": float(np.median(spread)) if spread else float("nan"),
        "lag1_real": float(np.mean(lag_real)), "lag1_sampled": float(np.mean(lag_fake)),
        "nll_per_note": nll / max(n_nll, 1),
        "discriminator": discriminator_accuracy(np.array(prof_real), np.array(prof_fake)),
    }
    if judge is not None:
        out["performance"]["judged_genre_share"] = float(np.mean(
            [g == model.genre for g in judge.predict(np.array(judge_feats))]))
    out["per_piece"] = per_piece
    return out


# ----------------------------------------------------------------------------- training
def piece_sequence(roll: PianoRoll, beats=None) -> tuple:
    """(note inputs (N, F), true velocities (N,) int) of one piece, in playing order."""
    X, order = note_inputs(roll, note_beats(roll) if beats is None else beats)
    return X, roll.notes["velocity"][order].astype(np.int64)


def build_model(cfg: VelocityConfig, n_in: int):
    """The Keras model of ``cfg`` (:func:`midistyle.nn.layers.build_autoregressive_wavenet`)."""
    from .nn.layers import build_autoregressive_wavenet

    return build_autoregressive_wavenet(n_in, N_CLASSES, cond_channels=cfg.cond_channels,
                                        cond_dilations=cfg.cond_dilations, channels=cfg.channels,
                                        ar_dilations=cfg.ar_dilations, skip_channels=cfg.skip_channels,
                                        head_units=cfg.head_units, dropout=cfg.dropout,
                                        name="velocity_ar_wavenet")


@dataclass
class _TrainingData:
    """What a velocity model is fitted and validated on (:func:`_training_data`)."""

    train_pieces: int
    train_seqs: list           # (note inputs, velocities) per training piece
    genre_mean: float          # mean velocity of the training notes
    ridge: RidgeBaseline       # local regressor fitted on the training pieces
    val_rolls: list
    val_seqs: list
    val_names: list
    steps: int                 # steps per epoch


def _constant_velocity_pieces(ds, genre: str) -> list:
    """Names of the constant-velocity pieces of ``genre``, each reported on stderr as left out."""
    import sys

    const = [ds.names[i] for i in ds.select(genre) if ds.constant_velocity[i]]
    for name in const:
        print(f"warning: {name}: constant velocity, left out of velocity training", file=sys.stderr)
    return const


def _training_data(ds, tr_idx: list, va_idx: list, cfg: VelocityConfig) -> _TrainingData:
    """The note sequences of the training and validation pieces, the baselines fitted on the
    training notes and the steps per epoch (one pass over the training windows, capped)."""
    train_rolls = [ds.piece(i) for i in tr_idx]
    train_seqs = [piece_sequence(r) for r in train_rolls]
    genre_mean = float(np.mean(np.concatenate([v for _, v in train_seqs])))
    ridge = RidgeBaseline().fit(train_rolls)
    del train_rolls
    val_rolls = [ds.piece(i) for i in va_idx]
    val_seqs = [piece_sequence(r) for r in val_rolls]
    n_windows = sum(max(1, -(-len(v) // cfg.window)) for _, v in train_seqs)
    steps = max(1, n_windows // cfg.batch_size)
    if cfg.max_steps_per_epoch:
        steps = min(steps, cfg.max_steps_per_epoch)
    return _TrainingData(len(tr_idx), train_seqs, genre_mean, ridge, val_rolls, val_seqs,
                         [ds.names[i] for i in va_idx], steps)


def _datasets(data: _TrainingData, cfg: VelocityConfig, replicas: int) -> tuple:
    """``tf.data`` of the training windows (endless: pieces in a seeded random order, random
    offsets, noisy previous velocities, shuffled) and of the validation windows (fixed; with
    several replicas, repeated to full batches of the same count on every replica)."""
    import tensorflow as tf

    from .nn.training import array_dataset, full_batch_rows, generator_dataset

    W = cfg.window
    sig = ({"features": tf.TensorSpec((W, len(NOTE_INPUT_NAMES)), tf.float32),
            "previous": tf.TensorSpec((W, 2), tf.float32)},
           {"logits": tf.TensorSpec((W,), tf.int64), "mean": tf.TensorSpec((W, 1), tf.float32)},
           {"logits": tf.TensorSpec((W,), tf.float32), "mean": tf.TensorSpec((W,), tf.float32)})

    def stream():
        rng = np.random.default_rng(cfg.seed)
        while True:
            order = rng.permutation(len(data.train_seqs))
            yield from event_windows([data.train_seqs[i] for i in order], W, rng, noise=cfg.input_noise)

    train_ds = generator_dataset(stream, sig, cfg.batch_size, shuffle=256, seed=cfg.seed, shard=True)
    val = list(event_windows(data.val_seqs, W, None, cfg.val_windows_per_piece))
    val = [val[i] for i in full_batch_rows(len(val), cfg.batch_size, replicas)]
    val_ds = array_dataset(tuple({k: np.stack([w[j][k] for w in val]) for k in val[0][j]} for j in range(3)),
                           cfg.batch_size, shard=True)
    return train_ds, val_ds


def _fit(data: _TrainingData, cfg: VelocityConfig, dist, stem: str, progress: bool) -> tuple:
    """Build and compile the model under strategy ``dist`` and fit it by likelihood plus the
    regression head's MSE: ``(model, history, seconds)``."""
    import keras

    from .nn.training import fit_with_checkpoints

    train_ds, val_ds = _datasets(data, cfg, dist.num_replicas_in_sync)
    with dist.scope():
        model = build_model(cfg, len(NOTE_INPUT_NAMES))
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                      loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                            "mean": keras.losses.MeanSquaredError()},
                      loss_weights={"logits": 1.0, "mean": cfg.mean_weight})
    hist, seconds = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=data.steps, patience=cfg.patience,
                                         lr_patience=1, min_lr=1e-4, progress=progress)
    return model, hist.history, seconds


def _sidecar(genre: str, encoder: EncoderSettings, cfg: VelocityConfig, strategy: str, data: _TrainingData,
             history: dict, seconds: float, *, dataset: str, left_out: list) -> dict:
    """The sidecar of a model trained on ``data`` from ``dataset`` (its file name) with the
    constant-velocity pieces ``left_out``, before its validation figures."""
    n_notes = sum(len(v) for _, v in data.train_seqs)
    return {
        "kind": KIND, "genre": genre, "feature_version": FEATURE_VERSION,
        "encoder": encoder.to_dict(), "n_features": len(NOTE_INPUT_NAMES), "note_inputs": list(NOTE_INPUT_NAMES),
        "config": cfg.to_dict(), "strategy": strategy,
        "genre_mean_velocity": data.genre_mean, "local_regressor": data.ridge.coef.tolist(),
        "data": {"dataset": dataset, "train_pieces": data.train_pieces, "val_pieces": len(data.val_rolls),
                 "train_notes": int(n_notes), "constant_velocity_left_out": left_out},
        "training": training_summary(history, seconds, steps_per_epoch=data.steps, batch_size=cfg.batch_size,
                                     sequence=("window", cfg.window, "notes")),
    }


def _validation(meta: dict, npz: str, keras_path: str, data: _TrainingData) -> dict:
    """:func:`evaluate` of the model in ``npz`` (NumPy runtime) on the validation pieces, without
    the per-piece rows."""
    from .nn.numpy_runtime import ARWaveNetRuntime

    ev = evaluate(VelocityModel(meta, ARWaveNetRuntime(npz), keras_path), data.val_rolls, data.val_names)
    return {k: v for k, v in ev.items() if k != "per_piece"}


def train(dataset_path: str, genre: str, output: str, cfg: VelocityConfig | None = None,
          strategy: str = "default", progress: bool = True, force: bool = False) -> dict:
    """Train a velocity model for ``genre`` on an HDF5 dataset from :mod:`midistyle.dataset`.

    Fits on the dataset's train split by likelihood (teacher forcing) plus the regression head's
    MSE; early stopping and the figures use its validation split. Constant-velocity pieces are
    left out with a warning. Writes the model's three files plus ``STEM.log.csv`` and
    ``STEM.loss.png``.

    Returns
    -------
    dict
        The sidecar written (settings, figures, timings).
    """
    from .dataset import genre_splits, open_dataset

    cfg = cfg or VelocityConfig()
    files = check_model_output(output, force=force)
    with open_dataset(dataset_path) as ds:
        const = _constant_velocity_pieces(ds, genre)
        tr_idx, va_idx = genre_splits(ds, genre, dataset_path, skip_constant=True)
        import keras                         # TensorFlow loads once the input is checked

        from .nn.training import get_strategy

        dist = get_strategy(strategy)        # before any other TensorFlow work
        keras.utils.set_random_seed(cfg.seed)
        data = _training_data(ds, tr_idx, va_idx, cfg)
        encoder = ds.settings
    stem = bundle_stem(output)
    model, history, seconds = _fit(data, cfg, dist, stem, progress)
    meta = _sidecar(genre, encoder, cfg, strategy, data, history, seconds,
                    dataset=os.path.basename(dataset_path), left_out=const)
    staged = stage_bundle(model, files, optimizer=True)
    meta["validation"] = _validation(meta, staged[1], files["keras"], data)
    commit_bundle(files, *staged, meta)
    plot_history(history, stem + ".loss.png", f"velocity model, {genre}",
                 panels=(("logits_loss", "NLL per note (nats)"), ("mean_loss", "regression MSE (velocity/127)")))
    return meta
