"""midistyle.audio.render: the SoundFont synthesis (onsets, pitch, pedals), ``midistyle render``,
and the size guard before synthesis."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, midistyle_cli, notes, simple_notes_midi

from midistyle.audio.render import (MAX_RENDER_SECONDS, SOFT_PEDAL_GAIN, release_times, render_midi,
                                    render_notes)
from midistyle.errors import InputError
from midistyle.codec.io import NOTE_DTYPE

PEDAL_DT = [("time", "f8"), ("cc", "i2"), ("value", "i2")]


def notes_at(*starts):
    n = np.zeros(len(starts), dtype=NOTE_DTYPE)
    n["pitch"], n["velocity"] = 60, 80
    n["start"] = starts
    n["end"] = n["start"] + 0.5
    return n


def test_render_refuses_a_waveform_longer_than_the_limit_before_synthesis():
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="longer than the limit of 1 h"):
        render_notes(notes_at(0.0, 9 * 3600.0))        # a damaged delta time: a 9-hour file
    assert time.perf_counter() - t0 < 5.0              # refused up front, nothing synthesised
    with pytest.raises(InputError, match="max_seconds"):
        render_notes(notes_at(0.0), duration=MAX_RENDER_SECONDS + 1)


def test_render_limit_can_be_raised_or_lifted():
    y = render_notes(notes_at(0.0, 3.0), sr=8000, max_seconds=10.0)
    assert 3.5 * 8000 < len(y) < 8.0 * 8000 and np.abs(y).max() > 0
    with pytest.raises(InputError):
        render_notes(notes_at(0.0, 3.0), sr=8000, max_seconds=2.0)
    assert len(render_notes(notes_at(0.0), sr=8000, max_seconds=None, duration=1.0)) == 8000


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
