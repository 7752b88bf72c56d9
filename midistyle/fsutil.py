"""Safe output files, written once: checks, temporary file beside the target, rename at the end."""
from __future__ import annotations

import contextlib
import os
import tempfile

from .errors import OutputError, OutputExistsError


def check_output(path: str, *, force: bool = False, protect: tuple = (), extensions: tuple = (),
                 folder_output: bool = False) -> str:
    """Raise :class:`OutputError` unless ``path`` may be written (a file, or with ``folder_output``
    a folder that will be replaced as a whole).

    Refuses an existing file without ``force``, a directory, a missing parent folder, any path in
    ``protect`` (the inputs), even with ``force``, and (when ``extensions`` is given) any other
    file ending. Returns the path as a string.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if extensions and ext not in extensions:
        raise OutputError(f"{path}: output must end in {' or '.join(extensions)}")
    for p in protect:
        if p and os.path.exists(p) and os.path.exists(path) and os.path.samefile(p, path):
            raise OutputError(f"{path}: refusing to overwrite the input file")
    if os.path.isdir(path) and not folder_output:
        raise OutputError(f"{path}: is a directory")
    if os.path.exists(path) and not force:
        raise OutputExistsError(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: folder {folder} does not exist")
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    if len(os.path.basename(path).encode("utf-8", "surrogateescape")) > name_max:
        raise OutputError(f"{path[:60]}...: file name longer than {name_max} bytes")
    return path


@contextlib.contextmanager
def atomic_output(path: str, *, force: bool = False, protect: tuple = (), suffix: str = ".tmp"):
    """Context manager yielding a temporary path beside ``path``; renamed to ``path`` on success.

    On any error (or Ctrl-C) the temporary file is removed, so nothing half-written is left under
    ``path``. The file gets the usual ``0666 & ~umask`` mode.
    """
    path = check_output(path, force=force, protect=protect)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".midistyle-", suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        yield tmp
        if os.path.exists(path) and not force:
            raise OutputExistsError(path)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: str, write, *, force: bool = False, protect: tuple = (), suffix: str = ".tmp") -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    Same checks and clean-up as :func:`atomic_output`.
    """
    with atomic_output(path, force=force, protect=protect, suffix=suffix) as tmp:
        write(tmp)
