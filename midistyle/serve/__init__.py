"""The local studio: `midistyle serve` — a page where a musician drops a file, hears and sees
before/after, and downloads; its JSON API is the page's own (:mod:`midistyle.serve.app`).

Layers: :mod:`.settings` (the config), :mod:`.store` (private result folders, background audio
renders), :mod:`.jobs` (the library calls the command line makes, plus figure and audio),
:mod:`.app` (request parsing, Starlette). :func:`serve` binds the socket and runs uvicorn.
TensorFlow is never imported: the models run in NumPy.
"""
from __future__ import annotations

import socket
import sys

from ..errors import MidistyleError
from .settings import StudioSettings

__all__ = ["StudioSettings", "create_app", "bind", "serve"]


def create_app(settings: StudioSettings | None = None):
    """The studio's ASGI app (see :mod:`midistyle.serve.app`)."""
    from .app import create_app as _create  # lazy: Starlette loads only when the studio is served

    return _create(settings)


def bind(settings: StudioSettings) -> socket.socket:
    """A listening socket on ``settings.host``:``settings.port``; :class:`MidistyleError` naming
    the field ``port`` when it cannot be had (in use, not allowed, unknown host)."""
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise MidistyleError(f"cannot resolve host {settings.host!r} ({exc.strerror or exc})", field="host") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise MidistyleError(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror or exc})",
                             field="port") from None
    return sock


def serve(settings: StudioSettings | None = None, *, log_level: str = "info", out=None) -> None:
    """Run the studio until interrupted (Ctrl-C or SIGTERM); its results are removed on the way out.

    Prints ``midistyle studio: http://HOST:PORT/`` to ``out`` (stdout) once it listens, and a
    warning to stderr when ``host`` is reachable from other machines.
    """
    import uvicorn

    settings = settings or StudioSettings()
    out = out or sys.stdout
    sock = bind(settings)
    host, port = sock.getsockname()[:2]
    app = create_app(settings)
    if not settings.local:
        print(f"warning: the studio listens on {settings.host}, so other machines can reach it; it has no "
              "login, and anyone who reaches it can use it", file=sys.stderr, flush=True)
    shown = f"[{host}]" if ":" in host else host
    print(f"midistyle studio: http://{shown}:{port}/  (Ctrl-C stops it)", file=out, flush=True)
    config = uvicorn.Config(app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        app.state.store.close()
