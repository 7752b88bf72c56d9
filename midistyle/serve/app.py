"""The studio's web app (Starlette): the page, its JSON API, the result files.

The handlers only parse requests: an upload is checked (size, one file), saved under a fixed name
in a fresh result folder, and handed with the parsed fields to :mod:`midistyle.serve.jobs`, the
same library calls as the command line. Every error is a JSON ``{"error": "one line"}``: 4xx for
what the client sent (a library error, a bad field, too large, an unknown result), 500 only for
a bug, and never a traceback, in the answer or in the log.

API (the page's own)::

    GET  /api/models                  every model (as the models command lists them)
    POST /api/velocity                multipart: file, to, seed, temperature, strength[, audio]
    POST /api/perform                 multipart: file, to, seed[, level, tempo, audio]
    POST /api/chords                  multipart: inspire, style, seconds, seed[, temperature, key, audio]
    GET  /api/results/{id}            the state of a result's audio renders (progress 0..1)
    GET  /files/{id}/{name}           a result's file: result.mid, compare.png, original.wav, result.wav

A successful POST answers 200 with ``id``, ``midi``, ``png``, ``wav`` (``{"original": url,
"result": url}``, ready when ``status`` says so), ``status`` (URL) and ``figures``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..codec.io import MIDI_EXTENSIONS, SCORE_EXTENSIONS
from ..errors import MidistyleError
from ..registry import catalog, search_path
from .jobs import chords_upload, perform_upload, restyle_upload
from .settings import StudioSettings
from .store import MEDIA_TYPES, ResultStore

__all__ = ["create_app"]

#: the form fields of the API (an error names one of them, or none)
FORM_FIELDS = ("file", "inspire", "to", "style", "seed", "temperature", "strength", "level", "tempo", "seconds",
               "audio")
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
log = logging.getLogger("midistyle.studio")


class BadRequest(MidistyleError):
    """What the client sent cannot be used; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, *, field: str | None = None):
        super().__init__(message, field=field)
        self.status = status


# ----------------------------------------------------------------------------- request parsing
def shown_name(filename) -> str:
    """A name to show for an uploaded file: its base name, printable, at most 80 characters
    (never used as a path)."""
    name = re.split(r"[\\/]", str(filename or ""))[-1]
    name = "".join(c for c in name if c.isprintable()).strip()[:80]
    return name or "upload.mid"


def upload_suffix(name: str) -> str:
    """The file ending the reader needs (a MIDI or score extension), ``.mid`` otherwise."""
    ext = os.path.splitext(name)[1].lower()
    return ext if ext in MIDI_EXTENSIONS + SCORE_EXTENSIONS else ".mid"


def text_field(form, name: str, default: str | None = None) -> str:
    value = form.get(name)
    if value is None or value == "":
        if default is None:
            raise BadRequest(f"{name} is missing", field=name)
        return default
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a text field", field=name)
    return value.strip()


def number_field(form, name: str, cast, default, lo: float, hi: float, *, open_low: bool = False):
    """``cast(form[name])`` (``default`` when absent) within [lo, hi] (``(lo, hi]`` with ``open_low``)."""
    text = text_field(form, name, "" if default is not None else None)
    if text == "":
        return default
    try:
        value = cast(text)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a number, got {text[:40]!r}", field=name) from None
    if not (lo < value <= hi if open_low else lo <= value <= hi):
        raise BadRequest(f"{name} must lie in {'(' if open_low else '['}{_number(lo)}, {_number(hi)}], got {text[:40]}",
                         field=name)
    return value


def _number(x) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def flag_field(form, name: str, default: bool = True) -> bool:
    text = text_field(form, name, "1" if default else "0").lower()
    if text not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise BadRequest(f"{name} must be 0 or 1", field=name)
    return text in ("1", "true", "yes", "on")


