"""Metrics of an audio style transfer: content C, style S, result R.

* genre probabilities of C, S and R from the audio genre classifier (:mod:`midistyle.audio.genre`);
* the verdict of an **independent judge**: the Ulyanov style loss of R against S and of C against S
  under the reference network (4096 random Conv1D filters of width 11, ReLU) drawn from a seed the
  transfer did not use (its seed + :data:`JUDGE_SEED_OFFSET` unless given), their ratio, and a
  flag when R is not closer to the style than C. A result optimised against the judge's own
  filters could look stylised to them alone; another draw of the filters measures the style;
* the same losses under the transfer's own filters (same seed, number, width and activation), to
  check that the audio carries the loss the optimiser reported, all computed in NumPy;
* the KL divergence between the inter-onset-interval distributions of R and S (onsets from
  librosa's onset detector, as in seed 001; log-spaced histogram from 20 ms to 4 s, add-half
  smoothing);
* the maximum normalised cross-correlation between the R and S waveforms over all lags, to show
  the result is not a copy of the style (a copy, or a shifted copy, gives 1).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..errors import MidistyleError
from ..fsutil import atomic_write, check_output
from ..nn.gram import style_loss_np
from .files import load_input
from .genre import AudioGenreClassifier
from .multi import MultiSettings, stylise_multi
from .render import render_notes
from .transfer import TransferSettings, features_np, random_filters, spectrogram_frames

#: The judge's seed is the transfer's seed plus this (unless given): a network the optimiser never saw.
JUDGE_SEED_OFFSET = 1000
#: Filters and width of the judge network (the reference Ulyanov network).
JUDGE_FILTERS, JUDGE_KERNEL = 4096, 11

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


@functools.lru_cache(maxsize=2)
def _filters(n_bins: int, filters: int, kernel: int, seed: int) -> np.ndarray:
    """:func:`random_filters`, kept for the next call (a judge scores several clips), read-only."""
    w = random_filters(n_bins, filters, kernel, seed)
    w.setflags(write=False)
    return w


def transfer_losses(result: np.ndarray, style: np.ndarray, content: np.ndarray | None,
                    settings: TransferSettings | None = None) -> dict:
    """Ulyanov style loss of ``result`` vs ``style`` (and of ``content`` vs ``style``), content
    loss of ``result`` vs ``content`` (alpha-weighted as in the transfer, and unweighted), in NumPy."""
    s = settings or TransferSettings()
    R = spectrogram_frames(result, s)
    S = spectrogram_frames(style, s)
    W = _filters(R.shape[1], s.filters, s.kernel, s.seed)
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


def judge_settings(transfer_seed: int = 0, *, seed: int | None = None, filters: int = JUDGE_FILTERS,
                   kernel: int = JUDGE_KERNEL, sr: int = 22050, content_weight: float = 1e-2) -> TransferSettings:
    """Settings of the independent judge network: the reference Conv1D architecture (ReLU) with
    the seed ``transfer_seed + JUDGE_SEED_OFFSET`` unless ``seed`` is given.

    Raises
    ------
    MidistyleError
        ``filters`` or ``kernel`` below 1 (the error's ``field``: ``judge_filters`` or ``judge_kernel``,
        the parameters of :func:`evaluate_audio`).
    """
    for name, value in (("filters", filters), ("kernel", kernel)):
        if value < 1:
            raise MidistyleError(f"judge network: {name} must be at least 1, got {value}", field=f"judge_{name}")
    return TransferSettings(sr=sr, filters=int(filters), kernel=int(kernel), activation="relu",
                            content_weight=content_weight,
                            seed=int(transfer_seed) + JUDGE_SEED_OFFSET if seed is None else int(seed))


def style_verdict(result: np.ndarray, style: np.ndarray, content: np.ndarray, *, judge: TransferSettings,
                  transfer_seed: int | None = None) -> dict:
    """Is ``result`` closer to ``style`` than ``content`` is, under the judge network?

    Parameters
    ----------
    result, style, content : arrays
        Waveforms at ``judge.sr`` (for a texture, ``content`` is any reference clip).
    judge : TransferSettings
        The judge network (see :func:`judge_settings`).
    transfer_seed : int, optional
        Seed of the transfer's own filters; the judge is independent when it differs.

    Returns
    -------
    dict
        ``network`` (net, filters, kernel, activation, seed, independent), ``style_loss_result``,
        ``style_loss_content``, ``ratio`` (result / content: below 1 is closer to the style),
        ``closer_to_style`` and ``flag`` (a sentence when the result is not closer, else None).
    """
    return verdict_of(transfer_losses(result, style, content, judge), judge=judge, transfer_seed=transfer_seed)


def verdict_of(losses: dict, *, judge: TransferSettings, transfer_seed: int | None = None) -> dict:
    """:func:`style_verdict` from the judge's :func:`transfer_losses` (with a content clip)."""
    r, c = losses["style_loss"], losses["style_loss_content_vs_style"]
    ratio = r / c if c > 0 else float("inf")
    closer = bool(r < c)
    return {"network": {"net": "conv1d", "filters": judge.filters, "kernel": judge.kernel,
                        "activation": judge.activation, "seed": judge.seed,
                        "independent": transfer_seed is None or judge.seed != transfer_seed},
            "style_loss_result": r, "style_loss_content": c, "ratio": ratio, "closer_to_style": closer,
            "flag": None if closer else (f"the result is not closer to the style than the content "
                                         f"(style loss {r:.4g} vs {c:.4g}, ratio {ratio:.3g})")}


