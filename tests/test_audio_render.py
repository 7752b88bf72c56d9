"""midistyle.audio.render: size guard before synthesis."""
from __future__ import annotations

import time

import numpy as np
import pytest

from midistyle.audio.render import MAX_RENDER_SECONDS, render_notes
from midistyle.errors import InputError
from midistyle.io import NOTE_DTYPE


def notes_at(*starts):
    n = np.zeros(len(starts), dtype=NOTE_DTYPE)
    n["pitch"], n["velocity"] = 60, 80
    n["start"] = starts
    n["end"] = n["start"] + 0.5
    return n


def test_render_refuses_a_waveform_longer_than_the_limit_before_synthesis():
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="longer than the limit of 1 h"):
        render_notes(notes_at(0.0, 9 * 3600.0))        # a damaged delta time: a 9-hour file
    assert time.perf_counter() - t0 < 5.0              # refused up front, nothing synthesised
    with pytest.raises(InputError, match="max_seconds"):
        render_notes(notes_at(0.0), duration=MAX_RENDER_SECONDS + 1)


def test_render_limit_can_be_raised_or_lifted():
    y = render_notes(notes_at(0.0, 3.0), sr=8000, max_seconds=10.0)
    assert 3.5 * 8000 < len(y) < 8.0 * 8000 and np.abs(y).max() > 0
    with pytest.raises(InputError):
        render_notes(notes_at(0.0, 3.0), sr=8000, max_seconds=2.0)
    assert len(render_notes(notes_at(0.0), sr=8000, max_seconds=None, duration=1.0)) == 8000
