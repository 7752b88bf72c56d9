"""The studio (`midistyle serve`) under damaged input, concurrent requests and an upload over the cap.

A real server subprocess per test (``python -m midistyle serve --port 0``), real files, plain HTTP
with ``requests``. :class:`Studio` is the shared helper (tests/test_serve_browser.py uses it too):
it starts the server with its own ``TMPDIR``, waits for the ``midistyle studio: URL`` line, samples
the server's memory, and on :meth:`Studio.stop` sends SIGINT (or SIGTERM), waits and returns the
log (stdout + stderr, written to files so that no pipe fills up).

Run with ``-s`` to see the fuzz outcome table.
"""
from __future__ import annotations

import collections
import hashlib
import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor


from conftest import run_cli, tpd_sample

from fuzz.cases import cases


from studio_helper import EXAMPLE, FUZZ_SEED, N_FUZZ, Studio, assert_clean_shutdown, assert_json_error, sounding_note_ons, studio  # noqa: F401

# ----------------------------------------------------------------------------- the fuzz corpus
def test_fuzz_corpus_through_api(tmp_path):
    inputs = cases(tmp_path / "fuzz", N_FUZZ, seed=FUZZ_SEED)
    if len(inputs) < N_FUZZ:                     # top up with real pieces if the generator ever gives fewer
        inputs += [p for g in ("classical", "jazz") for p in tpd_sample(g, n=N_FUZZ, every=3)][: N_FUZZ - len(inputs)]
    assert len(inputs) >= N_FUZZ
    # --audio-seconds keeps the background renders short; the renderer still sees every odd file
    studio = Studio(tmp_path / "studio", "--audio-seconds", "20")
    outcomes = collections.Counter()
    with_audio, renders, ok_ids, sent_audio = [], collections.Counter(), set(), 0
    peak_case, peak_seen = None, 0
    t0 = time.monotonic()
    try:
        root = studio.root()
        assert (root.stat().st_mode & 0o777) == 0o700, oct(root.stat().st_mode)
        for k, path in enumerate(inputs):
            audio = k % 10 == 0 or not path.name.startswith("damaged_")
            sent_audio += audio
            r = studio.velocity(path, data={"seed": str(k), "audio": "1" if audio else "0"})
            outcomes[r.status_code] += 1
            if studio.peak_rss > peak_seen:            # which case drove the peak (sampled every 0.1 s)
                peak_case, peak_seen = path.name, studio.peak_rss
            assert r.status_code < 500, (path.name, r.status_code, r.text[:300])
            if r.status_code != 200:
                assert_json_error(r)
                continue
            d = r.json()
            assert re.fullmatch(r"[A-Za-z0-9_-]{24}", d["id"]) and d["id"] not in ok_ids, d
            ok_ids.add(d["id"])
            m = studio.get(d["midi"])
            assert m.status_code == 200 and m.content[:4] == b"MThd", (path.name, m.status_code, m.content[:20])
            png = studio.get(d["png"])
            assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n", path.name
            if audio:
                assert set(d.get("wav", {})) == {"original", "result"}, (path.name, d)
                with_audio.append((path.name, d))
            else:
                assert "wav" not in d, d
        # the background renders of the audio=1 cases: each finishes, its files are WAV
        for name, d in with_audio:
            s = studio.wait_renders(d["status"])
            for key, state in s["audio"].items():
                renders[state["state"]] += 1
                if state["state"] == "failed":
                    assert state.get("error") and "\n" not in state["error"], (name, state)
                    continue
                assert state["state"] == "done", (name, s)
                w = studio.get(d["wav"][key])
                assert w.status_code == 200 and w.content[:4] == b"RIFF" and len(w.content) > 44, (name, key)
        # a refused upload leaves nothing behind: one folder per answered result
        assert {p.name for p in root.iterdir()} == ok_ids
        live_rss = studio.rss()
    finally:
        log = studio.stop()
    wall = time.monotonic() - t0
    assert_clean_shutdown(studio)
    assert not re.search(r'" 5\d\d ', log), log                       # the access log: no 5xx
    assert log.count('"POST /api/velocity HTTP/1.1" 200') == outcomes[200], log[-3000:]
    peak_mib = studio.peak_rss / 2 ** 20
    print(f"\nstudio fuzz: {len(inputs)} cases through POST /api/velocity (to=classical), {wall:.0f} s; "
          f"{sent_audio} sent with audio=1, {len(with_audio)} of them answered 200 (renders waited for)")
    print("  status  count")
    for code in sorted(outcomes):
        print(f"  {code:<6}  {outcomes[code]}")
    print(f"  audio renders: {dict(renders)}")
    print(f"  server RSS: peak {peak_mib:.0f} MiB (reached on {peak_case}), at the end {live_rss / 2 ** 20:.0f} MiB")
    assert studio.peak_rss < 1.5 * 2 ** 30, f"server peak RSS {peak_mib:.0f} MiB, reached on {peak_case}"
    assert outcomes[200] > 20 and sum(v for c, v in outcomes.items() if 400 <= c < 500) > 20, outcomes
    assert renders["done"] >= 10, renders


