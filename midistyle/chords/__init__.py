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

The package, by concern: :mod:`~midistyle.chords.config` (settings, constants),
:mod:`~midistyle.chords.inputs` (what a frame reads, and where), :mod:`~midistyle.chords.frames`
(the frame grid, to and from piano rolls and notes), :mod:`~midistyle.chords.outputs` (what the
logits mean: targets, NLL, probabilities), :mod:`~midistyle.chords.harmony` (the harmony layer),
:mod:`~midistyle.chords.model` (:class:`ChordModel`), :mod:`~midistyle.chords.sample` (drawing),
:mod:`~midistyle.chords.generation` (MIDI files from an inspiration),
:mod:`~midistyle.chords.likelihood` (validation figures, Markov baseline),
:mod:`~midistyle.chords.calibrate` (texture, habits, event bias, steadiness) and
:mod:`~midistyle.chords.training`. Every public name is importable from
``midistyle.chords`` itself; none of them imports TensorFlow until a model is trained.
"""
from __future__ import annotations

from .config import (FORMAT_VERSION, HABIT_COLUMNS, HABIT_DECAY, KEY_DECAYS, KIND, MAX_SECONDS,
                     TICKS_PER_SECOND, ChordsConfig, frame_decays, key_memory_decay, memory_settings)
from .inputs import advance_column, advance_columns, input_size, memory_column, memory_inputs, running_inputs
from .frames import (Frames, frame_harmony, frames_to_notes, pedal_runs, previous_frames, roll_frames,
                     texture_stats, to_frames, windows)
from .outputs import frame_nll, frame_targets, n_outputs, onset_probabilities
from .model import ChordModel, harmony_model
from .sample import anchored_habits, draw_keys_above_lowest, draw_keys_in_order
from .generation import compose, default_output, generate, inspiration_key, notes_to_midi, shipped_velocity_model
from .likelihood import evaluate, harmony_likelihood, markov_logits, markov_rates
from .calibrate import (CHECKED_TEXTURE, STEADY_TOLERANCE, calibrate_event_bias, calibrate_feedback,
                        choose_feedback, draw_blocks, habit_start, real_density, typical_texture)
from .training import frame_loss, load_pieces, model_inputs, train

__all__ = ["FORMAT_VERSION", "HABIT_COLUMNS", "HABIT_DECAY", "KEY_DECAYS", "KIND", "MAX_SECONDS", "TICKS_PER_SECOND",
           "ChordsConfig", "frame_decays", "key_memory_decay", "memory_settings", "advance_column", "advance_columns",
           "input_size", "memory_column", "memory_inputs", "running_inputs", "Frames", "frame_harmony",
           "frames_to_notes", "pedal_runs", "previous_frames", "roll_frames", "texture_stats", "to_frames", "windows",
           "frame_nll", "frame_targets", "n_outputs", "onset_probabilities", "ChordModel", "harmony_model",
           "anchored_habits", "draw_keys_above_lowest", "draw_keys_in_order", "compose", "default_output", "generate", "inspiration_key",
           "notes_to_midi", "shipped_velocity_model", "evaluate", "harmony_likelihood", "markov_logits",
           "markov_rates", "CHECKED_TEXTURE", "STEADY_TOLERANCE", "calibrate_event_bias", "calibrate_feedback",
           "choose_feedback", "draw_blocks", "habit_start", "real_density", "typical_texture", "frame_loss",
           "load_pieces", "model_inputs", "train"]
