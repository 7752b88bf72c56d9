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

The package, by concern (each module imports only those listed above it)::

    inputs      per-note inputs (what the notes tell), playing order
    dynamics    dynamic marks and levels, the strength blend, scores vs performances
    model       VelocityConfig, VelocityModel (NumPy runtime: sample, mean, likelihood)
    restyling   restyle(): files in, files out, only the velocities changed
    evaluation  note errors, discriminators, calibration (sampling temperatures, score level)
    training    train() (Keras; TensorFlow loads only once the input is checked), loaded on first
                use of ``train`` or ``build_model``: inference and the help screens never read it
"""
from __future__ import annotations

from ..nn.sequences import previous_inputs
from .dynamics import DYNAMICS, SCORE_MAX_VELOCITIES, blend_velocities, looks_like_score, parse_level, shape_level
from .evaluation import (calibrate_sampling, calibrate_scores, choose_sampling, choose_temperature,
                         discriminator_accuracy, error_split, evaluate, note_metrics, score_inputs_of)
from .inputs import (NOTE_INPUT_NAMES, SCORE_BLIND_INPUTS, note_beats, note_beats_of, note_inputs, piece_sequence,
                     playing_order)
from .model import FEATURE_VERSION, KIND, N_CLASSES, VelocityConfig, VelocityModel
from .restyling import default_output, restyle

__all__ = ["DYNAMICS", "FEATURE_VERSION", "KIND", "N_CLASSES", "NOTE_INPUT_NAMES", "SCORE_BLIND_INPUTS",
           "SCORE_MAX_VELOCITIES", "VelocityConfig", "VelocityModel", "blend_velocities", "build_model",
           "calibrate_sampling", "calibrate_scores", "choose_sampling", "choose_temperature", "default_output",
           "discriminator_accuracy", "error_split", "evaluate", "looks_like_score", "note_beats", "note_beats_of",
           "note_inputs", "note_metrics", "parse_level", "piece_sequence", "playing_order", "previous_inputs",
           "restyle", "score_inputs_of", "shape_level", "train"]


def __getattr__(name: str):
    """``train`` and ``build_model`` of :mod:`.training`, loaded on first use."""
    if name in ("train", "build_model"):
        from . import training  # lazy: dataset readers and tf.data pipelines stay out of inference and --help

        return getattr(training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

