"""The tempo (rubato) model: beat features and curves from ticks and tempo maps, classes, the
tempo events a curve becomes, the shipped model on real sequenced pieces, a tiny model trained
here (NumPy runtime = Keras)."""
from __future__ import annotations

import os
import shutil

import mido
import numpy as np
import pytest

import midistyle
from midistyle.codec.dataset import split_files
from midistyle.registry import find
from midistyle.beats import beat_curve, has_rubato, on_beat_grid, tempo_curve
from midistyle.tempo import (BEAT_FEATURE_NAMES, TempoConfig, TempoModel, beat_features, curve_statistics, select_pieces,
                             tempo_events, train)

from conftest import TPD, save_tracks

TPB = 480


def grid_score(path, tempi=((0, 500000),), beats=32, velocity=64):
    """A 4/4 piece on an eighth-note grid: a melody and a bass note per bar, with a tempo map."""
    events = [(t, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempi]
    for k in range(beats * 2):
        a = k * TPB // 2
        events += [(a, mido.Message("note_on", note=60 + (k * 5) % 12, velocity=velocity)),
                   (a + TPB // 2, mido.Message("note_off", note=60 + (k * 5) % 12))]
        if k % 8 == 0:
            events += [(a, mido.Message("note_on", note=40, velocity=velocity)),
                       (a + 4 * TPB, mido.Message("note_off", note=40))]
    return save_tracks(path, [events], tpb=TPB, midi_type=0)


def test_beat_curve_reads_the_tempo_map(tmp_path):
    tempi = [(0, 500000), (4 * TPB, 600000), (6 * TPB + TPB // 2, 400000)]
    perf = midistyle.read(grid_score(tmp_path / "s.mid", tempi))
    c = beat_curve(perf)
    assert len(c) == 32
    assert np.allclose(np.exp(c[:4]), 0.5) and np.allclose(np.exp(c[4:7]), 0.6) and np.allclose(np.exp(c[7:]), 0.4)
    sec, bpm = tempo_curve(perf)
    assert np.allclose(bpm[:4], 120) and sec[4] == pytest.approx(2.0) and sec[5] == pytest.approx(2.6)
    assert on_beat_grid(perf) and not has_rubato(perf)          # three sectional tempo marks are no rubato
    assert not has_rubato(midistyle.read(grid_score(tmp_path / "flat.mid")))
    per_beat = [(b * TPB, int(500000 * (1.1 if b % 3 else 0.9))) for b in range(32)]
    assert has_rubato(midistyle.read(grid_score(tmp_path / "rubato.mid", per_beat)))


def test_beat_features_read_ticks_only(tmp_path):
    a = midistyle.read(grid_score(tmp_path / "a.mid", velocity=30))
    b = midistyle.read(grid_score(tmp_path / "b.mid", tempi=((0, 800000), (TPB * 3, 300000)), velocity=110))
    Xa, Xb = beat_features(a), beat_features(b)
    assert Xa.shape == (32, len(BEAT_FEATURE_NAMES)) and np.isfinite(Xa).all()
    assert np.array_equal(Xa, Xb)                      # velocities and tempo never read
    col = {n: i for i, n in enumerate(BEAT_FEATURE_NAMES)}
    assert np.array_equal(Xa[:, col["downbeat"]], (np.arange(32) % 4 == 0).astype(np.float32))
    assert Xa[-1, col["last_bar"]] == 1 and Xa[0, col["first_bar"]] == 1


def test_classes_round_trip():
    cfg = TempoConfig()
    d = np.linspace(-0.45, 0.45, 101)
    assert np.abs(cfg.from_class(cfg.to_class(d)) - d).max() <= cfg.span / (cfg.bins - 1) + 1e-12
    assert cfg.to_class([-5, 5]).tolist() == [0, cfg.bins - 1]
    with pytest.raises(Exception):
        TempoConfig(bins=1)


def test_tempo_events_keep_the_score_tempo_around_the_rubato(tmp_path):
    tempi = [(0, 500000), (16 * TPB, 750000)]
    perf = midistyle.read(grid_score(tmp_path / "s.mid", tempi))
    assert tempo_events(perf, np.zeros(32)) == [(0, 500000), (16 * TPB, 750000)]
    dev = np.where(np.arange(32) % 2 == 0, 0.1, -0.1)
    ev = tempo_events(perf, dev)
    assert len(ev) == 32 and ev[0] == (0, int(round(500000 * np.exp(0.1))))
    assert ev[17] == (17 * TPB, int(round(750000 * np.exp(-0.1))))


def test_curve_statistics():
    t = np.arange(200)
    smooth = 0.05 * np.sin(t / 10.0)
    s = curve_statistics(smooth)
    assert s["std"] == pytest.approx(smooth.std(), rel=1e-6) and s["lag1"] > 0.9
    assert abs(curve_statistics(np.random.default_rng(0).normal(0, 0.05, 2000))["lag1"]) < 0.1


@pytest.fixture(scope="module")
def sequenced_validation():
    sp = split_files([(g, str(TPD / g)) for g in ("classical", "jazz")])
    perfs, _ = select_pieces(sp["classical"]["val"])
    assert len(perfs) >= 4
    return perfs


@pytest.mark.data
def test_shipped_tempo_model_draws_rubato_like_players(sequenced_validation):
    tm = TempoModel.load(find("tempo", "classical").path)
    perf = sequenced_validation[0]
    a, b = tm.sample(perf, seed=1), tm.sample(perf, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, tm.sample(perf, seed=2))
    assert len(a) == len(beat_curve(perf)) and abs(a.mean()) < 1e-9
    stds = [curve_statistics(tm.sample(p, seed=0))["std"] for p in sequenced_validation]
    real = [curve_statistics(beat_curve(p))["std"] for p in sequenced_validation]
    assert max(stds) <= tm.meta["max_std"] + 1e-9                # a drifting draw is scaled to the players' range
    ratio = np.median(np.array(stds) / np.array(real))
    assert 0.5 < ratio < 2.0, ratio                      # the spread of real rubato, not a metronome
    lag = np.median([curve_statistics(tm.sample(p, seed=0))["lag1"] for p in sequenced_validation])
    assert lag > 0.3, lag                                # it moves in phrases, not at random


@pytest.mark.data
def test_tiny_tempo_model_trains_and_numpy_equals_keras(tmp_path, sequenced_validation):
    import keras

    from midistyle.nn.sequences import previous_inputs

    sp = split_files([(g, str(TPD / g)) for g in ("classical", "jazz")])
    out = tmp_path / "tempo-tiny.keras"
    cfg = TempoConfig(epochs=1, steps_per_epoch=2, window=32, batch_size=4, cond_channels=8, channels=4,
                      cond_dilations=(1, 2), ar_dilations=(1, 2), skip_channels=8, head_units=8, bins=16)
    meta = train(sp["classical"]["train"][::4], sp["classical"]["val"], "classical", str(out), cfg, progress=False)
    for ext in (".keras", ".json", ".npz", ".log.csv", ".loss.png"):
        assert os.path.getsize(str(out)[:-6] + ext) > 0, ext
    assert meta["validation"]["pieces"] >= 4 and np.isfinite(meta["validation"]["nll_per_beat"])
    tm = TempoModel.load(str(out))
    perf = sequenced_validation[0]
    X = beat_features(perf)
    c = beat_curve(perf)
    prev = previous_inputs(cfg.to_class(c - np.median(c)), cfg.bins - 1)
    km = keras.saving.load_model(str(out), compile=False)
    ref = km.predict({"features": X[None], "previous": prev[None]}, verbose=0)["logits"][0]
    assert np.abs(ref - tm.runtime.logits(X, prev)).max() < 1e-3
    shutil.copy(str(out)[:-6] + ".json", tmp_path / "broken.json")
    with pytest.raises(Exception, match="weights"):
        TempoModel.load(str(tmp_path / "broken.json"))
