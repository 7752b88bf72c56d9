"""Shared helpers and fixtures for the foundation tests (io, pianoroll, dataset, CLI errors).

Real data: The Piano Dataset (TPD) under ``../shared/data/tpd`` beside the checkout. Small
deterministic samples of it keep the suite fast. Everything else is MIDI generated with mido in
``tmp_path``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest

REPO = Path(__file__).resolve().parents[1]
#: The real data; MIDISTYLE_TEST_TPD points elsewhere (e.g. to an empty folder, to check that
#: `pytest -m "not data"` needs none).
TPD = Path(os.environ.get("MIDISTYLE_TEST_TPD") or Path(__file__).resolve().parents[2] / "shared" / "data" / "tpd")
GENRES = ("classical", "jazz")

#: Test modules that read ../shared/data (directly, through the validation split, or through a
#: fixture built from it); their tests carry the ``data`` marker, so `pytest -m "not data"` runs
#: anywhere.
DATA_MODULES = {"test_audio_evaluate", "test_audio_judged", "test_audio_multi", "test_beamconvert", "test_chords",
                "test_classifier", "test_cli_errors", "test_dataset", "test_io", "test_multiworker", "test_notefeatures",
                "test_pianoroll",
                "test_training", "test_velocity"}


def pytest_configure(config):
    config.addinivalue_line("markers", "data: needs The Piano Dataset under ../shared/data/tpd")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in DATA_MODULES:
            item.add_marker(pytest.mark.data)


def tpd_files(genre: str) -> list:
    """Every ``.mid`` file of one TPD genre, sorted (empty if the data is missing)."""
    folder = TPD / genre
    return sorted(folder.glob("*.mid")) if folder.is_dir() else []


def tpd_sample(genre: str, n: int = 6, every: int = 50) -> list:
    """A small deterministic sample of one genre: every ``every``-th file, at most ``n``."""
    return tpd_files(genre)[::every][:n]


#: 6 classical + 6 jazz files, the sample used by the per-file tests.
SAMPLE = [p for g in GENRES for p in tpd_sample(g)]


def sample_id(p: Path) -> str:
    return f"{p.parent.name}/{p.name}"


# ----------------------------------------------------------------------------- MIDI helpers
def track_from_events(events, name=None) -> mido.MidiTrack:
    """Build a track from ``(absolute_tick, message)`` pairs (stable-sorted by tick)."""
    tr = mido.MidiTrack()
    if name is not None:
        tr.append(mido.MetaMessage("track_name", name=name, time=0))
    last = 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        tr.append(msg.copy(time=int(tick) - last))
        last = int(tick)
    tr.append(mido.MetaMessage("end_of_track", time=0))
    return tr


def save_tracks(path, tracks_events, tpb=480, midi_type=1) -> Path:
    """Write a MIDI file of tracks given as lists of ``(absolute_tick, message)``."""
    mf = mido.MidiFile(type=midi_type, ticks_per_beat=tpb)
    if midi_type == 0:
        merged = [e for evs in tracks_events for e in evs]
        mf.tracks.append(track_from_events(merged))
    else:
        for evs in tracks_events:
            mf.tracks.append(track_from_events(evs))
    mf.save(os.fspath(path))
    return Path(path)


def absolute_messages(midi: mido.MidiFile) -> list:
    """``[(track, absolute_tick, message)]`` of every message, with delta times set to 0."""
    out = []
    for ti, tr in enumerate(midi.tracks):
        tick = 0
        for msg in tr:
            tick += msg.time
            out.append((ti, tick, msg.copy(time=0)))
    return out


def is_sounding_note_on(msg) -> bool:
    return msg.type == "note_on" and msg.velocity > 0


def simple_notes_midi(path, notes, tpb=480, tempo=500000, channel=0) -> Path:
    """One-track file of ``(pitch, velocity, start_beat, end_beat)`` notes at one tempo."""
    ev = [(0, mido.MetaMessage("set_tempo", tempo=tempo))]
    for pitch, vel, sb, eb in notes:
        ev.append((round(sb * tpb), mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
        ev.append((round(eb * tpb), mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    return save_tracks(path, [ev], tpb=tpb, midi_type=0)


# ----------------------------------------------------------------------------- the rich file
# Tempo map: 120 bpm (0.5 s/beat) from beat 0, 240 bpm (0.25 s/beat) from beat 4,
# 60 bpm (1 s/beat) from beat 8.
RICH_TEMPI = [(0, 500000), (4, 250000), (8, 1000000)]


def rich_seconds(beat: float) -> float:
    """Hand-computed seconds of a beat position under :data:`RICH_TEMPI`."""
    if beat <= 4:
        return 0.5 * beat
    if beat <= 8:
        return 2.0 + 0.25 * (beat - 4)
    return 3.0 + 1.0 * (beat - 8)


#: Notes of the rich file in the order read() must return them (start tick, then pitch):
#: (pitch, velocity, start_beat, end_beat, track in the type-1 file, channel).
#: In the type-1 file note-offs match note-ons of their own track only; merged into one type-0
#: track, the two channel-0 notes of pitch 60 swap their ends (first note-off ends first note-on).
RICH_NOTES = [
    (60, 80, 0.0, 2.0, 1, 0),     # ended by a note_off with release velocity 64
    (48, 40, 0.5, 1.5, 2, 1),     # ended by note_on velocity 0
    (60, 60, 1.0, 1.75, 2, 0),    # same pitch and channel as track 1's open note: must not end it
    (64, 50, 1.0, 3.0, 1, 0),     # overlapping same-pitch notes: first off ends first on
    (64, 90, 2.0, 5.0, 1, 0),
    (67, 100, 4.0, 6.0, 1, 0),    # starts on a tempo change, ended by note_on velocity 0
    (69, 30, 7.0, 9.0, 1, 0),     # spans a tempo change
    (36, 70, 8.0, 12.0, 2, 1),
    (105, 20, 10.0, 11.0, 2, 1),
]
#: Pedal events of piano channels: (beat, cc, value).
RICH_PEDALS = [(0.0, 64, 127), (3.0, 64, 0), (8.0, 67, 127), (10.0, 67, 0)]
RICH_DRUM_NOTES = 2
RICH_DURATION = 7.0


def build_rich_midi(path, tpb=96, midi_type=1) -> Path:
    """A file with a tempo map, several piano tracks, overlapping same-pitch notes, note_on
    velocity 0 as note-off, a drum track on channel 9 (with a CC64 that must be ignored), sustain
    and soft pedals, and an orphan note-off."""
    def t(beat):
        return int(round(beat * tpb))

    conductor = [(t(b), mido.MetaMessage("set_tempo", tempo=v)) for b, v in RICH_TEMPI]
    conductor.append((0, mido.MetaMessage("time_signature", numerator=4, denominator=4)))
    right = [(0, mido.Message("program_change", channel=0, program=0))]
    right += [(t(b), mido.Message("control_change", channel=0, control=cc, value=v)) for b, cc, v in RICH_PEDALS]
    right += [
        (t(0), mido.Message("note_on", channel=0, note=60, velocity=80)),
        (t(2), mido.Message("note_off", channel=0, note=60, velocity=64)),
        (t(1), mido.Message("note_on", channel=0, note=64, velocity=50)),
        (t(2), mido.Message("note_on", channel=0, note=64, velocity=90)),
        (t(3), mido.Message("note_off", channel=0, note=64, velocity=0)),
        (t(5), mido.Message("note_off", channel=0, note=64, velocity=0)),
        (t(4), mido.Message("note_on", channel=0, note=67, velocity=100)),
        (t(6), mido.Message("note_on", channel=0, note=67, velocity=0)),
        (t(7), mido.Message("note_on", channel=0, note=69, velocity=30)),
        (t(9), mido.Message("note_off", channel=0, note=69, velocity=0)),
    ]
    left = [(0, mido.Message("program_change", channel=1, program=0))]
    left += [
        (t(0.5), mido.Message("note_on", channel=1, note=48, velocity=40)),
        (t(1.5), mido.Message("note_on", channel=1, note=48, velocity=0)),
        (t(1), mido.Message("note_on", channel=0, note=60, velocity=60)),
        (t(1.75), mido.Message("note_off", channel=0, note=60, velocity=0)),
        (t(3), mido.Message("note_off", channel=1, note=50, velocity=0)),  # orphan note-off
        (t(8), mido.Message("note_on", channel=1, note=36, velocity=70)),
        (t(12), mido.Message("note_off", channel=1, note=36, velocity=0)),
        (t(10), mido.Message("note_on", channel=1, note=105, velocity=20)),
        (t(11), mido.Message("note_off", channel=1, note=105, velocity=0)),
    ]
    drums = [
        (t(0), mido.Message("note_on", channel=9, note=36, velocity=100)),
        (t(0.25), mido.Message("note_off", channel=9, note=36, velocity=0)),
        (t(1), mido.Message("note_on", channel=9, note=42, velocity=90)),
        (t(1.5), mido.Message("note_on", channel=9, note=42, velocity=0)),
        (t(2), mido.Message("control_change", channel=9, control=64, value=127)),
    ]
    return save_tracks(path, [conductor, right, left, drums], tpb=tpb, midi_type=midi_type)


@pytest.fixture
def rich_midi(tmp_path):
    return build_rich_midi(tmp_path / "rich file (type 1).mid", tpb=96)


# ----------------------------------------------------------------------------- subprocess
def run_cli(*args, cwd=REPO, timeout=120):
    """Run ``python cli.py ARGS`` in the repository root; returns the CompletedProcess."""
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def console_script() -> Path:
    """The installed ``midistyle`` console script of this interpreter's environment."""
    return Path(sys.executable).with_name("midistyle")


