"""Export a converted dataset to the researchers' formats: parquet (what Hugging Face ``datasets``
reads) with each piece as MIDI bytes and, optionally, MidiTok tokens.

One parquet file per split (``train.parquet``, ``val.parquet``) with the columns ``name``,
``genre``, ``split``, ``md5``, ``midi`` (the piece as converted: its stored note table at
1.04 ms resolution, 120 bpm, 480 ticks per beat, and its pedals, as one piano track) and, with a
tokenizer, ``tokens`` (a list of ints) plus the tokenizer's own ``tokenizer.json`` beside them
(``miditok.REMI(params=...)`` rebuilds it). The tokenizer keeps 64 velocity bins, so decoded
velocities are within 1 of the originals (MidiTok's default of 32 bins would blur exactly what
midistyle models). Needs the ``interop`` extra (miditok, pyarrow); imported only here.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np

from ..errors import InputError, OutputError, OutputExistsError
from .dataset import open_dataset

__all__ = ["TOKENIZERS", "VELOCITY_BINS", "piece_midi", "make_tokenizer", "export_dataset"]

#: MidiTok tokenizers the export offers
TOKENIZERS = ("REMI", "TSD", "Structured", "MIDILike", "CPWord", "Octuple", "MMM")
#: velocity bins of the exported tokenizer (127 velocities / 64: decoded within 1)
VELOCITY_BINS = 64
TICKS_PER_BEAT = 480
TICKS_PER_SECOND = 2 * TICKS_PER_BEAT        # 120 bpm


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"exporting needs {module}: install the interop extra (pip install 'midistyle[interop]')",
                         field="tokenizer" if module == "miditok" else None) from None


def piece_midi(roll) -> bytes:
    """A converted piece (a :class:`~midistyle.codec.pianoroll.PianoRoll` of a dataset) as MIDI bytes:
    its notes at their stored seconds (1.04 ms ticks at 120 bpm, one piano track) and its pedal
    changes, assembled as arrays by symusic (no per-note Python)."""
    import symusic

    n = roll.notes
    start = np.rint(n["start"] * TICKS_PER_SECOND).astype(np.int32)
    dur = np.maximum(np.rint(n["end"] * TICKS_PER_SECOND).astype(np.int32) - start, 1)
    order = np.lexsort((n["pitch"], start))
    score = symusic.Score(TICKS_PER_BEAT)
    score.tempos.append(symusic.Tempo(0, qpm=120.0))
    track = symusic.Track(name="piano", program=0)
    track.notes = symusic.Note.from_numpy(start[order], dur[order], n["pitch"][order].astype(np.int8),
                                          np.clip(n["velocity"][order], 1, 127).astype(np.int8))
    times, numbers, values = [], [], []
    for col, cc in enumerate((64, 67)):
        vals = roll.pedals[:, col].astype(np.int64)
        t = np.flatnonzero(np.diff(np.concatenate([[0], vals])) != 0)
        times.append(np.rint(t * roll.settings.step * TICKS_PER_SECOND).astype(np.int32))
        numbers.append(np.full(len(t), cc, np.uint8))
        values.append(vals[t].astype(np.uint8))
    t, num, val = np.concatenate(times), np.concatenate(numbers), np.concatenate(values)
    o = np.argsort(t, kind="stable")
    track.controls = symusic.ControlChange.from_numpy(t[o], num[o], val[o])
    score.tracks.append(track)
    return bytes(score.dumps_midi())


def make_tokenizer(name: str):
    """A MidiTok tokenizer ``name`` (one of :data:`TOKENIZERS`) with :data:`VELOCITY_BINS` velocity
    bins and the sustain pedal; :class:`InputError` naming ``tokenizer`` for another name."""
    if name not in TOKENIZERS:
        raise InputError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {name!r}", field="tokenizer")
    miditok = _need("miditok")
    cfg = miditok.TokenizerConfig(num_velocities=VELOCITY_BINS, use_sustain_pedals=True)
    return getattr(miditok, name)(cfg)


def export_dataset(data: str, output: str, *, tokenizer: str | None = None, force: bool = False,
                   progress: bool = True) -> dict:
    """Export the dataset ``data`` (an HDF5 file or a sharded manifest) to the folder ``output``:
    one parquet file per split, and with ``tokenizer`` a ``tokens`` column and ``tokenizer.json``.
    The folder is built under a temporary name and renamed when complete; an existing one is
    replaced only with ``force``. Returns a report: pieces and bytes per split, seconds."""
    import time

    from tqdm import tqdm

    pa = _need("pyarrow")
    pq = _need("pyarrow.parquet")
    tok = make_tokenizer(tokenizer) if tokenizer else None
    output = os.fspath(output)
    if os.path.exists(output) and not force:
        raise OutputExistsError(output)
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise OutputError(f"{output}: folder {parent} does not exist")
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix=".midistyle-export-", dir=parent)
    try:
        rows = {}
        with open_dataset(data) as ds:
            for i in tqdm(range(len(ds)), desc="exporting", unit="piece", disable=not progress):
                midi = piece_midi(ds.piece(i))
                row = {"name": ds.names[i], "genre": ds.genres[i], "split": ds.split[i], "md5": ds.md5[i],
                       "midi": midi}
                if tok is not None:
                    import symusic

                    seq = tok.encode(symusic.Score.from_midi(midi))
                    ids = seq.ids if not isinstance(seq, list) else [x for s in seq for x in s.ids]
                    row["tokens"] = [int(x) for x in np.ravel(ids)]
                rows.setdefault(ds.split[i], []).append(row)
        report = {"output": output, "tokenizer": tokenizer, "splits": {}}
        for split, items in sorted(rows.items()):
            table = pa.Table.from_pylist(items)
            path = os.path.join(tmp, f"{split}.parquet")
            pq.write_table(table, path)
            report["splits"][split] = {"pieces": len(items), "bytes": os.path.getsize(path)}
        if tok is not None:
            tok.save(os.path.join(tmp, "tokenizer.json"))
        with open(os.path.join(tmp, "export.json"), "w") as fh:
            json.dump({k: v for k, v in report.items() if k != "output"}, fh, indent=1)
        if os.path.exists(output):
            shutil.rmtree(output) if os.path.isdir(output) else os.unlink(output)
        os.replace(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report["seconds"] = round(time.time() - t0, 2)
    return report
