"""Waveform path and audio style transfer: render, spectral tools, Ulyanov transfer / texture,
audio metrics and the command-line errors of the audio commands.

Short clips (2-3 s), few filters and few iterations keep the suite fast; nothing is mocked.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, TPD, simple_notes_midi

from midistyle.audio import spectral
from midistyle.audio.render import SOFT_PEDAL_GAIN, release_times, render_midi, render_notes
from midistyle.audio.transfer import TransferSettings, UlyanovLoss, random_filters, spectrogram_frames, stylise
from midistyle.errors import InputError, MidistyleError

SR = 22050
NOTE_DT = [("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8")]
PEDAL_DT = [("time", "f8"), ("cc", "i2"), ("value", "i2")]
TINY = dict(filters=48, kernel=5, iterations=12, griffin_lim_iterations=30, waveform_iterations=8)


def midistyle_cli(*args, cwd=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "midistyle", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


def notes(rows):
    return np.array(rows, dtype=NOTE_DT)


@pytest.fixture(scope="module")
def clips():
    """A 2 s content clip and a 3 s style clip rendered from generated MIDI (different lengths)."""
    c = notes([(60 + (i % 5) * 2, 90, 0.25 * i, 0.25 * i + 0.4) for i in range(8)])
    s = notes([(48 + (i * 7) % 24, 70 + (i % 3) * 15, 0.15 * i, 0.15 * i + 0.12) for i in range(19)])
    return (render_notes(c, sr=SR, duration=2.0), render_notes(s, sr=SR, duration=3.0))


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory, clips):
    d = tmp_path_factory.mktemp("clips")
    sf.write(d / "content.wav", clips[0], SR)
    sf.write(d / "style.flac", clips[1], SR)
    return d


#: The issue's kind of clips, shorter: rendered jazz as content, rendered classical as style (shared TPD).
TPD_CONTENT = ("jazz", "A Sleepin' Bee.mid", 20.0, 2.0)
TPD_STYLE = ("classical", "ADIG01.mid", 20.0, 2.5)


def render_tpd(genre: str, name: str, start: float, seconds: float) -> np.ndarray:
    """``seconds`` of a shared TPD piece from ``start``, rendered through the SoundFont path."""
    import midistyle
    from midistyle.audio.render import render_performance

    path = TPD / genre / name
    if not path.is_file():
        pytest.skip(f"shared TPD file missing: {path}")
    return render_performance(midistyle.read(path), start=start, duration=seconds, sr=SR)


@pytest.fixture(scope="module")
def tpd_wavs(tmp_path_factory):
    """(content path, style path, content waveform, style waveform): 2 s of rendered jazz and 2.5 s
    of rendered classical from the shared TPD, written as 16-bit WAV and read back."""
    from midistyle.audio.files import read_audio

    d = tmp_path_factory.mktemp("tpd")
    out = []
    for spec, name in ((TPD_CONTENT, "content.wav"), (TPD_STYLE, "style.wav")):
        sf.write(d / name, render_tpd(*spec), SR, subtype="PCM_16")
        out.append(d / name)
    return (*out, *(read_audio(p, SR) for p in out))


# ----------------------------------------------------------------------------- render
def test_render_onsets_match_midi_notes(tmp_path):
    import librosa

    starts = [0.2, 0.7, 1.2, 1.7, 2.2]
    path = simple_notes_midi(tmp_path / "n.mid", [(57 + 3 * i, 100, s * 2, s * 2 + 0.6) for i, s in enumerate(starts)])
    y = render_midi(path, sr=SR)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    assert np.sqrt(np.mean(y ** 2)) > 0.01, "rendered audio is silent"
    assert len(y) / SR >= 2.2 + 0.3
    onsets = librosa.onset.onset_detect(y=y, sr=SR, units="time", backtrack=True)
    assert len(onsets) == len(starts), onsets
    assert np.max(np.abs(onsets - np.array(starts))) < 0.05, onsets


def test_render_pitch_is_right():
    for key in (45, 69, 84):
        y = render_notes(notes([(key, 100, 0.0, 1.0)]), sr=SR)
        seg = y[2205:2205 + 8192] * np.hanning(8192)
        spec = np.abs(np.fft.rfft(seg, 65536))
        f = np.fft.rfftfreq(65536, 1 / SR)
        f0 = 440 * 2 ** ((key - 69) / 12)
        band = (f > f0 * 0.94) & (f < f0 * 1.06)
        got = f[band][np.argmax(spec[band])]
        assert abs(1200 * np.log2(got / f0)) < 15, (key, got, f0)


def test_sustain_pedal_holds_notes_and_soft_pedal_softens():
    n = notes([(60, 100, 0.0, 0.3)])
    dry = render_notes(n, sr=SR, duration=2.0, normalize=False)
    pedals = np.array([(0.0, 64, 127), (1.5, 64, 0)], dtype=PEDAL_DT)
    wet = render_notes(n, pedals, sr=SR, duration=2.0, normalize=False)
    window = slice(int(0.8 * SR), int(1.2 * SR))
    rms = lambda y: float(np.sqrt(np.mean(y[window] ** 2)))  # noqa: E731
    assert rms(wet) > 30 * rms(dry)
    assert release_times(n, pedals)[0] == pytest.approx(1.5)
    soft = render_notes(n, np.array([(0.0, 67, 127)], dtype=PEDAL_DT), sr=SR, duration=1.0, normalize=False)
    plain = render_notes(n, sr=SR, duration=1.0, normalize=False)
    assert np.max(np.abs(soft)) == pytest.approx(SOFT_PEDAL_GAIN * np.max(np.abs(plain)), rel=1e-4)
    # a key struck again releases the voice the pedal was holding
    two = notes([(60, 100, 0.0, 0.3), (60, 100, 1.0, 1.3)])
    assert release_times(two, pedals)[0] == pytest.approx(1.0)


def test_render_cli_writes_wav_and_protects_outputs(tmp_path, rich_midi):
    out = tmp_path / "rich.wav"
    r = midistyle_cli("render", rich_midi, "-o", out, "--sr", 16000, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    y, sr = sf.read(out, dtype="int16")
    assert sr == 16000 and y.dtype == np.int16 and np.abs(y).max() > 1000
    assert info["seconds"] == pytest.approx(len(y) / sr)
    r = midistyle_cli("render", rich_midi, "-o", out)
    assert r.returncode == 2 and r.stderr.strip().endswith("exists; choose another output or allow overwriting "
                                                           "(use --force to overwrite)")
    r = midistyle_cli("render", rich_midi, "-o", out, "--force", "--float", "--quiet")
    assert r.returncode == 0 and r.stdout == ""
    assert sf.info(out).subtype == "FLOAT"


# ----------------------------------------------------------------------------- spectral
def test_stft_istft_round_trip_and_griffin_lim(clips):
    y = clips[0]
    S = spectral.stft(y)
    assert S.shape == (1025, spectral.n_frames(len(y)))
    assert np.max(np.abs(spectral.istft(S, length=len(y)) - y)) < 1e-4
    rec, sc = spectral.griffin_lim(np.abs(S), n_iter=60, length=len(y), seed=0)
    assert len(rec) == len(y)
    assert sc < 0.12
    assert spectral.spectral_convergence(np.abs(S), rec) == pytest.approx(sc)


def test_gram_kernel_form_equals_direct_form():
    from midistyle.nn.gram import gram_np, style_loss_np

    rng = np.random.default_rng(0)
    F, Fs = np.maximum(rng.standard_normal((30, 200)), 0), np.maximum(rng.standard_normal((45, 200)), 0)
    direct = float(np.sum(np.square(gram_np(F) - gram_np(Fs))))
    assert style_loss_np(F, Fs) == pytest.approx(direct, rel=1e-6)
    S = rng.random((60, 40)).astype(np.float32)
    x = rng.random((50, 40)).astype(np.float32)
    out = {}
    for form in ("kernel", "direct"):
        s = TransferSettings(filters=64, kernel=5, gram_form=form, content_weight=0.0)
        out[form] = UlyanovLoss(S, None, 50, s)(x)
    assert out["kernel"][1] == pytest.approx(out["direct"][1], rel=1e-4)
    g1, g2 = out["kernel"][3], out["direct"][3]
    assert np.max(np.abs(g1 - g2)) <= 1e-4 * np.max(np.abs(g2))


# ----------------------------------------------------------------------------- transfer
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


@pytest.mark.parametrize("net", ["cnn", "rnn", "bilstm"])
def test_seed000_networks_lower_the_loss_with_adam(clips, net):
    from midistyle.audio.gramnets import net_defaults

    content, style = clips
    nd = net_defaults(net)
    assert nd["optimizer"] == "adam"
    s = TransferSettings(net=net, filters=48 if net == "cnn" else 24, kernel=nd["kernel"], optimizer="adam",
                         learning_rate=0.05, iterations=15, griffin_lim_iterations=10, waveform_iterations=3)
    r = stylise(content, style, s)
    assert r.history[-1]["style_loss"] < 0.5 * r.history[0]["style_loss"], [h["style_loss"] for h in r.history]
    assert r.history[-1]["content_loss"] > 0
    assert len(r.waveform) == len(content) and np.all(np.isfinite(r.waveform))
    again = stylise(content, style, s)
    np.testing.assert_array_equal(r.waveform, again.waveform)


def test_recurrent_gram_loss_gradient_matches_finite_differences(clips):
    from midistyle.audio.gramnets import RecurrentGramLoss

    s = TransferSettings(net="bilstm", filters=8, kernel=1, content_weight=0.5)
    S = spectrogram_frames(clips[1], s)[:, :64]
    C = spectrogram_frames(clips[0], s)[:20, :64]
    loss = RecurrentGramLoss(S, C, 20, s)
    x = np.random.default_rng(0).standard_normal((20, 64)).astype(np.float32) * 0.5
    L, sl, cl, g = loss(x)
    assert L == pytest.approx(sl + cl, rel=1e-5) and sl > 0 and cl > 0
    d = np.zeros_like(x)
    d[3, 5], d[11, 40] = 1.0, -1.0
    eps = 1e-2
    num = (loss(x + eps * d)[0] - loss(x - eps * d)[0]) / (2 * eps)
    assert num == pytest.approx(float(np.sum(g * d)), rel=0.05, abs=1e-4 * abs(L))


def test_net_option_in_the_cli(clip_files, tmp_path):
    out = tmp_path / "rnn.wav"
    r = midistyle_cli("audio", "transfer", "--content", clip_files / "content.wav", "--style",
                      clip_files / "style.flac", "-o", out, "--net", "rnn", "--filters", 16, "--iterations", 4,
                      "--griffin-lim-iterations", 5, "--waveform-iterations", 2, "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["settings"]["net"] == "rnn" and info["settings"]["optimizer"] == "adam"
    assert len(sf.read(out)[0]) == len(sf.read(clip_files / "content.wav")[0])
    r = midistyle_cli("audio", "transfer", "--content", clip_files / "content.wav", "--style",
                      clip_files / "style.flac", "-o", tmp_path / "x.wav", "--net", "rnn", "--method", "multi")
    assert r.returncode == 2 and "--net, --fast, --warm-* and --precision belong to --method ulyanov" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


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


@pytest.mark.parametrize("kind", ["audio", "midi", "missing", "empty"])
def test_corrupt_inputs_exit_2_with_one_line(tmp_path, clip_files, kind):
    bad = {"audio": tmp_path / "bad.wav", "midi": tmp_path / "bad.mid", "missing": tmp_path / "none.flac",
           "empty": tmp_path / "empty.wav"}[kind]
    if kind == "audio":
        bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio" * 3)
    elif kind == "midi":
        bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x90\x3c")
    elif kind == "empty":
        bad.write_bytes(b"")
    r = midistyle_cli("audio", "transfer", "--content", bad, "--style", clip_files / "style.flac",
                      "-o", tmp_path / "o.wav", "--iterations", 1, "--quiet")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("midistyle: error: ") and str(bad) in lines[0], r.stderr
    assert not (tmp_path / "o.wav").exists()
    if kind == "midi":
        r = midistyle_cli("render", bad, "-o", tmp_path / "o.wav")
        assert r.returncode == 2 and r.stderr.startswith("midistyle: error: ")


def test_load_input_reads_audio_and_midi(clip_files, tmp_path):
    from midistyle.audio.files import load_input

    y = load_input(clip_files / "style.flac", 16000)
    assert abs(len(y) - 3.0 * 16000) <= 1
    path = simple_notes_midi(tmp_path / "m.mid", [(60, 90, 0, 1)])
    assert np.max(np.abs(load_input(path, SR))) > 0.5
    with pytest.raises(InputError, match="no such file"):
        load_input(tmp_path / "nope.wav", SR)


# ----------------------------------------------------------------------------- the audio written, judged
#: Small settings of each spectrogram method for the judged end-to-end tests (2 s of audio).
#: (The judge is the full reference network, 4096 filters; fewer than about 1024 filters here do
#: not carry the style it measures.)
JUDGED = {
    "conv1d": dict(filters=1024, kernel=11, iterations=30),
    "cnn": dict(net="cnn", filters=1024, kernel=3, optimizer="lbfgs", iterations=30),
    "texture": dict(filters=1024, kernel=11, iterations=30, content_weight=0.0),
}
RECURRENT = {"rnn": dict(net="rnn", filters=256, kernel=1, optimizer="adam", iterations=150),
             "bilstm": dict(net="bilstm", filters=32, kernel=1, optimizer="adam", iterations=30)}


def judged_transfer(tpd_wavs, tmp_path, settings: TransferSettings) -> tuple:
    """Run :func:`transfer_files` (the path of ``midistyle audio transfer``) on the TPD clips; return
    its summary, the written file read back and the judge's verdict on it."""
    from midistyle.audio.evaluate import judge_settings, style_verdict
    from midistyle.audio.files import read_audio
    from midistyle.audio.transfer import transfer_files

    c, s, yc, ys = tpd_wavs
    out = tmp_path / "result.wav"
    texture = settings.content_weight == 0
    info = transfer_files(None if texture else c, s, out, settings, seconds=len(yc) / SR if texture else None)
    y = read_audio(out, SR)
    assert len(y) == len(yc) and np.all(np.isfinite(y))
    verdict = style_verdict(y, ys, yc, judge=judge_settings(settings.seed), transfer_seed=settings.seed)
    return info, y, verdict


