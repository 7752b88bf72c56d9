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


# ----------------------------------------------------------------------------- key invariance
#: Content representations compared by :func:`key_invariance`: name -> loss-term factors
#: (the style terms are the same for all).
KEY_INVARIANCE_CONTENT = {"stft (plain)": {"stft_content": 1.0},
                          "cqt (key-invariant)": {"cqt_content": 1.0}}
KEY_INVARIANCE_STYLE = {"stft_style": 1.0, "cqt_style": 1.0}


def demo_melody(seconds: float = 3.0) -> np.ndarray:
    """A short melody with harmony (I-IV-V-I in C, a chord and two melody notes per bar) as a note
    table of :data:`midistyle.io.NOTE_DTYPE` fields (pitch, velocity, start, end)."""
    chords = ((48, 52, 55), (53, 57, 60), (55, 59, 62), (48, 52, 55))
    tune = ((72, 76), (77, 72), (74, 71), (72, 67))
    bar = seconds / 4
    rows = []
    for i, (ch, mel) in enumerate(zip(chords, tune)):
        t = i * bar
        rows += [(p, 70, t, t + bar * 0.95) for p in ch]
        rows += [(mel[0], 96, t, t + bar * 0.45), (mel[1], 90, t + bar * 0.5, t + bar * 0.95)]
    return np.array(rows, dtype=[("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8")])


def key_invariance(notes: np.ndarray | None = None, offsets=range(-6, 7), *, settings=None,
                   seconds: float | None = None, soundfont: str | None = None, progress: bool = False) -> dict:
    """Seed 001's key-invariance experiment through the multi-representation method.

    The notes (default :func:`demo_melody`) are rendered as they are (the content) and transposed
    by each offset in semitones (the styles). For each content representation of
    :data:`KEY_INVARIANCE_CONTENT` and each offset, the content is restyled with the transposed
    clip as style (style terms :data:`KEY_INVARIANCE_STYLE`), and the mean squared difference of
    ``log1p |STFT|`` between result and style is measured: a content loss that is invariant to
    key lets the result move to the style's key, so its error should be lower at non-zero offsets.

    Parameters
    ----------
    notes : structured array, optional
        Notes with pitch, velocity, start, end (seconds).
    offsets : iterable of int
        Transpositions in semitones (default -6..+6).
    settings : MultiSettings, optional
        Network sizes, iterations, seed (``preset`` and ``terms`` are set here).
    seconds : float, optional
        Length of every clip (default: the notes' end + 0.5 s).
    soundfont : str, optional
    progress : bool

    Returns
    -------
    dict
        ``offsets``, ``representations``, ``mse[representation]`` (one value per offset),
        ``mean_nonzero`` per representation and ``wins``: at how many non-zero offsets the
        key-invariant representation has the lower error.
    """
    import dataclasses

    from tqdm import tqdm

    from ..errors import MidistyleError
    from .multi import MultiSettings, stylise_multi
    from .render import render_notes
    from .transfer import spectrogram_frames

    s = settings or MultiSettings(stft_filters=256, cqt_filters=16, iterations=40)
    notes = demo_melody() if notes is None else np.asarray(notes)
    offsets = [int(o) for o in offsets]
    if not len(notes):
        raise MidistyleError("key invariance needs at least one note")
    if not offsets:
        raise MidistyleError("give at least one transposition offset")
    lo, hi = int(notes["pitch"].min()), int(notes["pitch"].max())
    if lo + min(offsets) < 0 or hi + max(offsets) > 127:
        raise MidistyleError(f"transposing pitches {lo}..{hi} by {min(offsets)}..{max(offsets)} leaves 0..127")
    seconds = float(seconds or notes["end"].max() + 0.5)

    def render(shift):
        n = notes.copy()
        n["pitch"] = n["pitch"] + shift
        return render_notes(n, sr=s.sr, soundfont=soundfont, duration=seconds)

    content = render(0)
    mse = {name: [] for name in KEY_INVARIANCE_CONTENT}
    bar = tqdm(total=len(offsets) * len(mse), desc="key invariance", unit="run", disable=not progress)
    try:
        for off in offsets:
            style = render(off)
            S = spectrogram_frames(style, s)
            for name, content_terms in KEY_INVARIANCE_CONTENT.items():
                terms = {t: 0.0 for t in ("stft_content", "mel_content", "cqt_content", "mel_style")}
                terms.update(KEY_INVARIANCE_STYLE)
                terms.update(content_terms)
                r = stylise_multi(content, style, dataclasses.replace(s, preset="full", terms=terms))
                R = spectrogram_frames(r.waveform, s)
                n = min(len(R), len(S))
                mse[name].append(float(np.mean(np.square(R[:n] - S[:n]))))
                bar.update(1)
    finally:
        bar.close()
    names = list(KEY_INVARIANCE_CONTENT)
    plain, inv = names[0], names[1]
    nonzero = [i for i, o in enumerate(offsets) if o != 0]
    return {"offsets": offsets, "representations": names, "mse": mse, "seconds": seconds,
            "mean_nonzero": {k: float(np.mean([v[i] for i in nonzero])) if nonzero else None for k, v in mse.items()},
            "wins": int(sum(mse[inv][i] < mse[plain][i] for i in nonzero)), "nonzero_offsets": len(nonzero),
            "settings": s.to_dict()}


def plot_key_invariance(result: dict, path: str, *, force: bool = False) -> None:
    """PNG of the log-STFT error against the style per transposition, one line per representation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fsutil import atomic_write, check_output

    check_output(path, force=force, extensions=(".png",))
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in result["representations"]:
        ax.plot(result["offsets"], result["mse"][name], marker="o", label=f"content: {name}")
    ax.set_xlabel("transposition of the style (semitones)")
    ax.set_ylabel("log1p |STFT| MSE, result vs style")
    ax.set_title("Key invariance of the content representation", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), force=force, suffix=".png")
    plt.close(fig)
