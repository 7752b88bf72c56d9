"""Ulyanov-style spectral audio style transfer and texture synthesis: the optimisation, the
waveform, and files in and out (the method's settings, network and loss: :mod:`.ulyanov`).

Speed (see ``benchmarks/bench_audio_transfer.py``): the value and gradient are one fused
``tf.function`` (float32); the style features and their Gram statistics are computed once; the
convolution runs as one matrix product over time-shifted copies of the spectrogram; and the style
loss uses the (frames x frames) form of :mod:`midistyle.nn.gram` when that is cheaper than the
(filters x filters) Gram. The optimiser is SciPy's L-BFGS-B (as in the reference) or Adam.

The audio carries the loss reported: the log-magnitudes are bounded at 0 during the optimisation
(``log1p |STFT|`` of a waveform is never negative, and a spectrogram that is would lose what its
negative entries bought when turned into sound), Griffin-Lim's waveform is refined by L-BFGS-B on
the loss of its own STFT (``waveform_iterations``), and nothing normalises its level afterwards
(only :func:`midistyle.audio.files.limit_peaks` bends peaks beyond full scale). The final loss is
that of the waveform returned; ``midistyle evaluate audio`` judges it with another draw of the
filters.

TensorFlow and SciPy are imported inside the functions that need them.
"""
from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from ..errors import MidistyleError
from ..fsutil import atomic_write, check_output
from . import spectral
from .files import WRITE_EXTENSIONS, limit_peaks, load_input, read_audio, write_audio
from .gramnets import RecurrentGramLoss
from .multi import stylise_multi
from .optimise import TransferResult, optimise_adam, optimise_lbfgs, spectrogram_frames
from .ulyanov import (ACTIVATIONS, GRAM_FORMS, INITS, OPTIMIZERS, PRECISIONS, TransferSettings, UlyanovLoss,
                      WaveformLoss, cpu_has_fast_bfloat16, fast_settings, features_np, random_filters, ulyanov_settings)

__all__ = ["ACTIVATIONS", "GRAM_FORMS", "INITS", "OPTIMIZERS", "PRECISIONS", "TransferSettings", "UlyanovLoss",
           "WaveformLoss", "cpu_has_fast_bfloat16", "fast_settings", "features_np", "random_filters",
           "ulyanov_settings", "spectrogram_frames", "stylise", "refine_waveform", "plot_transfer", "format_summary",
           "transfer_files"]


# ----------------------------------------------------------------------------- the method
def stylise(content: np.ndarray | None, style: np.ndarray, settings: TransferSettings | None = None, *,
            samples: int | None = None, progress: bool = False, desc: str = "transfer",
            weights: np.ndarray | None = None) -> TransferResult:
    """Ulyanov style transfer (or texture synthesis) between two waveforms.

    Parameters
    ----------
    content : array of float or None
        Content waveform (mono, at ``settings.sr``); None synthesises a texture of ``style``.
    style : array of float
        Style waveform; its length may differ from the content's.
    settings : TransferSettings, optional
        Defaults: the reference settings.
    samples : int, optional
        Length of the result; default the content's (texture: the style's).
    progress : bool
        Show tqdm progress bars (with the loss) on stderr.
    desc : str
        Label of the progress bar.
    weights : array, optional
        Filters to use instead of drawing them from the seed (e.g. shared between calls).

    Returns
    -------
    TransferResult

    Raises
    ------
    MidistyleError
        Bad settings, or clips shorter than the filter width.
    """
    s = settings or TransferSettings()
    t0 = time.perf_counter()
    S, C, frames, samples = _clips(content, style, s, samples)
    use_content = content is not None and s.content_weight > 0
    loss, warm, weights = _losses(S, C if use_content else None, frames, s, weights)
    rng = np.random.default_rng(s.seed + 1)
    if s.init == "content" and C is not None:
        x0 = C.copy()
    else:
        x0 = np.abs(rng.standard_normal((frames, S.shape[1])) * 1e-3).astype(np.float32)
    t_setup = time.perf_counter() - t0
    x, reason, history, t_opt = _optimise(loss, warm, x0, s, progress=progress, desc=desc)
    # the loss of the spectrogram stage's result, in float32 ("bfloat16-grad" computes it in float32)
    exact = loss if s.precision != "bfloat16" else UlyanovLoss(
        S, C if use_content else None, frames, dataclasses.replace(s, precision="float32"), weights=weights)
    L, sl, cl, _ = exact(x)
    history.append(dict(iteration=len(history), evaluations=loss.evaluations, seconds=t_opt, loss=L,
                        style_loss=sl, content_loss=cl, point="spectrogram", precision="float32"))
    if s.target_style_loss is not None and reason == "target style loss reached" and sl > s.target_style_loss:
        reason = "target reached in bfloat16 but not in float32"
    y, sc, t_gl = _griffin_lim(x, s, samples, progress=progress)
    wave = WaveformLoss(exact, samples, n_fft=s.n_fft, hop=s.hop)
    y, wave_reason, t_wave = refine_waveform(wave, y, s, history, progress=progress)
    return TransferResult(waveform=y, spectrogram=x.T.copy(), history=history, griffin_lim_convergence=sc,
                          timings={"setup": t_setup, "optimise": t_opt, "griffin_lim": t_gl, "waveform": t_wave,
                                   "total": time.perf_counter() - t0},
                          settings=s, content_spectrogram=None if C is None else C.T.copy(),
                          style_spectrogram=S.T.copy(), evaluations=loss.evaluations + wave.evaluations,
                          stop_reason=f"{reason}; waveform: {wave_reason}",
                          extra={"gram_form": loss.form, "frames": frames, "waveform_evaluations": wave.evaluations,
                                 "warm_evaluations": warm.evaluations if warm is not None else 0,
                                 "limiter": history[-1]["limiter"]},
                          objective=wave.losses)


