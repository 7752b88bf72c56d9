"""The harmony layer of the chord generators: pitch-class sets from held notes, the vocabulary
(transpositions, the nearest set for a rare one), what a frame knows in advance, and the
harmony LSTM's draws."""
from __future__ import annotations

import numpy as np
import pytest

from midistyle.chords.harmony import (KEY_NAMES, MAX_PCS, TKP_MAJOR, TKP_MINOR, HarmonyVocabulary, advance_inputs,
                                     advance_size, find_key, harmony_inputs, harmony_windows, mask_bits, parse_key,
                                     rotate_mask, set_class, step_keys, step_weights, strongest_set, transpose_key,
                                     key_shift)
from midistyle.chords.frames import window_keys
from midistyle.errors import InputError

C_MAJOR = 0b000010010001          # C, E, G
A_MINOR = 0b001000010001          # A, C, E


def held(pitches, frames, n_pitches=88, low=21):
    s = np.zeros((frames, n_pitches), bool)
    for p in pitches:
        s[:, p - low] = True
    return s


def test_step_weights_pool_held_notes_by_pitch_class():
    s = np.concatenate([held([60, 64, 67, 72], 20), held([57], 7)])      # C major (C twice), then A for 7 frames
    w = step_weights(s, 20)
    assert w.shape == (2, 12)
    assert w[0, 0] == 40 and w[0, 4] == w[0, 7] == 20 and w[0].sum() == 80
    assert w[1, 9] == 7 and w[1].sum() == 7                              # the last, shorter step


def test_strongest_set_keeps_the_pitch_classes_that_sound_long_enough():
    w = np.zeros((4, 12))
    w[0, [0, 4, 7]] = [10, 8, 6]                # a triad
    w[1, [0, 4, 7, 2]] = [10, 8, 6, 1]          # a passing D, too short to count
    w[2, :6] = [10, 9, 8, 7, 6, 5.5]            # six strong ones: the strongest MAX_PCS kept
    m = strongest_set(w)
    assert m[0] == C_MAJOR and m[1] == C_MAJOR
    assert bin(int(m[2])).count("1") == MAX_PCS and m[2] == 0b1111
    assert m[3] == 0                            # silence


def test_transposition_classes():
    assert rotate_mask(C_MAJOR, 2) == 0b001001000100            # D major: D, F#, A
    assert rotate_mask(rotate_mask(C_MAJOR, 5), 7) == C_MAJOR
    assert set_class(rotate_mask(C_MAJOR, 3)) == set_class(C_MAJOR) != set_class(A_MINOR)
    assert np.array_equal(mask_bits(np.array([C_MAJOR]))[0].nonzero()[0], [0, 4, 7])


def test_vocabulary_holds_every_transposition_and_reads_a_rare_set_as_its_strongest_part():
    masks = np.array([C_MAJOR] * 5 + [A_MINOR] * 3 + [0b1] * 2 + [0b111] * 1)     # cluster C-C#-D is rare
    v = HarmonyVocabulary.fit(masks, 3)           # single pitch classes always, then the two commonest
    assert v.masks[0] == 0 and len(v) == 1 + 12 + 12 + 12     # silence, single pcs, major, minor triads
    assert all(int(rotate_mask(m, k)) in set(v.masks.tolist()) for m in v.masks for k in range(12))
    rot = v.rotation()
    assert all(v.masks[rot[k][t]] == rotate_mask(v.masks[t], k) for k in range(12) for t in range(len(v)))
    w = np.zeros((2, 12))
    w[0, [0, 1, 2]] = [10, 6, 9]                # the cluster: C# is the weakest, then D
    w[1, [2, 6, 9]] = [5, 5, 5]                 # D major
    t = v.tokens(w)
    assert v.masks[t[0]] == 0b1 and v.masks[t[1]] == rotate_mask(C_MAJOR, 2)
    assert np.array_equal(HarmonyVocabulary.from_dict(v.to_dict()).masks, v.masks)
    with pytest.raises(Exception):
        HarmonyVocabulary(np.array([C_MAJOR, 0]))


