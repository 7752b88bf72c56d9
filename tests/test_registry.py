"""Where models are found: the shipped set, $MIDISTYLE_MODELS, the user's folder; `models`,
`train ... --install`, shadowing, and the velocity amount knob (`--strength`).

Real shipped models, real MIDI files, a tiny velocity model trained here through the CLI.
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from midistyle.codec import io as mio
from midistyle import registry
from midistyle.codec.dataset import convert
from midistyle.errors import InputError, ModelError
from midistyle.velocity import blend_velocities

from conftest import REPO, TPD, run_cli

EXAMPLE = REPO / "examples" / "anthropology.mid"
SHIPPED = REPO / "models"


@pytest.fixture
def user_env(tmp_path, monkeypatch):
    """An empty user data folder (XDG_DATA_HOME) and no $MIDISTYLE_MODELS, for this process and
    the CLI subprocesses it starts."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MIDISTYLE_MODELS", raising=False)
    return tmp_path


def copy_bundle(stem: str, folder, new_stem: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for ext in (".json", ".npz"):
        shutil.copy(SHIPPED / (stem + ext), folder / ((new_stem or stem) + ext))


def test_shipped_models_are_found_by_kind_and_name(user_env):
    cat = registry.catalog()
    kinds = {(e.kind, e.name) for e in cat}
    assert {("velocity", "classical"), ("velocity", "jazz"), ("chords", "classical"), ("chords", "jazz"),
            ("classifier", "classifier"), ("velocity-judge", "velocity-judge")} <= kinds
    # figures files and the comparison without weights are no models
    assert not any(e.name in ("figures", "judge") for e in cat)
    assert registry.velocity_genres() == ["classical", "jazz"]
    vc = registry.find("velocity", "classical")
    assert vc.origin == registry.SHIPPED and vc.summary.startswith("Plays a piece")
    assert 0.5 < vc.figures["spread_ratio"] < 1.5
    with pytest.raises(ModelError, match="available: classical, jazz"):
        registry.velocity_model_path("polka")


def test_env_folders_add_to_the_search_and_never_shadow_shipped(user_env, tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    copy_bundle("velocity-jazz", a, "velocity-jazz")            # same kind and name as a shipped one
    meta = json.loads((a / "velocity-jazz.json").read_text())
    meta["genre"] = "swing"
    copy_bundle("velocity-jazz", b, "my-swing")
    (b / "my-swing.json").write_text(json.dumps(meta))
    monkeypatch.setenv("MIDISTYLE_MODELS", os.pathsep.join([str(a), str(b)]))
    assert registry.velocity_genres() == ["classical", "jazz", "swing"]
    assert registry.velocity_model_path("swing") == str(b / "my-swing.keras")
    assert registry.velocity_model_path("jazz") == str(SHIPPED / "velocity-jazz.keras")
    shadowed = [e for e in registry.catalog() if e.shadowed_by]
    assert [(e.path, e.shadowed_by) for e in shadowed] == [(str(a / "velocity-jazz.json"),
                                                           str(SHIPPED / "velocity-jazz.json"))]
    r = run_cli("models")
    assert r.returncode == 0, r.stderr
    assert "SHADOWED" in r.stdout and str(a / "velocity-jazz.json") in r.stdout
    r = run_cli("models", "--json")
    d = json.loads(r.stdout)
    assert [f["origin"] for f in d["search_path"]] == ["shipped", "env", "env", "user"]
    swing = [m for m in d["models"] if m["name"] == "swing"]
    assert swing and swing[0]["origin"] == "env" and swing[0]["shadowed_by"] is None
    # a user model of a new genre plays by name
    out = tmp_path / "o.mid"
    r = run_cli("velocity", "--to", "swing", EXAMPLE, "-o", out)
    assert r.returncode == 0 and out.exists(), r.stderr


def test_install_names_are_checked(user_env):
    with pytest.raises(ModelError, match="shipped"):
        registry.install_path("velocity", "classical")
    for bad in ("", "Mine", "../x", "a/b", "x" * 41):
        with pytest.raises(InputError):
            registry.install_path("velocity", bad)
    p = registry.install_path("velocity", "mine")
    assert p.startswith(str(user_env / "xdg")) and p.endswith("velocity-mine.keras")


@pytest.mark.data
def test_train_install_then_play_by_name(user_env, tmp_path):
    d = tmp_path / "data"
    genres = {"classical": "classical", "mine": "jazz"}          # the user's style: a folder of their own
    for g, src in genres.items():
        (d / g).mkdir(parents=True)
        for p in sorted((TPD / src).glob("*.mid"))[::70][:2]:
            shutil.copy(p, d / g / p.name)
    h5 = tmp_path / "tiny.h5"
    convert([(g, str(d / g)) for g in genres], str(h5), val_fraction=0.5, progress=False)
    small = ["--epochs", "1", "--max-steps-per-epoch", "2", "--window", "64", "--batch-size", "2",
             "--channels", "4", "--cond-channels", "4", "--val-windows", "1", "--quiet"]
    r = run_cli("train", "velocity", h5, "--genre", "classical", "--install", *small, timeout=600)
    assert r.returncode == 2 and "shipped" in r.stderr and "--genre" in r.stderr
    r = run_cli("train", "velocity", h5, "--genre", "mine", *small)
    assert r.returncode == 2 and "--install" in r.stderr
    r = run_cli("train", "velocity", h5, "--genre", "mine", "--install", *small, timeout=600)
    assert r.returncode == 0, r.stderr
    entry = registry.find("velocity", "mine")
    assert entry.origin == registry.USER and entry.summary.startswith("Trained on")
    out = tmp_path / "mine.mid"
    r = run_cli("velocity", "--to", "mine", EXAMPLE, "-o", out)
    assert r.returncode == 0 and out.exists(), r.stderr
    r = run_cli("models", "--json")
    assert any(m["name"] == "mine" and m["origin"] == "user" for m in json.loads(r.stdout)["models"])


def test_blend_velocities():
    before, after = np.array([10.0, 100.0, 64.0]), np.array([90.0, 20.0, 64.0])
    assert np.array_equal(blend_velocities(before, after, 0), before)
    assert np.array_equal(blend_velocities(before, after, 1), after)
    assert np.allclose(blend_velocities(before, after, 0.25), [30.0, 80.0, 64.0])
    for bad in (-0.1, 1.01, float("nan"), "1"):
        with pytest.raises(InputError):
            blend_velocities(before, after, bad)


def test_strength_zero_keeps_the_input_one_is_todays_restyle(tmp_path):
    outs = {}
    for s in ("0", "0.5", "1"):
        outs[s] = tmp_path / f"s{s}.mid"
        r = run_cli("velocity", "--to", "classical", EXAMPLE, "-o", outs[s], "--strength", s, "--seed", "3")
        assert r.returncode == 0, r.stderr
    plain = tmp_path / "plain.mid"
    assert run_cli("velocity", "--to", "classical", EXAMPLE, "-o", plain, "--seed", "3").returncode == 0
    assert outs["1"].read_bytes() == plain.read_bytes()
    src = mio.read(str(EXAMPLE), exact=True).notes
    got = {s: mio.read(str(p), exact=True).notes for s, p in outs.items()}
    for s in got:
        for k in ("start_tick", "end_tick", "pitch", "track"):
            assert np.array_equal(got[s][k], src[k]), (s, k)
    assert np.array_equal(got["0"]["velocity"], src["velocity"])
    half = np.rint(src["velocity"] + 0.5 * (got["1"]["velocity"].astype(float) - src["velocity"]))
    assert np.abs(got["0.5"]["velocity"] - half).max() <= 1
    assert not np.array_equal(got["1"]["velocity"], src["velocity"])
    r = run_cli("velocity", "--to", "classical", EXAMPLE, "-o", tmp_path / "x.mid", "--strength", "1.5")
    assert r.returncode == 2 and "--strength" in r.stderr and "Traceback" not in r.stderr
