"""Folders of MIDI -> one HDF5 dataset, and reading it back.

HDF5 layout (format ``midistyle.dataset`` version 2)
---------------------------------------------------
Concatenated arrays with a piece index, so a piece is one contiguous slice. Only what cannot be
derived is stored: the note table and the pedal values on the grid. The onset, held and velocity
matrices of a piece are rebuilt from its notes when it is read (:meth:`Dataset.piece`, the same
code as :func:`~midistyle.pianoroll.encode`), which keeps files small and conversion fast::

    /                 attrs: format, format_version, encoder (JSON EncoderSettings),
                             genres (JSON list), val_fraction, split_seed,
                             skipped (JSON [{file, reason}]), duplicates (JSON [{file, same_as}]),
                             constant_velocity (JSON list of piece names)
    /rolls/pedals     (T_total, 2) uint8  sustain, soft pedal values on the grid
    /notes            (N_total,) compound: pitch, velocity, start, end (s), step, beat (quarter
                      notes from the file's start, from its ticks)
    /pieces/name      (n,) str   path relative to the converted folder
    /pieces/genre     (n,) str
    /pieces/md5       (n,) str   md5 of the file bytes
    /pieces/split     (n,) str   "train" or "val"
    /pieces/roll_start, /pieces/roll_length, /pieces/note_start, /pieces/note_count  (n,) int64
    /pieces/constant_velocity (n,) bool   every note has the same velocity

Arrays are chunked and compressed with LZF, so reading one piece decompresses only the chunks
it touches. Version 1 files (which stored the dense matrices) are refused with a clear error.

The train/validation split is by piece and deterministic: within each genre, pieces are ordered
by a hash of (seed, content md5) and the first ``round(val_fraction * n)`` go to validation.
Identical files (same md5) are kept once, so no piece can sit on both sides.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np

from .errors import InputError, SettingsMismatchError
from .fsutil import atomic_output, check_output
from .io import MIDI_EXTENSIONS, read_midi_bytes
from .pianoroll import (EncoderSettings, PianoRoll, check_duration, grid_length, pedal_matrix,
                        roll_from_notes, steps_of)

FORMAT = "midistyle.dataset"
FORMAT_VERSION = 2
STORED_NOTE_DTYPE = np.dtype([("pitch", "i2"), ("velocity", "i2"), ("start", "f8"), ("end", "f8"), ("step", "i8"),
                              ("beat", "f8")])


@dataclass
class ConvertReport:
    """What :func:`convert` did."""

    output: str
    pieces: int = 0
    steps: int = 0
    notes: int = 0
    skipped: list = field(default_factory=list)      # [{"file", "reason"}]
    duplicates: list = field(default_factory=list)   # [{"file", "same_as"}]
    constant_velocity: list = field(default_factory=list)
    split_counts: dict = field(default_factory=dict)  # genre -> {"train": n, "val": n}


def find_midi_files(folder: str) -> list:
    """All MIDI files under ``folder`` (recursively), sorted by relative path."""
    if not os.path.exists(folder):
        raise InputError(f"{folder}: no such folder")
    if not os.path.isdir(folder):
        raise InputError(f"{folder}: not a folder")
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in files:
            if f.lower().endswith(MIDI_EXTENSIONS):
                out.append(os.path.join(root, f))
    return sorted(out, key=lambda p: os.path.relpath(p, folder))


def _split_key(seed: int, md5: str) -> str:
    return hashlib.sha1(f"{seed}:{md5}".encode()).hexdigest()


def assign_split(md5s: list, genres: list, val_fraction: float, seed: int) -> list:
    """Deterministic split by piece: returns "train"/"val" for each (md5, genre)."""
    split = ["train"] * len(md5s)
    for g in sorted(set(genres)):
        idx = [i for i, gg in enumerate(genres) if gg == g]
        idx.sort(key=lambda i: _split_key(seed, md5s[i]))
        n_val = int(round(val_fraction * len(idx)))
        if len(idx) >= 2:
            n_val = min(max(n_val, 1 if val_fraction > 0 else 0), len(idx) - 1)
        for i in idx[:n_val]:
            split[i] = "val"
    return split


def _encode_job(args):
    path, data, settings_dict = args
    try:
        perf = read_midi_bytes(data, path)
        check_duration(perf)
        step = EncoderSettings.from_dict(settings_dict).step
        n_steps = grid_length(perf.notes, perf.duration, step)
        pedals = pedal_matrix(perf.pedals, n_steps, step)
    except InputError as exc:
        msg = str(exc)
        return path, None, msg[len(path) + 2:] if msg.startswith(path + ": ") else msg
    except Exception as exc:  # never abort a whole conversion on one odd file
        return path, None, f"{type(exc).__name__}: {exc}"
    notes = np.empty(len(perf.notes), dtype=STORED_NOTE_DTYPE)
    for k in ("pitch", "velocity", "start", "end"):
        notes[k] = perf.notes[k]
    notes["step"] = steps_of(perf.notes["start"], step)
    notes["beat"] = perf.notes["start_tick"] / float(perf.ticks_per_beat)
    return path, (pedals, notes), None


def convert(sources, output: str, *, settings: EncoderSettings | None = None,
            val_fraction: float = 0.15, seed: int = 0, force: bool = False,
            workers: int | None = None, progress: bool = True) -> ConvertReport:
    """Convert folders of MIDI files into one HDF5 dataset.

    Parameters
    ----------
    sources : list of (genre, folder)
        Each folder is walked recursively; its files get that genre label.
    output : str
        HDF5 path. Written to a temporary file beside it and renamed at the end, so an
        interrupted run never leaves a half-written dataset under this name.
    settings : EncoderSettings, optional
        Grid for the piano rolls.
    val_fraction : float
        Share of each genre's pieces put in the validation split.
    seed : int
        Seed of the deterministic split.
    force : bool
        Overwrite an existing ``output``.
    workers : int, optional
        Parallel processes (default: number of cores).
    progress : bool
        Show a progress bar.

    Returns
    -------
    ConvertReport
        Counts, skipped files with reasons, duplicates, constant-velocity pieces.
    """
    import h5py
    from tqdm import tqdm

    settings = settings or EncoderSettings()
    output = os.fspath(output)
    check_output(output, force=force)
    out_dir = os.path.dirname(os.path.abspath(output))
    if not 0 <= val_fraction < 1:
        raise ValueError("val_fraction must be in [0, 1)")

    report = ConvertReport(output=output)
    # read bytes, hash, de-duplicate (first path in sorted order wins)
    jobs, meta, seen = [], [], {}
    for genre, folder in sources:
        for path in find_midi_files(folder):
            rel = os.path.relpath(path, folder)
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):      # a FIFO or device would block or never end
                    report.skipped.append({"file": path, "reason": "not a regular file"})
                    continue
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                report.skipped.append({"file": path, "reason": f"cannot be read ({exc.strerror})"})
                continue
            md5 = hashlib.md5(data).hexdigest()
            if md5 in seen:
                report.duplicates.append({"file": path, "same_as": seen[md5]})
                continue
            seen[md5] = path
            jobs.append((path, data, settings.to_dict()))
            meta.append((rel, genre, md5))

    workers = workers or os.cpu_count() or 1
    with atomic_output(output, force=force, suffix=".h5.tmp") as tmp, h5py.File(tmp, "w") as h5:
        pedals_ds = h5.create_group("rolls").create_dataset(
            "pedals", (0, 2), maxshape=(None, 2), dtype="u1", chunks=(8192, 2), compression="lzf")
        notes_ds = h5.create_dataset("notes", (0,), maxshape=(None,), dtype=STORED_NOTE_DTYPE,
                                     chunks=(16384,), compression="lzf")
        kept = []  # (rel, genre, md5, roll_start, roll_len, note_start, note_count, constant)
        t_total = n_total = 0
        buf = {"pedals": [], "notes": []}

        def flush():
            for d, parts in ((pedals_ds, buf["pedals"]), (notes_ds, buf["notes"])):
                if parts:
                    arr = np.concatenate(parts)
                    n0 = d.shape[0]
                    d.resize(n0 + len(arr), axis=0)
                    d[n0:] = arr
                    parts.clear()

        ctx = get_context("fork") if hasattr(os, "fork") else get_context()
        with ctx.Pool(workers) if workers > 1 else _SerialPool() as pool:
            it = pool.imap(_encode_job, jobs, chunksize=4)
            for (path, res, reason), m in tqdm(zip(it, meta), total=len(jobs), disable=not progress,
                                               desc="converting", unit="file"):
                if res is None:
                    report.skipped.append({"file": path, "reason": reason})
                    continue
                ped, notes = res
                constant = bool(len(np.unique(notes["velocity"])) <= 1)
                kept.append((m[0], m[1], m[2], t_total, len(ped), n_total, len(notes), constant))
                if constant:
                    report.constant_velocity.append(path)
                buf["pedals"].append(ped)
                buf["notes"].append(notes)
                t_total += len(ped)
                n_total += len(notes)
                if sum(map(len, buf["notes"])) > 1_000_000:
                    flush()
        flush()

        if not kept:
            raise InputError("no MIDI file could be converted ("
                             + (f"{len(report.skipped)} skipped, e.g. {report.skipped[0]['file']}: "
                                f"{report.skipped[0]['reason']}" if report.skipped else "none found") + ")")
        names = [k[0] for k in kept]
        genres = [k[1] for k in kept]
        md5s = [k[2] for k in kept]
        split = assign_split(md5s, genres, val_fraction, seed)
        g = h5.create_group("pieces")
        st = h5py.string_dtype("utf-8")
        g.create_dataset("name", data=np.array(names, dtype=object), dtype=st)
        g.create_dataset("genre", data=np.array(genres, dtype=object), dtype=st)
        g.create_dataset("md5", data=np.array(md5s, dtype=object), dtype=st)
        g.create_dataset("split", data=np.array(split, dtype=object), dtype=st)
        for j, key in enumerate(("roll_start", "roll_length", "note_start", "note_count"), start=3):
            g.create_dataset(key, data=np.array([k[j] for k in kept], dtype=np.int64))
        g.create_dataset("constant_velocity", data=np.array([k[7] for k in kept], dtype=bool))
        h5.attrs["format"] = FORMAT
        h5.attrs["format_version"] = FORMAT_VERSION
        h5.attrs["encoder"] = settings.to_json()
        h5.attrs["genres"] = json.dumps(sorted(set(genres)))
        h5.attrs["val_fraction"] = val_fraction
        h5.attrs["split_seed"] = seed
        h5.attrs["skipped"] = json.dumps(report.skipped)
        h5.attrs["duplicates"] = json.dumps(report.duplicates)
        h5.attrs["constant_velocity"] = json.dumps([k[0] for k in kept if k[7]])
        report.pieces, report.steps, report.notes = len(kept), t_total, n_total
        for gname, sp in zip(genres, split):
            report.split_counts.setdefault(gname, {"train": 0, "val": 0})[sp] += 1
    return report


class _SerialPool:
    """Stand-in for a process pool when one worker is asked for."""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def imap(self, fn, it, chunksize=1):
        return map(fn, it)


class Dataset:
    """Read access to a dataset written by :func:`convert`.

    Parameters
    ----------
    path : str
        HDF5 file.
    settings : EncoderSettings, optional
        If given, the dataset's encoder settings must equal these.
    """

    def __init__(self, path: str, settings: EncoderSettings | None = None):
        import h5py

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise InputError(f"{path}: no such dataset file")
        try:
            self.h5 = h5py.File(path, "r")
        except OSError:
            raise InputError(f"{path}: not an HDF5 file") from None
        if self.h5.attrs.get("format") != FORMAT:
            raise InputError(f"{path}: not a midistyle dataset")
        version = int(self.h5.attrs.get("format_version", 0))
        if version != FORMAT_VERSION:
            self.h5.close()
            raise InputError(f"{path}: dataset format version {version}, this midistyle reads version "
                             f"{FORMAT_VERSION}: convert the MIDI folders again (midistyle dataset convert)")
        self.path = path
        self.settings = EncoderSettings.from_dict(json.loads(self.h5.attrs["encoder"]))
        if settings is not None and settings != self.settings:
            raise SettingsMismatchError(
                f"{path}: dataset encoder settings {self.settings.to_dict()} differ from {settings.to_dict()}")
        g = self.h5["pieces"]
        self.names = [s.decode() if isinstance(s, bytes) else s for s in g["name"][:]]
        self.genres = [s.decode() if isinstance(s, bytes) else s for s in g["genre"][:]]
        self.split = [s.decode() if isinstance(s, bytes) else s for s in g["split"][:]]
        self.md5 = [s.decode() if isinstance(s, bytes) else s for s in g["md5"][:]]
        self.roll_start = g["roll_start"][:]
        self.roll_length = g["roll_length"][:]
        self.note_start = g["note_start"][:]
        self.note_count = g["note_count"][:]
        self.constant_velocity = g["constant_velocity"][:]

    def __len__(self):
        return len(self.names)

    def close(self):
        """Close the HDF5 file."""
        self.h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    @property
    def genre_names(self) -> list:
        """Genres present, sorted."""
        return sorted(set(self.genres))

    def select(self, genre: str | None = None, split: str | None = None,
               skip_constant: bool = False) -> list:
        """Indices of pieces matching a genre / split, optionally without constant-velocity pieces."""
        out = []
        for i in range(len(self)):
            if genre is not None and self.genres[i] != genre:
                continue
            if split is not None and self.split[i] != split:
                continue
            if skip_constant and self.constant_velocity[i]:
                continue
            out.append(i)
        return out

    def piece(self, i: int) -> PianoRoll:
        """Piano roll of piece ``i`` (notes carry pitch, velocity, start, end; steps in note_steps),
        rebuilt from its stored notes exactly as :func:`~midistyle.pianoroll.encode` builds it."""
        a, n = int(self.roll_start[i]), int(self.roll_length[i])
        na, nn = int(self.note_start[i]), int(self.note_count[i])
        return roll_from_notes(self.h5["notes"][na:na + nn], self.h5["rolls/pedals"][a:a + n], self.settings)
