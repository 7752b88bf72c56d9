"""SoundFont synthesis of piano performances in pure NumPy (no system library).

A small sample player: for every note it picks the matching zones of the SoundFont's piano preset
(bank 0, program 0), resamples the zone's sample to the note's pitch (linear interpolation,
vectorised over the whole note), follows the sample's loop, applies the SoundFont volume envelope
(delay, attack, hold, decay in dB, sustain level, release), a static low-pass at the zone's filter
cutoff (initial cutoff + modulation-envelope peak, lowered for soft notes as FluidSynth's default
velocity modulator does), the velocity curve of FluidSynth's default modulator (amplitude
``(velocity / 127) ** 2``) and the initial attenuation.

Pedals: the sustain pedal (CC64 >= 64) holds every note released while it is down until it comes
up; striking a key again releases the voice still sounding on it (as FluidSynth does); the soft
pedal (CC67 >= 64) plays notes struck under it 3 dB softer.

By default the SoundFont is ``TimGM6mb.sf2``, which ships inside :mod:`pretty_midi`, so rendering
works offline right after installation.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from ..codec.io import read
from ..errors import InputError
from . import sf2
from .spectral import DEFAULT_SR
#: Voices are cut once their envelope is this far below full level (dB).
SILENCE_DB = 80.0
#: Gain of notes struck under the soft pedal.
SOFT_PEDAL_GAIN = 10 ** (-3 / 20)
#: Peak level of normalised output (-1 dBFS).
PEAK = 10 ** (-1 / 20)


def default_soundfont() -> str:
    """Path of the General MIDI SoundFont bundled with pretty_midi (``TimGM6mb.sf2``)."""
    import pretty_midi

    return os.path.join(pretty_midi.__path__[0], "TimGM6mb.sf2")


@functools.lru_cache(maxsize=4)
def load_piano(soundfont: str | None = None, program: int = 0, bank: int = 0) -> tuple:
    """Zones of a SoundFont preset (cached), by default the bundled acoustic grand piano.

    Parameters
    ----------
    soundfont : str, optional
        ``.sf2`` path; default :func:`default_soundfont`.
    program, bank : int
        General MIDI program and bank of the preset.

    Returns
    -------
    tuple of :class:`midistyle.audio.sf2.Zone`
    """
    return tuple(sf2.SoundFont(soundfont or default_soundfont()).zones(program, bank))


def _zones_for(zones, key: int, vel: int) -> list:
    return [z for z in zones if z.key_range[0] <= key <= z.key_range[1] and z.vel_range[0] <= vel <= z.vel_range[1]]


def pedal_down_intervals(pedals: np.ndarray, cc: int = 64, end: float = np.inf) -> np.ndarray:
    """Intervals ``(down, up)`` in seconds during which a pedal is held (value >= 64).

    Parameters
    ----------
    pedals : structured array of :data:`midistyle.codec.io.PEDAL_DTYPE`
        Pedal events of a performance.
    cc : int
        Controller (64 sustain, 67 soft).
    end : float
        Time a pedal still down at the last event is released.

    Returns
    -------
    array of float, shape (n, 2)
    """
    ev = pedals[pedals["cc"] == cc] if len(pedals) else pedals
    out = []
    down_at = None
    for t, v in zip(ev["time"].tolist() if len(ev) else [], ev["value"].tolist() if len(ev) else []):
        if v >= 64 and down_at is None:
            down_at = t
        elif v < 64 and down_at is not None:
            out.append((down_at, t))
            down_at = None
    if down_at is not None:
        out.append((down_at, max(end, down_at)))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _in_intervals(times: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """Index of the interval ``[down, up)`` holding each time, or -1."""
    if not len(iv):
        return np.full(len(times), -1)
    j = np.searchsorted(iv[:, 0], times, side="right") - 1
    ok = (j >= 0) & (times < iv[np.maximum(j, 0), 1])
    return np.where(ok, j, -1)


def release_times(notes: np.ndarray, pedals: np.ndarray) -> np.ndarray:
    """When each note's voice is released, honouring the sustain pedal and re-struck keys.

    A note ending while the sustain pedal is down is released when the pedal comes up; a voice
    still held when its key is struck again is released at that new onset.

    Parameters
    ----------
    notes : structured array with ``pitch``, ``start`` and ``end`` (seconds)
    pedals : structured array of :data:`midistyle.codec.io.PEDAL_DTYPE`

    Returns
    -------
    array of float64, shape (len(notes),)
    """
    start = notes["start"].astype(np.float64)
    end = np.maximum(notes["end"].astype(np.float64), start)
    last = float(end.max()) if len(end) else 0.0
    iv = pedal_down_intervals(pedals, 64, end=last)
    j = _in_intervals(end, iv)
    rel = np.where(j >= 0, iv[np.maximum(j, 0), 1] if len(iv) else end, end)
    # the next onset of the same key releases a sustained voice
    order = np.lexsort((start, notes["pitch"]))
    p, s = notes["pitch"][order], start[order]
    nxt = np.full(len(order), np.inf)
    same = p[1:] == p[:-1]
    nxt[:-1][same] = s[1:][same]
    next_onset = np.empty(len(order))
    next_onset[order] = nxt
    capped = np.minimum(rel, np.maximum(next_onset, end))
    return np.maximum(capped, start)


def _envelope_db(zone, key: int, t: np.ndarray, t_rel: float) -> tuple:
    """Volume envelope of one voice in dB at times ``t`` (seconds from onset), and its attack ramp."""
    delay = zone.timecents(sf2.DELAY_VOL)
    attack = zone.timecents(sf2.ATTACK_VOL)
    hold = zone.timecents(sf2.HOLD_VOL, key)
    decay = max(zone.timecents(sf2.DECAY_VOL, key), 1e-3)
    release = max(zone.timecents(sf2.RELEASE_VOL), 1e-3)
    sustain_db = min(max(zone.gens.get(sf2.SUSTAIN_VOL, 0), 0), 1440) / 10.0
    t_h = delay + attack + hold

    def decay_db(tt):
        return -np.minimum(np.maximum(tt - t_h, 0.0) * (100.0 / decay), sustain_db)

    db_rel = float(decay_db(np.array(t_rel)))
    db = np.where(t < t_rel, decay_db(t), db_rel - (t - t_rel) * (100.0 / release))
    ramp = np.clip((t - delay) / attack, 0.0, 1.0) if attack > 0 else (t >= delay).astype(np.float64)
    # when the voice has faded below SILENCE_DB (seconds from onset)
    ends = [t_rel + max(0.0, SILENCE_DB + db_rel) / 100.0 * release]
    if sustain_db >= SILENCE_DB:
        ends.append(t_h + SILENCE_DB / 100.0 * decay)
    return db, ramp, min(ends)


def voice_length(zone, key: int, t_rel: float) -> float:
    """Seconds from onset until a voice released at ``t_rel`` has faded below :data:`SILENCE_DB`."""
    return _envelope_db(zone, key, np.zeros(1), t_rel)[2]


def _cutoff_hz(zone, vel: int) -> float:
    fc = zone.gens.get(8, 13500) + max(zone.gens.get(11, 0), 0)
    if vel >= 64:  # FluidSynth's default velocity -> filter cutoff modulator (-2400 cents, switched)
        fc -= 2400.0 * (1.0 - vel / 127.0)
    return 8.176 * 2.0 ** (fc / 1200.0)


@functools.lru_cache(maxsize=512)
def _lowpass(cutoff_hz: float, sr: int):
    """Second-order Butterworth low-pass (b, a) or None when the cutoff is near Nyquist."""
    if cutoff_hz >= 0.45 * sr:
        return None
    from scipy.signal import butter

    return butter(2, cutoff_hz / (sr / 2.0))


def render_voice(zone, key: int, vel: int, t_rel: float, sr: int, n0: int, n1: int) -> np.ndarray:
    """Samples ``n0 .. n1`` (counted from the onset) of one voice, float32.

    Parameters
    ----------
    zone : :class:`midistyle.audio.sf2.Zone`
    key, vel : int
        MIDI key and velocity.
    t_rel : float
        Seconds from onset to the release (note-off after pedal).
    sr : int
        Output sample rate.
    n0, n1 : int
        Range of output samples wanted, relative to the onset.
    """
    n = np.arange(n0, n1, dtype=np.float64)
    cents = (key - zone.root_key) * zone.scale_tuning + zone.tune_cents
    inc = 2.0 ** (cents / 1200.0) * zone.sample_rate / sr
    pos = n * inc
    s = zone.sample
    if zone.loop is not None:
        ls, le = zone.loop
        over = pos >= le
        pos[over] = ls + np.mod(pos[over] - ls, le - ls)
        live = None
    else:
        live = pos < len(s) - 1
        pos = np.minimum(pos, len(s) - 1.001)
    i = pos.astype(np.int64)
    f = (pos - i).astype(np.float32)
    y = s[i] + f * (s[i + 1] - s[i])
    if live is not None:
        y *= live
    db, ramp, _ = _envelope_db(zone, key, n / sr, t_rel)
    gain = (vel / 127.0) ** 2 * 10.0 ** (-zone.attenuation_cb / 200.0)
    if zone.stereo_half:
        gain *= 0.5
    y *= (ramp * 10.0 ** (db / 20.0) * gain).astype(np.float32)
    ba = _lowpass(round(_cutoff_hz(zone, vel), 1), sr)
    if ba is not None and len(y):
        from scipy.signal import lfilter

        y = lfilter(ba[0], ba[1], y).astype(np.float32)
    return y


#: Longest waveform :func:`render_notes` makes by default (1 hour: 635 MB of float32 at 44.1 kHz).
MAX_RENDER_SECONDS = 3600.0


def render_notes(notes: np.ndarray, pedals: np.ndarray | None = None, *, sr: int = DEFAULT_SR,
                 soundfont: str | None = None, start: float = 0.0, duration: float | None = None,
                 normalize: bool = True, tail: float = 4.0,
                 max_seconds: float | None = MAX_RENDER_SECONDS, progress=None) -> np.ndarray:
    """Synthesise notes (and pedals) to a mono waveform.

    Parameters
    ----------
    notes : structured array with ``pitch``, ``velocity``, ``start``, ``end`` (seconds)
        E.g. ``midistyle.read(path).notes``.
    pedals : structured array of :data:`midistyle.codec.io.PEDAL_DTYPE`, optional
        Sustain / soft pedal events.
    sr : int
        Sample rate (Hz).
    soundfont : str, optional
        ``.sf2`` file; default the bundled ``TimGM6mb.sf2``.
    start : float
        Seconds of the performance where the output begins (excerpts: notes already sounding
        there are rendered from the middle).
    duration : float, optional
        Length of the output in seconds; default until the last voice has faded, at most
        ``tail`` seconds after the last note or pedal release.
    normalize : bool
        Scale the peak to -1 dBFS (silence stays silence).
    tail : float
        Longest ring-out kept after the last release when ``duration`` is not given.
    max_seconds : float or None
        Refuse (:class:`InputError`, before any synthesis) an output longer than this (default
        :data:`MAX_RENDER_SECONDS`; None: no limit). A damaged delta time can make a file last
        years, and its waveform would not fit in memory.
    progress : callable, optional
        Called with the share of the voices synthesised so far (0..1) as the work goes on.

    Returns
    -------
    array of float32, shape (samples,)
    """
    if sr < 1000 or sr > 192000:
        raise InputError(f"sample rate {sr} Hz is out of range (1000..192000)")
    zones = load_piano(soundfont)
    pedals = np.empty(0, dtype=[("time", "f8"), ("cc", "i2"), ("value", "i2")]) if pedals is None else pedals
    rel = release_times(notes, pedals)
    longest = duration if duration is not None else (float(rel.max()) if len(rel) else 0.0) + tail - start
    if max_seconds is not None and longest > max_seconds:
        raise InputError(f"the rendering would last {longest / 3600:.1f} h, longer than the limit of "
                         f"{max_seconds / 3600:g} h (max_seconds)")
    soft = pedal_down_intervals(pedals, 67, end=np.inf)
    soft_hit = _in_intervals(notes["start"].astype(np.float64), soft) >= 0
    voices = []  # (zone, key, vel, onset, t_rel, length, soft pedal)
    w_end = np.inf if duration is None else start + duration
    # a voice fades below SILENCE_DB at most 0.8 release times after its release
    fade = max(z.timecents(sf2.RELEASE_VOL) for z in zones) * SILENCE_DB / 100.0
    for k in range(len(notes)):
        key, vel = int(notes["pitch"][k]), int(notes["velocity"][k])
        on = float(notes["start"][k])
        if on >= w_end or rel[k] + fade < start:
            continue
        for z in _zones_for(zones, key, vel):
            t_rel = float(rel[k]) - on
            voices.append((z, key, vel, on, t_rel, voice_length(z, key, t_rel), soft_hit[k]))
    if duration is None:
        last = float(rel.max()) if len(rel) else 0.0
        ring = max((v[3] + v[5] for v in voices), default=last)
        duration = max(0.0, min(ring, last + tail) - start)
    total = int(round(duration * sr))
    out = np.zeros(total, dtype=np.float32)
    w0 = int(round(start * sr))
    for k, (z, key, vel, on, t_rel, length, soft_on) in enumerate(voices):
        if progress is not None and k % 256 == 0:
            progress(k / len(voices))
        a = int(round(on * sr))
        b = a + int(np.ceil(length * sr))
        lo, hi = max(a, w0), min(b, w0 + total)
        if hi <= lo:
            continue
        y = render_voice(z, key, vel, t_rel, sr, lo - a, hi - a)
        if soft_on:
            y *= SOFT_PEDAL_GAIN
        out[lo - w0:hi - w0] += y
    if normalize:
        peak = float(np.max(np.abs(out))) if total else 0.0
        if peak > 0:
            out *= PEAK / peak
    if progress is not None:
        progress(1.0)
    return out


def render_performance(perf, **kwargs) -> np.ndarray:
    """:func:`render_notes` of a :class:`midistyle.codec.io.Performance` (its notes and pedals)."""
    return render_notes(perf.notes, perf.pedals, **kwargs)


def render_midi(path: str, **kwargs) -> np.ndarray:
    """Read a MIDI file or score (:func:`midistyle.codec.io.read`) and render it with :func:`render_notes`."""
    return render_performance(read(path), **kwargs)
