"""Reading inputs and writing velocities back exactly.

Every input (MIDI file, MusicXML / ABC / Humdrum score, or a music21 corpus work) becomes a
:class:`Performance`: the note table, pedal events and the parsed :class:`mido.MidiFile` it
came from. Notes are read with mido at the message level, so each note remembers the track and
message index of its note-on; :func:`write_velocities` edits exactly those messages and nothing
else, which keeps every tick of the input.
"""
from __future__ import annotations

import io as _io
import os
import stat
from dataclasses import dataclass, field

import mido
import numpy as np

from .errors import InputError, OutputError
from .fsutil import atomic_output

#: File name endings read as MIDI.
MIDI_EXTENSIONS = (".mid", ".midi", ".smf", ".kar")
#: File name endings read as scores through music21.
SCORE_EXTENSIONS = (".musicxml", ".mxl", ".xml", ".abc", ".krn")
#: Prefix naming a work of the music21 corpus instead of a file.
CORPUS_PREFIX = "corpus:"

DRUM_CHANNEL = 9
SUSTAIN_CC = 64
SOFT_CC = 67

#: Largest absolute tick accepted (about 2**40; a file this long is damaged, not music).
MAX_TICKS = 1 << 40

#: One row per note: pitch, velocity, start/end in seconds and ticks, and where its
#: note-on message lives (track index, message index within the track, channel).
NOTE_DTYPE = np.dtype([
    ("pitch", "i2"), ("velocity", "i2"),
    ("start", "f8"), ("end", "f8"),
    ("start_tick", "i8"), ("end_tick", "i8"),
    ("track", "i4"), ("msg", "i4"), ("channel", "i2"),
])

#: One row per pedal controller change: time in seconds, controller number, value.
PEDAL_DTYPE = np.dtype([("time", "f8"), ("cc", "i2"), ("value", "i2")])


