"""CycleGAN on STFT magnitude: training lowers the validation cycle loss on a fixed toy set, the
saved model translates files from the command line, and bad input gives clear errors.

The toy domains are rendered piano: low-register phrases (A) and high-register phrases (B).
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO

from midistyle.audio.cyclegan import CycleGANConfig, Translator, domain_patches, train
from midistyle.audio.render import render_notes
from midistyle.cli import main
from midistyle.errors import MidistyleError

SR = 8000
TINY = dict(sr=SR, n_fft=126, hop=64, patch_frames=16, base_channels=4, res_blocks=1, disc_channels=4,
            batch_size=4, epochs=3, steps_per_epoch=12, seconds_per_file=2.5, max_files=0, max_val_files=2,
            val_fraction=0.34, learning_rate=2e-3, seed=0)
DT = [("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8")]


def phrase(low: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = [(int(low + rng.integers(0, 12)), int(rng.integers(50, 110)), 0.2 * i, 0.2 * i + 0.3) for i in range(12)]
    return render_notes(np.array(rows, dtype=DT), sr=SR, duration=2.5)


@pytest.fixture(scope="module")
def domains(tmp_path_factory):
    root = tmp_path_factory.mktemp("domains")
    for name, low in (("low", 36), ("high", 76)):
        (root / name).mkdir()
        for i in range(3):
            sf.write(root / name / f"{name}{i}.wav", phrase(low, 10 * low + i), SR)
    return root


@pytest.fixture(scope="module")
def trained(domains, tmp_path_factory):
    """One tiny CycleGAN trained from the domain folders and saved (shared: training is the cost)."""
    model = tmp_path_factory.mktemp("model") / "cg.keras"
    meta = train(str(domains / "low"), str(domains / "high"), str(model), CycleGANConfig(**TINY),
                 names=("low", "high"), progress=False)
    return model, meta


def test_training_lowers_the_validation_cycle_loss(trained):
    # the patches fit() trains on (training patches overlap by half)
    cfg = CycleGANConfig(**TINY)
    pa, va = domain_patches([phrase(36, i) for i in range(2)], cfg, 8), domain_patches([phrase(36, 2)], cfg)
    assert pa.shape[1:] == (16, 64, 1) and len(pa) > len(va) >= 1
    _, meta = trained
    val, hist = meta["validation"], meta["training"]["history"]
    assert val["after"]["cycle"] < 0.7 * val["before"]["cycle"], val
    assert np.isfinite(hist["d"]).all() and meta["training"]["steps"] == 36


def test_train_save_translate_cli(trained, domains, tmp_path, capsys):
    model, meta = trained
    assert meta["data"]["a"]["val_files"] == 1 and meta["data"]["a"]["train_files"] == 2
    assert meta["validation"]["after"]["cycle"] < meta["validation"]["before"]["cycle"]
    info = json.loads(model.with_suffix(".json").read_text())
    assert info["domains"] == ["low", "high"] and info["config"]["n_fft"] == 126
    tr = Translator.load(str(model))
    y = phrase(36, 7)[: int(1.3 * SR)]  # not a multiple of 4 frames
    out = tr.translate(y, "high")
    assert out.shape == y.shape and np.all(np.isfinite(out))
    # the generator changes the spectrum, and the two directions differ
    assert not np.allclose(out, y, atol=1e-3)
    assert not np.allclose(out, tr.translate(y, "low"), atol=1e-3)
    gl = tr.translate(y, "b", phase="griffin-lim", griffin_lim_iterations=5)
    assert gl.shape == y.shape and np.all(np.isfinite(gl)) and np.max(np.abs(gl)) > 0
    with pytest.raises(MidistyleError, match="phase"):
        tr.translate(y, "b", phase="zero")
    src = domains / "low" / "low0.wav"
    dst = tmp_path / "t.wav"
    run = lambda *a: subprocess.run([sys.executable, "-m", "midistyle", *map(str, a)], cwd=REPO,  # noqa: E731
                                    capture_output=True, text=True, timeout=240)
    r = run("audio", "translate", "--model", model, "--to", "b", src, "-o", dst, "--json")
    assert r.returncode == 0, r.stderr
    got, sr = sf.read(dst, dtype="float32")
    d = json.loads(r.stdout)
    y_src = sf.read(src, dtype="float32")[0]
    assert sr == SR and len(got) == len(y_src) and d["to"] == "high"
    # the file is the generator's waveform at its own level: nothing normalises it (16-bit rounding only)
    expect = tr.waveform(tr.translated_magnitude(y_src, "b"), y_src)
    assert d["limiter"]["limited_samples"] == 0 and d["phase"] == "refined"
    np.testing.assert_allclose(got, expect, atol=2 / 32768)
    # the file carries the generator's magnitude: Griffin-Lim from the input's phase (the default) is
    # much nearer to it than the input's phase as it is, whose own magnitude leaks back into the file
    # (the command line's main in this process, where TensorFlow is loaded already: a second
    # subprocess would spend its time importing it)
    capsys.readouterr()
    assert main(["audio", "translate", "--model", str(model), "--to", "b", str(src), "-o", str(tmp_path / "in.wav"),
                 "--phase", "input", "--json"]) == 0
    leak = json.loads(capsys.readouterr().out)["written_log_error"]
    assert d["written_log_error"] < 0.6 * leak and leak < 1, (d["written_log_error"], leak)
    r = run("audio", "translate", "--model", model, "--to", "jazz", src, "-o", tmp_path / "u.wav")
    assert r.returncode == 2 and "unknown domain 'jazz'" in r.stderr and "Traceback" not in r.stderr
    r = run("audio", "translate", "--model", tmp_path / "none.keras", "--to", "b", src, "-o", tmp_path / "v.wav")
    assert r.returncode == 2 and "missing" in r.stderr
    r = run("audio", "translate", "--model", model, "--to", "b", src, "-o", src, "--force")
    assert r.returncode == 2 and "refusing to overwrite the input" in r.stderr


def test_bad_settings_and_folders(tmp_path):
    with pytest.raises(MidistyleError, match="multiple of 4"):
        CycleGANConfig(n_fft=128)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MidistyleError, match="no audio or MIDI files"):
        train(str(tmp_path / "empty"), str(tmp_path / "empty"), str(tmp_path / "m.keras"), CycleGANConfig(**TINY),
              progress=False)
