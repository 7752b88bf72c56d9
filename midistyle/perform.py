"""Scores played like people play them: velocities at a human level, and tempo that breathes.

:func:`perform` plays each input with a genre's velocity model (a notated score's notes read as
the genre's performances have them, brought to their level and spread, or to the ``level`` asked
for) and, when the genre has a tempo model (:mod:`midistyle.tempo`) and the input is a score on a
beat grid with a steady tempo, draws a tempo map over the score's own ticks. Only velocities and
tempo events change: every note keeps its tick and pitch, and a DAW shows the rubato as a tempo
track. :func:`score_like` makes the score a notation program would export from a performance, for
evaluation (:func:`evaluate_perform`).
"""
from __future__ import annotations

import copy
import os

import numpy as np

from .beats import beat_curve, has_rubato, on_beat_grid
from .codec import io as mio
from .codec.io import tick_to_seconds
from .codec.pianoroll import encode
from .errors import InputError, ModelError
from .fsutil import check_output
from .registry import find, velocity_model_path
from .tempo import TempoModel, curve_statistics, evaluate as evaluate_tempo, tempo_events
from .velocity import VelocityModel, default_output, looks_like_score, note_beats_of, parse_level

__all__ = ["score_like", "tempo_plan", "perform", "evaluate_perform"]


def score_like(perf, velocity: int = 64):
    """The performance as a notation program would export it: every note at ``velocity``, no
    pedals, one tempo (the median of its tempo map, weighted by beats); ticks and pitches kept.
    The result has no MIDI messages (:attr:`Performance.exact` is False): for evaluation."""
    p = copy.copy(perf)
    curve = beat_curve(perf)
    us = float(np.exp(np.median(curve)) * 1e6) if len(curve) else 500000.0
    p.tempo = (np.zeros(1, np.int64), np.array([us]))
    n = perf.notes.copy()
    n["start"] = tick_to_seconds(n["start_tick"], p.tempo, perf.ticks_per_beat)
    n["end"] = tick_to_seconds(n["end_tick"], p.tempo, perf.ticks_per_beat)
    n["velocity"] = velocity
    p.notes, p.pedals, p.midi, p.data = n, perf.pedals[:0].copy(), None, None
    p.tempo_changes = 1
    return p


def tempo_plan(perf, genre: str, tempo_model=None) -> str | None:
    """Why the input's tempo is kept (a one-line reason), or None when a tempo map is drawn for it."""
    if tempo_model is None:
        return (f"no tempo model for {genre} (TPD's {genre} files carry too few tempo maps to learn "
                "rubato from)")
    if not on_beat_grid(perf):
        return "the input is a performance without a beat grid: its timing is kept"
    if has_rubato(perf):
        return "the input's tempo map already varies (a performance): kept"
    return None


def _tempo_model(genre: str, model: str | None):
    if model is not None:
        return TempoModel.load(model)
    try:
        return TempoModel.load(find("tempo", genre).path)
    except ModelError:
        return None