def test_harmony_lstm_reads_the_token_before():
    v = HarmonyVocabulary.fit(np.array([C_MAJOR, A_MINOR]), 3)
    toks = np.array([5, 17, 3])
    x = harmony_inputs(toks, len(v), v.masks)
    assert x.shape == (3, len(v) + 12)
    assert x[0, 0] == 1 and x[0, len(v):].sum() == 0           # silence before the first
    assert x[1, 5] == 1 and x[2, 17] == 1 and x[:, :len(v)].sum() == 3
    assert np.array_equal(x[2, len(v):], mask_bits(v.masks[17]))


def test_harmony_noise_replaces_a_share_of_the_tokens_read_never_the_targets():
    v = HarmonyVocabulary.fit(np.array([C_MAJOR, A_MINOR]), 3)
    piece = np.tile([5, 17, 3, 30], 100)
    emb = [np.zeros(4, np.float32)]

    def first(noise):
        (x, e), y = next(harmony_windows([piece], emb, vocab=v, seq_len=200, transpose=0, seed=3, noise=noise))
        return x, y

    x0, y0 = first(0.0)
    x1, y1 = first(0.25)
    assert np.array_equal(y0, y1)                                   # the same window, the same targets
    assert np.array_equal(x0, harmony_inputs(y0, len(v), v.masks))  # clean: the token before each step
    changed = np.mean((x0 != x1).any(axis=1))
    assert 0.12 < changed < 0.35                                    # about a quarter read another token
    assert np.all(x1[:, :len(v)].sum(axis=1) == 1)                  # still one token each


def test_advance_inputs_give_the_step_harmony_the_next_and_the_keys_struck_whole_steps_before():
    masks = np.array([C_MAJOR, A_MINOR, 0b1])
    P, step = 5, 4
    onset = np.zeros((12, P), bool)
    onset[1, 2] = onset[6, 4] = True
    a = advance_inputs(masks, onset, 0, 12, step=step, lags=2)
    assert a.shape == (12, advance_size(P, 2)) == (12, 25 + 2 * P)
    assert np.array_equal(a[3, :12], mask_bits(C_MAJOR)) and np.array_equal(a[3, 12:24], mask_bits(A_MINOR))
    assert np.array_equal(a[4, :12], mask_bits(A_MINOR)) and np.array_equal(a[11, 12:24], mask_bits(0b1))
    assert np.allclose(a[:4, 24], [0, 0.25, 0.5, 0.75])
    lag1, lag2 = a[:, 25:25 + P], a[:, 25 + P:]
    assert lag1[5, 2] == 1 and lag1.sum() == 2 and lag1[10, 4] == 1        # one step (4 frames) back
    assert lag2[9, 2] == 1 and lag2.sum() == 1                              # two steps back
    # a single frame reads what the whole run gives it
    assert np.array_equal(advance_inputs(masks, onset, 10, 1, step=step, lags=2)[0], a[10])
    # with keys, the key of each frame's step comes last, one-hot; the rest is unchanged
    keys = np.array([0, 21, 7])
    k = advance_inputs(masks, onset, 0, 12, step=step, lags=2, keys=keys)
    assert k.shape == (12, advance_size(P, 2, key=True)) == (12, 25 + 2 * P + 24)
    assert np.array_equal(k[:, :-24], a) and np.array_equal(k[:, -24:].argmax(axis=1), np.repeat(keys, step))


def test_window_keys_are_the_piece_keys_where_each_window_step_starts():
    keys = np.array([0, 0, 7, 7, 9, 21])                     # per step of 10 frames
    assert np.array_equal(window_keys(keys, 15, 30, 10), [0, 7, 7])           # steps start at frames 15, 25, 35
    assert np.array_equal(window_keys(keys, 45, 40, 10), [9, 21, 21, 21])      # past the end: the last key
    assert np.array_equal(window_keys(keys, 0, 20, 10, shift=-2), [10, 10])    # transposed with the window


