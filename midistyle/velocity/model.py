"""The velocity model: its settings (:class:`VelocityConfig`) and a trained model read for
inference with the NumPy runtime (:class:`VelocityModel`)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..codec.pianoroll import EncoderSettings, PianoRoll
from ..errors import InputError, ModelError, SettingsMismatchError
from ..modelfiles import read_sidecar
from ..nn.numpy_runtime import ARWaveNetRuntime
from ..nn.sequences import previous_inputs
from ..settings import Settings
from .dynamics import parse_level, shape_level
from .inputs import CHORD_RANK, NOTE_INPUT_NAMES, note_inputs

KIND = "velocity"
FEATURE_VERSION = 2
N_CLASSES = 128          # velocity values 0..127 (0 is never a strike, so never drawn in practice)


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
        first = X[:, CHORD_RANK] == 0
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