def _clips(content, style, s: TransferSettings, samples) -> tuple:
    """The log spectrograms of the style and content clips and the result's length: ``(S, C,
    frames, samples)``, the content cut or padded to the result's frames; :class:`MidistyleError`
    for a clip shorter than the filters."""
    style = np.asarray(style, np.float32)
    if content is not None:
        content = np.asarray(content, np.float32)
    if samples is None:
        samples = len(content) if content is not None else len(style)
    samples = int(samples)
    S = spectrogram_frames(style, s)
    C = spectrogram_frames(content, s) if content is not None else None
    frames = spectral.n_frames(samples, s.hop)
    if C is not None and C.shape[0] != frames:
        C = C[:frames] if C.shape[0] > frames else np.pad(C, ((0, frames - C.shape[0]), (0, 0)))
    for name, X in (("style", S), ("content", C), ("result", np.zeros((frames, 1)))):
        if X is not None and X.shape[0] < s.kernel:
            secs = s.kernel * s.hop / s.sr
            raise MidistyleError(f"{name} clip too short: needs at least {s.kernel} frames (~{secs:.2f} s)")
    return S, C, frames, samples


def _losses(S, C, frames: int, s: TransferSettings, weights) -> tuple:
    """The loss of the optimisation (``C``: the content frames it keeps, or None) and, with
    ``warm_iterations``, that of the warm start on the first ``warm_filters`` filters: ``(loss,
    warm or None, weights)``, the filters drawn from the seed unless given."""
    if weights is None and s.net not in ("rnn", "bilstm"):
        weights = random_filters(S.shape[1], s.filters, s.kernel, s.seed)
    if s.net in ("rnn", "bilstm"):
        loss = RecurrentGramLoss(S, C, frames, s)
    else:
        loss = UlyanovLoss(S, C, frames, s, weights=weights)
    warm = None
    if s.warm_iterations > 0:
        ratio = s.warm_filters / s.filters
        sw = dataclasses.replace(s, filters=s.warm_filters, content_weight=s.content_weight * ratio,
                                 iterations=s.warm_iterations, target_style_loss=None, warm_iterations=0)
        warm = UlyanovLoss(S, C, frames, sw, weights=weights[:, :, :s.warm_filters])
    return loss, warm, weights


