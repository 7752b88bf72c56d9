"""Per-note and per-piece features, and the velocity-only judge that reads them (real TPD pieces)."""
from __future__ import annotations

import numpy as np
import pytest

from midistyle.codec import io as mio
from midistyle.judges.notefeatures import (JUDGE_FEATURE_NAMES, PROFILE_FEATURE_NAMES, judge_statistics, load_judge,
                                    velocity_profile, velocity_relations)
from midistyle.codec.pianoroll import encode
from midistyle.registry import velocity_judge_path

from conftest import GENRES, tpd_sample, tpd_validation_files


def test_judge_statistics_follow_the_judge_width():
    roll = encode(mio.read(str(tpd_sample("jazz")[0])))
    v = np.clip(roll.notes["velocity"].astype(float) + 7, 1, 127)
    assert np.array_equal(judge_statistics(roll, v), velocity_profile(roll, v))
    assert len(judge_statistics(roll)) == len(PROFILE_FEATURE_NAMES)
    assert np.array_equal(judge_statistics(roll, v, n_features=len(JUDGE_FEATURE_NAMES)), velocity_relations(roll, v))
    # the velocities given are the ones read
    assert not np.array_equal(judge_statistics(roll, v), judge_statistics(roll))
    with pytest.raises(ValueError, match="n_features"):
        judge_statistics(roll, n_features=12)


def test_shipped_velocity_judge_tells_real_genres_apart():
    """The shipped judge reads the whole velocity profile and calls most real validation pieces
    (never fitted on) by their genre."""
    judge = load_judge(velocity_judge_path())
    assert len(judge.mean) == len(PROFILE_FEATURE_NAMES)
    files = tpd_validation_files()
    for g in GENRES:
        rows = [judge_statistics(encode(mio.read(str(p)))) for p in files[g]]
        assert np.mean([p == g for p in judge.predict(np.array(rows))]) >= 0.8, g
