"""Reading and writing audio files; MIDI inputs go through the render path.

WAV / FLAC / OGG / AIFF are read with :mod:`soundfile` (libsndfile ships inside its wheel),
mixed to mono and resampled to the rate asked for. Outputs are written atomically (temporary
file, then rename), never over an input, and over an existing file only with ``force``.
"""
from __future__ import annotations

import os

import numpy as np

from ..codec.io import CORPUS_PREFIX, MIDI_EXTENSIONS, SCORE_EXTENSIONS, check_input_path, read
from ..errors import InputError, OutputError
from ..fsutil import atomic_write, check_output  # noqa: F401  (re-exported for the audio modules)
from .render import default_soundfont, render_midi, render_performance
from .spectral import DEFAULT_SR

#: File endings read as audio.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif")
#: File endings written (16-bit PCM or 32-bit float WAV, 16-bit FLAC).
WRITE_EXTENSIONS = (".wav", ".flac")


def is_symbolic(path: str) -> bool:
    """True for inputs read as notes (MIDI, scores, ``corpus:NAME``) rather than audio."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    return path.startswith(CORPUS_PREFIX) or ext in MIDI_EXTENSIONS or ext in SCORE_EXTENSIONS


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling of a mono signal (SciPy), float32."""
    if sr_in == sr_out:
        return np.asarray(y, np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(y, sr_out // g, sr_in // g).astype(np.float32)


def read_audio(path: str, sr: int = DEFAULT_SR) -> np.ndarray:
    """Read an audio file as mono float32 at ``sr`` Hz.

    Parameters
    ----------
    path : str
        WAV, FLAC, OGG or AIFF file.
    sr : int
        Sample rate wanted; the file is resampled if it differs.

    Raises
    ------
    InputError
        Missing, empty, unreadable or corrupt files, files without samples, non-finite samples.
    """
    import soundfile

    path = os.fspath(path)
    check_input_path(path)
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile.LibsndfileError, RuntimeError, TypeError on odd headers
        msg = str(exc).split("\n")[0]
        raise InputError(f"{path}: not a readable audio file ({msg})") from None
    if data.size == 0:
        raise InputError(f"{path}: audio file has no samples")
    y = data.mean(axis=1)
    if not np.all(np.isfinite(y)):
        raise InputError(f"{path}: audio contains NaN or infinite samples")
    return resample(y, int(rate), int(sr))


def load_input(path: str, sr: int = DEFAULT_SR, soundfont: str | None = None) -> np.ndarray:
    """Mono float32 waveform of an audio file, or of a MIDI file / score rendered with the SoundFont.

    Parameters
    ----------
    path : str
        Audio (WAV, FLAC, OGG, AIFF) or MIDI / score file, or ``corpus:NAME``.
    sr : int
        Sample rate.
    soundfont : str, optional
        SoundFont for MIDI inputs (default: the bundled one).

    Raises
    ------
    InputError
        Unreadable or unsupported inputs.
    """
    path = os.fspath(path)
    if is_symbolic(path):
        y = render_midi(path, sr=sr, soundfont=soundfont)
        if not len(y):
            raise InputError(f"{path}: renders to no audio")
        return y
    ext = os.path.splitext(path)[1].lower()
    if ext in AUDIO_EXTENSIONS:
        return read_audio(path, sr)
    check_input_path(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"MThd":
        return render_midi(path, sr=sr, soundfont=soundfont)
    return read_audio(path, sr)


def limit_peaks(y: np.ndarray, *, ceiling: float = 1.0, knee: float = 0.9) -> tuple:
    """Clipping protection of a result waveform, leaving its level alone where it fits.

    A waveform whose peak is within ``ceiling`` is returned unchanged. Otherwise only the samples
    above ``knee * ceiling`` are bent, by a soft knee that maps ``(knee * ceiling, inf)`` onto
    ``(knee * ceiling, ceiling)`` (a tanh); everything below the knee keeps its value, so the
    loudness of the result still follows its spectrogram. Nothing is normalised.

    Parameters
    ----------
    y : array of float
        Mono waveform.
    ceiling : float
        Largest magnitude allowed (1.0: full scale of 16-bit PCM).
    knee : float
        Share of ``ceiling`` where the soft knee starts (0 < knee < 1).

    Returns
    -------
    (y, report) : the protected waveform (float32) and a dict with ``peak_in``, ``peak_out``,
    ``limited_samples`` (how many samples changed), ``limited_share`` and ``max_reduction_db``.
    """
    if not 0 < knee < 1:
        raise ValueError(f"knee must lie in (0, 1), not {knee!r}")
    if not ceiling > 0:
        raise ValueError(f"ceiling must be > 0, not {ceiling!r}")
    y = np.asarray(y, np.float32)
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    report = {"peak_in": peak, "peak_out": peak, "limited_samples": 0, "limited_share": 0.0,
              "max_reduction_db": 0.0}
    if peak <= ceiling:
        return y, report
    t = knee * ceiling
    a = np.abs(y)
    over = a > t
    out = y.copy()
    room = ceiling - t
    out[over] = np.sign(y[over]) * (t + room * np.tanh((a[over] - t) / room))
    peak_out = float(np.max(np.abs(out)))
    report.update(peak_out=peak_out, limited_samples=int(over.sum()), limited_share=float(over.mean()),
                  max_reduction_db=float(20 * np.log10(peak / max(peak_out, 1e-12))))
    return out.astype(np.float32), report


def write_audio(path: str, y: np.ndarray, sr: int, *, force: bool = False, protect: tuple = (),
                subtype: str = "PCM_16") -> None:
    """Write a mono waveform as WAV or FLAC, atomically.

    Parameters
    ----------
    path : str
        Output ending in ``.wav`` or ``.flac``.
    y : array of float
        Samples in [-1, 1] (clipped for 16-bit output).
    sr : int
        Sample rate.
    force : bool
        Replace an existing file.
    protect : tuple of str
        Input paths never to overwrite.
    subtype : str
        "PCM_16" (default) or "FLOAT" (32-bit float WAV).
    """
    import soundfile

    check_output(path, force=force, protect=protect, extensions=WRITE_EXTENSIONS)
    ext = os.path.splitext(path)[1].lower()
    if subtype == "FLOAT" and ext != ".wav":
        raise OutputError(f"{path}: float samples need a .wav output")
    y = np.asarray(y, np.float32)
    if subtype != "FLOAT":
        y = np.clip(y, -1.0, 1.0)
    fmt = "WAV" if ext == ".wav" else "FLAC"
    atomic_write(path, lambda tmp: soundfile.write(tmp, y, int(sr), subtype=subtype, format=fmt),
                 force=force, protect=protect, suffix=ext)


def render_file(src: str, output: str | None = None, *, sr: int = DEFAULT_SR, soundfont: str | None = None,
                force: bool = False, float_samples: bool = False, normalize: bool = True) -> dict:
    """Render a MIDI file (or score) to a WAV / FLAC file, atomically.

    Parameters
    ----------
    src : str
        MIDI file, score or ``corpus:NAME``.
    output : str, optional
        ``.wav`` or ``.flac`` path; default the input's name with ``.wav`` beside it.
    sr : int
        Sample rate (Hz).
    soundfont : str, optional
        ``.sf2`` file; default the bundled ``TimGM6mb.sf2``.
    force : bool
        Replace an existing output (never the input).
    float_samples : bool
        Write 32-bit float WAV instead of 16-bit PCM.
    normalize : bool
        Peak-normalise to -1 dBFS.

    Returns
    -------
    dict
        input, output, notes, seconds, sample_rate, render_seconds, soundfont.
    """
    import time

    src = os.fspath(src)
    if output is None:
        if src.startswith(CORPUS_PREFIX):
            output = src[len(CORPUS_PREFIX):].replace("/", "_") + ".wav"
        else:
            output = os.path.splitext(src)[0] + ".wav"
    protect = () if src.startswith(CORPUS_PREFIX) else (src,)
    check_output(output, force=force, protect=protect, extensions=WRITE_EXTENSIONS)
    sf_path = soundfont or default_soundfont()
    if soundfont is not None and not os.path.isfile(soundfont):
        raise InputError(f"{soundfont}: no such SoundFont file")
    perf = read(src)
    t0 = time.perf_counter()
    y = render_performance(perf, sr=sr, soundfont=sf_path, normalize=normalize)
    dt = time.perf_counter() - t0
    write_audio(output, y, sr, force=force, protect=protect, subtype="FLOAT" if float_samples else "PCM_16")
    return {"input": src, "output": output, "notes": int(len(perf.notes)), "seconds": len(y) / sr,
            "sample_rate": sr, "render_seconds": dt, "soundfont": sf_path}