@dataclass
class Performance:
    """Notes and pedals of one input, with the MIDI it was read from.

    Attributes
    ----------
    notes : numpy structured array of :data:`NOTE_DTYPE`
        Non-drum notes sorted by start time then pitch.
    pedals : numpy structured array of :data:`PEDAL_DTYPE`
        Sustain (CC64) and soft (CC67) pedal changes of non-drum channels, in time order.
    midi : mido.MidiFile
        The parsed file (for scores: the MIDI music21 made of them).
    source : str
        Path or ``corpus:NAME`` the performance came from.
    tempo_changes : int
        Number of ``set_tempo`` events.
    drum_notes : int
        Number of notes on the drum channel, which are ignored.
    """

    notes: np.ndarray
    pedals: np.ndarray
    midi: mido.MidiFile
    source: str
    tempo_changes: int = 0
    drum_notes: int = 0
    programs: list = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Seconds until the last note or pedal event ends."""
        ends = [0.0]
        if len(self.notes):
            ends.append(float(self.notes["end"].max()))
        if len(self.pedals):
            ends.append(float(self.pedals["time"].max()))
        return max(ends)


def _check_path(path: str) -> None:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise InputError(f"{path}: not a regular file (a pipe or device)")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot be read (permission denied)")
    if os.path.getsize(path) == 0:
        raise InputError(f"{path}: empty file")


def _tick_to_seconds(ticks: np.ndarray, tempo_ticks: np.ndarray, tempos: np.ndarray,
                     tpb: int) -> np.ndarray:
    """Map absolute ticks to seconds through a tempo map (vectorised)."""
    # tempo segments start at tempo_ticks (sorted, first is 0)
    seg_sec = np.concatenate([[0.0], np.cumsum(np.diff(tempo_ticks) * tempos[:-1] / (1e6 * tpb))])
    idx = np.searchsorted(tempo_ticks, ticks, side="right") - 1
    return seg_sec[idx] + (ticks - tempo_ticks[idx]) * tempos[idx] / (1e6 * tpb)


def performance_from_midifile(midi: mido.MidiFile, source: str) -> Performance:
    """Extract notes and pedals from a parsed MIDI file.

    Note-ons with velocity 0 count as note-offs. A note-off ends the earliest still-open note
    of the same track, channel and pitch (first in, first out), so overlapping notes of one
    pitch keep their own starts. Notes left open end at the last event of the file.

    Raises
    ------
    InputError
        If the file has no notes, or only drum notes.
    """
    if midi.ticks_per_beat is None or midi.ticks_per_beat <= 0:
        raise InputError(f"{source}: SMPTE time division is not supported")
    if midi.type not in (0, 1, 2):
        raise InputError(f"{source}: invalid MIDI format {midi.type} (must be 0, 1 or 2)")
    tpb = midi.ticks_per_beat
    tempo_events = []  # (tick, tempo)
    notes = []  # start_tick, end_tick, pitch, vel, track, msg, channel
    pedal_rows = []  # tick, cc, value
    drum_notes = 0
    programs = set()
    last_tick = 0
    left_open = []  # notes without a note-off: ended at the file's last event, below
    for ti, track in enumerate(midi.tracks):
        tick = 0
        open_notes: dict = {}
        for mi, msg in enumerate(track):
            tick += msg.time
            t = msg.type
            if t == "note_on" or t == "note_off":
                ch = msg.channel
                if ch == DRUM_CHANNEL:
                    if t == "note_on" and msg.velocity > 0:
                        drum_notes += 1
                    continue
                key = (ch, msg.note)
                if t == "note_on" and msg.velocity > 0:
                    open_notes.setdefault(key, []).append((tick, msg.velocity, mi))
                else:
                    stack = open_notes.get(key)
                    if stack:
                        st, vel, smi = stack.pop(0)
                        notes.append((st, tick, msg.note, vel, ti, smi, ch))
            elif t == "control_change":
                if msg.control in (SUSTAIN_CC, SOFT_CC) and msg.channel != DRUM_CHANNEL:
                    pedal_rows.append((tick, msg.control, msg.value))
            elif t == "set_tempo":
                tempo_events.append((tick, msg.tempo))
            elif t == "program_change" and msg.channel != DRUM_CHANNEL:
                programs.add(msg.program)
        last_tick = max(last_tick, tick)
        for (ch, pitch), stack in open_notes.items():
            for st, vel, smi in stack:
                left_open.append((st, pitch, vel, ti, smi, ch))
    for st, pitch, vel, ti, smi, ch in left_open:
        notes.append((st, max(last_tick, st), pitch, vel, ti, smi, ch))
    if last_tick > MAX_TICKS:      # damaged delta times: keep tick arithmetic inside int64
        raise InputError(f"{source}: implausible timing (an event at tick {last_tick}, "
                         f"more than {MAX_TICKS} ticks from the start)")
    if not notes:
        if drum_notes:
            raise InputError(f"{source}: only drum notes (channel 10), nothing to encode")
        raise InputError(f"{source}: no notes")

    tempo_events.sort(key=lambda e: e[0])
    n_set_tempo = len(tempo_events)
    if not tempo_events or tempo_events[0][0] != 0:
        tempo_events.insert(0, (0, 500000))
    tt = np.array([e[0] for e in tempo_events], dtype=np.int64)
    tv = np.array([e[1] for e in tempo_events], dtype=np.float64)
    # a later event at the same tick wins
    keep = np.append(tt[1:] != tt[:-1], True)
    tt, tv = tt[keep], tv[keep]

    arr = np.array(notes, dtype=np.int64)
    out = np.empty(len(arr), dtype=NOTE_DTYPE)
    out["start_tick"], out["end_tick"] = arr[:, 0], arr[:, 1]
    out["pitch"], out["velocity"] = arr[:, 2], arr[:, 3]
    out["track"], out["msg"], out["channel"] = arr[:, 4], arr[:, 5], arr[:, 6]
    out["start"] = _tick_to_seconds(arr[:, 0], tt, tv, tpb)
    out["end"] = _tick_to_seconds(arr[:, 1], tt, tv, tpb)
    out = out[np.lexsort((out["pitch"], out["start_tick"]))]

    if pedal_rows:
        parr = np.array(sorted(pedal_rows, key=lambda r: r[0]), dtype=np.int64)
        pedals = np.empty(len(parr), dtype=PEDAL_DTYPE)
        pedals["time"] = _tick_to_seconds(parr[:, 0], tt, tv, tpb)
        pedals["cc"], pedals["value"] = parr[:, 1], parr[:, 2]
    else:
        pedals = np.empty(0, dtype=PEDAL_DTYPE)
    return Performance(notes=out, pedals=pedals, midi=midi, source=source,
                       tempo_changes=n_set_tempo, drum_notes=drum_notes,
                       programs=sorted(programs))


def read_midi(path: str) -> Performance:
    """Read a standard MIDI file into a :class:`Performance`.

    Raises
    ------
    InputError
        Missing, unreadable, empty, truncated or non-MIDI files, and files without notes.
    """
    path = os.fspath(path)
    _check_path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return read_midi_bytes(data, path)


def read_midi_bytes(data: bytes, source: str) -> Performance:
    """Parse MIDI file bytes; ``source`` names them in errors."""
    if not data:
        raise InputError(f"{source}: empty file")
    if data[:4] != b"MThd":
        raise InputError(f"{source}: not a MIDI file (no MThd header)")
    try:
        midi = mido.MidiFile(file=_io.BytesIO(data), clip=True)
    except EOFError:
        raise InputError(f"{source}: truncated MIDI file") from None
    except Exception as exc:  # mido raises OSError, ValueError, KeyError ... on bad data
        raise InputError(f"{source}: corrupt MIDI file ({exc})") from None
    return performance_from_midifile(midi, source)


def read_score(path_or_corpus: str) -> Performance:
    """Read a score through music21 (MusicXML, ABC, Humdrum, or ``corpus:NAME``).

    Score dynamics become note velocities (music21's realised volume), then the score is
    rendered to MIDI in memory and read like any MIDI file.
    """
    import music21  # only scores pay for music21's import

    src = os.fspath(path_or_corpus)
    try:
        if src.startswith(CORPUS_PREFIX):
            name = src[len(CORPUS_PREFIX):]
            try:
                score = music21.corpus.parse(name)
            except Exception:
                raise InputError(f"{src}: no such work in the music21 corpus") from None
        else:
            _check_path(src)
            score = music21.converter.parse(src)
        mf = music21.midi.translate.streamToMidiFile(score)
        data = mf.writestr()
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{src}: cannot be read as a score ({type(exc).__name__}: {exc})") from None
    return read_midi_bytes(data, src)


def read(path: str) -> Performance:
    """Read any supported input, choosing the reader by file ending.

    MIDI endings go through :func:`read_midi`; MusicXML (.musicxml, .mxl, .xml), ABC and
    Humdrum (.krn) scores and ``corpus:NAME`` go through :func:`read_score`.
    """
    path = os.fspath(path)
    if path.startswith(CORPUS_PREFIX):
        return read_score(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in SCORE_EXTENSIONS:
        return read_score(path)
    if ext in MIDI_EXTENSIONS or ext == "":
        return read_midi(path)
    _check_path(path)
    raise InputError(f"{path}: unsupported file type '{ext}' (MIDI, MusicXML, ABC, Humdrum or corpus:NAME)")


def with_velocities(perf: Performance, velocities: np.ndarray) -> mido.MidiFile:
    """Return a copy of ``perf.midi`` in which only note-on velocities are replaced.

    Parameters
    ----------
    perf : Performance
        As returned by :func:`read`.
    velocities : array of int, shape (len(perf.notes),)
        New velocity of each note, in the order of ``perf.notes``; clipped to 1..127.

    Every other message (timing, pitches, note-offs, pedals, tempo, programs, drum notes,
    other tracks) is kept as it is, so every note keeps its exact ticks.
    """
    velocities = np.asarray(velocities)
    if velocities.shape != (len(perf.notes),):
        raise ValueError(f"need {len(perf.notes)} velocities, got shape {velocities.shape}")
    vel = np.clip(np.rint(velocities), 1, 127).astype(int)
    out = mido.MidiFile(type=perf.midi.type, ticks_per_beat=perf.midi.ticks_per_beat,
                        charset=perf.midi.charset)
    tracks = [mido.MidiTrack(list(tr)) for tr in perf.midi.tracks]
    for (ti, mi), v in zip(zip(perf.notes["track"].tolist(), perf.notes["msg"].tolist()), vel.tolist()):
        msg = tracks[ti][mi]
        tracks[ti][mi] = msg.copy(velocity=v)
    out.tracks.extend(tracks)
    return out


def save_midi(midi: mido.MidiFile, path: str, *, force: bool = False, protect: tuple = ()) -> None:
    """Write a MIDI file atomically (temporary file, then rename).

    Refuses to overwrite an existing file unless ``force``, and never overwrites any path in
    ``protect`` (the inputs), even with ``force``.
    """
    with atomic_output(path, force=force, protect=protect, suffix=".mid.tmp") as tmp:
        try:
            midi.save(tmp)
        except (ValueError, TypeError, KeyError) as exc:   # what mido reads but cannot write back
            raise OutputError(f"{path}: this MIDI file cannot be written back ({exc})") from None


def write_velocities(perf: Performance, velocities: np.ndarray, path: str, *, force: bool = False) -> None:
    """Write ``perf`` with new note velocities to ``path`` (exact restyle, atomic, input protected)."""
    protect = () if perf.source.startswith(CORPUS_PREFIX) else (perf.source,)
    save_midi(with_velocities(perf, velocities), path, force=force, protect=protect)
