"""Reading inputs and writing velocities back exactly.

Every input (MIDI file, MusicXML / ABC / Humdrum score, or a music21 corpus work) becomes a
:class:`Performance`: the note table, pedal events and the bytes it came from.

Two readers fill the same note table:

- the **fast** reader (default) parses with symusic, the C++ MIDI library MidiTok uses (about
  150x faster than mido): ticks, pitches, velocities, pedals and the tempo map. It does not know
  where each note-on message lives, so its ``track``, ``msg`` and ``channel`` columns are -1.
- the **exact** reader (``exact=True``) walks the messages with mido, so each note remembers the
  track and message index of its note-on; :func:`write_velocities` edits exactly those messages
  and nothing else, which keeps every tick of the input. A fast-read performance is re-read
  exactly (from its kept bytes) when it is written.

Both order notes by start tick, pitch and end tick and compute seconds from ticks the same way,
so their tables agree on every file both can read (tested on every shared TPD file). One
difference is by design: a note-on that is never switched off is dropped by the fast reader and
ends at the file's last event in the exact one; damaged files the fast reader cannot parse, or
times it cannot hold, go through the exact reader, whose errors are the ones reported.
"""
from __future__ import annotations

import functools
import io as _io
import os
import stat
from dataclasses import dataclass, field

import mido
import numpy as np

from ..errors import InputError, OutputError
from ..fsutil import atomic_output

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
    """Notes and pedals of one input, and the MIDI bytes they were read from.

    Attributes
    ----------
    notes : numpy structured array of :data:`NOTE_DTYPE`
        Non-drum notes sorted by start tick, pitch, then end tick. ``track``, ``msg`` and
        ``channel`` are -1 when the fast reader made the table (see :attr:`exact`).
    pedals : numpy structured array of :data:`PEDAL_DTYPE`
        Sustain (CC64) and soft (CC67) pedal changes of non-drum channels, in time order.
    source : str
        Path or ``corpus:NAME`` the performance came from.
    ticks_per_beat : int
        The file's time division.
    n_tracks : int
        Number of tracks (``MTrk`` chunks) in the file.
    tempo_changes : int
        Number of ``set_tempo`` events.
    drum_notes : int
        Number of notes on the drum channel, which are ignored.
    programs : list of int
        Programs of non-drum channels.
    tempo : (array of int, array of float)
        The tempo map: start tick of each tempo segment (the first is 0) and its microseconds
        per beat (120 bpm before the file's first tempo event).
    midi : mido.MidiFile or None
        The parsed messages, kept by the exact reader only.
    data : bytes or None
        The MIDI bytes (for scores: the MIDI music21 made of them), kept by the fast reader
        so that :func:`exact_performance` needs no second file access.
    """

    notes: np.ndarray
    pedals: np.ndarray
    source: str
    ticks_per_beat: int
    n_tracks: int
    tempo_changes: int = 0
    drum_notes: int = 0
    programs: list = field(default_factory=list)
    tempo: tuple = field(default_factory=lambda: (np.zeros(1, np.int64), np.full(1, 500000.0)))
    midi: mido.MidiFile | None = None
    data: bytes | None = field(default=None, repr=False)

    @property
    def exact(self) -> bool:
        """Whether each note knows its note-on message (the exact reader made the table)."""
        return self.midi is not None

    @property
    def duration(self) -> float:
        """Seconds until the last note or pedal event ends."""
        ends = [0.0]
        if len(self.notes):
            ends.append(float(self.notes["end"].max()))
        if len(self.pedals):
            ends.append(float(self.pedals["time"].max()))
        return max(ends)