@pytest.fixture(scope="session")
def tpd_required():
    """Fail loudly (not skip) when the real data is missing: the suite depends on it."""
    if len(tpd_sample("classical")) < 6 or len(tpd_sample("jazz")) < 6:
        pytest.fail(f"TPD data not found under {TPD} (expected ../shared/data/tpd beside the repo)")
    return TPD


# ----------------------------------------------------------------------------- validation split
import functools  # noqa: E402  (appended section)


@functools.lru_cache(maxsize=None)
def tpd_validation_files() -> dict:
    """TPD validation pieces per genre (sorted paths), exactly as ``datasets/build_tpd.sh`` splits
    them: duplicates by content removed, then the library's deterministic split (15 %, seed 0)."""
    import hashlib

    from midistyle.codec.dataset import assign_split, find_midi_files

    paths, genres, md5s, seen = [], [], [], set()
    for g in GENRES:
        if not (TPD / g).is_dir():
            continue
        for p in find_midi_files(str(TPD / g)):
            h = hashlib.md5(open(p, "rb").read()).hexdigest()
            if h in seen:
                continue
            seen.add(h)
            paths.append(p)
            genres.append(g)
            md5s.append(h)
    split = assign_split(md5s, genres, 0.15, 0)
    return {g: [p for p, gg, s in zip(paths, genres, split) if gg == g and s == "val"] for g in GENRES}


