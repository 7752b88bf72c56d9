"""``midistyle evaluate audio`` (midistyle.audio.evaluate): the independent judge network, its seed in
the output, the verdict and its flag, and the rhythm / copy metrics. Short rendered clips; nothing
is mocked."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import midistyle_cli

from midistyle.audio.evaluate import (JUDGE_SEED_OFFSET, judge_settings, style_verdict, transfer_losses)
from midistyle.audio.transfer import TransferSettings
from midistyle.errors import MidistyleError


def test_metrics_copy_detection_and_ioi_kl(clips):
    from midistyle.audio.evaluate import ioi_histogram, kl_divergence, max_normalised_xcorr

    c, s = clips
    shifted = np.concatenate([np.zeros(1234, np.float32), s])
    assert max_normalised_xcorr(shifted, s)["value"] == pytest.approx(1.0, abs=1e-6)
    assert max_normalised_xcorr(c, s)["value"] < 0.5
    p = ioi_histogram([0, 0.5, 1.0, 1.5, 2.0])
    q = ioi_histogram([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert p.sum() == pytest.approx(1.0)
    assert kl_divergence(p, p) == pytest.approx(0.0)
    assert kl_divergence(p, q) > 0.5


def test_judge_is_another_draw_of_the_reference_network():
    j = judge_settings(0)
    assert (j.filters, j.kernel, j.activation, j.seed) == (4096, 11, "relu", JUDGE_SEED_OFFSET)
    assert judge_settings(7).seed == 7 + JUDGE_SEED_OFFSET
    assert judge_settings(7, seed=3).seed == 3
    with pytest.raises(MidistyleError, match="judge network: filters") as err:
        judge_settings(0, filters=0)
    assert err.value.field == "judge_filters"       # the command line names --judge-filters


def test_verdict_ratio_and_flag(clips):
    content, style = clips
    judge = judge_settings(0, filters=512)
    same = style_verdict(content, style, content, judge=judge, transfer_seed=0)
    assert same["ratio"] == pytest.approx(1.0) and not same["closer_to_style"]
    assert same["flag"] and "not closer to the style" in same["flag"]
    assert same["network"]["seed"] == judge.seed and same["network"]["independent"]
    styled = style_verdict(style, style, content, judge=judge)
    assert styled["closer_to_style"] and styled["flag"] is None and styled["ratio"] < 1e-6
    # a judge drawn from the transfer's own seed is said not to be independent
    assert not style_verdict(style, style, content, judge=judge_settings(0, seed=0, filters=64),
                             transfer_seed=0)["network"]["independent"]


def test_evaluate_audio_cli_reports_the_judge_and_its_seed(clip_files, tmp_path):
    from midistyle.audio.genre import model_path

    model_path()  # the shipped classifier must exist
    c, s = clip_files / "content.wav", clip_files / "style.flac"
    # the content itself as the "result": not closer to the style, so it is flagged
    r = midistyle_cli("evaluate", "audio", "--content", c, "--style", s, "--result", c, "--seed", 3,
                      "--filters", 48, "--kernel", 5, "--judge-filters", 1024)
    assert r.returncode == 0, r.stderr
    assert "judge: independent network, Conv1D 1024 filters x 11, relu, seed 1003 (the transfer's seed: 3)" in r.stdout
    assert "result / content  1" in r.stdout
    assert "FLAG: the result is not closer to the style than the content" in r.stdout
    # JSON: the judge's figures are those of the library, on the files as read
    y = {k: sf.read(p, dtype="float32")[0] for k, p in (("c", c), ("s", s))}
    r = midistyle_cli("evaluate", "audio", "--content", c, "--style", s, "--result", s, "--filters", 48,
                      "--kernel", 5, "--judge-filters", 1024, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    j = d["judge"]
    assert j["network"] == {"net": "conv1d", "filters": 1024, "kernel": 11, "activation": "relu",
                            "seed": JUDGE_SEED_OFFSET, "independent": True}
    ref = transfer_losses(y["s"], y["s"], y["c"], judge_settings(0, filters=1024))
    assert j["style_loss_content"] == pytest.approx(ref["style_loss_content_vs_style"], rel=1e-6)
    assert j["style_loss_result"] < 1e-6 * j["style_loss_content"]
    assert j["closer_to_style"] and j["flag"] is None and j["ratio"] < 1e-6
    # the transfer's own filters are reported beside the judge
    own = transfer_losses(y["s"], y["s"], y["c"], TransferSettings(filters=48, kernel=5))
    assert d["losses_transfer_network"]["style_loss_content_vs_style"] == pytest.approx(
        own["style_loss_content_vs_style"], rel=1e-6)
    for k in ("content", "style", "result"):
        assert sum(d["genre_probabilities"][k].values()) == pytest.approx(1.0, abs=1e-5)
    assert d["xcorr_result_style"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert d["ioi"]["kl_result_style"] == pytest.approx(0.0, abs=1e-9)
    r = midistyle_cli("evaluate", "audio", "--content", c, "--style", s, "--result", tmp_path / "missing.wav")
    assert r.returncode == 2 and "no such file" in r.stderr
