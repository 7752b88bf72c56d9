"""midistyle: musical style transfer for MIDI and audio.

The piano-roll codec (:mod:`midistyle.codec.pianoroll`), input/output (:mod:`midistyle.codec.io`) and
dataset conversion (:mod:`midistyle.codec.dataset`) are the shared data paths; models live in their
own modules. Importing the package is light: TensorFlow is only imported by training code.
"""
__version__ = "0.1.0"

from .codec.io import read, to_score, write_velocities
from .codec.pianoroll import EncoderSettings, PianoRoll, decode, encode
from .errors import InputError, MidistyleError, ModelError, OutputError, SettingsMismatchError

__all__ = ["__version__", "InputError", "MidistyleError", "ModelError", "OutputError", "SettingsMismatchError",
           "EncoderSettings", "PianoRoll", "decode", "encode", "read", "to_score", "write_velocities"]
