"""Generating music with a chord model: frames drawn from the style embedding of an inspiration
(and its first seconds), made a MIDI file with the notes, the sustain pedal and velocities drawn by
the style's velocity model."""
from __future__ import annotations

import secrets

import mido
import numpy as np

from ..codec import io as mio
from ..classifier import GenreClassifier
from ..errors import InputError, ModelError
from ..fsutil import check_output
from ..codec.pianoroll import EncoderSettings, encode
from ..registry import chords_model_path, classifier_path, velocity_model_path
from ..velocity import VelocityModel, note_beats_of
from ..velocity import default_output as velocity_default_output
from .config import INSPIRATION_KEY_SECONDS, MAX_SECONDS, TICKS_PER_SECOND
from .frames import Frames, frames_key, frames_to_notes, pedal_runs, roll_frames, texture_stats
from .harmony import KEY_NAMES, key_shift, parse_key
from .model import ChordModel


def notes_to_midi(notes: list, settings: EncoderSettings, seconds: float, *, frame_steps: int = 1,
                  pedal: list = (), velocities=None, name: str = "chords"):
    """A type-0 MIDI file (120 bpm, 480 ticks per beat, piano) of frame notes, ending at ``seconds``.

    Parameters
    ----------
    notes : list of (start_frame, end_frame, column)
    settings : EncoderSettings
        Grid of the steps and pitch of column 0.
    seconds : float
        Length of the file (its end-of-track event).
    frame_steps : int
        Steps per frame.
    pedal : list of (start_frame, end_frame)
        Sustain pedal down (CC64 127) / up (CC64 0).
    velocities : array, optional
        One velocity per note (default 64).
    """
    def tick(frame):
        return int(round(frame * frame_steps * settings.step * TICKS_PER_SECOND))

    end = int(round(seconds * TICKS_PER_SECOND))
    vel = np.full(len(notes), 64) if velocities is None else np.clip(np.rint(velocities), 1, 127).astype(int)
    ev = []
    for (a, b, p), v in zip(notes, vel):
        pitch = int(p) + settings.pitch_low
        ev.append((min(tick(a), end), 2, pitch, mido.Message("note_on", channel=0, note=pitch, velocity=int(v))))
        ev.append((min(tick(b), end), 1, pitch, mido.Message("note_off", channel=0, note=pitch, velocity=0)))
    for a, b in pedal:
        ev.append((min(tick(a), end), 0, -1, mido.Message("control_change", channel=0, control=64, value=127)))
        ev.append((min(tick(b), end), 0, -2, mido.Message("control_change", channel=0, control=64, value=0)))
    ev.sort(key=lambda e: (e[0], e[1], e[2]))
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("track_name", name=name, time=0))
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("program_change", channel=0, program=0, time=0))
    last = 0
    for t, _, _, msg in ev:
        tr.append(msg.copy(time=t - last))
        last = t
    tr.append(mido.MetaMessage("end_of_track", time=max(end - last, 0)))
    mf = mido.MidiFile(type=0, ticks_per_beat=480)
    mf.tracks.append(tr)
    return mf


def default_output(src: str, style: str) -> str:
    """``song.mid`` -> ``song.chords-STYLE.mid`` beside it."""
    return velocity_default_output(src, f"chords-{style}")


def shipped_velocity_model(style: str):
    """The shipped velocity model of ``style``, or (None, reason)."""
    try:
        return VelocityModel.load(velocity_model_path(style)), None
    except ModelError as exc:
        return None, str(exc)