def _optimise(loss, warm, x0: np.ndarray, s: TransferSettings, *, progress: bool, desc: str) -> tuple:
    """The spectrogram stage: the warm start, then L-BFGS-B (bounded at 0) or Adam from ``x0``,
    stopping early at ``target_style_loss``: ``(x, stop reason, history, seconds)``."""
    from tqdm import tqdm

    history = []
    t_opt = time.perf_counter()
    bar = tqdm(total=s.iterations + s.warm_iterations, desc=desc, unit="it", disable=not progress, leave=False)

    def on_iter(d, phase="full"):
        d.update(iteration=len(history) + 1, evaluations=loss.evaluations,
                 seconds=time.perf_counter() - t_opt, phase=phase)
        if warm is not None:
            d["warm_evaluations"] = warm.evaluations
        history.append(d)
        bar.update(1)
        bar.set_postfix(loss=f"{d['loss']:.4g}", style=f"{d['style_loss']:.4g}", refresh=False)
        return phase == "full" and s.target_style_loss is not None and d["style_loss"] <= s.target_style_loss

    try:
        if warm is not None:
            sw = warm.settings
            x0, _ = optimise_lbfgs(warm, x0, sw, lambda d: on_iter(d, "warm"), lower=0.0)
        if s.iterations == 0:
            x, reason = x0, "no iterations"
        elif s.optimizer == "lbfgs":
            x, reason = optimise_lbfgs(loss, x0, s, on_iter, lower=0.0)
        else:
            x, reason = optimise_adam(loss, x0, s, on_iter)
    finally:
        bar.close()
    if (s.target_style_loss is not None and history and history[-1].get("phase") == "full"
            and history[-1]["style_loss"] <= s.target_style_loss):
        reason = "target style loss reached"
    return x, reason, history, time.perf_counter() - t_opt


def _griffin_lim(x: np.ndarray, s: TransferSettings, samples: int, *, progress: bool) -> tuple:
    """Griffin-Lim phase reconstruction of the log spectrogram ``x`` (frames x bins): ``(waveform,
    convergence, seconds)``."""
    from tqdm import tqdm

    t_gl = time.perf_counter()
    mag = spectral.magnitude_from_log(x.T)
    gbar = tqdm(total=s.griffin_lim_iterations, desc="griffin-lim", unit="it", disable=not progress, leave=False)
    try:
        y, sc = spectral.griffin_lim(mag, s.griffin_lim_iterations, s.hop, length=samples, seed=s.seed,
                                     callback=lambda i: gbar.update(1))
    finally:
        gbar.close()
    return y, sc, time.perf_counter() - t_gl


def refine_waveform(wave: WaveformLoss, y0: np.ndarray, s: TransferSettings, history: list, *,
                    progress: bool = False) -> tuple:
    """The waveform stage of :func:`stylise`: L-BFGS-B on the waveform, then clipping protection.

    Records in ``history`` the loss of ``y0`` (``point="griffin-lim"``), one entry per iteration
    (``phase="waveform"``) and the loss of the returned waveform after
    :func:`midistyle.audio.files.limit_peaks` (``point="output"``, ``final``, with the limiter's
    report), so the last entry is the loss of exactly the audio returned.

    Parameters
    ----------
    wave : WaveformLoss
    y0 : array
        Start waveform (Griffin-Lim's).
    s : TransferSettings
        ``waveform_iterations``, ``lbfgs_memory`` and ``target_style_loss`` are read.
    history : list
        Appended to.
    progress : bool
        Progress bar on stderr.

    Returns
    -------
    (waveform, stop reason, seconds)
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    base = len(history)

    def note(d, **extra):
        d.update(iteration=len(history) + 1 - base, evaluations=wave.evaluations, seconds=time.perf_counter() - t0,
                 **extra)
        history.append(d)
        return d

    note(wave.losses(y0), point="griffin-lim")
    y = np.asarray(y0, np.float32)
    reason = "no waveform iterations"
    target = s.target_style_loss
    if s.waveform_iterations > 0 and not (target is not None and history[-1]["style_loss"] <= target):
        bar = tqdm(total=s.waveform_iterations, desc="waveform", unit="it", disable=not progress, leave=False)

        def on_iter(d):
            note(d, phase="waveform")
            bar.update(1)
            bar.set_postfix(loss=f"{d['loss']:.4g}", style=f"{d['style_loss']:.4g}", refresh=False)
            return target is not None and d["style_loss"] <= target

        try:
            y, reason = optimise_lbfgs(wave, y, dataclasses.replace(s, iterations=s.waveform_iterations), on_iter)
        finally:
            bar.close()
        if target is not None and history[-1].get("phase") == "waveform" and history[-1]["style_loss"] <= target:
            reason = "target style loss reached"
    y, limiter = limit_peaks(y)
    note(wave.losses(y), point="output", final=True, limiter=limiter)
    return y, reason, time.perf_counter() - t0


# ----------------------------------------------------------------------------- files, plot
def plot_transfer(result: TransferResult, path: str, *, force: bool = False, title: str = "") -> None:
    """Write a PNG of the content, style and result spectrograms and the loss curve (atomic).

    Parameters
    ----------
    result : TransferResult
    path : str
        ``.png`` output.
    force : bool
        Replace an existing file.
    title : str
        Figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_output(path, force=force, extensions=(".png",))
    s = result.settings
    heard = spectrogram_frames(result.waveform, s).T
    panels = [("content", result.content_spectrogram), ("style", result.style_spectrogram),
              ("result (the audio returned)", heard)]
    panels = [(n, X) for n, X in panels if X is not None]
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(10, 2.6 * (len(panels) + 1)))
    vmax = max(float(np.max(X)) for _, X in panels) or 1.0
    for ax, (name, X) in zip(axes, panels):
        secs = X.shape[1] * s.hop / s.sr
        ax.imshow(X, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax,
                  extent=(0, secs, 0, s.sr / 2000.0))
        ax.set_ylabel("kHz")
        ax.set_title(f"{name}: log1p |STFT|", fontsize=9)
    ax = axes[-1]
    h = [d for d in result.history if "point" not in d and not d.get("final")] or result.history
    it = np.arange(1, len(h) + 1)
    ax.semilogy(it, [max(d["loss"], 1e-12) for d in h], label="total")
    ax.semilogy(it, [max(d["style_loss"], 1e-12) for d in h], label="style")
    if any(d["content_loss"] > 0 for d in h):
        ax.semilogy(it, [max(d["content_loss"], 1e-12) for d in h], label="content (weighted)")
    stage = [i for i, d in enumerate(h) if d.get("phase") == "waveform"]
    if stage:
        ax.axvline(stage[0] + 0.5, color="0.5", lw=0.8, ls="--")
        ax.text(stage[0] + 1, ax.get_ylim()[1], " waveform stage", fontsize=7, va="top", color="0.3")
    ax.set_xlabel(f"{s.optimizer} iteration")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    gl = result.griffin_lim_convergence
    ax.set_title(f"loss: {s.describe()}" + ("" if gl != gl else f"; Griffin-Lim spectral convergence {gl:.3f}"),
                 fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), force=force, suffix=".png")
    plt.close(fig)


