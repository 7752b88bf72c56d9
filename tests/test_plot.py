"""The `plot` command and midistyle.plot: PNGs of real pieces, compare, zoom, errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from midistyle.codec.pianoroll import encode
from midistyle.plot import velocity_image

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "anthropology.mid"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "midistyle.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO)


def png_size(path):
    """(width, height) from a PNG header."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_velocity_image_holds_each_notes_velocity_over_its_length():
    roll = encode(EXAMPLE)
    img = velocity_image(roll)
    assert img.shape == (roll.settings.n_pitches, roll.n_steps)
    held = roll.held.T
    assert np.isfinite(img[held]).all() and np.isnan(img[~held]).all()
    n = roll.notes[0]
    assert img[n["pitch"] - roll.settings.pitch_low, roll.note_steps[0]] == n["velocity"]


def test_plot_piece_compare_and_zoom(tmp_path):
    one = tmp_path / "one.png"
    r = run_cli("plot", EXAMPLE, "-o", one)
    assert r.returncode == 0, r.stderr
    w1, h1 = png_size(one)
    assert w1 >= 800 and h1 >= 400
    # a piece and its restyled version: same size, different picture (the velocity panels differ)
    restyled = tmp_path / "r.mid"
    assert run_cli("velocity", "--to", "classical", EXAMPLE, "-o", restyled, "--seed", "1").returncode == 0
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run_cli("plot", EXAMPLE, "--compare", EXAMPLE, "-o", a, "--seconds", "20").returncode == 0
    assert run_cli("plot", EXAMPLE, "--compare", restyled, "-o", b, "--seconds", "20").returncode == 0
    assert png_size(a) == png_size(b) and png_size(a)[1] > h1     # two pieces: a taller figure
    assert a.read_bytes() != b.read_bytes()
    # scores work too
    assert run_cli("plot", "corpus:bach/bwv66.6", "-o", tmp_path / "bach.png", "--start", "5").returncode == 0


def test_plot_errors_are_one_line_and_write_nothing(tmp_path):
    out = tmp_path / "x.png"
    for args, word in (((EXAMPLE, "-o", tmp_path / "x.jpg"), ".png"),
                       ((tmp_path / "missing.mid", "-o", out), "missing.mid"),
                       ((EXAMPLE, "-o", out, "--seconds", "0"), "--seconds")):
        r = run_cli("plot", *args)
        assert r.returncode == 2 and word in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"keep")
    r = run_cli("plot", EXAMPLE, "-o", out)
    assert r.returncode == 2 and "exists" in r.stderr and out.read_bytes() == b"keep"
