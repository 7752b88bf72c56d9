"""midistyle.audio.gramnets (seed 000's cnn, rnn, bilstm feature networks) and ``--net`` on the command
line. Short rendered clips; nothing is mocked."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import midistyle_cli

from midistyle.audio.transfer import TransferSettings, spectrogram_frames, stylise


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
    assert info["settings"]["envelope_weight"] == 10.0          # the recurrent nets' default
    assert len(sf.read(out)[0]) == len(sf.read(clip_files / "content.wav")[0])
    r = midistyle_cli("audio", "transfer", "--content", clip_files / "content.wav", "--style",
                      clip_files / "style.flac", "-o", tmp_path / "x.wav", "--net", "rnn", "--method", "multi")
    assert r.returncode == 2 and "--net, --fast, --warm-*, --precision and --envelope-weight belong to --method ulyanov" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
