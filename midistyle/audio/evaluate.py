"""Metrics of an audio style transfer: content C, style S, result R.

* genre probabilities of C, S and R from the audio genre classifier (:mod:`midistyle.audio.genre`);
* the Ulyanov style loss of R against S and content loss of R against C (same filters as the
  transfer: same seed, number, width and activation), with the style loss of C against S as the
  "before" figure, all computed in NumPy;
* the KL divergence between the inter-onset-interval distributions of R and S (onsets from
  librosa's onset detector, as in seed 001; log-spaced histogram from 20 ms to 4 s, add-half
  smoothing);
* the maximum normalised cross-correlation between the R and S waveforms over all lags, to show
  the result is not a copy of the style (a copy, or a shifted copy, gives 1).
"""
from __future__ import annotations

import numpy as np

from .transfer import TransferSettings, features_np, random_filters, spectrogram_frames

#: Edges (seconds) of the inter-onset-interval histogram.
IOI_EDGES = np.geomspace(0.02, 4.0, 25)


def onset_times(y: np.ndarray, sr: int) -> np.ndarray:
    """Onset times (seconds) by librosa's spectral-flux onset detector."""
    import librosa

    return librosa.onset.onset_detect(y=np.asarray(y, np.float32), sr=sr, hop_length=512, units="time")


def ioi_histogram(onsets: np.ndarray, edges: np.ndarray = IOI_EDGES, smoothing: float = 0.5) -> np.ndarray:
    """Probability distribution of inter-onset intervals over log-spaced bins (add-``smoothing``).

    Intervals outside the edges are clipped into the first / last bin.
    """
    ioi = np.diff(np.sort(np.asarray(onsets, np.float64)))
    ioi = np.clip(ioi, edges[0], edges[-1] * 0.999999)
    counts = np.histogram(ioi, bins=edges)[0].astype(np.float64) + smoothing
    return counts / counts.sum()


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """``KL(p || q)`` in nats (both strictly positive distributions)."""
    p = np.asarray(p, np.float64)
    q = np.asarray(q, np.float64)
    return float(np.sum(p * np.log(p / q)))


def max_normalised_xcorr(a: np.ndarray, b: np.ndarray) -> dict:
    """Largest ``|sum_t a(t) b(t + lag)| / (||a|| ||b||)`` over every lag (FFT), and its lag.

    1 means ``b`` contains ``a`` exactly (possibly shifted or negated); unrelated signals give
    values near 0.
    """
    from scipy.signal import correlate, correlation_lags

    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return {"value": 0.0, "lag_seconds": 0.0, "lag_samples": 0}
    c = correlate(a, b, mode="full", method="fft") / (na * nb)
    i = int(np.argmax(np.abs(c)))
    lag = int(correlation_lags(len(a), len(b), mode="full")[i])
    return {"value": float(abs(c[i])), "lag_samples": lag}


def transfer_losses(result: np.ndarray, style: np.ndarray, content: np.ndarray | None,
                    settings: TransferSettings | None = None) -> dict:
    """Ulyanov style loss of ``result`` vs ``style`` (and of ``content`` vs ``style``), content
    loss of ``result`` vs ``content`` (alpha-weighted as in the transfer, and unweighted), in NumPy."""
    from ..nn.gram import style_loss_np

    s = settings or TransferSettings()
    R = spectrogram_frames(result, s)
    S = spectrogram_frames(style, s)
    W = random_filters(R.shape[1], s.filters, s.kernel, s.seed)
    FR, FS = features_np(R, W, s.activation), features_np(S, W, s.activation)
    out = {"style_loss": style_loss_np(FR, FS)}
    if content is not None:
        C = spectrogram_frames(content, s)
        n = min(C.shape[0], R.shape[0])
        FC = features_np(C, W, s.activation)
        m = min(FC.shape[0], FR.shape[0])
        d = float(np.sum(np.square(FR[:m].astype(np.float64) - FC[:m])))
        out["content_loss"] = s.content_weight * d
        out["content_distance"] = d
        out["content_frames_compared"] = int(n)
        out["style_loss_content_vs_style"] = style_loss_np(FC, FS)
    return out


def evaluate_audio(content: str, style: str, result: str, *, settings: TransferSettings | None = None,
                   classifier: str | None = None, soundfont: str | None = None) -> dict:
    """Every metric of one transfer, from files (WAV / FLAC, or MIDI through the render path).

    Parameters
    ----------
    content, style, result : str
        Input paths.
    settings : TransferSettings, optional
        Filters of the loss (seed, filters, kernel, activation, content weight); default the
        reference settings with seed 0 (what ``midistyle audio transfer`` uses by default).
    classifier : str, optional
        Audio genre classifier (default: the shipped one).
    soundfont : str, optional
        SoundFont for MIDI inputs.

    Returns
    -------
    dict
        ``genre_probabilities`` {content, style, result}, ``losses``, ``ioi``, ``xcorr``.
    """
    from .files import load_input
    from .genre import AudioGenreClassifier

    s = settings or TransferSettings()
    clf = AudioGenreClassifier.load(classifier)
    sr = clf.features.sr
    if sr != s.sr:
        s = TransferSettings(**{**s.to_dict(), "sr": sr})
    ys = {k: load_input(p, sr, soundfont) for k, p in (("content", content), ("style", style), ("result", result))}
    probs = {k: clf.predict(y) for k, y in ys.items()}
    losses = transfer_losses(ys["result"], ys["style"], ys["content"], s)
    on = {k: onset_times(ys[k], sr) for k in ("result", "style", "content")}
    hist = {k: ioi_histogram(v) for k, v in on.items()}
    ioi = {"kl_result_style": kl_divergence(hist["result"], hist["style"]),
           "kl_content_style": kl_divergence(hist["content"], hist["style"]),
           "onsets": {k: int(len(v)) for k, v in on.items()},
           "bins_seconds": IOI_EDGES.round(4).tolist()}
    xr = max_normalised_xcorr(ys["result"], ys["style"])
    xr["lag_seconds"] = xr["lag_samples"] / sr
    xc = max_normalised_xcorr(ys["result"], ys["content"])
    return {"files": {"content": content, "style": style, "result": result}, "sample_rate": sr,
            "genres": clf.genres, "genre_probabilities": probs, "losses": losses, "ioi": ioi,
            "xcorr_result_style": xr, "xcorr_result_content": {"value": xc["value"], "lag_seconds": xc["lag_samples"] / sr},
            "settings": {k: s.to_dict()[k] for k in ("filters", "kernel", "activation", "seed", "content_weight")}}