def evaluate_audio(content: str, style: str, result: str, *, settings: TransferSettings | None = None,
                   judge_seed: int | None = None, judge_filters: int = JUDGE_FILTERS,
                   judge_kernel: int = JUDGE_KERNEL, classifier: str | None = None,
                   soundfont: str | None = None) -> dict:
    """Every metric of one transfer, from files (WAV / FLAC, or MIDI through the render path).

    Parameters
    ----------
    content, style, result : str
        Input paths.
    settings : TransferSettings, optional
        The transfer's own filters (seed, filters, kernel, activation, content weight); default the
        reference settings with seed 0 (what ``midistyle audio transfer`` uses by default).
    judge_seed : int, optional
        Seed of the independent judge network (default: the transfer's seed + :data:`JUDGE_SEED_OFFSET`).
    judge_filters, judge_kernel : int
        Size of the judge network (default: the reference, 4096 filters of width 11).
    classifier : str, optional
        Audio genre classifier (default: the shipped one).
    soundfont : str, optional
        SoundFont for MIDI inputs.

    Returns
    -------
    dict
        ``judge`` (:func:`style_verdict` under the independent network), ``genre_probabilities``
        {content, style, result}, ``losses`` (under the judge), ``losses_transfer_network`` (under
        the transfer's own filters), ``ioi``, ``xcorr_result_style``, ``xcorr_result_content``.
    """
    s = settings or TransferSettings()
    clf = AudioGenreClassifier.load(classifier)
    sr = clf.features.sr
    if sr != s.sr:
        s = dataclasses.replace(s, sr=sr)
    ys = {k: load_input(p, sr, soundfont) for k, p in (("content", content), ("style", style), ("result", result))}
    probs = {k: clf.predict(y) for k, y in ys.items()}
    judge = judge_settings(s.seed, seed=judge_seed, filters=judge_filters, kernel=judge_kernel, sr=sr,
                           content_weight=s.content_weight)
    losses = transfer_losses(ys["result"], ys["style"], ys["content"], judge)
    verdict = verdict_of(losses, judge=judge, transfer_seed=s.seed)
    own = transfer_losses(ys["result"], ys["style"], ys["content"], s)
    own["loss"] = own["style_loss"] + own["content_loss"]
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
            "judge": verdict, "genres": clf.genres, "genre_probabilities": probs, "losses": losses,
            "losses_transfer_network": own, "ioi": ioi,
            "xcorr_result_style": xr, "xcorr_result_content": {"value": xc["value"], "lag_seconds": xc["lag_samples"] / sr},
            "settings": {k: s.to_dict()[k] for k in ("filters", "kernel", "activation", "seed", "content_weight")}}


