"""The studio's pieces without a browser: settings, the result store (ids, expiry, clean-up,
background renders), request parsing helpers, the jobs against the CLI, and `serve` on bad flags.

The running server, its page and the fuzz corpus through uploads: test_serve_browser.py and
test_serve_fuzz.py.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from midistyle.errors import MidistyleError
from midistyle.settings import SettingsError
from midistyle.serve import StudioSettings, bind
from midistyle.serve.app import BadRequest, number_field, public_message, shown_name, upload_suffix
from midistyle.serve.jobs import chords_upload, restyle_upload
from midistyle.serve.store import ResultStore

from conftest import REPO, run_cli

EXAMPLE = REPO / "examples" / "anthropology.mid"


def test_settings_validate_and_round_trip():
    s = StudioSettings(port=0, max_upload_mb=1)
    assert s.max_upload_bytes == 1024 * 1024 and s.local
    assert StudioSettings.from_dict(s.to_dict()) == s
    assert not StudioSettings(host="0.0.0.0").local
    for bad in ({"port": 70000}, {"port": -1}, {"max_upload_mb": 0}, {"render_workers": 0}, {"host": ""}):
        with pytest.raises(SettingsError) as e:
            StudioSettings(**bad)
        assert e.value.field == next(iter(bad))


def test_store_ids_are_private_unguessable_and_expire():
    store = ResultStore(keep_seconds=0.3)
    try:
        assert oct(os.stat(store.root).st_mode & 0o777) == "0o700"
        a, b = store.new(), store.new()
        assert a.id != b.id and len(a.id) == 24 and os.path.isdir(a.folder)
        assert store.get(a.id) is a
        for bad in ("../" + a.id, a.id[:-1], a.id + "x", "", None, "A" * 24):
            assert store.get(bad) is None
        with pytest.raises(KeyError):
            a.path("../../etc/passwd")
        time.sleep(0.35)
        assert store.get(a.id) is None                 # expired: no longer served
        assert store.sweep() == 2 and not os.path.exists(a.folder) and len(store) == 0
    finally:
        store.close()
    assert not os.path.exists(store.root)


def test_store_renders_report_progress_and_failures():
    store = ResultStore()
    try:
        res = store.new()
        seen = []

        def good(progress):
            for k in range(4):
                progress(k / 4)
                seen.append(k)

        def bad(progress):
            raise ValueError("the renderer broke\nsecond line")

        store.render(res, "original", good)
        store.render(res, "result", bad)
        for _ in range(100):
            if res.status()["done"]:
                break
            time.sleep(0.02)
        st = res.status()
        assert st["done"] and seen == [0, 1, 2, 3]
        assert st["audio"]["original"] == {"state": "done", "progress": 1.0}
        assert st["audio"]["result"]["state"] == "failed" and st["audio"]["result"]["error"] == "the renderer broke"
    finally:
        store.close()


def test_request_helpers():
    assert shown_name("C:\\Users\\me\\My Song.mid") == "My Song.mid"
    assert shown_name("../../etc/passwd") == "passwd"
    assert shown_name("a\x00b\nc.mid") == "abc.mid" and shown_name("") == "upload.mid"
    assert upload_suffix("x.MXL") == ".mxl" and upload_suffix("x.exe") == ".mid" and upload_suffix("x") == ".mid"
    form = {"seed": "7", "temperature": "0", "strength": "x"}
    assert number_field(form, "seed", int, 0, 0, 10) == 7
    assert number_field(form, "missing", int, 3, 0, 10) == 3
    with pytest.raises(BadRequest, match="temperature"):
        number_field(form, "temperature", float, 1.0, 0, 10, open_low=True)
    with pytest.raises(BadRequest, match="strength must be a number"):
        number_field(form, "strength", float, 1.0, 0, 1)
    msg = public_message(ValueError("/tmp/x/abc/upload.mid: not MIDI\nmore"), {"/tmp/x/abc/upload.mid": "song.mid"})
    assert msg == "song.mid: not MIDI"


def uploaded(store, src) -> tuple:
    """A new result of ``store`` holding the file ``src`` as its upload: ``(result, upload path)``."""
    res = store.new()
    up = os.path.join(res.folder, "upload.mid")
    with open(up, "wb") as fh:
        fh.write(src.read_bytes())
    return res, up


def test_jobs_write_what_the_cli_writes(tmp_path):
    store = ResultStore()
    try:
        res, up = uploaded(store, EXAMPLE)
        fig = restyle_upload(store, res, up, title="song.mid", genre="jazz", seed=5, strength=0.7, audio=False)
        assert fig["notes"] > 1000 and fig["strength"] == 0.7 and os.path.getsize(res.path("compare.png")) > 10000
        r = run_cli("velocity", "--to", "jazz", EXAMPLE, "--seed", "5", "--strength", "0.7", "-o", tmp_path / "c.mid")
        assert r.returncode == 0, r.stderr
        assert open(res.path("result.mid"), "rb").read() == (tmp_path / "c.mid").read_bytes()
        res2, up2 = uploaded(store, EXAMPLE)
        fig = chords_upload(store, res2, up2, title="song.mid", style="classical", seconds=4, seed=2, audio=True)
        assert fig["notes"] > 0 and fig["style"] == "classical" and "input" not in fig
        r = run_cli("chords", "--inspire", EXAMPLE, "--style", "classical", "--seconds", "4", "--seed", "2",
                    "-o", tmp_path / "ch.mid")
        assert r.returncode == 0, r.stderr
        assert open(res2.path("result.mid"), "rb").read() == (tmp_path / "ch.mid").read_bytes()
        for _ in range(300):
            if res2.status()["done"]:
                break
            time.sleep(0.05)
        assert res2.status()["audio"]["result"]["state"] == "done"
        assert open(res2.path("result.wav"), "rb").read(4) == b"RIFF"
        with pytest.raises(MidistyleError, match="polka"):
            restyle_upload(store, res, up, title="song.mid", genre="polka", audio=False)
    finally:
        store.close()


def test_bind_refuses_a_port_in_use_in_one_line():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        with pytest.raises(MidistyleError) as e:
            bind(StudioSettings(port=port))
        assert e.value.field == "port"
        r = run_cli("serve", "--port", port, timeout=60)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert r.stderr.startswith("midistyle: error: cannot listen") and "(flag --port)" in r.stderr
        r = run_cli("serve", "--port", "x")
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    finally:
        busy.close()


def test_serve_warns_when_other_machines_can_reach_it():
    p = subprocess.Popen([sys.executable, "-m", "midistyle", "serve", "--host", "0.0.0.0", "--port", "0", "--quiet"],
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("midistyle studio: http://0.0.0.0:")
    finally:
        p.terminate()
        _, err = p.communicate(timeout=30)
    assert "warning: the studio listens on 0.0.0.0" in err and "Traceback" not in err


def test_perform_job_writes_what_the_cli_writes(tmp_path):
    from midistyle.serve.jobs import perform_upload
    from test_tempo import grid_score

    score = grid_score(tmp_path / "score.mid", beats=40)
    store = ResultStore()
    try:
        res, up = uploaded(store, score)
        fig = perform_upload(store, res, up, title="score.mid", genre="classical", seed=3, level="p", audio=False)
        assert fig["tempo"] == "drawn" and fig["score"] and fig["level"] == 49
        r = run_cli("perform", "--to", "classical", score, "--seed", "3", "--level", "p", "-o", tmp_path / "c.mid")
        assert r.returncode == 0, r.stderr
        assert open(res.path("result.mid"), "rb").read() == (tmp_path / "c.mid").read_bytes()
    finally:
        store.close()