def check_input_path(path: str) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing, readable, non-empty regular file."""
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


def tick_to_seconds(ticks, tempo: tuple, ticks_per_beat: int) -> np.ndarray:
    """Seconds of absolute ``ticks`` through a tempo map ``(start ticks, microseconds per beat)``
    (:attr:`Performance.tempo`)."""
    return _tick_to_seconds(np.asarray(ticks, dtype=np.float64), *tempo, ticks_per_beat)


def _tick_to_seconds(ticks: np.ndarray, tempo_ticks: np.ndarray, tempos: np.ndarray,
                     tpb: int) -> np.ndarray:
    """Map absolute ticks to seconds through a tempo map (vectorised)."""
    # tempo segments start at tempo_ticks (sorted, first is 0)
    seg_sec = np.concatenate([[0.0], np.cumsum(np.diff(tempo_ticks) * tempos[:-1] / (1e6 * tpb))])
    idx = np.searchsorted(tempo_ticks, ticks, side="right") - 1
    return seg_sec[idx] + (ticks - tempo_ticks[idx]) * tempos[idx] / (1e6 * tpb)


def _tempo_map(ticks: np.ndarray, tempos: np.ndarray) -> tuple:
    """Sorted tempo segments (start ticks, microseconds per beat); 120 bpm before the first.

    Of several tempo events at one tick, the last in file order wins.
    """
    order = np.argsort(ticks, kind="stable")
    tt = np.asarray(ticks, dtype=np.int64)[order]
    tv = np.asarray(tempos, dtype=np.float64)[order]
    if not len(tt) or tt[0] != 0:
        tt = np.concatenate([[0], tt])
        tv = np.concatenate([[500000.0], tv])
    keep = np.append(tt[1:] != tt[:-1], True)
    return tt[keep], tv[keep]


def _note_table(columns: dict, tempo_map: tuple, tpb: int) -> np.ndarray:
    """Build the sorted :data:`NOTE_DTYPE` table from per-note columns and a tempo map."""
    n = len(columns["pitch"])
    out = np.empty(n, dtype=NOTE_DTYPE)
    for k in ("pitch", "velocity", "start_tick", "end_tick"):
        out[k] = columns[k]
    for k in ("track", "msg", "channel"):
        out[k] = columns.get(k, -1)
    out["start"] = _tick_to_seconds(out["start_tick"], *tempo_map, tpb)
    out["end"] = _tick_to_seconds(out["end_tick"], *tempo_map, tpb)
    return out[np.lexsort((out["end_tick"], out["pitch"], out["start_tick"]))]


def _pedal_table(ticks: np.ndarray, ccs: np.ndarray, values: np.ndarray, tempo_map: tuple,
                 tpb: int) -> np.ndarray:
    """Build the :data:`PEDAL_DTYPE` table (stable time order) from per-event columns."""
    order = np.argsort(np.asarray(ticks, dtype=np.int64), kind="stable")
    pedals = np.empty(len(order), dtype=PEDAL_DTYPE)
    pedals["time"] = _tick_to_seconds(np.asarray(ticks, dtype=np.int64)[order], *tempo_map, tpb)
    pedals["cc"] = np.asarray(ccs)[order]
    pedals["value"] = np.asarray(values)[order]
    return pedals


def _no_notes(source: str, drum_notes: int) -> InputError:
    if drum_notes:
        return InputError(f"{source}: only drum notes (channel 10), nothing to encode")
    return InputError(f"{source}: no notes")


def performance_from_midifile(midi: mido.MidiFile, source: str) -> Performance:
    """Extract notes and pedals from a parsed MIDI file (the exact reader).

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
        raise _no_notes(source, drum_notes)

    tempo_map = _tempo_map(np.array([e[0] for e in tempo_events], dtype=np.int64),
                           np.array([e[1] for e in tempo_events], dtype=np.float64))
    arr = np.array(notes, dtype=np.int64)
    names = ("start_tick", "end_tick", "pitch", "velocity", "track", "msg", "channel")
    table = _note_table({k: arr[:, i] for i, k in enumerate(names)}, tempo_map, tpb)
    parr = np.array(pedal_rows, dtype=np.int64).reshape(-1, 3)
    pedals = _pedal_table(parr[:, 0], parr[:, 1], parr[:, 2], tempo_map, tpb)
    return Performance(notes=table, pedals=pedals, source=source, ticks_per_beat=tpb,
                       n_tracks=len(midi.tracks), tempo_changes=len(tempo_events),
                       drum_notes=drum_notes, programs=sorted(programs), tempo=tempo_map, midi=midi)


#: Ticks between the rounds of note-offs :func:`_closing_bytes` adds after each track's end;
#: the fast reader takes files whose events all lie before this tick (about 2.4 hours at
#: 960 ticks per beat and 120 bpm), so a note ending past it was left open.
_CLOSE_DELTA = 1 << 24
_EOT_MARKER = b"midistyle:end-of-track"
#: Rounds of those note-offs; each ends one open note per channel and pitch.
_CLOSE_ROUNDS = 4


def _varlen(value: int) -> bytes:
    """``value`` as a MIDI variable-length number."""
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append(0x80 | (value & 0x7F))
    return bytes(reversed(out))


