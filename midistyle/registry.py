"""Where shipped models live and how a genre name maps to files.

Models are looked up in ``$MIDISTYLE_MODELS`` if set, else in the ``models/`` folder of the
checkout the package was installed from (``pip install -e .``).
"""
from __future__ import annotations

import glob
import os

from .errors import ModelError


def models_dir() -> str:
    """Folder holding the shipped models."""
    env = os.environ.get("MIDISTYLE_MODELS")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")


def velocity_genres() -> list:
    """Genres with a shipped velocity model, sorted."""
    out = []
    for p in glob.glob(os.path.join(models_dir(), "velocity-*.json")):
        out.append(os.path.basename(p)[len("velocity-"):-len(".json")])
    return sorted(out)


def velocity_model_path(genre: str | None) -> str:
    """Path of the shipped velocity model for ``genre``; a clear error lists the genres available."""
    genres = velocity_genres()
    if not genre:
        raise ModelError("name a genre (available: " + (", ".join(genres) or "none") + ")", field="genre")
    if genre not in genres:
        raise ModelError(f"no velocity model for genre {genre!r} (available: {', '.join(genres) or 'none'}; "
                         f"looked in {models_dir()})", field="genre")
    return os.path.join(models_dir(), f"velocity-{genre}.keras")


def velocity_judge_path() -> str | None:
    """Path of the shipped velocity-only genre judge (``models/velocity-judge.json``), or None."""
    path = os.path.join(models_dir(), "velocity-judge.json")
    return path if os.path.exists(path) else None


def content_judge_path() -> str | None:
    """Path of the shipped independent content judge (``models/content-judge.json``), or None."""
    path = os.path.join(models_dir(), "content-judge.json")
    return path if os.path.exists(path) else None


def classifier_path() -> str:
    """Path of the shipped genre classifier (``models/classifier.keras``); ModelError if missing."""
    path = os.path.join(models_dir(), "classifier.keras")
    if not os.path.exists(path[: -len(".keras")] + ".json"):
        raise ModelError(f"no genre classifier in {models_dir()} (train one and save it as {path})")
    return path


def chords_genres() -> list:
    """Genres with a shipped chord generator, sorted."""
    out = []
    for p in glob.glob(os.path.join(models_dir(), "chords-*.json")):
        out.append(os.path.basename(p)[len("chords-"):-len(".json")])
    return sorted(out)


def chords_model_path(genre: str | None) -> str:
    """Path of the shipped chord generator for ``genre``; a clear error lists the genres available."""
    genres = chords_genres()
    if not genre:
        raise ModelError("name a genre (available: " + (", ".join(genres) or "none") + ")", field="genre")
    if genre not in genres:
        raise ModelError(f"no chord model for genre {genre!r} (available: {', '.join(genres) or 'none'}; "
                         f"looked in {models_dir()})", field="genre")
    return os.path.join(models_dir(), f"chords-{genre}.keras")