def compose(cm: ChordModel, emb: np.ndarray, seconds: float, *, seed: int, temperature: float = 1.0,
            prime: Frames | None = None, velocity_model=None, feedback: float | None = None,
            event_bias: float | None = None, key: int | None = None) -> tuple:
    """Draw ``seconds`` of music from a chord model and make it a MIDI file (in memory).

    Returns ``(mido.MidiFile, Frames, notes)``; velocities are drawn by ``velocity_model``
    (seeded with ``seed``) when given, else 64; the sustain pedal becomes CC64 events.
    ``feedback``, ``event_bias``: as for :meth:`ChordModel.sample`. ``key`` (0-23): a generator whose
    harmony reads keys is told it; another one's draw is transposed into it (:func:`.harmony.key_shift`
    from the key the draw is found in, :func:`.frames.frames_key`).
    """
    fr = cm.sample(emb, int(np.ceil(seconds / cm.frame_seconds)), seed=seed, temperature=temperature, prime=prime,
                   feedback=feedback, event_bias=event_bias, key=key)
    if key is not None and not cm.reads_keys:
        fr = fr.transposed(key_shift(frames_key(fr, cm.settings.pitch_low), int(key)))
    notes = frames_to_notes(fr)
    midi = notes_to_midi(notes, cm.settings, seconds, frame_steps=cm.config.frame_steps,
                         pedal=pedal_runs(fr.pedal), name=f"midistyle chords ({cm.genre})")
    if velocity_model is not None and notes:
        gen = mio.performance_from_midifile(midi, "generated")
        vel = velocity_model.sample(encode(gen, velocity_model.settings), beats=note_beats_of(gen), seed=seed)
        midi = mio.with_velocities(gen, vel)
    return midi, fr, notes


def inspiration_key(cm: ChordModel, roll) -> int | None:
    """The key (0-23) a draw inspired by ``roll`` (a PianoRoll on ``cm``'s grid) is told: the key of
    its first :data:`INSPIRATION_KEY_SECONDS`; None for a model whose harmony reads no keys (its
    draws find their own key)."""
    if not cm.reads_keys:
        return None
    fr = roll_frames(roll, cm.config.frame_steps)
    return frames_key(fr[:int(round(INSPIRATION_KEY_SECONDS / cm.frame_seconds))], cm.settings.pitch_low)


def generate(inspire: str, style: str, output: str | None = None, seconds: float = 30.0, seed: int | None = None,
             temperature: float = 1.0, force: bool = False, model: str | None = None,
             classifier: str | None = None, velocity: bool = True, prime: float = 0.0, steady: bool = False,
             key: str | None = None) -> dict:
    """Generate music in ``style`` from the style embedding of ``inspire``, write a MIDI file.

    Parameters
    ----------
    inspire : str
        MIDI file, score or ``corpus:NAME`` whose embedding starts the generator.
    style : str
        Target genre (a shipped chord model, :func:`midistyle.registry.chords_model_path`).
    output : str, optional
        Output path (default ``IN.chords-STYLE.mid`` beside the input).
    seconds : float
        Length of the output.
    seed : int, optional
        Seed of the draws (a fresh one if None; it is returned). Same seed, same file.
    temperature : float
        > 1 more adventurous, < 1 more conservative.
    force : bool
        Overwrite an existing output (never the input).
    model, classifier : str, optional
        Chord model / classifier paths instead of the shipped ones.
    velocity : bool
        Draw velocities with the style's velocity model when one is shipped (else constant 64).
    prime : float
        Seconds of the inspiration's beginning read through the generator before it draws, so
        the output continues in its key, register and texture (0: the embedding alone).
    steady : bool
        Read back only part of the draw's own running pedal share and density (the model's
        :attr:`~ChordModel.steady_feedback`) and raise the onset event by the model's
        :attr:`~ChordModel.steady_event_bias`, so that a long draw keeps its texture; by default
        the habits are read back in full, as in training, and after about 20 s the classical
        generator thins out and the jazz generator pedals more and more.
    key : str, optional
        The key to play in ("D minor", "Dm", "F# major", :func:`.harmony.parse_key`), as :func:`compose`
        plays it (default: the inspiration's key for a generator that reads keys, else the draw's own).

    Returns
    -------
    dict
        ``input``, ``output``, ``style``, ``seconds``, ``seed``, ``temperature``, ``prime``, ``feedback``,
        ``event_bias``, ``key`` (its name; None when no key was asked of a generator that reads none), ``notes``, ``polyphony``, ``notes_per_s``, ``pedal_share``, ``velocity_model`` (path or
        None) and ``warning`` (or None).
    """
    _check_arguments(seconds, temperature, prime, seed)
    cm = ChordModel.load(model if model is not None else chords_model_path(style))
    clf = GenreClassifier.load(classifier or classifier_path())
    cm.check_classifier(clf)
    out = output or default_output(inspire, style)
    protect = () if inspire.startswith(mio.CORPUS_PREFIX) else (inspire,)
    check_output(out, force=force, protect=protect)
    perf = mio.read(inspire)
    emb = clf.embed(encode(perf, clf.settings))
    key_index = _told_key(cm, key, perf)
    if seed is None:
        seed = secrets.randbelow(2 ** 31)
    primer = None
    if prime > 0:
        primer = roll_frames(encode(perf, cm.settings), cm.config.frame_steps)[:max(1, int(round(prime / cm.frame_seconds)))]
    vm, warnings = None, []
    if velocity:
        vm, why = shipped_velocity_model(style)
        if vm is None:
            warnings.append(f"no velocity model for {style!r}, notes get velocity 64 ({why})")
    draw = cm.draw_settings(steady)
    if steady and "steady_feedback" not in cm.meta:
        warnings.append(f"{cm.path} has no steady calibration (models/calibrate_chords.py): "
                        "this steady draw reads its habits back in full, like a plain one")
    midi, fr, notes = compose(cm, emb, seconds, seed=seed, temperature=temperature, prime=primer, velocity_model=vm,
                              key=key_index, **draw)
    tex = texture_stats(fr, cm.frame_seconds, cm.settings.pitch_low)
    warnings += _texture_warnings(cm, style, tex, notes)
    warning = "; ".join(warnings) or None
    vm_path = vm.path if vm is not None and notes else None
    mio.save_midi(midi, out, force=force, protect=protect)
    return {"input": inspire, "output": out, "style": style, "seconds": float(seconds), "seed": int(seed),
            "temperature": float(temperature), "prime": float(prime), **draw,
            "key": KEY_NAMES[key_index] if key_index is not None else None, "notes": len(notes),
            "polyphony": round(tex["polyphony"], 2), "notes_per_s": round(tex["notes_per_s"], 2),
            "pedal_share": round(tex["pedal_share"], 3), "velocity_model": vm_path, "warning": warning}


