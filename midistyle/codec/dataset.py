"""Folders of MIDI -> one HDF5 dataset, and reading it back.

HDF5 layout (format ``midistyle.dataset`` version 2)
---------------------------------------------------
Concatenated arrays with a piece index, so a piece is one contiguous slice. Only what cannot be
derived is stored: the note table and the pedal values on the grid. The onset, held and velocity
matrices of a piece are rebuilt from its notes when it is read (:meth:`Dataset.piece`, the same
code as :func:`~midistyle.codec.pianoroll.encode`), which keeps files small and conversion fast::

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

import numpy as np

from ..errors import InputError, SettingsMismatchError
from ..fsutil import atomic_output, check_output
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


def split_key(seed: int, md5: str) -> str:
    """Sort key of a piece (its content md5) in the deterministic split of seed ``seed``."""
    return hashlib.sha1(f"{seed}:{md5}".encode()).hexdigest()


def assign_split(md5s: list, genres: list, val_fraction: float, seed: int) -> list:
    """Deterministic split by piece: returns "train"/"val" for each (md5, genre)."""
    split = ["train"] * len(md5s)
    for g in sorted(set(genres)):
        idx = [i for i, gg in enumerate(genres) if gg == g]
        idx.sort(key=lambda i: split_key(seed, md5s[i]))
        n_val = int(round(val_fraction * len(idx)))
        if len(idx) >= 2:
            n_val = min(max(n_val, 1 if val_fraction > 0 else 0), len(idx) - 1)
        for i in idx[:n_val]:
            split[i] = "val"
    return split


def encode_file(path: str, data: bytes, settings: EncoderSettings) -> tuple:
    """Encode one file's bytes for a dataset: ``(pedals (T, 2) uint8, notes STORED_NOTE_DTYPE)``
    and None, or None and the reason it is skipped. Never raises on a bad file (one odd file
    must not stop a conversion)."""
    try:
        perf = read_midi_bytes(data, path)
        check_duration(perf)
        n_steps = grid_length(perf.notes, perf.duration, settings.step)
        pedals = pedal_matrix(perf.pedals, n_steps, settings.step)
    except InputError as exc:
        msg = str(exc)
        return None, msg[len(path) + 2:] if msg.startswith(path + ": ") else msg
    except Exception as exc:  # never abort a whole conversion on one odd file
        return None, f"{type(exc).__name__}: {exc}"
    notes = np.empty(len(perf.notes), dtype=STORED_NOTE_DTYPE)
    for k in ("pitch", "velocity", "start", "end"):
        notes[k] = perf.notes[k]
    notes["step"] = steps_of(perf.notes["start"], settings.step)
    notes["beat"] = perf.notes["start_tick"] / float(perf.ticks_per_beat)
    return (pedals, notes), None


def _encode_job(args):
    path, data, settings_dict = args
    res, reason = encode_file(path, data, EncoderSettings.from_dict(settings_dict))
    return path, res, reason


def is_constant_velocity(notes: np.ndarray) -> bool:
    """Whether every note of a piece has the same velocity (useless for learning dynamics)."""
    return bool(len(np.unique(notes["velocity"])) <= 1)


class DatasetWriter:
    """Appends encoded pieces to an open HDF5 file in the dataset layout, then writes the piece
    index and attributes (:meth:`finish`). Used by :func:`convert` and by each shard of the
    distributed conversion (:mod:`midistyle.codec.beamconvert`), so both write the same thing."""

    def __init__(self, h5, settings: EncoderSettings, flush_notes: int = 1_000_000):
        self.h5, self.settings, self.flush_notes = h5, settings, flush_notes
        self.pedals = h5.create_group("rolls").create_dataset(
            "pedals", (0, 2), maxshape=(None, 2), dtype="u1", chunks=(8192, 2), compression="lzf")
        self.notes = h5.create_dataset("notes", (0,), maxshape=(None,), dtype=STORED_NOTE_DTYPE,
                                       chunks=(16384,), compression="lzf")
        self.kept = []   # (rel, genre, md5, roll_start, roll_len, note_start, note_count, constant)
        self.steps = self.n_notes = 0
        self._buf = {"pedals": [], "notes": []}

    def add(self, rel: str, genre: str, md5: str, pedals: np.ndarray, notes: np.ndarray) -> bool:
        """Append one piece; returns whether it has constant velocity."""
        constant = is_constant_velocity(notes)
        self.kept.append((rel, genre, md5, self.steps, len(pedals), self.n_notes, len(notes), constant))
        self._buf["pedals"].append(pedals)
        self._buf["notes"].append(notes)
        self.steps += len(pedals)
        self.n_notes += len(notes)
        if sum(map(len, self._buf["notes"])) > self.flush_notes:
            self._flush()
        return constant

    def _flush(self):
        for d, parts in ((self.pedals, self._buf["pedals"]), (self.notes, self._buf["notes"])):
            if parts:
                arr = np.concatenate(parts)
                n0 = d.shape[0]
                d.resize(n0 + len(arr), axis=0)
                d[n0:] = arr
                parts.clear()

    def finish(self, split: list, *, val_fraction: float, seed: int, skipped: list, duplicates: list) -> None:
        """Write the piece index (``split``: one "train"/"val" per added piece) and the attributes."""
        import h5py

        self._flush()
        kept = self.kept
        g = self.h5.create_group("pieces")
        st = h5py.string_dtype("utf-8")
        for j, key in enumerate(("name", "genre", "md5")):
            g.create_dataset(key, data=np.array([k[j] for k in kept], dtype=object), dtype=st)
        g.create_dataset("split", data=np.array(split, dtype=object), dtype=st)
        for j, key in enumerate(("roll_start", "roll_length", "note_start", "note_count"), start=3):
            g.create_dataset(key, data=np.array([k[j] for k in kept], dtype=np.int64))
        g.create_dataset("constant_velocity", data=np.array([k[7] for k in kept], dtype=bool))
        a = self.h5.attrs
        a["format"], a["format_version"] = FORMAT, FORMAT_VERSION
        a["encoder"] = self.settings.to_json()
        a["genres"] = json.dumps(sorted({k[1] for k in kept}))
        a["val_fraction"], a["split_seed"] = val_fraction, seed
        a["skipped"], a["duplicates"] = json.dumps(skipped), json.dumps(duplicates)
        a["constant_velocity"] = json.dumps([k[0] for k in kept if k[7]])


def gather_files(sources) -> tuple:
    """Read and de-duplicate the MIDI files of ``[(genre, folder)]``.

    Returns ``(jobs, skipped, duplicates)``: jobs ``[(path, rel, genre, md5, data)]`` in
    traversal order (sources in order, paths sorted; of identical files the first wins);
    unreadable and non-regular files are skipped with a reason.
    """
    jobs, skipped, duplicates, seen = [], [], [], {}
    for genre, folder in sources:
        for path in find_midi_files(folder):
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):      # a FIFO or device would block or never end
                    skipped.append({"file": path, "reason": "not a regular file"})
                    continue
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                skipped.append({"file": path, "reason": f"cannot be read ({exc.strerror})"})
                continue
            md5 = hashlib.md5(data).hexdigest()
            if md5 in seen:
                duplicates.append({"file": path, "same_as": seen[md5]})
                continue
            seen[md5] = path
            jobs.append((path, os.path.relpath(path, folder), genre, md5, data))
    return jobs, skipped, duplicates


def split_files(sources, *, val_fraction: float = 0.15, seed: int = 0) -> dict:
    """The files of ``[(genre, folder)]`` split by piece exactly as :func:`convert` splits them
    (de-duplicated by content, :func:`assign_split`): ``{genre: {"train": [paths], "val": [paths]}}``.
    For models trained on files rather than on a dataset (the tempo model reads tempo maps)."""
    jobs, _, _ = gather_files(sources)
    split = assign_split([j[3] for j in jobs], [j[2] for j in jobs], val_fraction, seed)
    out = {}
    for (path, _, genre, _, _), part in zip(jobs, split):
        out.setdefault(genre, {"train": [], "val": []})[part].append(path)
    return out


def no_pieces_error(skipped: list) -> InputError:
    """The error of a conversion that kept nothing."""
    return InputError("no MIDI file could be converted ("
                      + (f"{len(skipped)} skipped, e.g. {skipped[0]['file']}: {skipped[0]['reason']}"
                         if skipped else "none found") + ")")


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
    import multiprocessing           # the worker pool, conversion only

    import h5py
    from tqdm import tqdm

    settings = settings or EncoderSettings()
    output = os.fspath(output)
    check_output(output, force=force)
    if not 0 <= val_fraction < 1:
        raise ValueError("val_fraction must be in [0, 1)")

    report = ConvertReport(output=output)
    jobs, report.skipped, report.duplicates = gather_files(sources)
    workers = workers or os.cpu_count() or 1
    with atomic_output(output, force=force, suffix=".h5.tmp") as tmp, h5py.File(tmp, "w") as h5:
        writer = DatasetWriter(h5, settings)
        ctx = multiprocessing.get_context("fork") if hasattr(os, "fork") else multiprocessing.get_context()
        args = ((path, data, settings.to_dict()) for path, _, _, _, data in jobs)
        with ctx.Pool(workers) if workers > 1 else _SerialPool() as pool:
            it = pool.imap(_encode_job, args, chunksize=4)
            for (path, res, reason), (_, rel, genre, md5, _) in tqdm(
                    zip(it, jobs), total=len(jobs), disable=not progress, desc="converting", unit="file"):
                if res is None:
                    report.skipped.append({"file": path, "reason": reason})
                elif writer.add(rel, genre, md5, *res):
                    report.constant_velocity.append(path)
        if not writer.kept:
            raise no_pieces_error(report.skipped)
        genres = [k[1] for k in writer.kept]
        split = assign_split([k[2] for k in writer.kept], genres, val_fraction, seed)
        writer.finish(split, val_fraction=val_fraction, seed=seed, skipped=report.skipped,
                      duplicates=report.duplicates)
        report.pieces, report.steps, report.notes = len(writer.kept), writer.steps, writer.n_notes
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
        rebuilt from its stored notes exactly as :func:`~midistyle.codec.pianoroll.encode` builds it."""
        a, n = int(self.roll_start[i]), int(self.roll_length[i])
        na, nn = int(self.note_start[i]), int(self.note_count[i])
        return roll_from_notes(self.h5["notes"][na:na + nn], self.h5["rolls/pedals"][a:a + n], self.settings)