def format_evaluation(r: dict) -> str:
    """The text report of :func:`evaluate_audio` (what ``midistyle evaluate audio`` prints)."""
    j = r["judge"]
    net = j["network"]
    own = r["losses_transfer_network"]
    st = r["settings"]
    lines = [f"judge: {'independent ' if net['independent'] else 'NOT independent '}network, Conv1D "
             f"{net['filters']} filters x {net['kernel']}, {net['activation']}, seed {net['seed']} "
             f"(the transfer's seed: {st['seed']})",
             "style loss under the judge (lower = closer to the style):",
             f"  result  vs style  {j['style_loss_result']:.4g}",
             f"  content vs style  {j['style_loss_content']:.4g}",
             f"  result / content  {j['ratio']:.3g}"
             + (f"  (the result is {1 / j['ratio']:.3g}x closer to the style than the content)"
                if j["closer_to_style"] and j["ratio"] > 0 else "")]
    if j["flag"]:
        lines.append(f"FLAG: {j['flag']}")
    lines += [f"content loss under the judge, result vs content {r['losses']['content_loss']:.4g} "
              f"(alpha {st['content_weight']:g})",
              f"the transfer's own filters (seed {st['seed']}, {st['filters']} x {st['kernel']}, {st['activation']}): "
              f"loss {own['loss']:.4g} = style {own['style_loss']:.4g} + content {own['content_loss']:.4g} "
              f"(content vs style: style {own['style_loss_content_vs_style']:.4g})",
              f"genre probabilities ({', '.join(r['genres'])}):"]
    for k in ("content", "style", "result"):
        probs = ", ".join(f"{g} {p:.3f}" for g, p in r["genre_probabilities"][k].items())
        lines.append(f"  {k:<8} {probs}   {r['files'][k]}")
    lines += [f"IOI KL divergence result||style {r['ioi']['kl_result_style']:.3f} nats "
              f"(content||style {r['ioi']['kl_content_style']:.3f}; onsets {r['ioi']['onsets']})",
              f"max normalised cross-correlation result/style {r['xcorr_result_style']['value']:.3f} "
              f"(result/content {r['xcorr_result_content']['value']:.3f})"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- key invariance
#: Content representations compared by :func:`key_invariance`: name -> loss-term factors
#: (the style terms are the same for all).
KEY_INVARIANCE_CONTENT = {"stft (plain)": {"stft_content": 1.0},
                          "cqt (key-invariant)": {"cqt_content": 1.0}}
KEY_INVARIANCE_STYLE = {"stft_style": 1.0, "cqt_style": 1.0}


def demo_melody(seconds: float = 3.0) -> np.ndarray:
    """A short melody with harmony (I-IV-V-I in C, a chord and two melody notes per bar) as a note
    table of :data:`midistyle.codec.io.NOTE_DTYPE` fields (pitch, velocity, start, end)."""
    chords = ((48, 52, 55), (53, 57, 60), (55, 59, 62), (48, 52, 55))
    tune = ((72, 76), (77, 72), (74, 71), (72, 67))
    bar = seconds / 4
    rows = []
    for i, (ch, mel) in enumerate(zip(chords, tune)):
        t = i * bar
        rows += [(p, 70, t, t + bar * 0.95) for p in ch]
        rows += [(mel[0], 96, t, t + bar * 0.45), (mel[1], 90, t + bar * 0.5, t + bar * 0.95)]
    return np.array(rows, dtype=[("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8")])


#: Network sizes and budget of the key-invariance experiment, where they differ from MultiSettings'.
KEY_INVARIANCE_SETTINGS = {"stft_filters": 256, "cqt_filters": 16, "iterations": 40}


def key_invariance_settings(**fields):
    """The :class:`midistyle.audio.multi.MultiSettings` of :func:`key_invariance`: ``fields`` over
    :data:`KEY_INVARIANCE_SETTINGS`, every other field at the class default."""
    return MultiSettings(**{**KEY_INVARIANCE_SETTINGS, **fields})


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
    from tqdm import tqdm

    s = settings or key_invariance_settings()
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
