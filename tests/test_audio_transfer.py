"""midistyle.audio.transfer (the Ulyanov method): the loss falls, lengths, Griffin-Lim level, bfloat16,
the fast recipe and the warm start, textures, filters, ``midistyle audio transfer`` end to end.
Short clips (2-3 s), few filters and few iterations keep it fast; nothing is mocked."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, midistyle_cli

from midistyle.audio import spectral
from midistyle.audio.transfer import TransferSettings, UlyanovLoss, random_filters, spectrogram_frames, stylise
from midistyle.errors import MidistyleError

TINY = dict(filters=48, kernel=5, iterations=12, griffin_lim_iterations=30, waveform_iterations=8)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_transfer_loss_decreases_and_keeps_content_length(clips, optimizer):
    content, style = clips  # 2 s content, 3 s style: different lengths
    s = TransferSettings(optimizer=optimizer, learning_rate=0.05, **TINY)
    r = stylise(content, style, s)
    losses = [h["loss"] for h in r.history]
    assert losses[-1] < 0.5 * losses[0], losses
    assert len(r.waveform) == len(content)
    assert r.spectrogram.shape == (1025, spectral.n_frames(len(content)))
    assert np.all(np.isfinite(r.waveform)) and np.max(np.abs(r.waveform)) > 0.01
    assert 0 <= r.griffin_lim_convergence < 1.0
    assert np.all(r.spectrogram >= 0), "log1p magnitudes are never negative"
    # the final loss is that of the waveform returned, measured from scratch
    S, C = spectrogram_frames(style, s), spectrogram_frames(content, s)
    again = UlyanovLoss(S, C, C.shape[0], s)(spectrogram_frames(r.waveform, s))
    assert again[0] == pytest.approx(r.final["loss"], rel=1e-3)
    assert r.final["loss"] < r.history[[d.get("point") for d in r.history].index("griffin-lim")]["loss"]


def test_griffin_lim_waveform_keeps_the_level_of_the_optimised_spectrogram(clips):
    content, style = clips
    r = stylise(content, style, TransferSettings(**{**TINY, "waveform_iterations": 0, "griffin_lim_iterations": 60}))
    # nothing normalises the result: its analysis has the optimised spectrogram's level
    heard = spectral.log_magnitude(r.waveform)
    assert np.mean(heard) == pytest.approx(np.mean(r.spectrogram), rel=0.2)
    assert r.extra["limiter"]["limited_samples"] == 0 and r.extra["limiter"]["peak_in"] < 1


def test_bfloat16_loss_tracks_float32_and_reports_float32(clips):
    content, style = clips
    s32 = TransferSettings(**TINY)
    s16 = TransferSettings(precision="bfloat16", **TINY)
    S, C = spectrogram_frames(style, s32), spectrogram_frames(content, s32)
    w = random_filters(S.shape[1], s32.filters, s32.kernel, s32.seed)
    x = C + np.random.default_rng(0).normal(0, 0.3, C.shape).astype(np.float32)
    a = UlyanovLoss(S, C, C.shape[0], s32, weights=w)(x)
    b = UlyanovLoss(S, C, C.shape[0], s16, weights=w)(x)
    assert b[1] == pytest.approx(a[1], rel=0.03) and b[2] == pytest.approx(a[2], rel=0.03)
    cos = float(np.sum(a[3] * b[3]) / np.linalg.norm(a[3]) / np.linalg.norm(b[3]))
    assert cos > 0.99
    r = stylise(content, style, s16)
    end = next(d for d in r.history if d.get("point") == "spectrogram")
    assert end["precision"] == "float32"
    assert end["style_loss"] < 0.5 * r.history[0]["style_loss"]
    assert r.history[-1]["final"] and r.history[-1]["point"] == "output"


def test_fast_recipe_settings():
    from midistyle.audio.transfer import cpu_has_fast_bfloat16, fast_settings

    f = fast_settings(TransferSettings())
    assert (f.warm_filters, f.warm_iterations, f.iterations, f.filters) == (512, 150, 150, 4096)
    assert f.precision == ("bfloat16-grad" if cpu_has_fast_bfloat16() else "float32")
    with pytest.raises(MidistyleError, match="fast recipe"):
        fast_settings(TransferSettings(net="rnn", filters=16, kernel=1, optimizer="adam"))


def test_warm_start_runs_cheap_iterations_first_then_the_full_loss(clips):
    content, style = clips
    s = TransferSettings(warm_filters=12, warm_iterations=6, **TINY)
    r = stylise(content, style, s)
    phases = [h.get("phase") for h in r.history]
    assert phases[:6] == ["warm"] * 6 and phases[6] == "full"
    assert r.extra["warm_evaluations"] >= 6
    full = [h for h in r.history if h.get("phase") == "full"]
    assert full[-1]["style_loss"] < full[0]["style_loss"]
    with pytest.raises(MidistyleError, match="warm"):
        TransferSettings(warm_filters=48, warm_iterations=3, filters=48)


def test_texture_runs_from_style_only_and_is_deterministic(clips):
    style = clips[1]
    s = TransferSettings(content_weight=0.0, seed=3, **TINY)
    a = stylise(None, style, s, samples=int(1.5 * SR))
    b = stylise(None, style, s, samples=int(1.5 * SR))
    assert len(a.waveform) == int(1.5 * SR)
    assert a.history[-1]["content_loss"] == 0.0
    assert a.history[-1]["style_loss"] < a.history[0]["style_loss"]
    np.testing.assert_array_equal(a.waveform, b.waveform)
    c = stylise(None, style, TransferSettings(content_weight=0.0, seed=4, **TINY), samples=int(1.5 * SR))
    assert not np.array_equal(a.waveform, c.waveform)


def test_transfer_handles_clips_longer_than_the_reference_430_frames():
    rng = np.random.default_rng(0)
    long_c = (rng.standard_normal(int(10.5 * SR)) * 0.1).astype(np.float32)  # 453 frames
    short_s = (rng.standard_normal(int(1.0 * SR)) * 0.1).astype(np.float32)
    r = stylise(long_c, short_s, TransferSettings(filters=16, kernel=3, iterations=3, griffin_lim_iterations=2,
                                                  waveform_iterations=2))
    assert len(r.waveform) == len(long_c)
    assert r.spectrogram.shape[1] == spectral.n_frames(len(long_c)) > 430


def test_random_filters_are_seeded_glorot():
    w = random_filters(1025, 256, 11, seed=1)
    assert w.shape == (11, 1025, 256) and w.dtype == np.float32
    np.testing.assert_array_equal(w, random_filters(1025, 256, 11, seed=1))
    expected = np.sqrt(2) * np.sqrt(2.0 / ((1025 + 256) * 11))
    assert w.std() == pytest.approx(expected, rel=0.01)


def test_too_short_clip_is_a_clear_error(clips):
    with pytest.raises(MidistyleError, match="too short"):
        stylise(clips[0], clips[1][:1000], TransferSettings(**TINY))


def test_transfer_cli_end_to_end_with_plot(clip_files, tmp_path):
    out, png = tmp_path / "out.wav", tmp_path / "out.png"
    r = midistyle_cli("audio", "transfer", "--content", clip_files / "content.wav", "--style",
                      clip_files / "style.flac", "-o", out, "--filters", 32, "--kernel", 5, "--iterations", 6,
                      "--griffin-lim-iterations", 10, "--waveform-iterations", 4, "--plot", png, "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    y, sr = sf.read(out)
    assert sr == SR and len(y) == len(sf.read(clip_files / "content.wav")[0])
    assert png.stat().st_size > 10000
    assert info["iterations"] >= 1 and info["style_loss"] < info["settings"]["filters"] ** 2 * 1e6
    # the file read back has the loss reported (16-bit rounding only), and the stages are reported
    assert info["settings"]["waveform_iterations"] == 4
    assert info["written"]["relative_to_final"] == pytest.approx(1.0, rel=0.01)
    assert info["spectrogram_loss"]["loss"] > 0 and info["griffin_lim_loss"]["loss"] > 0
    # refuses to overwrite without --force, and never the input even with it
    r = midistyle_cli("audio", "transfer", "--content", clip_files / "content.wav", "--style",
                      clip_files / "style.flac", "-o", out, "--iterations", 1)
    assert r.returncode == 2 and "exists" in r.stderr
    r = midistyle_cli("audio", "texture", "--style", clip_files / "style.flac", "-o", clip_files / "style.flac",
                      "--force", "--iterations", 1)
    assert r.returncode == 2 and "refusing to overwrite the input" in r.stderr
