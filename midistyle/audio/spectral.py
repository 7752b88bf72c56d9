"""Short-time Fourier transform, log1p magnitudes and Griffin-Lim phase reconstruction.

Pure NumPy functions, written once and shared by the transfer, the metrics and the plots, and the
TensorFlow twins of the analysis (:func:`magnitude_tf`, :func:`log_magnitude_tf`) for the methods
that optimise a waveform through it.
Conventions follow librosa's defaults (periodic Hann window, frames centred with reflection
padding, ``hop = n_fft // 4``), so a spectrogram here has ``1 + n_fft // 2`` bins and
``1 + len(y) // hop`` frames.
"""
from __future__ import annotations

import numpy as np

#: Sample rate of rendered and analysed audio unless asked otherwise.
DEFAULT_SR = 22050
#: Reference analysis settings of the Ulyanov method (22.05 kHz audio).
N_FFT = 2048
HOP = 512


def _window(n_fft: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def n_frames(n_samples: int, hop: int = HOP) -> int:
    """Frames of :func:`stft` for a signal of ``n_samples`` samples."""
    return 1 + int(n_samples) // hop


def stft(y: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Complex STFT, shape ``(1 + n_fft // 2, 1 + len(y) // hop)``, complex64.

    Parameters
    ----------
    y : array of float, shape (samples,)
        Mono signal.
    n_fft : int
        Window and FFT length.
    hop : int
        Hop between frames.
    """
    y = np.asarray(y, np.float32)
    pad = n_fft // 2
    if len(y) > pad:
        yp = np.pad(y, pad, mode="reflect")
    else:
        yp = np.pad(y, pad, mode="constant")
    frames = np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop][:n_frames(len(y), hop)]
    return np.fft.rfft(frames * _window(n_fft), axis=1).T.astype(np.complex64)


def istft(S: np.ndarray, hop: int = HOP, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft` by weighted overlap-add, float32.

    Parameters
    ----------
    S : complex array, shape (bins, frames)
    hop : int
        Hop the STFT was taken with.
    length : int, optional
        Samples of the output (default ``(frames - 1) * hop``).
    """
    n_fft = 2 * (S.shape[0] - 1)
    w = _window(n_fft)
    frames = np.fft.irfft(S.T, n=n_fft, axis=1).astype(np.float32) * w
    T = S.shape[1]
    total = n_fft + hop * (T - 1)
    y = np.zeros(total, np.float32)
    wsum = np.zeros(total, np.float32)
    # overlap-add in n_fft // hop vectorised passes instead of one per frame
    step = -(-n_fft // hop)
    for r in range(step):
        idx = np.arange(r, T, step)
        if not len(idx):
            continue
        starts = idx * hop
        block = frames[idx]
        # frames of one pass do not overlap: place them with one reshape
        seg = np.zeros((len(idx), step * hop), np.float32)
        seg[:, :n_fft] = block
        flat = seg.reshape(-1)
        a = starts[0]
        y[a:a + len(flat)] += flat[:total - a]
        wseg = np.zeros(step * hop, np.float32)
        wseg[:n_fft] = w ** 2
        wflat = np.tile(wseg, len(idx))
        wsum[a:a + len(wflat)] += wflat[:total - a]
    pad = n_fft // 2
    y = y[pad:]
    wsum = wsum[pad:]
    y = y / np.where(wsum > 1e-8, wsum, 1.0)
    n = (T - 1) * hop if length is None else int(length)
    if len(y) < n:
        y = np.pad(y, (0, n - len(y)))
    return y[:n].astype(np.float32)


def log_magnitude(y: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """``log1p |STFT|`` of a signal, shape (bins, frames), float32 (the Ulyanov representation)."""
    return np.log1p(np.abs(stft(y, n_fft, hop))).astype(np.float32)


def magnitude_tf(y, n_fft: int = N_FFT, hop: int = HOP):
    """``|STFT|`` of a 1-D TensorFlow waveform as (frames, bins), the conventions of :func:`stft`.

    Differentiable everywhere: the modulus is ``sqrt(re^2 + im^2 + 1e-12)``, so an exactly silent
    bin has a finite gradient (its magnitude is off by 1e-6, far below 16-bit resolution).
    TensorFlow is imported here.
    """
    import tensorflow as tf

    p = n_fft // 2
    yp = tf.pad(y, [[p, p]], mode="REFLECT")
    Z = tf.signal.stft(yp, n_fft, hop, fft_length=n_fft, window_fn=tf.signal.hann_window, pad_end=False)
    return tf.sqrt(tf.square(tf.math.real(Z)) + tf.square(tf.math.imag(Z)) + 1e-12)


def log_magnitude_tf(y, n_fft: int = N_FFT, hop: int = HOP):
    """``log1p |STFT|`` of a 1-D TensorFlow waveform as (frames, bins): :func:`log_magnitude`
    transposed, differentiable (see :func:`magnitude_tf`)."""
    import tensorflow as tf

    return tf.math.log1p(magnitude_tf(y, n_fft, hop))


def magnitude_from_log(L: np.ndarray) -> np.ndarray:
    """Invert :func:`log_magnitude`'s compression: ``expm1(max(L, 0))``."""
    return np.expm1(np.maximum(np.asarray(L, np.float32), 0.0))


def spectral_convergence(mag: np.ndarray, y: np.ndarray, hop: int = HOP) -> float:
    """``|| mag - |STFT(y)| ||_F / || mag ||_F``: how well a waveform realises a magnitude.

    Parameters
    ----------
    mag : array (bins, frames)
        Target magnitude.
    y : array
        Waveform (e.g. from :func:`griffin_lim`).
    """
    n_fft = 2 * (mag.shape[0] - 1)
    got = np.abs(stft(y, n_fft, hop))[:, :mag.shape[1]]
    return float(np.linalg.norm(mag - got) / max(np.linalg.norm(mag), 1e-12))


def griffin_lim(mag: np.ndarray, n_iter: int = 300, hop: int = HOP, length: int | None = None,
                momentum: float = 0.99, seed: int = 0, callback=None, start_phase: np.ndarray | None = None) -> tuple:
    """Waveform whose STFT magnitude approximates ``mag`` (fast Griffin-Lim).

    Starts from random phases (or ``start_phase``) and alternates projections, with the momentum of
    Perraudin et al. (2013, "A fast Griffin-Lim algorithm"); ``momentum=0`` is the classic algorithm.

    Parameters
    ----------
    mag : array (bins, frames)
        Target magnitude (not log).
    n_iter : int
        Iterations.
    hop : int
        Hop of the STFT.
    length : int, optional
        Samples of the output.
    momentum : float
        Fast Griffin-Lim momentum (0.99 as recommended by the paper).
    seed : int
        Seed of the initial random phases.
    callback : callable, optional
        Called with the iteration number after each iteration (e.g. a progress bar update).
    start_phase : array (bins, frames), optional
        Initial phases in radians (e.g. those of a waveform the result should stay near) instead
        of random ones; ``seed`` is then unused.

    Returns
    -------
    y : array of float32
        The waveform.
    convergence : float
        :func:`spectral_convergence` of ``y`` against ``mag``.
    """
    mag = np.asarray(mag, np.float32)
    n_fft = 2 * (mag.shape[0] - 1)
    T = mag.shape[1]
    length = (T - 1) * hop if length is None else int(length)
    if start_phase is None:
        angles = np.exp(2j * np.pi * np.random.default_rng(seed).random(mag.shape)).astype(np.complex64)
    else:
        if np.shape(start_phase) != mag.shape:
            raise ValueError(f"start_phase has shape {np.shape(start_phase)}, the magnitude {mag.shape}")
        angles = np.exp(1j * np.asarray(start_phase)).astype(np.complex64)
    prev = np.zeros_like(angles)
    for i in range(n_iter):
        y = istft(mag * angles, hop, length)
        rebuilt = stft(y, n_fft, hop)[:, :T]
        if rebuilt.shape[1] < T:
            rebuilt = np.pad(rebuilt, ((0, 0), (0, T - rebuilt.shape[1])))
        acc = rebuilt - (momentum / (1 + momentum)) * prev if momentum else rebuilt
        prev = rebuilt
        angles = acc / np.maximum(np.abs(acc), 1e-16)
        if callback is not None:
            callback(i + 1)
    y = istft(mag * angles, hop, length)
    return y, spectral_convergence(mag, y, hop)
