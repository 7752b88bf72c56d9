"""Dynamics: dynamic marks and levels, the blend toward the model's playing, and telling a notated
score from a performance."""
from __future__ import annotations

import numpy as np

from ..beats import has_rubato, on_beat_grid
from ..errors import InputError

#: MIDI velocities of the dynamic marks (MuseScore's defaults)
DYNAMICS = {"ppp": 16, "pp": 33, "p": 49, "mp": 64, "mf": 80, "f": 96, "ff": 112, "fff": 126}
#: a piece whose notes take at most this many velocities is taken for a score (a notation program
#: writes one velocity per dynamic mark; a performance has dozens)
SCORE_MAX_VELOCITIES = 8


def parse_level(level) -> float:
    """A dynamic mark (:data:`DYNAMICS`: pp, p, mp, mf, f, ff, ...) or a MIDI velocity 1..127 as a
    mean velocity; :class:`InputError` naming ``level`` otherwise."""
    if isinstance(level, str):
        text = level.strip().lower()
        if text in DYNAMICS:
            return float(DYNAMICS[text])
        try:
            level = float(text)
        except ValueError:
            raise InputError(f"level must be one of {', '.join(DYNAMICS)} or a velocity 1..127, got {level!r}",
                             field="level") from None
    if not (isinstance(level, (int, float)) and 1 <= level <= 127):
        raise InputError(f"level must be one of {', '.join(DYNAMICS)} or a velocity 1..127, got {level!r}",
                         field="level")
    return float(level)


def shape_level(velocities, mask=None, *, level: float | None = None, spread: float = 1.0) -> np.ndarray:
    """Velocities whose mean over ``mask`` (default all) is moved to ``level`` (kept when None)
    and whose deviations from it are multiplied by ``spread``; clipped to 1..127."""
    v = np.asarray(velocities, np.float64)
    m = np.ones(len(v), bool) if mask is None else np.asarray(mask, bool)
    if not m.any():
        return v.copy()
    mu = float(v[m].mean())
    target = mu if level is None else float(level)
    out = v.copy()
    out[m] = np.clip(target + (v[m] - mu) * spread, 1.0, 127.0)
    return out


def looks_like_score(perf) -> bool:
    """Whether ``perf`` reads as a notated score rather than a performance: its notes take at most
    :data:`SCORE_MAX_VELOCITIES` velocities (a notation program writes one per dynamic mark), or
    they sit on a beat grid with no sustain pedal and no performer's tempo map (a score with
    hairpins written out as many velocities)."""
    if len(np.unique(perf.notes["velocity"])) <= SCORE_MAX_VELOCITIES:
        return True
    pedalled = bool(np.any((perf.pedals["cc"] == 64) & (perf.pedals["value"] >= 64)))
    return not pedalled and on_beat_grid(perf) and not has_rubato(perf)


def blend_velocities(before, after, strength: float) -> np.ndarray:
    """Each note moved from its own velocity (``before``) toward ``after`` by ``strength``: 0
    keeps ``before``, 1 gives ``after`` exactly, 0.5 lands half-way (the amount knob of
    humanize tools). :class:`InputError` naming ``strength`` outside [0, 1]."""
    if not (isinstance(strength, (int, float)) and 0.0 <= strength <= 1.0):
        raise InputError(f"strength must lie in [0, 1], got {strength!r}", field="strength")
    after = np.asarray(after, np.float64)
    if strength == 1:
        return after
    before = np.asarray(before, np.float64)
    return before + float(strength) * (after - before)