# ----------------------------------------------------------------------------- odd requests
def test_odd_fields_and_requests(tmp_path):
    """Each kind of bad request is a 4xx JSON error with one line; odd names are never paths."""
    mid = EXAMPLE.read_bytes()
    with Studio(tmp_path / "studio", "--max-upload-mb", "1") as s:
        def post(data=None, files=None, **kw):
            return s.post("/api/velocity", data=data, files=files, **kw)

        f = {"file": ("a.mid", mid)}
        expect = [
            (post({"to": "classical", "seed": "-1"}, f), 400, "seed"),
            (post({"to": "classical", "seed": "1.5"}, f), 400, "seed"),
            (post({"to": "classical", "temperature": "0"}, f), 400, "temperature"),
            (post({"to": "classical", "temperature": "nan"}, f), 400, "temperature"),
            (post({"to": "classical", "strength": "2"}, f), 400, "strength"),
            (post({"to": "classical", "audio": "maybe"}, f), 400, "audio"),
            (post({"to": "no-such-genre"}, f), 400, "no-such-genre"),
            (post({"seed": "1"}, f), 400, "to"),
            (post({"to": "classical"}, {}, headers={"Content-Type": "multipart/form-data; boundary=x"}), 400, None),
            (post({"to": "classical"}), 415, "multipart"),
            (post({"to": "classical"}, {"file": ("empty.mid", b"")}), 400, "empty"),
            (post({"to": "classical"}, {"file": ("s.musicxml", b"<score-partwise><part/></score-partwise>")}), 400,
             "s.musicxml"),
            (post({"to": "classical"}, {"file": ("s.abc", b"\xff\xfe not text")}), 400, "s.abc"),
            (post({"to": "classical"}, [("file", (f"f{k}.mid", mid)) for k in range(3)]), 400, "files"),
            (s.post("/api/velocity", data=iter([b"--x\r\n"]), headers={"Content-Type": "multipart/form-data; boundary=x"}),
             411, "Content-Length"),
            (post({"to": "classical"}, {"file": ("big.mid", mid * 120)}), 413, "too large"),      # 1.1 MB > 1 MiB
            (post({"style": "jazz"}, {"inspire": ("a.mid", mid)}), 400, None),                     # wrong endpoint field
            (s.post("/api/chords", data={"style": "jazz", "seconds": "500"}, files={"inspire": ("a.mid", mid)}), 400,
             "seconds"),
            (s.post("/api/chords", data={"style": "classical", "seconds": "2", "key": "H minor"},
                    files={"inspire": ("a.mid", mid)}), 400, "key"),
            (s.get("/api/results/AAAAAAAAAAAAAAAAAAAAAAAA"), 404, None),
            (s.get("/files/AAAAAAAAAAAAAAAAAAAAAAAA/result.mid"), 404, None),
            (s.get("/files/..%2F..%2Fetc/passwd"), 404, None),
            (s.get("/api/velocity"), 405, None),
        ]
        for k, (r, status, word) in enumerate(expect):
            assert r.status_code == status, (k, r.status_code, r.text[:300])
            msg = assert_json_error(r)
            if word:
                assert word in msg or r.json().get("field") == word, (k, msg)
            assert s.root().as_posix() not in msg, msg                     # never a server path of a result
        # an upload's name is shown, never used as a path
        r = post({"to": "classical", "audio": "0"}, {"file": ("../../../etc/x\n.mid", mid)})
        assert r.status_code == 200, r.text
        d = r.json()
        assert "/" not in d["name"] and "\n" not in d["name"], d["name"]
        assert sorted(p.name for p in (s.root() / d["id"]).iterdir()) == ["compare.png", "result.mid", "upload.mid"]
        # within the cap: an upload just below 1 MiB is taken
        r = post({"to": "classical", "audio": "0"}, {"file": ("big.mid", mid * 100)})
        assert r.status_code == 200, r.text
    assert_clean_shutdown(s)