@functools.lru_cache(maxsize=1)
def _closing_tail() -> bytes:
    """What replaces each End-of-Track event in :func:`_closing_bytes` (built once)."""
    marker = bytes([0xFF, 0x06, len(_EOT_MARKER)]) + _EOT_MARKER
    closing = bytearray()
    for _ in range(_CLOSE_ROUNDS):       # round k at (k + 1) * _CLOSE_DELTA past the track's end
        closing += _varlen(_CLOSE_DELTA)
        for ch in range(16):
            closing += (b"" if ch == 0 else b"\x00") + bytes([0x80 | ch, 0, 0])
            closing += b"".join(bytes([0, p, 0]) for p in range(1, 128))
    return marker + bytes(closing) + b"\x00\xff\x2f\x00"


def _closing_bytes(data: bytes) -> tuple | None:
    """The file with each track's end made visible to symusic, and its track count.

    symusic drops a note-on that is never switched off, and does not report where a track
    ends. So each ``MTrk`` chunk's End-of-Track event becomes: a marker named
    :data:`_EOT_MARKER` at the same tick (where the track ends), then, :data:`_CLOSE_DELTA`
    ticks later, a note-off for every channel and pitch (which ends exactly the notes left
    open), repeated :data:`_CLOSE_ROUNDS` times (a pitch may be open several
    times) :data:`_CLOSE_DELTA` ticks apart, then End-of-Track. Returns None for anything but
    a clean chunk structure.
    """
    tail = _closing_tail()
    header_len = int.from_bytes(data[4:8], "big")
    pos = 8 + header_len
    out, n = [data[:pos]], 0
    while pos < len(data):
        if pos + 8 > len(data):
            return None
        kind, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        body = data[pos + 8:pos + 8 + size]
        if len(body) != size:
            return None
        if kind == b"MTrk":
            if not body.endswith(b"\xff\x2f\x00"):
                return None
            body = body[:-3] + tail       # End-of-Track's delta now leads the marker
            n += 1
        out.append(kind + len(body).to_bytes(4, "big") + body)
        pos += 8 + size
    return b"".join(out), n