#: Format name of the manifest of a sharded dataset (:mod:`midistyle.codec.beamconvert`).
MANIFEST_FORMAT = "midistyle.dataset-manifest"
MANIFEST_NAME = "manifest.json"


class ShardedDataset:
    """A dataset written as several HDF5 shards plus a manifest (the distributed conversion).

    Same reading interface as :class:`Dataset` (names, genres, split, md5, constant_velocity,
    settings, :meth:`select`, :meth:`piece`): piece ``i`` is read from its shard on demand, so
    the corpus is never loaded as a whole. Pieces are ordered by shard, then within the shard.

    Parameters
    ----------
    path : str
        The manifest (``manifest.json``) or the folder holding it.
    settings : EncoderSettings, optional
        If given, the dataset's encoder settings must equal these.
    """

    def __init__(self, path: str, settings: EncoderSettings | None = None):
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, MANIFEST_NAME)
        try:
            with open(path) as fh:
                manifest = json.load(fh)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable dataset manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise InputError(f"{path}: not a midistyle dataset manifest")
        self.path, self.manifest = path, manifest
        folder = os.path.dirname(os.path.abspath(path))
        self.shards = [Dataset(os.path.join(folder, name), settings) for name in manifest["shards"]]
        self.settings = EncoderSettings.from_dict(manifest["encoder"])
        self.index = [(s, i) for s, shard in enumerate(self.shards) for i in range(len(shard))]
        for attr in ("names", "genres", "split", "md5"):
            setattr(self, attr, [x for shard in self.shards for x in getattr(shard, attr)])
        self.constant_velocity = np.concatenate([shard.constant_velocity for shard in self.shards]) \
            if self.shards else np.zeros(0, bool)

    def __len__(self):
        return len(self.index)

    def close(self):
        """Close every shard."""
        for shard in self.shards:
            shard.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    genre_names = Dataset.genre_names
    select = Dataset.select

    def piece(self, i: int) -> PianoRoll:
        """Piano roll of piece ``i``, read from its shard."""
        s, k = self.index[i]
        return self.shards[s].piece(k)


def open_dataset(path: str, settings: EncoderSettings | None = None):
    """A :class:`Dataset` (one HDF5 file) or a :class:`ShardedDataset` (a manifest or its folder)."""
    path = os.fspath(path)
    if path.endswith(".json") or os.path.isdir(path):
        return ShardedDataset(path, settings)
    return Dataset(path, settings)


def genre_splits(ds, genre: str, source: str, *, skip_constant: bool = False) -> tuple:
    """``(train, val)``: the indices of the pieces of ``genre`` in each split of ``ds`` (a
    :class:`Dataset` or :class:`ShardedDataset`), for a model trained on one genre.

    Raises
    ------
    InputError
        Naming ``source`` (the dataset's path as given), when ``ds`` has no such genre or no piece
        of it in one of the two splits.
    """
    if genre not in ds.genre_names:
        raise InputError(f"{source}: no genre {genre!r} (has: {', '.join(ds.genre_names)})")
    train = ds.select(genre, "train", skip_constant=skip_constant)
    val = ds.select(genre, "val", skip_constant=skip_constant)
    if not train or not val:
        raise InputError(f"{source}: genre {genre!r} needs pieces in both splits")
    return train, val
