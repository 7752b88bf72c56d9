"""midistyle.codec.pianoroll: encode() / decode() and EncoderSettings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import midistyle.codec.io as mio
from midistyle.errors import SettingsMismatchError
from midistyle.codec.pianoroll import EncoderSettings, PianoRoll, decode, encode, held_matrix, steps_of

from conftest import RICH_DURATION, RICH_NOTES, RICH_PEDALS, SAMPLE, rich_seconds, sample_id, simple_notes_midi

STEP = 0.025


def step_of(seconds, step=STEP):
    return int(np.floor(seconds / step + 0.5))


def test_encode_rich_file_shapes_and_cells(rich_midi):
    roll = encode(rich_midi)
    T = step_of(RICH_DURATION) + 1
    assert roll.onsets.shape == roll.held.shape == roll.velocity.shape == (T, 88)
    assert roll.pedals.shape == (T, 2)
    assert roll.onsets.dtype == bool and roll.held.dtype == bool
    assert roll.velocity.dtype == np.uint8 and roll.pedals.dtype == np.uint8
    assert roll.n_steps == T and roll.duration == pytest.approx(T * STEP)
    # onsets are held; velocity is nonzero exactly at onsets
    assert not (roll.onsets & ~roll.held).any()
    assert np.array_equal(roll.velocity > 0, roll.onsets)
    # every note of every piano track is in the matrix (tracks merged), drums are not
    expected_onsets = {(step_of(rich_seconds(sb)), p - 21): v for p, v, sb, _, _, _ in RICH_NOTES}
    got = {(int(t), int(p)): int(roll.velocity[t, p]) for t, p in zip(*np.nonzero(roll.onsets))}
    assert got == expected_onsets
    # held spans: 69 held from 2.75 s to 4.0 s (end exclusive); 36 from 3 s to 7 s
    col = 69 - 21
    assert np.flatnonzero(roll.held[:, col]).tolist() == list(range(step_of(2.75), step_of(4.0)))
    col = 36 - 21
    assert np.flatnonzero(roll.held[:, col]).tolist() == list(range(step_of(3.0), step_of(7.0)))
    # overlapping same-pitch notes 64: held from the first onset to the last end, two onsets
    col = 64 - 21
    assert np.flatnonzero(roll.held[:, col]).tolist() == list(range(step_of(0.5), step_of(2.25)))
    assert np.flatnonzero(roll.onsets[:, col]).tolist() == [step_of(0.5), step_of(1.0)]
    assert roll.note_steps.tolist() == [step_of(rich_seconds(r[2])) for r in RICH_NOTES]


def test_encode_rich_file_pedal_columns(rich_midi):
    roll = encode(rich_midi)
    sus, soft = roll.pedals[:, 0], roll.pedals[:, 1]
    up = step_of(rich_seconds(3.0))          # sustain released at 1.5 s
    assert (sus[:up] == 127).all() and (sus[up:] == 0).all()
    down, rel = step_of(rich_seconds(8.0)), step_of(rich_seconds(10.0))  # soft 3 s .. 5 s
    assert (soft[:down] == 0).all() and (soft[down:rel] == 127).all() and (soft[rel:] == 0).all()
    assert RICH_PEDALS[0][1] == 64 and RICH_PEDALS[2][1] == 67


def test_pitch_range_setting_is_respected(rich_midi):
    s = EncoderSettings(step=0.05, pitch_low=40, pitch_high=100)
    roll = encode(rich_midi, s)
    assert roll.onsets.shape == (step_of(RICH_DURATION, 0.05) + 1, 61)
    inside = [r for r in RICH_NOTES if 40 <= r[0] <= 100]
    assert len(inside) == len(RICH_NOTES) - 2  # 36 and 105 are outside
    assert int(roll.onsets.sum()) == len(inside)
    assert sorted(int(p) + 40 for p in np.nonzero(roll.onsets)[1]) == sorted(r[0] for r in inside)
    assert roll.in_range().tolist() == [40 <= r[0] <= 100 for r in RICH_NOTES]
    # note_velocities reads in-range notes from the matrix, keeps the others' velocity
    doubled = roll.velocity.astype(float) * 2
    nv = roll.note_velocities(doubled)
    for r, v in zip(RICH_NOTES, nv.tolist()):
        assert v == (2 * r[1] if 40 <= r[0] <= 100 else r[1])


def test_note_velocities_of_own_matrix_gives_original_velocities(rich_midi):
    roll = encode(rich_midi)
    assert roll.note_velocities(roll.velocity).tolist() == [r[1] for r in RICH_NOTES]


def test_decode_round_trip(rich_midi, tmp_path):
    roll = encode(rich_midi)
    pm = decode(roll)
    assert len(pm.instruments) == 1
    got = sorted((n.pitch, round(n.start / STEP), n.velocity) for n in pm.instruments[0].notes)
    want = sorted((r[0], step_of(rich_seconds(r[2])), r[1]) for r in RICH_NOTES)
    assert got == want
    # ends: quantised ends for notes with no other note of their pitch overlapping them
    ends = {(n.pitch, round(n.start / STEP)): round(n.end / STEP) for n in pm.instruments[0].notes}
    for p, _, sb, eb, _, _ in RICH_NOTES:
        if p not in (60, 64):
            assert ends[(p, step_of(rich_seconds(sb)))] == step_of(rich_seconds(eb))
    # decoded MIDI encodes back to the same matrices
    out = tmp_path / "decoded.mid"
    pm.write(str(out))
    back = encode(out)
    T = roll.n_steps
    assert back.n_steps >= T - 1
    n = min(T, back.n_steps)
    for k in ("onsets", "held", "velocity", "pedals"):
        assert np.array_equal(getattr(back, k)[:n], getattr(roll, k)[:n]), k


def test_decode_held_matrix_without_onsets_uses_default_velocity():
    s = EncoderSettings()
    T, P = 20, s.n_pitches
    held = np.zeros((T, P), bool)
    held[2:6, 39] = True      # one run of middle C
    held[8:10, 39] = True     # a second run after a gap
    z = np.zeros((T, P), bool)
    roll = PianoRoll(onsets=z, held=held, velocity=np.zeros((T, P), np.uint8),
                     pedals=np.zeros((T, 2), np.uint8), settings=s)
    notes = decode(roll, default_velocity=50).instruments[0].notes
    assert [(n.pitch, round(n.start / s.step), round(n.end / s.step), n.velocity) for n in notes] == \
        [(60, 2, 6, 50), (60, 8, 10, 50)]


def test_same_step_same_pitch_keeps_louder_velocity(tmp_path):
    path = simple_notes_midi(tmp_path / "dup.mid", [(60, 90, 0.0, 1.0), (60, 30, 0.01, 1.0), (62, 50, 1, 2)])
    roll = encode(path)
    assert int(roll.onsets[:, 39].sum()) == 1
    assert int(roll.velocity[0, 39]) == 90


@pytest.mark.parametrize("path", SAMPLE[::3], ids=sample_id)
def test_real_file_encoding_invariants(path):
    perf = mio.read(path)
    roll = encode(perf)
    assert roll.onsets.shape[1] == 88 and roll.onsets.shape == roll.held.shape
    assert not (roll.onsets & ~roll.held).any()
    assert np.array_equal(roll.velocity > 0, roll.onsets)
    assert roll.n_steps == steps_of(perf.duration, STEP) + 1
    # notes alone in their (step, pitch) cell read back their exact velocity
    m = roll.in_range()
    cells = roll.note_steps * 1000 + perf.notes["pitch"]
    _, inv, counts = np.unique(cells, return_inverse=True, return_counts=True)
    alone = m & (counts[inv] == 1)
    assert alone.sum() > 0.9 * m.sum()
    nv = roll.note_velocities(roll.velocity)
    assert np.array_equal(nv[alone], perf.notes["velocity"][alone])
    # shared cells hold the loudest velocity of the notes in them
    assert (nv[m] >= perf.notes["velocity"][m]).all()


def test_encoder_settings_validation_and_serialisation():
    s = EncoderSettings(step=0.05, pitch_low=30, pitch_high=90)
    assert s.n_pitches == 61
    assert EncoderSettings.from_dict(s.to_dict()) == s
    import json
    assert EncoderSettings.from_dict(json.loads(s.to_json())) == s
    for bad in (dict(step=0), dict(step=-1), dict(pitch_low=50, pitch_high=40), dict(pitch_high=128)):
        with pytest.raises(ValueError):
            EncoderSettings(**bad)
    s.check(EncoderSettings(step=0.05, pitch_low=30, pitch_high=90))
    with pytest.raises(SettingsMismatchError):
        s.check(EncoderSettings())


def test_step_span_and_notes_starting_in_a_window():
    roll = encode(Path(__file__).resolve().parents[1] / "examples" / "anthropology.mid")
    a, b = roll.step_span(10.0, 5.0)
    assert (a, b) == (400, 600)
    assert roll.step_span(0.0) == (0, roll.n_steps)
    assert roll.step_span(1e9, 5.0) == (roll.n_steps, roll.n_steps)
    m = roll.starting_in(a, b)
    assert m.any() and ((roll.notes["start"][m] >= 10.0 - 0.0125) & (roll.notes["start"][m] < 15.0)).all()
    assert not roll.starting_in(b, b).any()


@pytest.mark.parametrize("n_notes,max_len", [(200, 5), (200, 400)])   # painted / running-sum path
def test_held_matrix_is_the_union_of_note_spans(n_notes, max_len):
    rng = np.random.default_rng(n_notes + max_len)
    T, P = 500, 12
    s = rng.integers(0, T - 1, n_notes)
    e = np.minimum(s + rng.integers(1, max_len + 1, n_notes), T)
    p = rng.integers(0, P, n_notes)
    want = np.zeros((T, P), bool)
    for a, b, k in zip(s, e, p):
        want[a:b, k] = True
    got = held_matrix(s, e, p, T, P)
    assert got.dtype == bool and np.array_equal(got, want)