async def read_form(request: Request, settings: StudioSettings):
    """The multipart form of ``request``, refused (413) above the upload cap before it is read."""
    cap = settings.max_upload_bytes
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise BadRequest("the request needs a Content-Length", 411)
    if int(length) > cap:
        raise BadRequest(f"upload too large: {int(length)} bytes, the studio takes at most {cap} bytes", 413)
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise BadRequest("send the file as multipart/form-data", 415)
    try:
        return await request.form(max_files=2, max_fields=20)
    except HTTPException as exc:
        raise BadRequest(f"malformed form: {exc.detail}") from None
    except Exception as exc:                       # the multipart parser on damaged bodies
        raise BadRequest(f"malformed form ({type(exc).__name__})") from None


async def read_upload(form, name: str, settings: StudioSettings) -> tuple:
    """``(bytes, shown name)`` of the upload field ``name``."""
    up = form.get(name)
    if up is None or isinstance(up, str):
        raise BadRequest(f"{name}: attach a MIDI file (or a MusicXML / ABC score)", field=name)
    data = await up.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise BadRequest(f"upload too large: the studio takes at most {settings.max_upload_bytes} bytes", 413)
    if not data:
        raise BadRequest(f"{shown_name(up.filename)}: empty file", field=name)
    return data, shown_name(up.filename)


