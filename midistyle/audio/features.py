"""Clip-level audio features of seed 000 (the GTZAN-style genre classifier).

Per clip: chroma (12 pitch classes), spectral centroid, bandwidth, roll-off, zero-crossing rate
and 20 MFCCs, each summarised over time. Seed 000 kept only the time means (and a single chroma
mean); here every chroma bin is kept and each frame-wise feature also gets its standard deviation,
which keeps the classifier small while telling apart steady and varied textures.

The STFT is computed once (:mod:`midistyle.audio.spectral`) and every feature is derived from it
with librosa (imported lazily).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..settings import Settings, is_number
from . import spectral


@dataclass(frozen=True)
class FeatureSettings(Settings):
    """How features are computed (stored with the classifier, checked when it is used).

    Attributes
    ----------
    sr, n_fft, hop : int
        Sample rate and STFT settings.
    n_mfcc : int
        MFCCs kept (20, as in seed 000).
    n_mels : int
        Mel bands under the MFCCs.
    rolloff : float
        Roll-off percentile (0.85, librosa's default).
    """

    sr: int = 22050
    n_fft: int = 2048
    hop: int = 512
    n_mfcc: int = 20
    n_mels: int = 128
    rolloff: float = 0.85

    def validate(self) -> None:
        """Raise :class:`midistyle.settings.SettingsError`, naming the field, on settings that cannot work."""
        self.require("sr", is_number(self.sr) and 1000 <= self.sr <= 192000, "must be in 1000..192000 Hz")
        self.require_min(16, "n_fft")
        self.require("hop", is_number(self.hop) and 1 <= self.hop <= self.n_fft, "must be in 1..n_fft")
        self.require_min(1, "n_mfcc", "n_mels")
        self.require("rolloff", is_number(self.rolloff) and 0 < self.rolloff < 1, "must be in (0, 1)")


def feature_names(settings: FeatureSettings = FeatureSettings()) -> list:
    """Names of the entries of :func:`clip_features`, in order."""
    pcs = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    names = [f"chroma_{p}_mean" for p in pcs]
    for f in ("spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "zero_crossing_rate"):
        names += [f"{f}_mean", f"{f}_std"]
    names += [f"mfcc{i + 1}_mean" for i in range(settings.n_mfcc)]
    names += [f"mfcc{i + 1}_std" for i in range(settings.n_mfcc)]
    return names


def frame_features(y: np.ndarray, settings: FeatureSettings = FeatureSettings()) -> dict:
    """Frame-wise features of a waveform: chroma (12, T), centroid, bandwidth, rolloff, zcr (T,),
    mfcc (n_mfcc, T)."""
    import librosa

    s = settings
    y = np.asarray(y, np.float32)
    if len(y) < s.n_fft:
        y = np.pad(y, (0, s.n_fft - len(y)))
    S = np.abs(spectral.stft(y, s.n_fft, s.hop)).astype(np.float32)
    freqs = np.fft.rfftfreq(s.n_fft, 1.0 / s.sr)
    chroma = librosa.feature.chroma_stft(S=S ** 2, sr=s.sr, n_fft=s.n_fft, hop_length=s.hop)
    centroid = librosa.feature.spectral_centroid(S=S, sr=s.sr, freq=freqs)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=S, sr=s.sr, freq=freqs)[0]
    rolloff = librosa.feature.spectral_rolloff(S=S, sr=s.sr, freq=freqs, roll_percent=s.rolloff)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=s.n_fft, hop_length=s.hop)[0]
    mel = librosa.feature.melspectrogram(S=S ** 2, sr=s.sr, n_mels=s.n_mels)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=s.n_mfcc)
    return dict(chroma=chroma, centroid=centroid, bandwidth=bandwidth, rolloff=rolloff, zcr=zcr, mfcc=mfcc)


def clip_features(y: np.ndarray, settings: FeatureSettings = FeatureSettings()) -> np.ndarray:
    """Feature vector of one clip (see :func:`feature_names`), float32.

    Parameters
    ----------
    y : array of float
        Mono waveform at ``settings.sr``.
    settings : FeatureSettings
    """
    f = frame_features(y, settings)
    parts = [f["chroma"].mean(axis=1)]
    for k in ("centroid", "bandwidth", "rolloff", "zcr"):
        parts.append(np.array([f[k].mean(), f[k].std()]))
    parts.append(f["mfcc"].mean(axis=1))
    parts.append(f["mfcc"].std(axis=1))
    return np.concatenate(parts).astype(np.float32)
