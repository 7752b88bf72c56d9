"""The command line on bad input: exit code 2, one line on stderr naming the file, no traceback.

Every case runs a real subprocess of ``python cli.py`` in the repository root.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

from midistyle.codec.io import read

from conftest import REPO, console_script, run_cli, save_tracks, tpd_sample


def assert_one_line_error(r, name):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert r.stderr.endswith("\n")
    assert lines[0].startswith("midistyle: error:")
    assert name in lines[0], (name, lines[0])
    assert r.stdout == ""


def assert_one_line_error_after_output(r, name):
    """Like assert_one_line_error, for a run that printed results before failing."""
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.splitlines()) == 1 and name in r.stderr


def _not_midi(d):
    p = d / "not midi (really).mid"
    p.write_bytes(b"RIFF" + np.random.default_rng(3).integers(0, 256, 400, dtype=np.uint8).tobytes())
    return p


def _truncated(d):
    data = tpd_sample("jazz")[1].read_bytes()
    p = d / "cut short.mid"
    p.write_bytes(data[: len(data) // 2])
    return p


def _zero_notes(d):
    return save_tracks(d / "silence.mid", [[(0, mido.MetaMessage("set_tempo", tempo=500000)),
                                            (0, mido.Message("program_change", program=0)),
                                            (480, mido.Message("control_change", control=64, value=127))]])


def _drums_only(d):
    return save_tracks(d / "drum solo.mid", [[(0, mido.Message("note_on", channel=9, note=36, velocity=100)),
                                              (120, mido.Message("note_off", channel=9, note=36))]])


def _empty(d):
    p = d / "empty.mid"
    p.write_bytes(b"")
    return p


def _directory(d):
    p = d / "a folder.mid"
    p.mkdir()
    return p


def _missing(d):
    return d / "no such file.mid"


CASES = {
    "not-midi": (_not_midi, "not a MIDI file"),
    "truncated": (_truncated, "truncated"),
    "zero-notes": (_zero_notes, "no notes"),
    "drums-only": (_drums_only, "drum"),
    "empty": (_empty, "empty"),
    "directory": (_directory, "directory"),
    "missing": (_missing, "no such file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_info_bad_input_is_one_line_exit_2(case, tmp_path, tpd_required):
    make, words = CASES[case]
    path = make(tmp_path)
    r = run_cli("info", path)
    assert_one_line_error(r, path.name)
    assert words in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_info_unreadable_file(tmp_path):
    p = tmp_path / "locked.mid"
    p.write_bytes(tpd_sample("jazz")[0].read_bytes())
    p.chmod(0)
    try:
        r = run_cli("info", p)
    finally:
        p.chmod(0o644)
    assert_one_line_error(r, p.name)


def test_info_good_file_then_bad_file(tmp_path, tpd_required):
    good = tpd_sample("jazz")[2]
    r = run_cli("info", "--json", good)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["notes"] == len(read(good).notes)
    assert d["file"] == str(good)
    # the error of a later file still ends the run with exit 2 and one line on stderr
    bad = _empty(tmp_path)
    r = run_cli("info", "--json", good, bad)
    assert_one_line_error_after_output(r, bad.name)
    assert json.loads(r.stdout.splitlines()[0])["notes"] == d["notes"]


def test_info_bad_encoder_settings(tmp_path, tpd_required):
    r = run_cli("info", tpd_sample("jazz")[0], "--pitch-range", "90", "40")
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr


def test_dataset_convert_missing_folder(tmp_path):
    r = run_cli("dataset", "convert", tmp_path / "nowhere", "--genre", "jazz", "-o", tmp_path / "x.h5", "--quiet")
    assert_one_line_error(r, "nowhere")
    assert os.listdir(tmp_path) == []


def test_cli_py_help_equals_console_script_help():
    script = console_script()
    assert script.exists(), f"console script not installed at {script}"
    a = run_cli("--help")
    b = subprocess.run([str(script), "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    c = subprocess.run([sys.executable, "-m", "midistyle.cli", "--help"], cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    assert a.returncode == b.returncode == c.returncode == 0
    assert a.stdout == b.stdout == c.stdout
    assert a.stdout.startswith("usage: midistyle")
    assert "info" in a.stdout and "dataset" in a.stdout


@pytest.mark.parametrize("command", [["velocity", "--to", "jazz"], ["plot"]])
def test_output_name_too_long_is_one_line_exit_2(command, tmp_path):
    out = tmp_path / ("x" * 300 + ".mid")
    if command == ["plot"]:
        out = out.with_suffix(".png")
    r = run_cli(*command, str(REPO / "examples" / "anthropology.mid"), "-o", str(out))
    assert r.returncode == 2 and "longer than" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- damaged model bundles
def _damage(folder: Path, stem: str, how: str) -> Path:
    """A copy of a shipped model bundle in ``folder``, damaged in one way."""
    for ext in (".keras", ".json", ".npz"):
        shutil.copy(REPO / "models" / f"{stem}{ext}", folder / f"{stem}{ext}")
    npz, js = folder / f"{stem}.npz", folder / f"{stem}.json"
    if how == "truncated npz":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    elif how == "garbage npz":
        npz.write_bytes(b"not a zip archive")
    elif how == "object npz":
        np.savez(npz, a=np.array([{"x": 1}], dtype=object))
    elif how == "empty npz":
        np.savez(npz)
    elif how == "json list":
        js.write_text("[1, 2]")
    elif how == "json truncated":
        js.write_text(js.read_text()[:40])
    elif how == "json without encoder":
        meta = json.loads(js.read_text())
        del meta["encoder"]
        js.write_text(json.dumps(meta))
    return folder / f"{stem}.keras"


@pytest.mark.parametrize("how", ["truncated npz", "garbage npz", "object npz", "empty npz", "json list",
                                 "json truncated", "json without encoder"])
@pytest.mark.parametrize("stem", ["classifier", "chords-jazz", "velocity-jazz"])
def test_damaged_model_bundle_is_a_model_error(stem, how, tmp_path):
    from midistyle.chords import ChordModel
    from midistyle.classifier import GenreClassifier
    from midistyle.errors import ModelError, SettingsMismatchError
    from midistyle.velocity import VelocityModel

    loader = {"classifier": GenreClassifier, "chords-jazz": ChordModel, "velocity-jazz": VelocityModel}[stem]
    path = _damage(tmp_path, stem, how)
    with pytest.raises((ModelError, SettingsMismatchError)) as err:
        loader.load(str(path))
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)


def test_bad_training_setting_names_field_and_flag(tmp_path):
    r = run_cli("train", "velocity", str(tmp_path / "none.h5"), "--genre", "jazz", "-o", str(tmp_path / "m.keras"),
                "--window", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "VelocityConfig: window must be" in r.stderr and "(flag --window)" in r.stderr


@pytest.mark.parametrize("argv,words,flag", [
    (["audio", "transfer", "--content", "c.wav", "--style", "s.wav", "-o", "o.wav", "--filters", "0"],
     "TransferSettings: filters must be", "--filters"),
    (["audio", "transfer", "--content", "c.wav", "--style", "s.wav", "-o", "o.wav", "--method", "multi",
      "--kernel", "0"], "MultiSettings: stft_kernel must be", "--kernel"),
    (["audio", "texture", "--style", "s.wav", "-o", "o.wav", "--net", "rnn", "--fast"],
     "net must be a convolutional network for the fast recipe", "--net"),
    (["evaluate", "key-invariance", "--cqt-filters", "0"], "MultiSettings: cqt_filters must be", "--cqt-filters"),
    (["train", "cyclegan", "--a", "A", "--b", "B", "-o", "m.keras", "--seconds", "0"],
     "CycleGANConfig: seconds_per_file must be", "--seconds"),
    (["velocity", "examples/anthropology.mid"], "name a genre (available:", "--to"),
])
def test_library_error_names_field_and_cli_adds_flag(argv, words, flag, tmp_path):
    r = run_cli(*argv)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert words in r.stderr and r.stderr.rstrip().endswith(f"(flag {flag})"), r.stderr


# ----------------------------------------------------------------------------- damaged Keras classifier, absurd grids
def test_classify_damaged_keras_model_without_npz(tmp_path):
    """A classifier whose ``.npz`` is missing falls back to its ``.keras``: a damaged one is a model error."""
    shutil.copy(REPO / "models" / "classifier.json", tmp_path / "X.json")
    model = tmp_path / "X.keras"
    model.write_bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    r = run_cli("classify", "--model", model, REPO / "examples" / "anthropology.mid")
    assert_one_line_error(r, str(model))
    assert "not a Keras model archive" in r.stderr


def test_classify_keras_model_of_another_kind_without_npz(tmp_path):
    """A loadable ``.keras`` that is no classifier (here the audio genre network) is a model error too."""
    shutil.copy(REPO / "models" / "classifier.json", tmp_path / "X.json")
    model = tmp_path / "X.keras"
    shutil.copy(REPO / "models" / "audio-genre.keras", model)
    r = run_cli("classify", "--model", model, REPO / "examples" / "anthropology.mid")
    # TensorFlow's own logging may precede the error (written by its C++ runtime, beyond our control)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.splitlines()
    assert [line for line in lines if line.startswith("midistyle")] == lines[-1:]
    assert lines[-1].startswith("midistyle: error:") and str(model) in lines[-1]
    assert "not a classifier network" in lines[-1]


@pytest.mark.parametrize("command", ["info", "plot"])
def test_step_too_fine_is_a_settings_error_naming_the_flag(command, tmp_path):
    """A tiny step would ask for a grid of tens of GiB: refused before anything is allocated."""
    out = ["-o", tmp_path / "x.png"] if command == "plot" else []
    r = run_cli(command, "--step", "1e-9", REPO / "examples" / "anthropology.mid", *out, timeout=60)
    assert_one_line_error(r, "EncoderSettings: step must be")
    assert r.stderr.rstrip().endswith("(flag --step)")
    assert list(tmp_path.iterdir()) == []


def test_long_piece_at_fine_step_is_refused_before_allocating(tmp_path):
    """A legal step over a long piece: the grid's size is checked before it is allocated."""
    tick = 480 * 2 * 1300                    # 1300 s at 120 bpm: 1.3 million 1-ms steps x 88 keys
    long = save_tracks(tmp_path / "long.mid", [[(0, mido.MetaMessage("set_tempo", tempo=500000)),
                                                (0, mido.Message("note_on", note=60, velocity=80)),
                                                (480, mido.Message("note_off", note=60)),
                                                (tick, mido.Message("note_on", note=64, velocity=80)),
                                                (tick + 480, mido.Message("note_off", note=64))]])
    assert run_cli("info", long).returncode == 0          # fine at the default step
    r = run_cli("info", "--step", "0.001", long)
    assert_one_line_error(r, long.name)
    assert re.search(r"grid of \d{7} steps x 88 pitches", r.stderr) and "max_cells" in r.stderr
    assert r.stderr.rstrip().endswith("(flag --step)")