def public_message(exc: Exception, replacements: dict) -> str:
    """The first line of an error, with the result folder's paths replaced by what the user knows."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    for path, shown in sorted(replacements.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, shown)
    return text[:500]


def error(message: str, status: int, field: str | None = None) -> JSONResponse:
    body = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)


# ----------------------------------------------------------------------------- the app
def guarded(handler):
    """``handler`` answering every error as JSON: its own 4xx, a bug as a 500 logged in one line."""
    async def wrapped(request):
        try:
            return await handler(request)
        except BadRequest as exc:
            return error(str(exc), exc.status, exc.field)
        except MidistyleError as exc:
            return error(str(exc), 400, exc.field if exc.field in FORM_FIELDS else None)
        except HTTPException as exc:
            return error(str(exc.detail), exc.status_code)
        except Exception as exc:
            log.error("internal error on %s %s: %s: %s", request.method, request.url.path,
                      type(exc).__name__, (str(exc).splitlines() or [""])[0][:300])
            return error(f"internal error ({type(exc).__name__})", 500)
    return wrapped


class Studio:
    """The request handlers of one studio: its ``settings`` and its result ``store``."""

    def __init__(self, settings: StudioSettings):
        self.settings = settings
        self.store = ResultStore(keep_seconds=settings.keep_minutes * 60.0, render_workers=settings.render_workers)

    def urls(self, res) -> dict:
        """The URLs of a result's files (the PNG and WAVs where made) and of its status."""
        files = {name: f"/files/{res.id}/{name}" for name in MEDIA_TYPES}
        out = {"id": res.id, "midi": files["result.mid"], "status": f"/api/results/{res.id}"}
        if os.path.exists(res.path("compare.png")):
            out["png"] = files["compare.png"]
        if res.audio:
            out["wav"] = {k: files[f"{k}.wav"] for k in res.audio}
        return out

    async def run_job(self, request: Request, upload_field: str, job, aliases: dict) -> JSONResponse:
        """Read the form and its upload into a new result, run ``job(form, res, upload, shown)`` in a
        worker thread; a library error removes the result and answers 4xx naming the form field."""
        form = await read_form(request, self.settings)
        data, shown = await read_upload(form, upload_field, self.settings)
        res = self.store.new()
        upload = os.path.join(res.folder, "upload" + upload_suffix(shown))
        with open(upload, "wb") as fh:
            fh.write(data)
        try:
            figures = await run_in_threadpool(job, form, res, upload, shown)
        except MidistyleError as exc:
            self.store.discard(res)
            hidden = {upload: shown, res.folder: "result", **{f: f"the {o} models" for o, f in search_path()}}
            field = aliases.get(exc.field, exc.field)
            return error(public_message(exc, hidden), exc.status if isinstance(exc, BadRequest) else 400,
                         field if field in FORM_FIELDS else None)
        except BaseException:
            self.store.discard(res)
            raise
        return JSONResponse({**self.urls(res), "name": shown, "figures": figures})

    def velocity_job(self, form, res, upload, shown):
        return restyle_upload(self.store, res, upload, title=shown, genre=text_field(form, "to"),
                              seed=number_field(form, "seed", int, 0, 0, 2 ** 31 - 1),
                              temperature=number_field(form, "temperature", float, 1.0, 0, 10, open_low=True),
                              strength=number_field(form, "strength", float, 1.0, 0, 1),
                              audio=flag_field(form, "audio"), audio_seconds=self.settings.audio_seconds,
                              max_seconds=self.settings.max_seconds)

    def perform_job(self, form, res, upload, shown):
        level = text_field(form, "level", "") or None
        return perform_upload(self.store, res, upload, title=shown, genre=text_field(form, "to"),
                              seed=number_field(form, "seed", int, 0, 0, 2 ** 31 - 1), level=level,
                              tempo=flag_field(form, "tempo"), audio=flag_field(form, "audio"),
                              audio_seconds=self.settings.audio_seconds, max_seconds=self.settings.max_seconds)

    def chords_job(self, form, res, upload, shown):
        return chords_upload(self.store, res, upload, title=shown, style=text_field(form, "style"),
                             seconds=number_field(form, "seconds", float, 20.0, 0, self.settings.max_chord_seconds,
                                                  open_low=True),
                             seed=number_field(form, "seed", int, 0, 0, 2 ** 31 - 1),
                             temperature=number_field(form, "temperature", float, 1.0, 0, 10, open_low=True),
                             key=text_field(form, "key", "") or None,
                             audio=flag_field(form, "audio"), audio_seconds=self.settings.audio_seconds)

    async def api_velocity(self, request):
        return await self.run_job(request, "file", self.velocity_job, {"genre": "to"})

    async def api_perform(self, request):
        return await self.run_job(request, "file", self.perform_job, {"genre": "to"})

    async def api_chords(self, request):
        return await self.run_job(request, "inspire", self.chords_job, {"genre": "style"})

    async def api_models(self, request):
        return JSONResponse({"models": [e.to_dict() for e in await run_in_threadpool(catalog)]})

    async def api_result(self, request):
        res = self.store.get(request.path_params["rid"])
        if res is None:
            return error("no such result (it may have expired)", 404)
        return JSONResponse(res.status())

    async def result_file(self, request):
        res = self.store.get(request.path_params["rid"])
        name = request.path_params["name"]
        if res is None or name not in MEDIA_TYPES:
            return error("no such result (it may have expired)", 404)
        state = res.audio.get(name[:-4], {}) if name.endswith(".wav") else {}
        if state.get("state") == "rendering":
            return error("still rendering; see the result's status", 409)
        path = res.path(name)
        if not os.path.isfile(path):
            return error(state.get("error") or "no such file in this result", 404)
        return FileResponse(path, media_type=MEDIA_TYPES[name])

    async def index(self, request):
        return FileResponse(os.path.join(STATIC, "index.html"), media_type="text/html")


async def http_error(request, exc):
    return error(str(exc.detail), exc.status_code)


def create_app(settings: StudioSettings | None = None) -> Starlette:
    """The studio app with its own result store (removed when the app shuts down)."""
    studio = Studio(settings or StudioSettings())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            studio.store.close()

    app = Starlette(routes=[
        Route("/", studio.index),
        Route("/api/models", guarded(studio.api_models)),
        Route("/api/velocity", guarded(studio.api_velocity), methods=["POST"]),
        Route("/api/perform", guarded(studio.api_perform), methods=["POST"]),
        Route("/api/chords", guarded(studio.api_chords), methods=["POST"]),
        Route("/api/results/{rid}", guarded(studio.api_result)),
        Route("/files/{rid}/{name}", guarded(studio.result_file)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.store = studio.store
    app.state.settings = studio.settings
    return app