def _fast_performance(data: bytes, source: str) -> Performance | None:
    """Read MIDI bytes with symusic; None when the exact reader must decide (damaged, odd, empty)."""
    import symusic

    closed = _closing_bytes(data)
    if closed is None:
        return None
    try:
        score = symusic.Score.from_midi(closed[0], sanitize_data=True)
    except Exception:   # symusic's parse errors: the exact reader words the message
        return None
    tpb = int(score.ticks_per_quarter)
    ends = [m.time for m in score.markers if m.text == _EOT_MARKER.decode()]
    if tpb <= 0 or not ends or max(ends) < 0 or max(ends) >= _CLOSE_DELTA:
        return None       # (ticks past symusic's 32-bit range: the exact reader reports them)
    last_tick = max(ends)
    cols = {k: [] for k in ("start_tick", "end_tick", "pitch", "velocity")}
    ped = {k: [] for k in ("tick", "cc", "value")}
    drum_notes, programs = 0, set()
    for track in score.tracks:
        nt = track.notes.numpy()
        if track.is_drum:
            drum_notes += len(nt["time"])
            continue
        programs.add(int(track.program))
        start = nt["time"].astype(np.int64)
        end = start + nt["duration"]
        if (end // _CLOSE_DELTA >= _CLOSE_ROUNDS).any():
            return None   # a pitch left open more often than the rounds close: read exactly
        cols["start_tick"].append(start)
        cols["end_tick"].append(np.where(end >= _CLOSE_DELTA, last_tick, end))   # left open
        cols["pitch"].append(nt["pitch"])
        cols["velocity"].append(nt["velocity"])
        cc = track.controls.numpy()
        keep = np.isin(cc["number"], (SUSTAIN_CC, SOFT_CC))
        ped["tick"].append(cc["time"][keep].astype(np.int64))
        ped["cc"].append(cc["number"][keep])
        ped["value"].append(cc["value"][keep])
    if not cols["pitch"] or not sum(len(c) for c in cols["pitch"]):
        return None
    cols = {k: np.concatenate(v) for k, v in cols.items()}
    ped = {k: np.concatenate(v) for k, v in ped.items()}
    if (cols["start_tick"] < 0).any() or (cols["end_tick"] < cols["start_tick"]).any() \
            or (ped["tick"] < 0).any():
        return None
    tempos = score.tempos.numpy()
    tempo_map = _tempo_map(tempos["time"].astype(np.int64), tempos["mspq"].astype(np.float64))
    return Performance(notes=_note_table(cols, tempo_map, tpb),
                       pedals=_pedal_table(ped["tick"], ped["cc"], ped["value"], tempo_map, tpb),
                       source=source, ticks_per_beat=tpb, n_tracks=closed[1],
                       tempo_changes=len(tempos["time"]), drum_notes=drum_notes,
                       programs=sorted(programs), tempo=tempo_map, data=data)


def read_midi(path: str, *, exact: bool = False) -> Performance:
    """Read a standard MIDI file into a :class:`Performance`.

    ``exact=True`` reads at the message level with mido (what writing needs); the default reads
    with symusic (see the module docstring for the one difference).

    Raises
    ------
    InputError
        Missing, unreadable, empty, truncated or non-MIDI files, and files without notes.
    """
    path = os.fspath(path)
    check_input_path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return read_midi_bytes(data, path, exact=exact)


def _check_header(data: bytes, source: str) -> None:
    if not data:
        raise InputError(f"{source}: empty file")
    if data[:4] != b"MThd":
        raise InputError(f"{source}: not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise InputError(f"{source}: truncated MIDI file")
    fmt = int.from_bytes(data[8:10], "big")
    if fmt not in (0, 1, 2):
        raise InputError(f"{source}: invalid MIDI format {fmt} (must be 0, 1 or 2)")
    if data[12] & 0x80:
        raise InputError(f"{source}: SMPTE time division is not supported")


def read_midi_bytes(data: bytes, source: str, *, exact: bool = False) -> Performance:
    """Parse MIDI file bytes; ``source`` names them in errors. ``exact`` as in :func:`read_midi`."""
    _check_header(data, source)
    if not exact:
        perf = _fast_performance(data, source)
        if perf is not None:
            return perf
    try:
        midi = mido.MidiFile(file=_io.BytesIO(data), clip=True)
    except EOFError:
        raise InputError(f"{source}: truncated MIDI file") from None
    except Exception as exc:  # mido raises OSError, ValueError, KeyError ... on bad data
        raise InputError(f"{source}: corrupt MIDI file ({exc})") from None
    return performance_from_midifile(midi, source)


def exact_performance(perf: Performance) -> Performance:
    """``perf`` read by the exact reader (itself if it already was), from its kept bytes."""
    if perf.exact:
        return perf
    return read_midi_bytes(perf.data, perf.source, exact=True)


def read_score(path_or_corpus: str, *, exact: bool = False) -> Performance:
    """Read a score through music21 (MusicXML, ABC, Humdrum, or ``corpus:NAME``).

    Score dynamics become note velocities (music21's realised volume), then the score is
    rendered to MIDI in memory and read like any MIDI file (``exact`` as in :func:`read_midi`).
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
            check_input_path(src)
            score = music21.converter.parse(src)
        mf = music21.midi.translate.streamToMidiFile(score)
        data = mf.writestr()
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{src}: cannot be read as a score ({type(exc).__name__}: {exc})") from None
    return read_midi_bytes(data, src, exact=exact)


#: the name a performance read from a ``symusic.Score`` object carries (it has no path)
SYMUSIC_SOURCE = "<symusic.Score>"


def is_symusic_score(obj) -> bool:
    """Whether ``obj`` is a ``symusic.Score`` (any time unit), without importing symusic."""
    return type(obj).__module__.split(".")[0] == "symusic" and hasattr(obj, "dumps_midi")


def input_names(inputs, output=None) -> list:
    """The name of each input (a path, ``corpus:NAME``, or :data:`SYMUSIC_SOURCE` for a
    ``symusic.Score``); :class:`InputError` naming ``output`` when a Score, which has no name to
    write beside, comes without an ``output`` path."""
    names = [SYMUSIC_SOURCE if is_symusic_score(p) else os.fspath(p) for p in inputs]
    if output is None and SYMUSIC_SOURCE in names:
        raise InputError("a symusic.Score input has no file name to write beside: give an output path",
                         field="output")
    return names


def read(path, *, exact: bool = False) -> Performance:
    """Read any supported input, choosing the reader by file ending.

    MIDI endings go through :func:`read_midi`; MusicXML (.musicxml, .mxl, .xml), ABC and
    Humdrum (.krn) scores and ``corpus:NAME`` go through :func:`read_score`. A ``symusic.Score``
    object is read from the MIDI it writes (named :data:`SYMUSIC_SOURCE`). The fast reader is the
    default; ``exact=True`` keeps every note's message (see the module docstring).
    """
    if is_symusic_score(path):
        return read_midi_bytes(bytes(path.dumps_midi()), SYMUSIC_SOURCE, exact=exact)
    path = os.fspath(path)
    if path.startswith(CORPUS_PREFIX):
        return read_score(path, exact=exact)
    ext = os.path.splitext(path)[1].lower()
    if ext in SCORE_EXTENSIONS:
        return read_score(path, exact=exact)
    if ext in MIDI_EXTENSIONS or ext == "":
        return read_midi(path, exact=exact)
    check_input_path(path)
    raise InputError(f"{path}: unsupported file type '{ext}' (MIDI, MusicXML, ABC, Humdrum or corpus:NAME)")


def to_score(source):
    """A ``symusic.Score`` of ``source``: a path, ``corpus:NAME``, a :class:`Performance`, MIDI
    bytes, or a Score (returned as it is). It holds the MIDI midistyle reads (for scores, the MIDI
    music21 renders), so ``read(to_score(x))`` has the notes of ``read(x)``."""
    import symusic

    if is_symusic_score(source):
        return source
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        perf = source if isinstance(source, Performance) else read(source)
        data = perf.data
        if data is None:
            buf = _io.BytesIO()
            perf.midi.save(file=buf)
            data = buf.getvalue()
    _check_header(data, "bytes" if isinstance(source, (bytes, bytearray)) else str(getattr(source, "source", source)))
    return symusic.Score.from_midi(data)


def with_velocities(perf: Performance, velocities: np.ndarray) -> mido.MidiFile:
    """Return a copy of ``perf.midi`` in which only note-on velocities are replaced.

    Parameters
    ----------
    perf : Performance
        As returned by :func:`read` (a fast-read performance is re-read exactly first).
    velocities : array of int, shape (len(perf.notes),)
        New velocity of each note, in the order of ``perf.notes``; clipped to 1..127.

    Every other message (timing, pitches, note-offs, pedals, tempo, programs, drum notes,
    other tracks) is kept as it is, so every note keeps its exact ticks.

    Raises
    ------
    ValueError
        If ``velocities`` has the wrong shape, or the exact reader finds other notes than the
        fast one did (a note-on never switched off): read such a file with ``exact=True``.
    """
    velocities = np.asarray(velocities)
    if velocities.shape != (len(perf.notes),):
        raise ValueError(f"need {len(perf.notes)} velocities, got shape {velocities.shape}")
    vel = np.clip(np.rint(velocities), 1, 127).astype(int)
    if not perf.exact:
        fast, perf = perf, exact_performance(perf)
        same = len(fast.notes) == len(perf.notes) and all(
            np.array_equal(fast.notes[k], perf.notes[k]) for k in ("start_tick", "end_tick", "pitch"))
        if not same:
            raise ValueError(f"{perf.source}: its messages hold other notes than the fast reader "
                             "found (a note that is never switched off); read it with exact=True")
    out = mido.MidiFile(type=perf.midi.type, ticks_per_beat=perf.midi.ticks_per_beat,
                        charset=perf.midi.charset)
    tracks = [mido.MidiTrack(list(tr)) for tr in perf.midi.tracks]
    for (ti, mi), v in zip(zip(perf.notes["track"].tolist(), perf.notes["msg"].tolist()), vel.tolist()):
        msg = tracks[ti][mi]
        tracks[ti][mi] = msg.copy(velocity=v)
    out.tracks.extend(tracks)
    return out


def with_tempo_map(midi: mido.MidiFile, events) -> mido.MidiFile:
    """A copy of ``midi`` whose tempo events are ``events`` (``[(tick, microseconds per beat)]``),
    placed in its first track; every other message keeps its absolute tick (so every note keeps
    its tick, and a DAW shows the new tempo as the tempo track)."""
    out = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat, charset=midi.charset)
    tempo = sorted((int(t), int(us)) for t, us in events)
    for k, track in enumerate(midi.tracks):
        timed, now, end = [], 0, None
        for msg in track:
            now += msg.time
            if msg.type == "set_tempo":
                continue
            if msg.type == "end_of_track":
                end = (now, msg)
                continue
            timed.append((now, 1, msg))
        if k == 0:
            timed += [(t, 0, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempo]
            timed.sort(key=lambda e: (e[0], e[1]))         # stable: a tick's tempo before its notes
        last = timed[-1][0] if timed else 0
        if end is not None:
            timed.append((max(end[0], last), 2, end[1]))
        new, prev = mido.MidiTrack(), 0
        for t, _, msg in timed:
            new.append(msg.copy(time=t - prev))
            prev = t
        out.tracks.append(new)
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
