"""The studio's results: one private temporary folder, one sub-folder per result behind an
unguessable id, audio renders that run in the background with their progress, expiry, clean-up.

Nothing a client sends becomes a path: a result's files have fixed names (:data:`FILE_NAMES`),
its folder is named by :func:`secrets.token_urlsafe`, and a lookup accepts only ids of that form
that this store made.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

__all__ = ["FILE_NAMES", "MEDIA_TYPES", "Result", "ResultStore"]

#: the files a result may hold, and what they are served as
MEDIA_TYPES = {"input.mid": "audio/midi", "result.mid": "audio/midi", "compare.png": "image/png",
               "original.wav": "audio/wav", "result.wav": "audio/wav"}
FILE_NAMES = tuple(MEDIA_TYPES)
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{24}$")


@dataclass
class Result:
    """One result: its ``id``, private ``folder``, when it was made, and the state of each audio
    render (``{"original": {"state": "rendering", "progress": 0.4}, ...}``)."""

    id: str
    folder: str
    created: float = field(default_factory=time.monotonic)
    audio: dict = field(default_factory=dict)

    def path(self, name: str) -> str:
        """Path of the result's file ``name`` (one of :data:`FILE_NAMES`)."""
        if name not in MEDIA_TYPES:
            raise KeyError(name)
        return os.path.join(self.folder, name)

    def status(self) -> dict:
        """JSON-ready state of the audio renders."""
        return {"id": self.id, "audio": {k: dict(v) for k, v in self.audio.items()},
                "done": all(v["state"] != "rendering" for v in self.audio.values())}


class ResultStore:
    """Results in a private temporary folder (mode 0700), removed when they are older than
    ``keep_seconds`` and all of them on :meth:`close`. Audio renders run on ``render_workers``
    background threads."""

    def __init__(self, *, keep_seconds: float = 3600.0, render_workers: int = 1):
        self.root = tempfile.mkdtemp(prefix="midistyle-studio-")
        self.keep_seconds = float(keep_seconds)
        self._results: dict = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=render_workers, thread_name_prefix="studio-render")
        self._closed = False

    # ------------------------------------------------------------------ results
    def new(self) -> Result:
        """A new, empty result with its own folder."""
        self.sweep()
        rid = secrets.token_urlsafe(18)
        folder = os.path.join(self.root, rid)
        os.mkdir(folder, 0o700)
        res = Result(rid, folder)
        with self._lock:
            self._results[rid] = res
        return res

    def get(self, rid: str) -> Result | None:
        """The live result ``rid``, or None (unknown, malformed or expired)."""
        if not isinstance(rid, str) or not ID_PATTERN.match(rid):
            return None
        with self._lock:
            res = self._results.get(rid)
        if res is None or time.monotonic() - res.created > self.keep_seconds:
            return None
        return res

    def discard(self, res: Result) -> None:
        """Forget a result and remove its folder."""
        with self._lock:
            self._results.pop(res.id, None)
        shutil.rmtree(res.folder, ignore_errors=True)

    def sweep(self) -> int:
        """Remove the results older than ``keep_seconds``; returns how many."""
        now = time.monotonic()
        with self._lock:
            old = [r for r in self._results.values() if now - r.created > self.keep_seconds]
        for r in old:
            if all(v["state"] != "rendering" for v in r.audio.values()):
                self.discard(r)
        return len(old)

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)

    # ------------------------------------------------------------------ background renders
    def render(self, res: Result, key: str, work) -> None:
        """Run ``work(progress)`` in the background as the audio render ``key`` of ``res``;
        ``progress(share)`` updates its status, an exception marks it failed with one line."""
        state = {"state": "rendering", "progress": 0.0}
        res.audio[key] = state

        def run():
            try:
                work(lambda share: state.update(progress=round(float(share), 3)))
                state.update(state="done", progress=1.0)
            except Exception as exc:       # reported in the status, never raised into the server
                state.update(state="failed", error=(str(exc).splitlines() or [type(exc).__name__])[0][:300])

        if self._closed:
            state.update(state="failed", error="the studio is shutting down")
            return
        self._pool.submit(run)

    def close(self) -> None:
        """Stop the renders and remove every result (the whole temporary folder)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._results.clear()
        shutil.rmtree(self.root, ignore_errors=True)