def _losses_at(res: TransferResult, point: str) -> dict | None:
    """``{loss, style_loss, content_loss}`` of the history entry measured at ``point``, if any."""
    for d in res.history:
        if d.get("point") == point:
            return {k: d[k] for k in ("loss", "style_loss", "content_loss")}
    return None


def _summary(res: TransferResult, **info) -> dict:
    f = res.final
    return {**info, "seconds": len(res.waveform) / res.settings.sr, "iterations": len(
        [d for d in res.history if not d.get("final") and not d.get("start") and "point" not in d]),
            "evaluations": res.evaluations,
            "loss": f.get("loss"), "style_loss": f.get("style_loss"), "content_loss": f.get("content_loss"),
            "spectrogram_loss": _losses_at(res, "spectrogram"), "griffin_lim_loss": _losses_at(res, "griffin-lim"),
            "limiter": res.extra.get("limiter"),
            "rms": float(np.sqrt(np.mean(np.square(res.waveform, dtype=np.float64)))),
            "griffin_lim_convergence": (None if res.griffin_lim_convergence != res.griffin_lim_convergence
                                        else res.griffin_lim_convergence), "stop_reason": res.stop_reason,
            "timings": res.timings, "gram_form": res.extra.get("gram_form"), "settings": res.settings.to_dict(),
            "method": res.extra.get("method", "ulyanov"),
            **({"initial_gradient_norms": res.extra["initial_gradient_norms"], "weights": res.extra["weights"],
                "terms_start": res.extra["terms_start"], "terms_final": res.extra["terms_final"]}
               if "weights" in res.extra else {})}


