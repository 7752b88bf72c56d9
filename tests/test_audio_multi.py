"""Multi-representation (STFT + Mel + CQT) waveform-domain transfer, tiny settings on rendered clips."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, midistyle_cli, notes

from midistyle.audio.multi import PRESETS, MultiLoss, MultiSettings, cqt_frequencies, cqt_matrix, stylise_multi
from midistyle.audio.render import render_notes
from midistyle.errors import MidistyleError

TINY = dict(stft_filters=32, mel_filters=16, mel_blocks=2, cqt_filters=4, iterations=6)


@pytest.fixture(scope="module")
def clips():
    c = notes([(60 + (i % 5) * 2, 90, 0.25 * i, 0.25 * i + 0.4) for i in range(7)])
    s = notes([(48 + (i * 7) % 24, 70 + (i % 3) * 15, 0.15 * i, 0.15 * i + 0.12) for i in range(15)])
    return render_notes(c, sr=SR, duration=1.6), render_notes(s, sr=SR, duration=2.4)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_each_preset_lowers_its_loss_and_keeps_the_content_length(clips, preset):
    content, style = clips
    r = stylise_multi(content, style, MultiSettings(preset=preset, **TINY))
    assert len(r.waveform) == len(content) and np.all(np.isfinite(r.waveform))
    start, end = r.history[0], r.history[-1]
    assert start.get("start") and end.get("final")
    assert end["loss"] < 0.7 * start["loss"], (start, end)
    nets = set(PRESETS[preset])
    assert {t.split("_")[0] for t in r.extra["weights"]} == nets
    # every active term is lower at the end than at the start
    for t, v in r.extra["terms_final"].items():
        assert v < r.extra["terms_start"][t], t


def test_gradient_norm_weighting_gives_unit_norms_at_the_start(clips):
    content, style = clips
    s = MultiSettings(preset="full", terms={"cqt_content": 3.0}, **TINY)
    loss = MultiLoss(style, content, len(content), s)
    y0 = (np.random.default_rng(5).standard_normal(len(content)) * 0.01).astype(np.float32)
    raw = loss.normalise(y0)
    assert len(loss.names) == 6 and all(raw[t] > 0 for t in loss.names)
    weighted = {t: raw[t] * loss.weights[t] for t in loss.names}
    for t, v in weighted.items():
        assert v == pytest.approx(3.0 if t == "cqt_content" else 1.0, rel=1e-4), t
    # the raw norms really differ, so the normalisation does something
    assert max(raw[t] for t in loss.names) > 3 * min(raw[t] for t in loss.names)


def test_texture_uses_style_terms_only_and_is_deterministic(clips):
    _, style = clips
    s = MultiSettings(preset="stft+cqt", **TINY)
    a = stylise_multi(None, style, s, samples=SR)
    b = stylise_multi(None, style, s, samples=SR)
    assert len(a.waveform) == SR
    assert set(a.extra["weights"]) == {"stft_style", "cqt_style"}
    np.testing.assert_array_equal(a.waveform, b.waveform)
    assert a.history[-1]["content_loss"] == 0


def test_cqt_content_is_key_invariant_and_bands_are_pitches():
    s = MultiSettings()
    f = cqt_frequencies(s)
    assert len(f) == 86 and f[0] == pytest.approx(32.70, abs=0.01)  # C1
    assert f[-1] == pytest.approx(4434.9, rel=1e-3)  # C#8: 86 semitone bands from C1
    W = cqt_matrix(s)
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=1e-5)
    # an A4 sine lights the A4 band most
    from midistyle.audio.spectral import stft
    y = np.sin(2 * np.pi * 440 * np.arange(SR) / SR).astype(np.float32)
    band = (np.abs(stft(y)).T @ W).mean(axis=0)
    assert int(np.argmax(band)) == 45  # A4 (MIDI 69) is 45 semitones above C1 (MIDI 24)


def test_cqt_content_moves_less_under_transposition_than_stft_content():
    from midistyle.audio.multi import MultiNetworks

    def melody(shift):
        rows = [(60 + shift + (0, 4, 7, 12, 7, 4)[i % 6], 90, 0.2 * i, 0.2 * i + 0.3) for i in range(8)]
        return render_notes(notes(rows), sr=SR, duration=2.0)

    nets = MultiNetworks(MultiSettings(stft_filters=64, cqt_filters=8))
    a, b = melody(0), melody(3)

    def rel(net):
        ca, cb = (nets.targets(y, [net], style=False)[net].numpy() for y in (a, b))
        return float(np.linalg.norm(ca - cb) / np.linalg.norm(ca))

    assert rel("cqt") < 0.7 * rel("stft")


def test_sparsity_and_bad_settings(clips):
    content, style = clips
    with pytest.raises(MidistyleError, match="unknown loss term"):
        MultiSettings(terms={"stft_colour": 1})
    with pytest.raises(MidistyleError, match="preset"):
        MultiSettings(preset="everything")
    with pytest.raises(MidistyleError, match="every loss term off"):
        MultiSettings(preset="stft", terms={"stft_style": 0, "stft_content": 0})
    plain = stylise_multi(content, style, MultiSettings(preset="stft", **TINY))
    sparse = stylise_multi(content, style, MultiSettings(preset="stft", sparsity=5.0, **TINY))
    l1 = [float(np.mean(np.abs(r.spectrogram))) for r in (plain, sparse)]
    assert l1[1] < l1[0]


def test_cli_multi_transfer_json_and_plot(clips, tmp_path):
    content, style = clips
    sf.write(tmp_path / "c.wav", content, SR)
    sf.write(tmp_path / "s.flac", style, SR)
    out, png = tmp_path / "o.wav", tmp_path / "o.png"
    r = midistyle_cli("audio", "transfer", "--method", "multi", "--preset", "stft+mel", "--content", tmp_path / "c.wav",
                      "--style", tmp_path / "s.flac", "-o", out, "--filters", 32, "--mel-filters", 16,
                      "--iterations", 4, "--plot", png, "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["method"] == "multi" and d["griffin_lim_convergence"] is None
    assert set(d["weights"]) == {"stft_style", "stft_content", "mel_style", "mel_content"}
    assert len(sf.read(out)[0]) == len(content) and png.stat().st_size > 10000
    r = midistyle_cli("audio", "transfer", "--method", "multi", "--terms", "stft_style", "--content",
                      tmp_path / "c.wav", "--style", tmp_path / "s.flac", "-o", tmp_path / "x.wav")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--terms" in r.stderr


def test_key_invariance_command_produces_its_table_and_plot(tmp_path):
    png = tmp_path / "k.png"
    r = midistyle_cli("evaluate", "key-invariance", "--offsets=-2,0,2", "--iterations", 3, "--filters", 32,
                      "--cqt-filters", 4, "--seconds", 1.5, "--plot", png, "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["offsets"] == [-2, 0, 2] and len(d["representations"]) == 2
    for name in d["representations"]:
        assert len(d["mse"][name]) == 3 and all(np.isfinite(v) and v > 0 for v in d["mse"][name])
    assert 0 <= d["wins"] <= d["nonzero_offsets"] == 2
    assert png.stat().st_size > 5000
    r = midistyle_cli("evaluate", "key-invariance", "--offsets", "up", "--quiet")
    assert r.returncode == 2 and "--offsets" in r.stderr and r.stderr.count("\n") == 1


#: Small settings of the judged end-to-end test (2 s of audio).
JUDGED = dict(iterations=60)


def test_written_result_carries_its_loss_and_is_closer_to_the_style(tpd_wavs, tmp_path):
    from midistyle.audio.evaluate import judge_settings, style_verdict
    from midistyle.audio.files import read_audio
    from midistyle.audio.transfer import transfer_files

    c, s, yc, ys = tpd_wavs
    settings = MultiSettings(**JUDGED)
    info = transfer_files(c, s, tmp_path / "r.wav", settings)
    y = read_audio(tmp_path / "r.wav", SR)
    # no normalisation: the file has the level the waveform was optimised at (only clipping protection)
    assert info["limiter"]["limited_samples"] == 0 or info["limiter"]["max_reduction_db"] < 1.0
    # the file's loss, measured from scratch (new networks, same seed; the run's term weights): within 10 %
    fresh = MultiLoss(ys, yc, len(yc), settings)
    fresh(y)
    again = sum(info["weights"][t] * v for t, v in fresh.last_terms.items())
    assert again == pytest.approx(info["loss"], rel=0.1)
    verdict = style_verdict(y, ys, yc, judge=judge_settings(settings.seed), transfer_seed=settings.seed)
    assert verdict["network"]["independent"]
    assert verdict["ratio"] <= 1 / 3, verdict

