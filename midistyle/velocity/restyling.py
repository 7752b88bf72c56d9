"""Restyle: play MIDI files with a genre's velocity model, only the velocities changed."""
from __future__ import annotations

import os

import numpy as np

from ..codec import io as mio
from ..codec.io import CORPUS_PREFIX
from ..codec.pianoroll import encode
from ..errors import InputError
from ..fsutil import check_output
from ..plot import plot_velocity_compare
from ..registry import velocity_model_path
from .dynamics import blend_velocities, looks_like_score, parse_level
from .inputs import note_beats_of
from .model import VelocityModel


def restyle(inputs, genre: str | None = None, model: str | VelocityModel | None = None,
            output: str | None = None, force: bool = False, *, seed: int = 0, temperature: float = 1.0,
            mean: bool = False, strength: float = 1.0, level=None, score: bool | None = None,
            plot: str | None = None, max_seconds: float | None = 7200.0) -> list:
    """Play each input with a genre's model: only the velocities change, every tick is kept.

    Parameters
    ----------
    inputs : list of str or symusic.Score
        MIDI files, scores, ``corpus:NAME`` or ``symusic.Score`` objects (which need ``output``).
    genre : str, optional
        Shipped model to use (see :func:`midistyle.registry.velocity_model_path`).
    model : str or VelocityModel, optional
        A model path (or loaded model) instead of the shipped one.
    output : str, optional
        Output path (only with one input). Default: ``NAME.GENRE.mid`` beside each input.
    force : bool
        Overwrite existing outputs (never the input itself).
    seed : int
        Seed of the draws: same seed, same input, same bytes. Input k of several uses ``seed + k``.
    temperature : float
        Sharpness of the draws (1: the model's distribution; lower: nearer its most likely value).
    mean : bool
        Write the expected velocity of each note instead of a drawn performance.
    strength : float
        How far each note moves from its own velocity toward the model's (0: unchanged, 1: the
        model's; :func:`blend_velocities`). The draw itself does not depend on it.
    level : str or float, optional
        The mean velocity of the result: a dynamic mark (pp .. ff) or a velocity
        (:func:`parse_level`); by default the model's, which for a score is brought to the
        genre's performances.
    score : bool, optional
        Whether an input is a notated score (:meth:`VelocityModel.sample`); by default each input
        is judged by :func:`looks_like_score`.
    plot : str, optional
        PNG of the input's and the output's velocity over the piano roll (one input only).
    max_seconds : float or None
        Refuse inputs longer than this (see :func:`midistyle.codec.pianoroll.encode`).

    Returns
    -------
    list of dict
        Per input: ``input``, ``output``, ``notes``, ``strength``, ``score`` (read as a score),
        ``level``, ``mean_velocity_before`` / ``after``, ``std_velocity_before`` / ``after``.
    """
    if not temperature > 0:
        raise InputError(f"temperature must be > 0, got {temperature!r}", field="temperature")
    blend_velocities([], [], strength)          # checks strength before any work
    if level is not None:
        parse_level(level)
    if isinstance(model, VelocityModel):
        vm = model
    else:
        vm = VelocityModel.load(model if model is not None else velocity_model_path(genre))
    tag = genre or vm.genre
    if output is not None and len(inputs) > 1:
        raise InputError("an output path needs exactly one input (default names are used for several)")
    names = mio.input_names(inputs, output)
    if plot is not None and len(inputs) > 1:
        raise InputError("a plot needs exactly one input")
    if plot is not None:
        check_output(plot, force=force, protect=tuple(n for n in names if n != mio.SYMUSIC_SOURCE),
                     extensions=(".png",))
    # read everything first, so a bad input fails before anything is written
    perfs = [mio.read(p, exact=True) for p in inputs]   # exact: it is written back
    rolls = [encode(perf, vm.settings, max_seconds=max_seconds) for perf in perfs]
    results = []
    for k, (src, perf, roll) in enumerate(zip(names, perfs, rolls)):
        is_score = looks_like_score(perf) if score is None else bool(score)
        vel = blend_velocities(perf.notes["velocity"], vm.predict_notes(
            roll, beats=note_beats_of(perf), mean=mean, seed=seed + k, temperature=temperature, score=is_score,
            level=level), strength)
        out = output or default_output(src, tag)
        mio.write_velocities(perf, vel, out, force=force)
        after = np.clip(np.rint(vel), 1, 127)
        if plot is not None:
            plot_velocity_compare(roll, after, plot, titles=(f"input: {os.path.basename(src)}",
                                                           f"played as {tag} ({'expected' if mean else f'seed {seed + k}'}"
                                                           + (f", strength {strength:g})" if strength != 1 else ")")),
                                  force=force)
        results.append({"input": src, "output": out, "notes": int(len(vel)), "strength": float(strength),
                        "score": is_score, "level": None if level is None else parse_level(level),
                        "mean_velocity_before": round(float(perf.notes["velocity"].mean()), 2),
                        "mean_velocity_after": round(float(after.mean()), 2),
                        "std_velocity_before": round(float(perf.notes["velocity"].std()), 2),
                        "std_velocity_after": round(float(after.std()), 2)})
    return results


def default_output(src: str, tag: str) -> str:
    """``song.mid`` -> ``song.TAG.mid`` beside it (``corpus:a/b`` -> ``b.TAG.mid`` here)."""
    if src.startswith(CORPUS_PREFIX):
        return os.path.basename(src[len(CORPUS_PREFIX):]).replace(".", "_") + f".{tag}.mid"
    stem = os.path.splitext(src)[0]
    return f"{stem}.{tag}.mid"

