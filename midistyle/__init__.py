"""midistyle: musical style transfer for MIDI and audio.

The piano-roll codec (:mod:`midistyle.pianoroll`), input/output (:mod:`midistyle.io`) and
dataset conversion (:mod:`midistyle.dataset`) are the shared data paths; models live in their
own modules. Importing the package is light: TensorFlow is only imported by training code.
"""
__version__ = "0.1.0"

from .errors import InputError, MidistyleError, ModelError, OutputError, SettingsMismatchError
from .pianoroll import EncoderSettings, PianoRoll, decode, encode
from .io import read, to_score, write_velocities

__all__ = ["__version__", "InputError", "MidistyleError", "ModelError", "OutputError", "SettingsMismatchError",
           "EncoderSettings", "PianoRoll", "decode", "encode", "read", "to_score", "write_velocities"]
