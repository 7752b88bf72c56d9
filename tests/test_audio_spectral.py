"""midistyle.audio.spectral and the Gram style loss: STFT round trip, Griffin-Lim, the kernel and direct
forms of the style loss. Short rendered clips; nothing is mocked."""
from __future__ import annotations

import numpy as np
import pytest

from midistyle.audio import spectral
from midistyle.audio.transfer import TransferSettings, UlyanovLoss


def test_stft_istft_round_trip_and_griffin_lim(clips):
    y = clips[0]
    S = spectral.stft(y)
    assert S.shape == (1025, spectral.n_frames(len(y)))
    assert np.max(np.abs(spectral.istft(S, length=len(y)) - y)) < 1e-4
    rec, sc = spectral.griffin_lim(np.abs(S), n_iter=60, length=len(y), seed=0)
    assert len(rec) == len(y)
    assert sc < 0.12
    assert spectral.spectral_convergence(np.abs(S), rec) == pytest.approx(sc)


def test_griffin_lim_from_a_start_phase(clips):
    """Started from a waveform's own phase, Griffin-Lim stays on it (a random start does not get as
    near in as many iterations); a phase of the wrong shape is refused."""
    y = clips[0]
    S = spectral.stft(y)
    _, own = spectral.griffin_lim(np.abs(S), n_iter=5, length=len(y), start_phase=np.angle(S))
    _, rand = spectral.griffin_lim(np.abs(S), n_iter=5, length=len(y), seed=0)
    assert own < 0.01 < rand
    with pytest.raises(ValueError, match="start_phase"):
        spectral.griffin_lim(np.abs(S), n_iter=1, start_phase=np.angle(S)[:, :-1])


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