def reanalysed_loss(y, tpd_wavs, settings: TransferSettings) -> float:
    """The transfer's loss of a waveform, measured from scratch (a new loss object, same seed)."""
    from midistyle.audio.gramnets import RecurrentGramLoss

    _, _, yc, ys = tpd_wavs
    S = spectrogram_frames(ys, settings)
    C = spectrogram_frames(yc, settings) if settings.content_weight > 0 else None
    frames = spectral.n_frames(len(y), settings.hop)
    cls = RecurrentGramLoss if settings.net in ("rnn", "bilstm") else UlyanovLoss
    return cls(S, C, frames, settings)(spectrogram_frames(y, settings))[0]


@pytest.fixture(scope="module")
def judged(tpd_wavs, tmp_path_factory):
    """``judged(method) -> (settings, summary, file read back, verdict)``, each method run once."""
    done = {}

    def run(method):
        if method not in done:
            s = TransferSettings(griffin_lim_iterations=30, waveform_iterations=15, **{**JUDGED, **RECURRENT}[method])
            done[method] = (s, *judged_transfer(tpd_wavs, tmp_path_factory.mktemp(method), s))
        return done[method]
    return run


RECURRENT_FAILS = pytest.mark.xfail(
    strict=True, reason="seed 000's random recurrent Gram networks are matched by quiet spectrograms that an "
                        "independent Conv1D judge does not find closer to the style (issue 16)")


@pytest.mark.parametrize("method", [*sorted(JUDGED), *sorted(RECURRENT)])
def test_written_file_carries_the_loss_the_optimiser_reached(tpd_wavs, judged, method):
    s, info, y, _ = judged(method)
    # re-analysed from scratch (a new loss object, same seed), within 10 %
    assert reanalysed_loss(y, tpd_wavs, s) == pytest.approx(info["loss"], rel=0.1)
    assert info["written"]["relative_to_final"] == pytest.approx(1.0, rel=0.1)
    assert info["loss"] < info["griffin_lim_loss"]["loss"]  # the waveform stage improved on Griffin-Lim


@pytest.mark.parametrize("method", [*sorted(JUDGED),
                                    *(pytest.param(n, marks=RECURRENT_FAILS) for n in sorted(RECURRENT))])
def test_written_result_is_closer_to_the_style_under_an_independent_judge(judged, method):
    _, _, _, verdict = judged(method)
    assert verdict["network"]["independent"] and verdict["network"]["filters"] == 4096
    assert verdict["ratio"] <= 1 / 3, verdict
