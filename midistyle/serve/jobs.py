"""What the studio does with an upload: the same library calls as the command line (restyle,
generate), then the before/after figure and the audio renders of a result.

Each function takes a :class:`~midistyle.serve.store.Result` (its private folder) and the path of
the uploaded file in it, writes the result's files under their fixed names and returns the
figures the command line prints. Library errors (:class:`midistyle.errors.MidistyleError`) pass
through; the server turns them into a 4xx answer.
"""
from __future__ import annotations

import numpy as np

from ..audio.files import write_audio
from ..audio.render import render_performance
from ..audio.spectral import DEFAULT_SR
from ..beats import tempo_curve
from ..chords import generate
from ..codec import io as mio
from ..codec.pianoroll import encode
from ..perform import perform
from ..plot import plot_pieces
from ..velocity import restyle

__all__ = ["STUDIO_SR", "restyle_upload", "perform_upload", "chords_upload", "render_later"]

#: sample rate of the studio's audio
STUDIO_SR = DEFAULT_SR


def _figure(res, first, second, titles) -> None:
    """The compare figure of two performances (:func:`midistyle.plot.plot_pieces`) as the result's
    ``compare.png``, with tempo strips when either has tempo changes."""
    tempos = [tempo_curve(p) for p in (first, second)] if max(first.tempo_changes, second.tempo_changes) > 1 else None
    plot_pieces([encode(first), encode(second)], res.path("compare.png"), titles=titles, tempos=tempos)


def render_later(store, res, key: str, perf, *, audio_seconds: float) -> None:
    """Render ``perf`` with the SoundFont piano to the result's ``KEY.wav`` in the background
    (at most its first ``audio_seconds``), its progress in the result's status."""
    end = float(perf.notes["end"].max()) if len(perf.notes) else 0.0
    duration = float(audio_seconds) if end > audio_seconds else None

    def work(progress):
        y = render_performance(perf, sr=STUDIO_SR, duration=duration, progress=progress)
        write_audio(res.path(f"{key}.wav"), y, STUDIO_SR)

    store.render(res, key, work)


def restyle_upload(store, res, upload: str, *, title: str, genre: str, seed: int = 0, temperature: float = 1.0,
                   strength: float = 1.0, audio: bool = True, audio_seconds: float = 600.0,
                   max_seconds: float = 7200.0) -> dict:
    """The velocity restyle (:func:`midistyle.velocity.restyle`) of the uploaded file: ``result.mid`` (the same bytes as the
    command line writes for the same input and settings), ``compare.png`` and, with ``audio``,
    ``original.wav`` and ``result.wav`` rendered in the background. Returns the command's figures."""
    r = restyle([upload], genre=genre, output=res.path("result.mid"), seed=seed, temperature=temperature,
                strength=strength, max_seconds=max_seconds)[0]
    before, after = mio.read(upload), mio.read(res.path("result.mid"))
    _figure(res, before, after, [title, f"{title} played as {genre} (seed {seed}, strength {strength:g})"])
    if audio:
        render_later(store, res, "original", before, audio_seconds=audio_seconds)
        render_later(store, res, "result", after, audio_seconds=audio_seconds)
    return {"to": genre, "seed": seed, "temperature": temperature,
            **{k: v for k, v in r.items() if k not in ("input", "output")}}


def perform_upload(store, res, upload: str, *, title: str, genre: str, seed: int = 0, level=None,
                   tempo: bool = True, audio: bool = True, audio_seconds: float = 600.0,
                   max_seconds: float = 7200.0) -> dict:
    """The performance (:func:`midistyle.perform.perform`) of the uploaded score: ``result.mid`` (the
    command line's bytes), ``compare.png`` with tempo strips and, with ``audio``, both renders."""
    r = perform([upload], genre, output=res.path("result.mid"), seed=seed, level=level, tempo=tempo,
                max_seconds=max_seconds)[0]
    before, after = mio.read(upload), mio.read(res.path("result.mid"))
    _figure(res, before, after, [title, f"{title} performed as {genre} (seed {seed})"])
    if audio:
        render_later(store, res, "original", before, audio_seconds=audio_seconds)
        render_later(store, res, "result", after, audio_seconds=audio_seconds)
    return {"to": genre, "seed": seed, **{k: v for k, v in r.items() if k not in ("input", "output")}}


def chords_upload(store, res, upload: str, *, title: str, style: str, seconds: float = 20.0, seed: int = 0,
                  temperature: float = 1.0, key: str | None = None, audio: bool = True,
                  audio_seconds: float = 600.0) -> dict:
    """Chords (:func:`midistyle.chords.generate`, in ``key`` or the inspiration's) from the uploaded inspiration: ``result.mid``,
    ``compare.png`` (inspiration above the new piece) and, with ``audio``, both rendered in the
    background. Returns the command's figures."""
    r = generate(upload, style, output=res.path("result.mid"), seconds=seconds, seed=seed, temperature=temperature,
                 key=key)
    inspiration = mio.read(upload)
    new = mio.read(res.path("result.mid")) if r["notes"] else None
    if new is not None:
        _figure(res, inspiration, new, [f"inspiration: {title}", f"{r['seconds']:g} s of {style} (seed {seed})"])
        if audio:
            render_later(store, res, "original", inspiration, audio_seconds=audio_seconds)
            render_later(store, res, "result", new, audio_seconds=audio_seconds)
    return {k: (round(v, 3) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()
            if k not in ("input", "output", "velocity_model")}
