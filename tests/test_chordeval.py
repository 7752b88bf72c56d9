"""Coherence judges of generated music: keys (Krumhansl-Kessler), how they move, and whether a
figure returns, on real MIDI files written here and on real TPD pieces."""
from __future__ import annotations

import numpy as np

from midistyle.codec import io as mio
from midistyle.judges.chordeval import coherence, related_keys, repetition, window_keys
from midistyle.codec.pianoroll import encode

from conftest import simple_notes_midi, tpd_sample

C_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def roll_of(tmp_path, notes, name="x.mid"):
    return encode(mio.read(str(simple_notes_midi(tmp_path / name, notes))))


def scale_notes(tonic_shift, beats, start=0.0):
    """Eighth notes up and down the major scale of C + shift, ``beats`` beats from ``start`` (beats)."""
    seq = C_SCALE + C_SCALE[-2:0:-1]
    return [(seq[k % len(seq)] + tonic_shift, 80, start + 0.5 * k, start + 0.5 * k + 0.5) for k in range(2 * beats)]


def test_window_keys_find_the_key_and_its_clarity(tmp_path):
    # 8 s of C major then 8 s of F# major (120 bpm: 2 beats a second)
    roll = roll_of(tmp_path, scale_notes(0, 16) + scale_notes(6, 16, start=16))
    keys, clarity = window_keys(roll)
    assert list(keys) == [0, 0, 6, 6]
    assert (clarity > 0.7).all()
    c = coherence(roll)
    assert c["key_stability"] == 2 / 3                  # C -> C, C -> F# (unrelated), F# -> F#
    # random pitches on the same rhythm are far less clear
    rng = np.random.default_rng(0)
    rand = [(int(rng.integers(48, 84)), 80, s, e) for _, _, s, e in scale_notes(0, 32)]
    assert coherence(roll_of(tmp_path, rand, "r.mid"))["key_clarity"] < c["key_clarity"] - 0.1


def test_related_keys_are_the_same_a_fifth_apart_or_relative():
    C, G, F, Fs, a, e, c = 0, 7, 5, 6, 12 + 9, 12 + 4, 12
    assert related_keys([C, C, C, C, a, a], [C, G, F, a, C, e]).all()
    assert not related_keys([C, C, C, G], [Fs, c, e, Fs]).any()


def test_repetition_scores_a_returning_figure_above_unrelated_notes(tmp_path):
    figure = [(60, 80, 0.0, 0.5), (64, 80, 0.5, 1.0), (67, 80, 1.0, 1.5), (72, 80, 1.5, 2.0)]
    repeated = [(p, v, s + 2 * k, e + 2 * k) for k in range(8) for p, v, s, e in figure]
    rep = repetition(roll_of(tmp_path, repeated))
    assert rep > 0.95
    rng = np.random.default_rng(1)
    rand = [(int(rng.integers(40, 90)), 80, s, e) for _, _, s, e in repeated]
    assert repetition(roll_of(tmp_path, rand, "r.mid")) < 0.4
    assert np.isnan(repetition(roll_of(tmp_path, [(60, 80, 0.0, 0.5)], "one.mid")))


def test_real_pieces_have_clear_keys_and_returning_figures():
    for genre in ("classical", "jazz"):
        for path in tpd_sample(genre, 2):
            c = coherence(encode(mio.read(str(path))), 20.0, 20.0)
            assert 0.5 < c["key_clarity"] <= 1.0 and 0.0 <= c["key_stability"] <= 1.0
            assert 0.0 < c["repetition"] < 1.0
