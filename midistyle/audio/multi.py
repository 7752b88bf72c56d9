"""Multi-representation audio style transfer in the waveform domain (Barry & Kim; seed 001).

The result **waveform** is optimised directly, through differentiable transforms written in
TensorFlow, so no phase reconstruction (Griffin-Lim) is needed:

* ``stft``: ``log1p |STFT|`` (periodic Hann window, centred frames with reflection padding, as
  :mod:`midistyle.audio.spectral`), read by a Conv1D over time with the frequency bins as channels.
* ``mel``: ``log1p`` of a Mel filterbank (librosa's Slaney filters) applied to ``|STFT|``, read by a
  long first Conv1D and dilated residual blocks (dilation 2, 4, 8, ...). Style is taken from
  every block, content from the last.
* ``cqt``: a pseudo constant-Q transform, a filterbank of Gaussian bands at the equal-tempered
  pitches (86 bins, 12 per octave from C1, so up to C#8; seed 001 writes C1-D8) projected from ``|STFT|``, then ``log1p``; read by a
  2-D convolution over time x frequency (11 x 11). Style is the Gram of the 2-D feature maps;
  content is the feature maps **max-pooled over the whole frequency axis**, a key-invariant
  representation (a transposition shifts the maps along frequency, the maximum stays).

Every network has fixed random weights (LeCun-normal for SELU, He-normal otherwise, from a seeded
generator). Six loss terms (content and style per network) can be switched on; each term's
weight is normalised at the start so that the norm of its gradient with respect to the waveform
is 1, then multiplied by a user factor (seed 001, Eq. 7-8). An optional L1 penalty on the
``log1p |STFT|`` of the result asks for a sparse spectrum. The optimiser is SciPy's L-BFGS-B.

With no content clip (texture synthesis) only the style terms are used.
TensorFlow, SciPy and librosa are imported inside the functions that need them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import MidistyleError
from ..nn.gram import gram, style_loss_direct
from ..settings import Settings, is_number
from . import spectral
from .files import limit_peaks
from .optimise import TransferResult, optimise_lbfgs, spectrogram_frames

NETWORKS = ("stft", "mel", "cqt")
TERMS = tuple(f"{n}_{k}" for n in NETWORKS for k in ("content", "style"))
#: Named combinations of representations (the columns of seed 001's Table 1): each network
#: named contributes its content and its style term.
PRESETS = {
    "stft": ("stft",),
    "mel": ("mel",),
    "cqt": ("cqt",),
    "stft+mel": ("stft", "mel"),
    "stft+cqt": ("stft", "cqt"),
    "mel+cqt": ("mel", "cqt"),
    "full": ("stft", "mel", "cqt"),
}
ACTIVATIONS = ("selu", "relu")


@dataclass
class MultiSettings(Settings):
    """Settings of the multi-representation method (defaults sized for 2 CPU cores).

    Attributes
    ----------
    sr, n_fft, hop : int
        Sample rate and STFT settings (22050, 2048, 512).
    preset : str
        One of :data:`PRESETS`: which networks take part.
    terms : dict
        User factor per loss term (:data:`TERMS`), applied after gradient-norm normalisation;
        a term missing here gets 1 if its network is in the preset, else it is off. A factor of 0
        switches a term off.
    content_weight : float
        Extra factor on every content term (1.0). 0 makes a texture.
    n_mels : int
        Mel bands (128).
    cqt_bins, cqt_bins_per_octave, cqt_fmin : int, int, float
        Pseudo-CQT bands (86 bins, 12 per octave from C1 = 32.70 Hz: up to C#8).
    stft_filters, stft_kernel : int
        STFT network: random Conv1D filters and width in frames (512, 11; the reference uses
        4096 filters, affordable but slower here: see the benchmark).
    mel_filters, mel_kernel, mel_blocks : int
        Mel network: channels (256), width of the long first kernel (11) and number of dilated
        residual blocks of width 3 with dilations 2, 4, ... (3).
    cqt_filters, cqt_kernel, cqt_time_stride : int
        CQT network: 2-D filters (32), their size (11 x 11) and the stride along time (2).
    activation : str
        "selu" (LeCun-normal init, as in seed 001) or "relu" (He-normal init).
    sparsity : float
        Weight of the L1 penalty on the result's ``log1p |STFT|``, relative to the unit-norm
        terms (0: off).
    iterations : int
        L-BFGS-B iterations (100).
    lbfgs_memory : int
        L-BFGS-B correction pairs (10).
    init : str
        "noise" (N(0, 0.01) waveform) or "content".
    seed : int
        Seed of the weights and the start.
    """

    sr: int = 22050
    n_fft: int = spectral.N_FFT
    hop: int = spectral.HOP
    preset: str = "full"
    terms: dict = field(default_factory=dict)
    content_weight: float = 1.0
    n_mels: int = 128
    cqt_bins: int = 86
    cqt_bins_per_octave: int = 12
    cqt_fmin: float = 32.703195662574764
    stft_filters: int = 512
    stft_kernel: int = 11
    mel_filters: int = 256
    mel_kernel: int = 11
    mel_blocks: int = 3
    cqt_filters: int = 32
    cqt_kernel: int = 11
    cqt_time_stride: int = 2
    activation: str = "selu"
    sparsity: float = 0.0
    iterations: int = 100
    lbfgs_memory: int = 10
    init: str = "noise"
    seed: int = 0

    optimizer = "lbfgs"  # the only optimiser of this method (read by the plot)

    def factors(self, with_content: bool = True) -> dict:
        """The user factor of every term that is on (after preset, ``terms`` and content weight)."""
        nets = PRESETS[self.preset]
        out = {}
        for t in TERMS:
            net, kind = t.split("_")
            f = float(self.terms.get(t, 1.0 if net in nets else 0.0))
            if kind == "content":
                f *= self.content_weight if with_content else 0.0
            if f > 0:
                out[t] = f
        return out

    def validate(self) -> None:
        """Raise :class:`midistyle.settings.SettingsError`, naming the field, on settings that cannot work."""
        self.require_one_of("preset", PRESETS)
        self.require("terms", isinstance(self.terms, dict), "must be a mapping of loss term to factor")
        unknown = sorted(set(self.terms) - set(TERMS))
        self.require("terms", not unknown, f"names unknown loss term(s) {', '.join(map(str, unknown))} "
                                           f"(terms: {', '.join(TERMS)})")
        self.require("terms", all(is_number(v) and math.isfinite(v) and v >= 0 for v in self.terms.values()),
                     "must map each term to a finite number >= 0")
        self.require_one_of("activation", ACTIVATIONS)
        for name in ("content_weight", "sparsity"):
            value = getattr(self, name)
            self.require(name, is_number(value) and math.isfinite(value) and value >= 0, "must be a finite number >= 0")
        self.require_min(1, "stft_filters", "stft_kernel", "mel_filters", "mel_kernel", "cqt_filters", "cqt_kernel",
                         "cqt_time_stride", "n_mels", "cqt_bins", "cqt_bins_per_octave", "lbfgs_memory")
        self.require_min(0, "mel_blocks", "iterations", "seed")
        self.require_one_of("init", ("noise", "content"))
        self.require_min(16, "n_fft")
        self.require("hop", is_number(self.hop) and 1 <= self.hop <= self.n_fft, "must be in 1..n_fft")
        self.require("sr", is_number(self.sr) and 1000 <= self.sr <= 192000, "must be in 1000..192000 Hz")
        self.require("cqt_fmin", is_number(self.cqt_fmin) and self.cqt_fmin > 0, "must be a frequency > 0 Hz")
        top = self.cqt_fmin * 2 ** ((self.cqt_bins - 1) / self.cqt_bins_per_octave)
        self.require("cqt_bins", top < self.sr / 2, f"put the highest CQT band at {top:.0f} Hz, not below the "
                                                    f"Nyquist frequency ({self.sr / 2:.0f} Hz)")
        self.require("terms", bool(self.factors(True)), f"switch every loss term off with preset {self.preset!r}")

    def describe(self) -> str:
        """One line for plots and logs."""
        return (f"multi ({self.preset}; {self.activation}; STFT {self.stft_filters}x{self.stft_kernel}, "
                f"Mel {self.mel_filters}, CQT {self.cqt_filters}x{self.cqt_kernel}x{self.cqt_kernel})")


# ----------------------------------------------------------------------------- filterbanks
def mel_matrix(s: MultiSettings) -> np.ndarray:
    """(bins, n_mels) Mel filterbank (librosa's Slaney filters), float32."""
    import librosa

    return librosa.filters.mel(sr=s.sr, n_fft=s.n_fft, n_mels=s.n_mels).T.astype(np.float32)


def cqt_frequencies(s: MultiSettings) -> np.ndarray:
    """Centre frequencies (Hz) of the pseudo-CQT bands."""
    return s.cqt_fmin * 2.0 ** (np.arange(s.cqt_bins) / s.cqt_bins_per_octave)


def cqt_matrix(s: MultiSettings) -> np.ndarray:
    """(bins, cqt_bins) pseudo constant-Q filterbank projected from the STFT magnitude, float32.

    Band ``k`` is a Gaussian over frequency centred on ``f_k = fmin 2^(k / b)`` with standard
    deviation ``f_k (2^(1/b) - 1) / 2`` (a constant Q), but never narrower than half an STFT bin,
    so that the low bands, narrower than the STFT's resolution, still read the nearest bins. Each
    band's weights sum to 1.
    """
    f = np.arange(1 + s.n_fft // 2) * s.sr / s.n_fft
    fk = cqt_frequencies(s)
    sigma = np.maximum(fk * (2 ** (1 / s.cqt_bins_per_octave) - 1) / 2, 0.5 * s.sr / s.n_fft)
    W = np.exp(-0.5 * ((f[:, None] - fk[None, :]) / sigma[None, :]) ** 2)
    return (W / W.sum(axis=0, keepdims=True)).astype(np.float32)


def random_weights(shape: tuple, fan_in: int, activation: str, rng: np.random.Generator) -> np.ndarray:
    """Fixed random weights: LeCun-normal (std sqrt(1/fan_in)) for SELU, He-normal (sqrt(2/fan_in)) else."""
    std = math.sqrt((1.0 if activation == "selu" else 2.0) / fan_in)
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std))


# ----------------------------------------------------------------------------- the networks
class MultiNetworks:
    """The three random-weight networks and their transforms, as TensorFlow functions of a waveform.

    Parameters
    ----------
    settings : MultiSettings
    """

    def __init__(self, settings: MultiSettings):
        import tensorflow as tf

        s = self.settings = settings
        rng = np.random.default_rng(s.seed)
        nb = 1 + s.n_fft // 2
        self.mel_fb = tf.constant(mel_matrix(s))
        self.cqt_fb = tf.constant(cqt_matrix(s))
        self.w_stft = tf.constant(random_weights((s.stft_kernel, nb, s.stft_filters), s.stft_kernel * nb,
                                                 s.activation, rng))
        self.w_mel0 = tf.constant(random_weights((s.mel_kernel, s.n_mels, s.mel_filters), s.mel_kernel * s.n_mels,
                                                 s.activation, rng))
        self.w_mel = [tf.constant(random_weights((3, s.mel_filters, s.mel_filters), 3 * s.mel_filters,
                                                 s.activation, rng)) for _ in range(s.mel_blocks)]
        self.w_cqt = tf.constant(random_weights((s.cqt_kernel, s.cqt_kernel, 1, s.cqt_filters),
                                                s.cqt_kernel ** 2, s.activation, rng))
        self.act = tf.nn.selu if s.activation == "selu" else tf.nn.relu

    # transforms ---------------------------------------------------------------------------
    def magnitude(self, y):
        """|STFT| of a 1-D waveform tensor as (frames, bins), frames centred (librosa's convention)."""
        return spectral.magnitude_tf(y, self.settings.n_fft, self.settings.hop)

    def representations(self, y) -> dict:
        """``log1p`` STFT, Mel and pseudo-CQT magnitudes of a waveform, each (frames, bands)."""
        import tensorflow as tf

        mag = self.magnitude(y)
        return {"stft": tf.math.log1p(mag), "mel": tf.math.log1p(tf.matmul(mag, self.mel_fb)),
                "cqt": tf.math.log1p(tf.matmul(mag, self.cqt_fb))}

    # features -----------------------------------------------------------------------------
    def features(self, reps: dict, nets) -> dict:
        """``{net: (style feature maps [list of (positions, channels)], content features)}``."""
        import tensorflow as tf

        s = self.settings
        out = {}
        if "stft" in nets:
            F = self.act(tf.nn.conv1d(reps["stft"][None], self.w_stft, 1, "VALID"))[0]
            out["stft"] = ([F], F)
        if "mel" in nets:
            h = self.act(tf.nn.conv1d(reps["mel"][None], self.w_mel0, 1, "VALID"))
            styles = [h[0]]
            for i, w in enumerate(self.w_mel):
                h = h + self.act(tf.nn.conv1d(h, w, 1, "SAME", dilations=2 ** (i + 1)))
                styles.append(h[0])
            out["mel"] = (styles, h[0])
        if "cqt" in nets:
            x = reps["cqt"][None, :, :, None]
            F = self.act(tf.nn.conv2d(x, self.w_cqt, (1, s.cqt_time_stride, 1, 1), "SAME"))[0]
            out["cqt"] = ([tf.reshape(F, (-1, s.cqt_filters))], tf.reduce_max(F, axis=1))
        return out

    def targets(self, y: np.ndarray, nets, style: bool) -> dict:
        """Fixed targets of a clip: Grams of its style maps (``style``) or its content maps."""
        import tensorflow as tf

        feats = self.features(self.representations(tf.constant(np.asarray(y, np.float32))), nets)
        if style:
            return {n: [gram(F) for F in st] for n, (st, _) in feats.items()}
        return {n: c for n, (_, c) in feats.items()}


# ----------------------------------------------------------------------------- the loss
class MultiLoss:
    """Value and gradient, with respect to the waveform, of the weighted multi-representation loss.

    Parameters
    ----------
    style : array
        Style waveform.
    content : array or None
        Content waveform of exactly ``samples`` samples (None for textures).
    samples : int
        Length of the result.
    settings : MultiSettings

    Attributes
    ----------
    factors : dict
        User factor per active term.
    weights : dict
        Effective weight per active term (factor / initial gradient norm) once :meth:`normalise` ran.
    """

    def __init__(self, style: np.ndarray, content: np.ndarray | None, samples: int, settings: MultiSettings):
        import tensorflow as tf

        s = self.settings = settings
        self.samples = int(samples)
        self.factors = s.factors(with_content=content is not None)
        if not self.factors:
            raise MidistyleError("every loss term is off (a texture needs a style term)")
        nets = sorted({t.split("_")[0] for t in self.factors})
        self.nets = nets
        self.networks = MultiNetworks(s)
        style_t = self.networks.targets(style, nets, style=True)
        content_t = self.networks.targets(content, nets, style=False) if content is not None else {}
        names = list(self.factors)
        self.names = names
        self.weights = {t: 1.0 for t in names}
        self._w = tf.Variable(np.ones(len(names), np.float32), trainable=False)
        self._sp = tf.Variable(float(s.sparsity), dtype=tf.float32, trainable=False)
        self.sparsity_weight = float(s.sparsity)
        networks = self.networks

        def terms(y):
            reps = networks.representations(y)
            feats = networks.features(reps, nets)
            vals = []
            for t in names:
                net, kind = t.split("_")
                st, c = feats[net]
                if kind == "style":
                    vals.append(tf.add_n([style_loss_direct(F, G) for F, G in zip(st, style_t[net])]))
                else:
                    vals.append(tf.reduce_sum(tf.square(c - content_t[net])))
            l1 = tf.reduce_mean(tf.abs(reps["stft"]))
            return tf.stack(vals), l1

        spec = [tf.TensorSpec((self.samples,), tf.float32)]

        @tf.function(input_signature=spec)
        def value_and_grad(y):
            with tf.GradientTape() as tape:
                tape.watch(y)
                vals, l1 = terms(y)
                L = tf.reduce_sum(self._w * vals) + self._sp * l1
            return L, vals, tape.gradient(L, y)

        @tf.function(input_signature=spec)
        def term_grad_norms(y):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(y)
                vals, l1 = terms(y)
                parts = tf.unstack(vals) + [l1]
            norms = tf.stack([tf.norm(tape.gradient(v, y)) for v in parts])
            del tape
            return norms

        self._vg = value_and_grad
        self._norms = term_grad_norms
        self.evaluations = 0

    def gradient_norms(self, y: np.ndarray) -> dict:
        """Norm of each active term's gradient (unweighted) w.r.t. the waveform at ``y``, and of the
        L1 penalty's (key ``sparsity``)."""
        n = self._norms(np.asarray(y, np.float32)).numpy()
        return {**{t: float(v) for t, v in zip(self.names, n[:-1])}, "sparsity": float(n[-1])}

    def normalise(self, y0: np.ndarray) -> dict:
        """Set each term's weight to factor / (its gradient norm at ``y0``) (seed 001, Eq. 7-8).

        A term whose gradient is zero at the start (a content term when starting from the
        content) keeps weight = factor. The L1 penalty is normalised the same way. Returns the
        initial gradient norms.
        """
        norms = self.gradient_norms(y0)
        for t in self.names:
            self.weights[t] = self.factors[t] / norms[t] if norms[t] > 0 else self.factors[t]
        self._w.assign(np.array([self.weights[t] for t in self.names], np.float32))
        self.sparsity_weight = (self.settings.sparsity / norms["sparsity"]
                                if norms["sparsity"] > 0 else self.settings.sparsity)
        self._sp.assign(self.sparsity_weight)
        return norms

    def __call__(self, y: np.ndarray) -> tuple:
        """``(loss, style_loss, content_loss, gradient)`` at a waveform (weighted sums of the terms)."""
        self.evaluations += 1
        L, vals, g = self._vg(np.asarray(y, np.float32).reshape(self.samples))
        vals = vals.numpy().astype(np.float64)
        self.last_terms = {t: float(v) for t, v in zip(self.names, vals)}
        sl = sum(self.weights[t] * v for t, v in zip(self.names, vals) if t.endswith("_style"))
        cl = sum(self.weights[t] * v for t, v in zip(self.names, vals) if t.endswith("_content"))
        return float(L), float(sl), float(cl), g.numpy()


# ----------------------------------------------------------------------------- the method
def stylise_multi(content: np.ndarray | None, style: np.ndarray, settings: MultiSettings | None = None, *,
                  samples: int | None = None, progress: bool = False, desc: str = "multi"):
    """Multi-representation style transfer (or texture synthesis) between two waveforms.

    Parameters
    ----------
    content : array or None
        Content waveform (mono, at ``settings.sr``); None synthesises a texture.
    style : array
        Style waveform; its length may differ from the content's.
    settings : MultiSettings, optional
    samples : int, optional
        Length of the result (default: the content's; textures: the style's).
    progress : bool
        tqdm progress bar with the loss on stderr.
    desc : str
        Label of the progress bar.

    Returns
    -------
    midistyle.audio.optimise.TransferResult
        ``griffin_lim_convergence`` is NaN (no phase reconstruction); ``extra`` holds the initial
        gradient norms, the weights, the final unweighted value of every term and the limiter's
        report. The waveform keeps the level it was optimised at (no normalisation; peaks beyond
        full scale are bent by :func:`midistyle.audio.files.limit_peaks`), and the last history
        entry is the loss of exactly that waveform; ``objective`` measures the same loss on any
        waveform of the same length (e.g. the file written, read back).
    """
    from tqdm import tqdm

    s = settings or MultiSettings()
    t0 = time.perf_counter()
    style = np.asarray(style, np.float32)
    if content is not None:
        content = np.asarray(content, np.float32)
    samples = int(samples if samples is not None else (len(content) if content is not None else len(style)))
    use_content = content is not None and s.content_weight > 0
    if use_content and len(content) != samples:
        content = content[:samples] if len(content) > samples else np.pad(content, (0, samples - len(content)))
    min_samples = (max(s.stft_kernel, s.mel_kernel, s.cqt_kernel)) * s.hop
    for name, n in (("style", len(style)), ("content", len(content) if content is not None else samples),
                    ("result", samples)):
        if n < min_samples:
            raise MidistyleError(f"{name} clip too short: needs at least {min_samples / s.sr:.2f} s")
    loss = MultiLoss(style, content if use_content else None, samples, s)
    rng = np.random.default_rng(s.seed + 1)
    if s.init == "content" and content is not None:
        y0 = content.copy()
    else:
        y0 = (rng.standard_normal(samples) * 0.01).astype(np.float32)
    norms0 = loss.normalise(y0)
    t_setup = time.perf_counter() - t0
    history = []
    t_opt = time.perf_counter()
    bar = tqdm(total=s.iterations, desc=desc, unit="it", disable=not progress, leave=False)

    def on_iter(d):
        d.update(iteration=len(history), evaluations=loss.evaluations, seconds=time.perf_counter() - t_opt)
        history.append(d)
        bar.update(1)
        bar.set_postfix(loss=f"{d['loss']:.4g}", refresh=False)
        return False

    L0, sl0, cl0, _ = loss(y0)
    history.append(dict(iteration=0, evaluations=loss.evaluations, seconds=0.0, loss=L0, style_loss=sl0,
                        content_loss=cl0, start=True))
    try:
        if s.iterations > 0:
            y, reason = optimise_lbfgs(loss, y0, s, on_iter)
        else:
            y, reason = y0, "no iterations"
    finally:
        bar.close()
    t_opt = time.perf_counter() - t_opt
    # the level is the optimised waveform's own: only peaks beyond full scale are bent
    y, limiter = limit_peaks(np.asarray(y, np.float32).reshape(samples))
    L, sl, cl, _ = loss(y)  # the loss of exactly the waveform returned
    history.append(dict(iteration=len(history) - 1, evaluations=loss.evaluations, seconds=t_opt, loss=L,
                        style_loss=sl, content_loss=cl, final=True, point="output", limiter=limiter))

    def objective(w):
        L, sl, cl, _ = loss(w)
        return {"loss": L, "style_loss": sl, "content_loss": cl}

    view = s
    return TransferResult(
        waveform=y, spectrogram=spectrogram_frames(y, view).T.copy(), history=history,
        griffin_lim_convergence=float("nan"),
        timings={"setup": t_setup, "optimise": t_opt, "griffin_lim": 0.0, "total": time.perf_counter() - t0},
        settings=s, content_spectrogram=None if content is None else spectrogram_frames(content, view).T.copy(),
        style_spectrogram=spectrogram_frames(style, view).T.copy(), evaluations=loss.evaluations,
        stop_reason=reason,
        extra={"method": "multi", "initial_gradient_norms": norms0, "weights": dict(loss.weights),
               "factors": dict(loss.factors), "terms_start": dict(zip(loss.names, _terms_at(loss, y0))),
               "terms_final": dict(loss.last_terms), "samples": samples, "limiter": limiter},
        objective=objective)


def _terms_at(loss: MultiLoss, y: np.ndarray) -> list:
    _, vals, _ = loss._vg(np.asarray(y, np.float32))
    return [float(v) for v in vals.numpy()]