def test_upload_over_cap_is_413(tmp_path):
    """The cap is checked before the body is read: a 3 MiB upload to a 1 MiB studio is a 413 JSON
    error, nothing is kept, and the studio goes on answering."""
    big = tmp_path / "big.mid"
    big.write_bytes(EXAMPLE.read_bytes() + os.urandom(3 * 2 ** 20))
    with Studio(tmp_path / "studio", "--max-upload-mb", "1") as s:
        r = s.velocity(big, data={"audio": "0"})
        assert r.status_code == 413, (r.status_code, r.text[:300])
        assert "too large" in assert_json_error(r)
        assert not list(s.root().iterdir())
        r = s.velocity(EXAMPLE, data={"audio": "0"})
        assert r.status_code == 200, r.text
    assert_clean_shutdown(s)


# ----------------------------------------------------------------------------- concurrency
def test_concurrent_restyles(studio, tmp_path):
    """8 requests at once: all 200, each its own id and MIDI; the seed decides the MIDI, and the
    MIDI is the command line's, byte for byte."""
    jazz = tpd_sample("jazz", n=1)
    other = jazz[0] if jazz else EXAMPLE
    jobs = [(EXAMPLE, seed) for seed in (1, 2, 3, 4, 5, 6)] + [(EXAMPLE, 1), (other, 1 if jazz else 7)]
    barrier = threading.Barrier(len(jobs))

    def one(job):
        path, seed = job
        barrier.wait(30)
        t = time.monotonic()
        r = studio.velocity(path, data={"seed": str(seed), "audio": "0"})
        return r, time.monotonic() - t

    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(one, jobs))
    for (path, seed), (r, _) in zip(jobs, answers):
        assert r.status_code == 200, (path.name, seed, r.status_code, r.text[:300])
    ds = [r.json() for r, _ in answers]
    assert len({d["id"] for d in ds}) == len(jobs)
    midis = []
    for d in ds:
        m = studio.get(d["midi"])
        assert m.status_code == 200 and m.content[:4] == b"MThd"
        midis.append(m.content)
    digests = [hashlib.md5(b).hexdigest() for b in midis]
    assert digests[0] == digests[6], "same file, same seed: the MIDIs must be identical"
    assert len(set(digests)) == len(jobs) - 1, "different seeds (or files) must give different MIDIs"
    assert sounding_note_ons(midis[0]) == sounding_note_ons(EXAMPLE.read_bytes())
    out = tmp_path / "cli.mid"
    cp = run_cli("velocity", "--to", "classical", EXAMPLE, "--seed", "1", "-o", out)
    assert cp.returncode == 0, cp.stderr
    assert out.read_bytes() == midis[0], "the studio's MIDI differs from the command line's"
    if jazz:
        cp = run_cli("velocity", "--to", "classical", other, "--seed", "1", "-o", tmp_path / "cli2.mid")
        assert cp.returncode == 0, cp.stderr
        assert (tmp_path / "cli2.mid").read_bytes() == midis[7]
    print(f"\n8 concurrent restyles: slowest answer {max(t for _, t in answers):.1f} s")


# ----------------------------------------------------------------------------- shutdown while rendering
def test_sigterm_during_render_removes_everything(tmp_path):
    """SIGTERM while an audio render runs: the studio stops within the timeout and its folder is gone."""
    s = Studio(tmp_path / "studio")
    try:
        for seed in (1, 2):            # four renders of a 2.5 min piece queue on the one render worker
            r = s.velocity(EXAMPLE, data={"audio": "1", "seed": str(seed)})
            assert r.status_code == 200, r.text
        assert s.get(r.json()["status"]).json()["done"] is False
        assert (s.root() / r.json()["id"] / "upload.mid").is_file()
    finally:
        s.stop(signal.SIGTERM, timeout=60)
    # uvicorn re-raises the signal after its graceful shutdown: killed by SIGTERM, after clean-up
    assert_clean_shutdown(s, expected_rc=(0, -signal.SIGTERM, 128 + signal.SIGTERM))
