"""Typed errors raised by the library.

Library functions raise these; only the command line turns them into a one-line
message and exit code 2.
"""


class MidistyleError(Exception):
    """Base class of every error midistyle raises on purpose."""


class InputError(MidistyleError):
    """An input file or folder cannot be used (missing, unreadable, wrong format, no notes)."""


class SettingsMismatchError(MidistyleError):
    """Encoder settings of a model or dataset do not match what the caller uses."""


class ModelError(MidistyleError):
    """A model file is missing, unreadable or of an unknown kind."""


class OutputError(MidistyleError):
    """An output cannot be written (would overwrite, folder missing, ...)."""
