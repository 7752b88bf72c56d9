"""The studio under test: a real `midistyle serve --port 0` subprocess (:class:`Studio`), its
clean shutdown, JSON errors. Shared by tests/test_serve_fuzz.py and tests/test_serve_browser.py."""
from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mido
import pytest
import requests

from conftest import REPO

URL_LINE = re.compile(r"midistyle studio: (http://\S+?)/?\s")
EXAMPLE = REPO / "examples" / "anthropology.mid"
#: The studio's fuzz corpus: 120 cases of tests/fuzz/cases.py drawn with seed 1 (the 17 odd files and
#: 103 damaged copies of the example). The in-process fuzz test (tests/test_fuzz.py) runs the first 100
#: of seed 0, so the two together see 186 different damaged files, more than the 183 of the 200 seed-0
#: cases this test ran before, which repeated the in-process test's first 100; the studio's own
#: properties (4xx never 5xx, one folder per answer, clean shutdown, memory) do not need more.
N_FUZZ = 120
FUZZ_SEED = 1


# ----------------------------------------------------------------------------- the shared helper
class Studio:
    """A ``midistyle serve --port 0 ARGS`` subprocess, started from the repository root with
    ``TMPDIR=folder/tmp`` (so its private result folder is found and its removal checked).

    ``url`` is the base URL (no trailing slash), ``pid`` the server's process id, ``peak_rss``
    the largest VmRSS (bytes) sampled from /proc while it ran, ``returncode`` and ``log`` are
    set by :meth:`stop`. Usable as a context manager (stops with SIGINT on the way out).
    """

    def __init__(self, folder, *args, start_timeout: float = 30.0, sample_every: float = 0.1):
        self.folder = Path(folder)
        self.tmpdir = self.folder / "tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self._out_path, self._err_path = self.folder / "studio.stdout", self.folder / "studio.stderr"
        env = {**os.environ, "TMPDIR": str(self.tmpdir), "PYTHONUNBUFFERED": "1"}
        self._out, self._err = open(self._out_path, "wb"), open(self._err_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "midistyle", "serve", "--port", "0", *map(str, args)],
                                     cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err)
        self.pid = self.proc.pid
        self.returncode = None
        self.log = None
        self.peak_rss = 0
        self._stop_sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, args=(sample_every,), daemon=True)
        self._sampler.start()
        self.url = self._wait_for_url(start_timeout)

    # ------------------------------------------------------------------ start-up, memory
    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = URL_LINE.search(self._out_path.read_text(errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = self.stop() if self.proc.poll() is None else self._read_log()
        pytest.fail(f"the studio did not print its URL within {timeout:g} s (exit {self.proc.returncode}); "
                    f"log:\n{log}")

    def _sample(self, every: float) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop_sampling.is_set():
            try:
                m = re.search(r"^VmRSS:\s+(\d+) kB", status.read_text(), re.M)
            except OSError:              # gone
                return
            if m:
                self.peak_rss = max(self.peak_rss, int(m.group(1)) * 1024)
            self._stop_sampling.wait(every)

    def rss(self) -> int:
        """The server's resident memory now (bytes)."""
        m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{self.pid}/status").read_text(), re.M)
        return int(m.group(1)) * 1024

    # ------------------------------------------------------------------ folders
    def result_roots(self) -> list:
        """The studio's private folders (``midistyle-studio-*``) under its TMPDIR."""
        return sorted(self.tmpdir.glob("midistyle-studio-*"))

    def root(self) -> Path:
        """The one private result folder of this running studio."""
        roots = self.result_roots()
        assert len(roots) == 1, roots
        return roots[0]

    # ------------------------------------------------------------------ HTTP
    def get(self, path: str, **kw):
        return requests.get(self.url + path, timeout=kw.pop("timeout", 60), **kw)

    def post(self, path: str, **kw):
        return requests.post(self.url + path, timeout=kw.pop("timeout", 180), **kw)

    def velocity(self, path, *, name=None, data=None, **kw):
        """POST /api/velocity with the file at ``path`` (sent as ``name``) and form ``data``."""
        path = Path(path)
        fields = {"to": "classical", "seed": "0", **(data or {})}
        with open(path, "rb") as fh:
            return self.post("/api/velocity", files={"file": (name or path.name, fh)}, data=fields, **kw)

    def wait_renders(self, status_url: str, timeout: float = 120.0) -> dict:
        """Poll a result's status until its audio renders are done; returns the last status."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(status_url)
            assert r.status_code == 200, (status_url, r.status_code, r.text)
            s = r.json()
            if s["done"]:
                return s
            assert time.monotonic() < deadline, f"audio renders not done after {timeout:g} s: {s}"
            time.sleep(0.2)

    # ------------------------------------------------------------------ shutdown
    def _read_log(self) -> str:
        for fh in (self._out, self._err):
            if not fh.closed:
                fh.flush()
        return (self._out_path.read_text(errors="replace") + self._err_path.read_text(errors="replace"))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60.0) -> str:
        """Send ``sig``, wait up to ``timeout`` s (then kill it and fail), return the log."""
        if self.log is not None:
            return self.log
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                killed = True
        self._stop_sampling.set()
        self._sampler.join(5)
        self.returncode = self.proc.returncode
        self._out.close()
        self._err.close()
        self.log = self._read_log()
        if killed:
            pytest.fail(f"the studio did not stop within {timeout:g} s of {signal.Signals(sig).name}; "
                        f"log:\n{self.log}")
        return self.log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def assert_clean_shutdown(studio: Studio, expected_rc=(0, 130)) -> None:
    """After :meth:`Studio.stop`: an orderly exit, no traceback or internal error in the log, and
    no ``midistyle-studio-*`` folder left in the studio's TMPDIR."""
    assert studio.returncode in expected_rc, (studio.returncode, studio.log)
    assert "Traceback" not in studio.log, studio.log
    assert "internal error" not in studio.log, studio.log
    assert not studio.result_roots(), (studio.result_roots(), studio.log)
    # nothing else either, bar music21's scratch folder (made when a score is parsed) holding no upload
    left = [p for p in studio.tmpdir.rglob("*") if not (p.name == "music21" and p.parent == studio.tmpdir)]
    assert not left, left


@pytest.fixture
def studio(tmp_path):
    """A running studio (defaults); stopped with SIGINT afterwards, which must be clean."""
    s = Studio(tmp_path / "studio")
    yield s
    s.stop()
    assert_clean_shutdown(s)


def assert_json_error(r) -> str:
    """A 4xx answer: JSON ``{"error": one non-empty line}``; returns the message."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    msg = r.json().get("error")
    assert isinstance(msg, str) and msg.strip(), r.text
    assert "\n" not in msg and "Traceback" not in msg, msg
    return msg


def sounding_note_ons(data: bytes) -> int:
    mf = mido.MidiFile(file=io.BytesIO(data))
    return sum(1 for tr in mf.tracks for m in tr if m.type == "note_on" and m.velocity > 0)