def _told_key(cm: ChordModel, key: str | None, perf) -> int | None:
    """The key a draw of :func:`generate` is in: ``key`` (a name), else for a generator whose harmony
    reads keys the inspiration ``perf``'s (:func:`inspiration_key`), else None (the draw's own)."""
    return parse_key(key) if key is not None else inspiration_key(cm, encode(perf, cm.settings))


def _check_arguments(seconds, temperature, prime, seed) -> None:
    """Raise :class:`InputError` unless :func:`generate`'s numbers are in range."""
    if not (isinstance(seconds, (int, float)) and 0 < seconds <= MAX_SECONDS):
        raise InputError(f"seconds must be in (0, {MAX_SECONDS:g}] (got {seconds})")
    if not temperature > 0:
        raise InputError(f"temperature must be positive (got {temperature})")
    if not (isinstance(prime, (int, float)) and 0 <= prime <= MAX_SECONDS):
        raise InputError(f"prime must be in [0, {MAX_SECONDS:g}] seconds (got {prime})")
    if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2 ** 63):
        raise InputError(f"seed must be an integer >= 0 (got {seed})")


def _texture_warnings(cm: ChordModel, style: str, tex: dict, notes: list) -> list:
    """Warnings about a draw of silence, or of a texture (:func:`.frames.texture_stats` ``tex``) outside
    the range of the model's training pieces (its sidecar's ``typical_texture``)."""
    if not notes:
        return ["the generator drew only silence (try another seed or a higher temperature)"]
    off = [f"{k} {tex[k]:.2f} outside [{lo:g}, {hi:g}]" for k, (lo, hi) in cm.meta.get("typical_texture", {}).items()
           if not lo <= tex[k] <= hi]
    if off:
        return [f"untypical for {style} (5th-95th percentile of the training pieces): {', '.join(off)} "
                f"(try another seed or temperature)"]
    return []