def perform(inputs, genre: str | None = None, output: str | None = None, force: bool = False, *,
            seed: int = 0, temperature: float = 1.0, level=None, tempo: bool = True,
            velocity_model: str | None = None, tempo_model: str | None = None,
            max_seconds: float | None = 7200.0) -> list:
    """Play each score like a person of ``genre``: new velocities and, where the genre has a tempo
    model, a tempo map that breathes. Same seed, same bytes.

    Parameters
    ----------
    inputs : list of str or symusic.Score
        MIDI files, scores, ``corpus:NAME`` or ``symusic.Score`` objects (which need ``output``).
    genre : str
        The style (its velocity model, and its tempo model when there is one).
    output : str, optional
        Output path (one input only); default ``NAME.performed-GENRE.mid`` beside each input.
    force : bool
        Overwrite existing outputs (never the input itself).
    seed : int
        Seed of the velocity and tempo draws (input k of several uses ``seed + k``).
    temperature : float
        Multiplies both models' sampling temperatures.
    level : str or float, optional
        Mean velocity of the result (:func:`midistyle.velocity.parse_level`).
    tempo : bool
        Draw a tempo map (when the genre has a tempo model and the input is a steady score).
    velocity_model, tempo_model : str, optional
        Model paths instead of the genre's.
    max_seconds : float or None
        Refuse inputs longer than this.

    Returns
    -------
    list of dict
        Per input: ``input``, ``output``, ``notes``, ``score``, ``level``, ``mean_velocity_before`` /
        ``after``, ``std_velocity_before`` / ``after``, ``tempo`` ("drawn" or why it was kept),
        ``beats``, ``rubato_std`` and ``rubato_lag1`` of the drawn log beat period (None if kept).
    """
    if not temperature > 0:
        raise InputError(f"temperature must be > 0, got {temperature!r}", field="temperature")
    if level is not None:
        parse_level(level)
    if output is not None and len(inputs) > 1:
        raise InputError("an output path needs exactly one input (default names are used for several)")
    vm = VelocityModel.load(velocity_model or velocity_model_path(genre))
    genre = genre or vm.genre
    tm = _tempo_model(genre, tempo_model) if tempo else None
    names = mio.input_names(inputs, output)
    perfs = [mio.read(p, exact=True) for p in inputs]
    rolls = [encode(p, vm.settings, max_seconds=max_seconds) for p in perfs]
    outs = [output or default_output(src, f"performed-{genre}") for src in names]
    for src, out in zip(names, outs):
        check_output(out, force=force, protect=() if src.startswith(mio.CORPUS_PREFIX) else (src,))
    results = []
    for k, (src, perf, roll, out) in enumerate(zip(names, perfs, rolls, outs)):
        is_score = looks_like_score(perf)
        vel = vm.predict_notes(roll, beats=note_beats_of(perf), seed=seed + k, temperature=temperature,
                               score=is_score, level=level)
        midi = mio.with_velocities(perf, vel)
        why = tempo_plan(perf, genre, tm) if tempo else "not asked for"
        stats = {"std": None, "lag1": None}
        if why is None:
            dev = tm.sample(perf, seed=seed + k, temperature=temperature)
            midi = mio.with_tempo_map(midi, tempo_events(perf, dev))
            stats = {key: round(v, 4) for key, v in curve_statistics(dev).items()}
        mio.save_midi(midi, out, force=force, protect=() if src.startswith(mio.CORPUS_PREFIX) else (src,))
        after = np.clip(np.rint(vel), 1, 127)
        results.append({"input": src, "output": out, "notes": int(len(vel)), "score": is_score,
                        "level": None if level is None else parse_level(level),
                        "mean_velocity_before": round(float(perf.notes["velocity"].mean()), 2),
                        "mean_velocity_after": round(float(after.mean()), 2),
                        "std_velocity_before": round(float(perf.notes["velocity"].std()), 2),
                        "std_velocity_after": round(float(after.std()), 2),
                        "tempo": "drawn" if why is None else why,
                        "tempo_model": None if why is not None else os.path.basename(tm.path),
                        "beats": int(len(dev)) if why is None else None,
                        "rubato_std": stats["std"], "rubato_lag1": stats["lag1"]})
    return results


def evaluate_perform(performances: list, genre: str, *, seed: int = 0, velocity_model=None, tempo_model=None,
                     tempo: bool = True) -> dict:
    """Play score-like versions (:func:`score_like`) of real ``performances`` of ``genre`` and compare
    with how they were really played: per piece the mean velocity difference and the velocity
    spread ratio; for the sequenced pieces with rubato, the tempo figures of
    :func:`midistyle.tempo.evaluate` (unless not ``tempo``)."""
    vm = velocity_model if isinstance(velocity_model, VelocityModel) else VelocityModel.load(
        velocity_model or velocity_model_path(genre))
    tm = tempo_model if isinstance(tempo_model, TempoModel) else _tempo_model(genre, tempo_model) if tempo else None
    rows = []
    for k, perf in enumerate(performances):
        real = perf.notes["velocity"].astype(np.float64)
        if real.std() < 1:
            continue
        sc = score_like(perf)
        roll = encode(sc, vm.settings)
        m = roll.in_range()
        v = vm.predict_notes(roll, beats=note_beats_of(sc), seed=seed + k, score=True)[m]
        rows.append({"source": os.path.basename(perf.source), "real_mean": float(real[m].mean()),
                     "played_mean": float(v.mean()), "real_std": float(real[m].std()), "played_std": float(v.std())})
    diff = [abs(r["played_mean"] - r["real_mean"]) for r in rows]
    ratio = [r["played_std"] / r["real_std"] for r in rows]
    out = {"genre": genre, "pieces": len(rows), "seed": seed,
           "level_diff_median": float(np.median(diff)) if rows else float("nan"),
           "spread_ratio_median": float(np.median(ratio)) if rows else float("nan"),
           "spread_ratio_iqr": [float(x) for x in np.percentile(ratio, [25, 75])] if rows else None,
           "per_piece": rows, "tempo": None}
    if tm is not None:
        seq = [p for p in performances if on_beat_grid(p) and has_rubato(p)]
        out["tempo"] = evaluate_tempo(tm, seq, seed=seed) if seq else None
    return out
