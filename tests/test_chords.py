"""Chord generation: the `chords` command with the shipped models (valid MIDI of the requested
length, seeds, velocities, errors), the frame codec, NumPy-vs-Keras agreement of the LSTM,
classifier mismatch, and a tiny training run.

Real data: TPD validation pieces as inspirations (split recomputed like datasets/build_tpd.sh).
Every command runs as a real subprocess of ``python -m midistyle``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import mido
import numpy as np
import pytest

from midistyle import io as mio
from midistyle.chords import (ChordModel, ChordsConfig, chord_frames, frames_to_held, held_to_notes,
                              notes_to_midi, train)
from midistyle.classifier import GenreClassifier
from midistyle.dataset import convert
from midistyle.errors import SettingsMismatchError
from midistyle.pianoroll import EncoderSettings, encode
from midistyle.registry import chords_model_path, classifier_path

from conftest import GENRES, REPO, TPD, run_module, tpd_validation_files


def inspiration(genre="jazz", k=0):
    return tpd_validation_files()[genre][k]


def note_list(path):
    n = mio.read(str(path)).notes
    return n


# ----------------------------------------------------------------------------- the command
def test_chords_valid_midi_of_requested_length_with_velocity_model(tmp_path, tpd_required):
    out = tmp_path / "out file.mid"
    src = inspiration("jazz", 0)
    before = open(src, "rb").read()
    r = run_module("chords", "--inspire", src, "--style", "classical", "-o", out, "--seconds", "12.5",
                   "--seed", "3", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["output"] == str(out) and res["seed"] == 3 and res["style"] == "classical"
    mf = mido.MidiFile(out)
    assert mf.length == pytest.approx(12.5, abs=0.01)
    notes = note_list(out)
    assert len(notes) == res["notes"] > 10
    assert notes["start"].min() >= 0 and notes["end"].max() <= 12.5 + 1e-6
    assert notes["pitch"].min() >= 21 and notes["pitch"].max() <= 108
    # velocities come from the classical velocity model, not a constant
    assert res["velocity_model"].endswith("velocity-classical.keras")
    assert len(np.unique(notes["velocity"])) > 3
    assert open(src, "rb").read() == before


def test_same_seed_same_file_different_seed_differs(tmp_path):
    src = inspiration("classical", 1)
    outs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        outs[name] = tmp_path / f"{name}.mid"
        r = run_module("chords", "--inspire", src, "--style", "jazz", "-o", outs[name], "--seconds", "10",
                       "--seed", seed, "--quiet")
        assert r.returncode == 0, r.stderr
        assert r.stdout == ""
    assert outs["a"].read_bytes() == outs["b"].read_bytes()
    assert outs["a"].read_bytes() != outs["c"].read_bytes()


def test_default_output_name_constant_velocity_and_overwrite(tmp_path):
    src = tmp_path / "my song.mid"
    shutil.copy(inspiration("jazz", 1), src)
    r = run_module("chords", "--inspire", src, "--style", "jazz", "--seconds", "6", "--seed", "1",
                   "--constant-velocity")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "my song.chords-jazz.mid"
    assert out.exists() and str(out) in r.stdout
    assert set(note_list(out)["velocity"].tolist()) == {64}
    stamp = out.read_bytes()
    r = run_module("chords", "--inspire", src, "--style", "jazz", "--seconds", "6", "--seed", "2")
    assert r.returncode == 2 and "exists" in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == stamp
    before = src.read_bytes()
    r = run_module("chords", "--inspire", src, "--style", "jazz", "-o", src, "--force")
    assert r.returncode == 2 and "input" in r.stderr
    assert src.read_bytes() == before


def test_unknown_style_and_bad_input_exit_2(tmp_path):
    src = inspiration("jazz", 2)
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file at all")
    cases = [
        (["--inspire", src, "--style", "polka"], ["polka", "classical", "jazz"]),
        (["--inspire", bad, "--style", "jazz"], ["bad.mid"]),
        (["--inspire", tmp_path / "missing.mid", "--style", "jazz"], ["missing.mid"]),
        (["--inspire", src, "--style", "jazz", "--seconds", "0"], ["seconds"]),
        (["--inspire", src, "--style", "jazz", "--temperature", "-1"], ["temperature"]),
    ]
    for args, words in cases:
        r = run_module("chords", *args, "-o", tmp_path / "x.mid")
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("midistyle: error:"), r.stderr
        for w in words:
            assert w in r.stderr, (w, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mid"]


def test_classifier_mismatch_is_clear_error(tmp_path):
    stem = chords_model_path("jazz")[: -len(".keras")]
    for ext in (".keras", ".npz", ".json"):
        shutil.copy(stem + ext, tmp_path / f"c{ext}")
    meta = json.loads((tmp_path / "c.json").read_text())
    meta["classifier"]["fingerprint"] = "0123456789abcdef"
    (tmp_path / "c.json").write_text(json.dumps(meta))
    cm = ChordModel.load(str(tmp_path / "c.keras"))
    with pytest.raises(SettingsMismatchError):
        cm.check_classifier(GenreClassifier.load(classifier_path()))
    r = run_module("chords", "--inspire", inspiration(), "--style", "jazz", "--model", tmp_path / "c.keras",
                   "-o", tmp_path / "o.mid")
    assert r.returncode == 2 and "retrain" in r.stderr
    assert not (tmp_path / "o.mid").exists()


def test_generation_does_not_import_tensorflow(tmp_path):
    out = tmp_path / "g.mid"
    code = ("import sys; from midistyle.chords import generate; "
            f"r = generate({str(inspiration())!r}, 'classical', output={str(out)!r}, seconds=5, seed=0); "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; assert not bad, bad; "
            "assert r['velocity_model'], r; print(r['notes'])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) > 0 and out.exists()


# ----------------------------------------------------------------------------- model internals
def test_frame_codec_round_trip():
    rng = np.random.default_rng(0)
    frames = rng.random((50, 88)) < 0.1
    held = frames_to_held(frames, 4)
    assert held.shape == (200, 88)
    assert np.array_equal(chord_frames(held, 4), frames)
    notes = held_to_notes(held)
    rebuilt = np.zeros_like(held)
    for a, b, p in notes:
        assert b > a and not held[a - 1, p] if a > 0 else True
        rebuilt[a:b, p] = True
    assert np.array_equal(rebuilt, held)
    mf = notes_to_midi(notes, EncoderSettings(), seconds=5.0)
    assert mf.length == pytest.approx(5.0)
    # a key held for 1 of 4 steps is not held in the frame, 2 of 4 is
    h = np.zeros((8, 88), bool)
    h[0, 3] = True
    h[4:6, 5] = True
    f = chord_frames(h, 4)
    assert not f[0, 3] and f[1, 5]


@pytest.mark.parametrize("genre", GENRES)
def test_numpy_lstm_matches_keras_for_shipped_model(genre):
    import keras

    cm = ChordModel.load(chords_model_path(genre))
    clf = GenreClassifier.load(classifier_path())
    cm.check_classifier(clf)
    roll = encode(inspiration(genre, 3), cm.settings)
    frames = chord_frames(roll.held, cm.config.frame_steps)[:120][None]
    emb = clf.embed(roll)[None]
    p_np = cm.probabilities(frames, emb)
    model = keras.saving.load_model(chords_model_path(genre), compile=False)
    x = np.concatenate([np.zeros_like(frames[:, :1]), frames[:, :-1]], axis=1).astype(np.float32)
    logits = model.predict([x, emb.astype(np.float32)], verbose=0)
    p_keras = 1 / (1 + np.exp(-logits))
    assert np.abs(p_np - p_keras).max() < 1e-4


def test_generated_texture_is_plausible():
    """30 s from a jazz inspiration in classical style: mostly sounding, a few keys at a time, mid register."""
    from midistyle.chords import texture_stats

    cm = ChordModel.load(chords_model_path("classical"))
    clf = GenreClassifier.load(classifier_path())
    frames = cm.sample(clf.embed(encode(inspiration("jazz", 4), clf.settings)), 300, seed=0)
    s = texture_stats(frames)
    assert 1.0 <= s["polyphony"] <= 8.0
    assert s["silence"] < 0.5
    assert 40 <= s["pitch_mean"] <= 80


# ----------------------------------------------------------------------------- training
def test_tiny_training_writes_model_files(tmp_path):
    d = tmp_path / "jazz"
    d.mkdir()
    for p in sorted((TPD / "jazz").glob("*.mid"))[::80][:3]:
        shutil.copy(p, d / p.name)
    data = tmp_path / "tiny.h5"
    convert([("jazz", str(d))], str(data), val_fraction=0.34, progress=False, workers=1)
    out = tmp_path / "chords-jazz.keras"
    cfg = ChordsConfig(units=16, seq_len=32, batch_size=4, epochs=2, steps_per_epoch=2)
    meta = train(str(data), "jazz", classifier_path(), str(out), cfg, progress=False)
    stem = str(out)[: -len(".keras")]
    for ext in (".keras", ".json", ".npz", ".log.csv", ".loss.png"):
        assert os.path.getsize(stem + ext) > 0, ext
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    v = meta["validation"]
    assert {"model", "base_rate", "markov"} <= set(v) and v["frames"] > 0
    assert meta["classifier"]["fingerprint"] == GenreClassifier.load(classifier_path()).fingerprint
    r = run_module("chords", "--inspire", inspiration(), "--style", "jazz", "--model", out, "--seconds", "3",
                   "--seed", "0", "-o", tmp_path / "t.mid", "--json")
    assert r.returncode == 0, r.stderr
    assert mido.MidiFile(tmp_path / "t.mid").length == pytest.approx(3.0, abs=0.01)