def run_module(*args, cwd=REPO, timeout=300):
    """Run ``python -m midistyle ARGS``; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "midistyle", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


# ----------------------------------------------------------------------------- audio clips
#: Sample rate of the audio tests' clips.
SR = 22050
NOTE_DT = [("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8")]


#: ``python -m midistyle ARGS`` in the repository root (the audio tests' name for :func:`run_module`).
midistyle_cli = run_module


def notes(rows):
    """A note table (pitch, velocity, start, end in seconds) from rows."""
    import numpy as np

    return np.array(rows, dtype=NOTE_DT)


@pytest.fixture(scope="module")
def clips():
    """A 2 s content clip and a 3 s style clip rendered from generated MIDI (different lengths)."""
    from midistyle.audio.render import render_notes

    c = notes([(60 + (i % 5) * 2, 90, 0.25 * i, 0.25 * i + 0.4) for i in range(8)])
    s = notes([(48 + (i * 7) % 24, 70 + (i % 3) * 15, 0.15 * i, 0.15 * i + 0.12) for i in range(19)])
    return (render_notes(c, sr=SR, duration=2.0), render_notes(s, sr=SR, duration=3.0))


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory, clips):
    """The clips as files: content.wav, style.flac."""
    import soundfile as sf

    d = tmp_path_factory.mktemp("clips")
    sf.write(d / "content.wav", clips[0], SR)
    sf.write(d / "style.flac", clips[1], SR)
    return d


#: The issue's kind of clips, shorter: rendered jazz as content, rendered classical as style (shared TPD).
TPD_CONTENT = ("jazz", "A Sleepin' Bee.mid", 20.0, 2.0)
TPD_STYLE = ("classical", "ADIG01.mid", 20.0, 2.5)


def render_tpd(genre: str, name: str, start: float, seconds: float):
    """``seconds`` of a shared TPD piece from ``start``, rendered through the SoundFont path."""
    import midistyle
    from midistyle.audio.render import render_performance

    path = TPD / genre / name
    if not path.is_file():
        pytest.skip(f"shared TPD file missing: {path}")
    return render_performance(midistyle.read(path), start=start, duration=seconds, sr=SR)


@pytest.fixture(scope="module")
def tpd_wavs(tmp_path_factory):
    """(content path, style path, content waveform, style waveform): 2 s of rendered jazz and 2.5 s
    of rendered classical from the shared TPD, written as 16-bit WAV and read back."""
    import soundfile as sf

    from midistyle.audio.files import read_audio

    d = tmp_path_factory.mktemp("tpd")
    out = []
    for spec, name in ((TPD_CONTENT, "content.wav"), (TPD_STYLE, "style.wav")):
        sf.write(d / name, render_tpd(*spec), SR, subtype="PCM_16")
        out.append(d / name)
    return (*out, *(read_audio(p, SR) for p in out))
