"""Typed errors raised by the library.

Library functions raise these; only the command line turns them into a one-line
message and exit code 2. Their messages speak of parameters and settings fields, never of
command-line flags: an error may name the parameter at fault in ``field``, and the command line
adds the flag that sets it.
"""


class MidistyleError(Exception):
    """Base class of every error midistyle raises on purpose.

    ``field``, when given, names the parameter or settings field at fault (e.g. "genre").
    """

    field = None

    def __init__(self, *args, field: str | None = None):
        super().__init__(*args)
        if field is not None:
            self.field = field


class InputError(MidistyleError):
    """An input file or folder cannot be used (missing, unreadable, wrong format, no notes)."""


class SettingsMismatchError(MidistyleError):
    """Encoder settings of a model or dataset do not match what the caller uses."""


class ModelError(MidistyleError):
    """A model file is missing, unreadable or of an unknown kind."""


class OutputError(MidistyleError):
    """An output cannot be written (would overwrite, folder missing, ...)."""


class OutputExistsError(OutputError):
    """``path`` exists and overwriting it was not allowed (the ``force`` parameter)."""

    field = "force"

    def __init__(self, path):
        self.path = path
        super().__init__(f"{path}: exists; choose another output or allow overwriting")

    def __reduce__(self):
        return type(self), (self.path,)
