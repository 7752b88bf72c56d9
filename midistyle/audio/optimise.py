"""What every audio style-transfer method shares: the spectrogram-loss protocol, the optimisers
(SciPy L-BFGS-B, Adam in TensorFlow), the analysis layout and the result type.

:mod:`~midistyle.audio.transfer` (Ulyanov), :mod:`~midistyle.audio.gramnets` (seed 000's networks)
and :mod:`~midistyle.audio.multi` (seed 001's multi-representation method) import this module and
never each other sideways; ``transfer.stylise`` is the one place that knows every method.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import spectral

__all__ = ["SpectrogramLoss", "TransferResult", "optimise_adam", "optimise_lbfgs", "spectrogram_frames"]


def spectrogram_frames(y: np.ndarray, settings) -> np.ndarray:
    """``log1p |STFT|`` of a waveform as (frames, bins), the layout the transfer optimises."""
    return spectral.log_magnitude(y, settings.n_fft, settings.hop).T.copy()


class SpectrogramLoss:
    """Base of the losses over a (frames, bins) spectrogram: subclasses set ``frames``, ``_vg`` (a
    ``tf.function`` returning loss, style loss, content loss and gradient) and ``evaluations``."""

    def __call__(self, x: np.ndarray) -> tuple:
        """``(loss, style_loss, content_loss, gradient)`` at a (frames, bins) spectrogram (NumPy)."""
        self.evaluations += 1
        L, sl, cl, g = self._vg(np.asarray(x, np.float32).reshape(self.frames, -1))
        return float(L), float(sl), float(cl), g.numpy()

    def tensor_call(self, x):
        """Same as calling, on a TensorFlow tensor, without leaving TensorFlow (for Adam)."""
        self.evaluations += 1
        return self._vg(x)


def optimise_lbfgs(loss, x0: np.ndarray, s, on_iter, *, lower: float | None = None) -> tuple:
    """Minimise ``loss`` from ``x0`` with SciPy's L-BFGS-B (shared by every audio method).

    Parameters
    ----------
    loss : callable
        ``loss(x) -> (loss, style_loss, content_loss, gradient)`` (e.g. :class:`UlyanovLoss`).
    x0 : array
        Start point (any shape; optimised flattened).
    s : settings
        ``iterations`` and ``lbfgs_memory`` are read.
    on_iter : callable
        Called after each iteration with ``{loss, style_loss, content_loss}`` at the accepted
        point; a true return value stops the run.
    lower : float, optional
        Lower bound of every variable (0 for a log1p magnitude, which no waveform makes negative);
        default unbounded.

    Returns
    -------
    (x, message) : the last point (float32, shape of ``x0``) and SciPy's stop message.
    """
    from scipy.optimize import Bounds, minimize

    last = {}

    def fun(v):
        L, sl, cl, g = loss(v)
        last.update(loss=L, style_loss=sl, content_loss=cl)
        return L, g.astype(np.float64).ravel()

    def cb(intermediate_result=None):
        # L-BFGS-B calls back after each iteration, at the accepted point (the last evaluation)
        if on_iter(dict(last)):
            raise StopIteration

    bounds = None if lower is None else Bounds(np.full(x0.size, float(lower)), np.full(x0.size, np.inf))
    res = minimize(fun, x0.astype(np.float64).ravel(), jac=True, method="L-BFGS-B", callback=cb, bounds=bounds,
                   options={"maxiter": s.iterations, "maxcor": s.lbfgs_memory})
    x = res.x.reshape(x0.shape).astype(np.float32)
    return x, str(res.message)


def optimise_adam(loss, x0: np.ndarray, s, on_iter) -> tuple:
    """Minimise a :class:`SpectrogramLoss` from ``x0`` with Adam in TensorFlow (``iterations``,
    ``learning_rate`` read from ``s``), keeping every value >= 0 (a log1p magnitude); ``on_iter``
    as in :func:`optimise_lbfgs`. Returns ``(x, reason)``."""
    import tensorflow as tf

    x = tf.Variable(x0.astype(np.float32))
    m = tf.Variable(tf.zeros_like(x))
    v = tf.Variable(tf.zeros_like(x))
    b1, b2, eps = 0.9, 0.999, 1e-8
    lr = float(s.learning_rate)
    vg = loss._vg

    @tf.function
    def step(t):
        L, sl, cl, g = vg(x.read_value())
        m.assign(b1 * m + (1 - b1) * g)
        v.assign(b2 * v + (1 - b2) * tf.square(g))
        mh = m / (1 - tf.pow(b1, t))
        vh = v / (1 - tf.pow(b2, t))
        x.assign(tf.maximum(x - lr * mh / (tf.sqrt(vh) + eps), 0.0))  # log1p magnitudes are >= 0
        return L, sl, cl

    reason = f"{s.iterations} Adam steps"
    for i in range(s.iterations):
        L, sl, cl = step(tf.constant(i + 1, tf.float32))
        loss.evaluations += 1
        # losses are those of the point before the step; good enough for a progress display
        if on_iter(dict(loss=float(L), style_loss=float(sl), content_loss=float(cl))):
            reason = "target style loss reached"
            break
    return x.numpy(), reason


@dataclass
class TransferResult:
    """What :func:`stylise` returns.

    Attributes
    ----------
    waveform : array of float32
        The result audio at the level of the optimised spectrogram: nothing is normalised; only
        peaks beyond full scale are bent by :func:`midistyle.audio.files.limit_peaks` (reported in
        ``extra["limiter"]``).
    spectrogram : array (bins, frames)
        Optimised ``log1p`` magnitude (the spectrogram stage's result, before phase reconstruction).
    history : list of dict
        Per iteration: iteration, evaluations, seconds, loss, style_loss, content_loss and the
        ``phase`` ("warm", "full": the spectrogram; "waveform": the waveform stage). Entries with
        ``point`` are measurements, not iterations: "spectrogram" (the spectrogram stage's end, in
        float32), "griffin-lim" (the waveform Griffin-Lim made) and "output" (the returned
        waveform, the last entry, also marked ``final``).
    griffin_lim_convergence : float
        Spectral convergence of Griffin-Lim's waveform against the optimised magnitude.
    timings : dict
        Seconds spent setting up, optimising, reconstructing the phase and refining the waveform.
    settings : TransferSettings (or the settings of the method that made it)
    objective : callable or None
        ``objective(waveform) -> {"loss", "style_loss", "content_loss"}``: the loss the optimiser
        minimised, measured on a waveform (e.g. the file written, read back).
    """

    waveform: np.ndarray
    spectrogram: np.ndarray
    history: list
    griffin_lim_convergence: float
    timings: dict
    settings: object
    content_spectrogram: np.ndarray | None = None
    style_spectrogram: np.ndarray | None = None
    evaluations: int = 0
    stop_reason: str = ""
    extra: dict = field(default_factory=dict)
    objective: object = field(default=None, repr=False)

    @property
    def final(self) -> dict:
        """The last history entry: the losses of the returned waveform (loss, style_loss, content_loss ...)."""
        return self.history[-1] if self.history else {}