def format_summary(r: dict) -> str:
    """The text report of :func:`transfer_files` (what ``midistyle audio transfer`` prints)."""
    what = f"{r['content']} + style {r['style']}" if r["content"] else f"texture of {r['style']}"
    lines = [f"{what} -> {r['output']}: {r['seconds']:.1f} s, {r['iterations']} iterations "
             f"({r['evaluations']} loss evaluations, {r['timings']['total']:.1f} s in all); the audio returned: loss "
             f"{r['loss']:.4g} = style {r['style_loss']:.4g} + content {r['content_loss']:.4g}"]
    sp, gl = r.get("spectrogram_loss"), r.get("griffin_lim_loss")
    if sp and gl:
        lines.append(f"  stages: spectrogram {sp['loss']:.4g} (style {sp['style_loss']:.4g}) -> Griffin-Lim "
                     f"{gl['loss']:.4g} (spectral convergence {r['griffin_lim_convergence']:.3f}) -> waveform "
                     f"{r['loss']:.4g}")
    w = r.get("written")
    if w:
        lines.append(f"  the file read back: loss {w['loss']:.4g} (style {w['style_loss']:.4g}), "
                     f"{w['relative_to_final']:.3f}x the final loss; RMS {r['rms']:.3f}")
    lim = r.get("limiter")
    if lim and lim["limited_samples"]:
        lines.append(f"  limiter: peak {lim['peak_in']:.3f} above full scale, {lim['limited_samples']} samples "
                     f"({100 * lim['limited_share']:.3f} %) bent by a soft knee, at most "
                     f"{lim['max_reduction_db']:.2f} dB")
    if r.get("plot"):
        lines.append(f"  plot {r['plot']}")
    return "\n".join(lines)


def transfer_files(content: str | None, style: str, output: str, settings=None, *,
                   seconds: float | None = None, force: bool = False, plot: str | None = None,
                   progress: bool = False, float_samples: bool = False, soundfont: str | None = None) -> dict:
    """Style transfer (or, with ``content=None``, texture synthesis) between files, written atomically.

    Parameters
    ----------
    content : str or None
        Content clip: WAV / FLAC (any rate, mixed to mono) or MIDI / score (rendered first).
    style : str
        Style clip, same kinds.
    output : str
        ``.wav`` or ``.flac`` result (the content's length; textures: ``seconds`` or the style's).
    settings : TransferSettings or midistyle.audio.multi.MultiSettings, optional
        The method follows the settings' type (default: the Ulyanov method, reference settings).
    seconds : float, optional
        Length of a texture.
    force : bool
        Replace existing outputs (never an input).
    plot : str, optional
        PNG of spectrograms and loss curve.
    progress : bool
        Progress bars on stderr.
    float_samples : bool
        32-bit float WAV instead of 16-bit PCM.
    soundfont : str, optional
        SoundFont for MIDI inputs.

    Returns
    -------
    dict
        Inputs, output, length, iterations, losses of the returned waveform (``loss``,
        ``style_loss``, ``content_loss``), of the spectrogram stage (``spectrogram_loss``) and of
        Griffin-Lim's waveform (``griffin_lim_loss``), the limiter's report, ``written`` (the loss
        of the file written, read back, and its ratio to the final loss), Griffin-Lim convergence,
        timings, settings.
    """
    s = settings or TransferSettings()
    inputs = tuple(p for p in (content, style) if p is not None)
    check_output(output, force=force, protect=inputs, extensions=WRITE_EXTENSIONS)
    if plot:
        check_output(plot, force=force, protect=inputs, extensions=(".png",))
        if os.path.abspath(plot) == os.path.abspath(output):
            raise MidistyleError(f"{plot}: the plot and the audio output must differ")
    if seconds is not None and seconds <= 0:
        raise MidistyleError(f"seconds must be > 0, got {seconds}", field="seconds")
    ys = load_input(style, s.sr, soundfont)
    yc = load_input(content, s.sr, soundfont) if content is not None else None
    samples = int(round(seconds * s.sr)) if seconds is not None and content is None else None
    desc = "texture" if content is None or s.content_weight == 0 else "transfer"
    if isinstance(s, TransferSettings):
        res = stylise(yc, ys, s, samples=samples, progress=progress, desc=desc)
    else:
        res = stylise_multi(yc, ys, s, samples=samples, progress=progress, desc=desc)
    write_audio(output, res.waveform, s.sr, force=force, protect=inputs,
                subtype="FLOAT" if float_samples else "PCM_16")
    written = res.objective(read_audio(output, s.sr))  # the file as a reader gets it
    written["relative_to_final"] = written["loss"] / res.final["loss"] if res.final["loss"] else float("nan")
    if plot:
        plot_transfer(res, plot, force=force,
                      title=f"{os.path.basename(content) if content else 'texture'} in the style of "
                            f"{os.path.basename(style)}")
    return _summary(res, content=content, style=style, output=output, plot=plot, written=written)