def test_keys_are_found_by_profile_named_and_parsed():
    for k in range(12):
        assert find_key(np.roll(TKP_MAJOR, k)) == k and find_key(np.roll(TKP_MINOR, k)) == 12 + k
    # a C major scale with a strong tonic triad is C major; the same notes weighted on A, C, E are A minor
    scale = np.array([3, 0, 1, 0, 2, 1, 0, 2, 0, 1, 0, 1], float)
    assert KEY_NAMES[find_key(scale)] == "C major"
    assert KEY_NAMES[find_key(np.array([2, 0, 1, 0, 2, 1, 0, 1, 0, 3, 0, 1], float))] == "A minor"
    assert transpose_key(0, 2) == 2 and transpose_key(12 + 11, 1) == 12 and transpose_key(3, -5) == 10
    # moving music into a key: to its tonic in the same mode, else to its relative key, never more than a tritone
    C, Am, D, Dm, Fs = (parse_key(k) for k in ("C", "A minor", "D", "D minor", "F# major"))
    assert key_shift(C, D) == 2 and key_shift(D, C) == -2 and key_shift(C, Fs) == -6
    assert key_shift(C, Dm) == 5 and key_shift(Am, Dm) == 5 and key_shift(Am, C) == 0 and key_shift(Am, D) == 2
    def relative(k):
        return (k + 3) % 12 if k >= 12 else (k + 9) % 12 + 12

    assert all(transpose_key(f, key_shift(f, w)) == (w if f // 12 == w // 12 else relative(w))
               for f in range(24) for w in range(24))
    for text, name in [("D minor", "D minor"), ("Dm", "D minor"), ("d", "D minor"), ("F# major", "F# major"),
                       ("Bb", "Bb major"), ("eb min", "Eb minor"), ("G#m", "Ab minor"), ("CM", "C major")]:
        assert KEY_NAMES[parse_key(text)] == name, text
    for bad in ("H", "D dorian", "", "C##"):
        with pytest.raises(InputError, match="key must be a key name"):
            parse_key(bad)


def test_step_keys_follow_a_modulation_over_their_span():
    def cadences(tonic):            # I IV V I, eight times
        return np.concatenate([held([p + tonic for p in ch], 20) for ch in
                               ([60, 64, 67], [60, 65, 69], [59, 62, 67], [60, 64, 67])] * 8)

    keys = step_keys(step_weights(np.concatenate([cadences(0), cadences(6)]), 20), span=16)
    assert len(keys) == 64
    assert np.all(keys[:24] == parse_key("C")) and np.all(keys[40:] == parse_key("F#"))
    assert 1 <= len(np.flatnonzero(np.diff(keys))) <= 3             # one move, near the middle


def test_harmony_windows_transpose_the_keys_with_the_tokens():
    v = HarmonyVocabulary.fit(np.array([C_MAJOR, A_MINOR]), 3)
    piece = np.tile([v._index[C_MAJOR], v._index[A_MINOR]], 100)
    keys = np.zeros(len(piece), np.int64)                            # all C major
    rot = v.rotation()
    for seed in range(6):
        (x, _), y = next(harmony_windows([piece], [np.zeros(4, np.float32)], vocab=v, seq_len=50, transpose=6,
                                         seed=seed, keys=[keys]))
        shift = [k for k in range(12) if rot[k][piece[0]] == y[0] or rot[k][piece[1]] == y[0]][0]
        assert x.shape == (50, len(v) + 12 + 24)
        assert np.all(x[:, len(v) + 12:].argmax(axis=1) == shift % 12) and np.all(x[:, len(v) + 12:].sum(axis=1) == 1)
