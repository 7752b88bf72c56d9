"""Folders of MIDI -> a sharded dataset, as an Apache Beam pipeline (corpora past one machine).

The same conversion as :func:`midistyle.codec.dataset.convert`, with the same codec functions, split
and skip rules, written as explicit stages a Beam runner can spread over many workers::

    list files (driver) -> read + md5 -> group by md5 (keep the first path: dedupe)
      -> encode (dataset.encode_file) -> split by piece (side input: dataset.assign_split over
      every kept md5) -> group by shard -> write one HDF5 shard each (dataset.DatasetWriter)
    reports (skipped, duplicates, shards) -> manifest.json, written by the driver at the end

The output is a folder: ``shard-NNNNN-of-MMMMM.h5`` files (each a complete dataset of its
pieces, readable by :class:`~midistyle.codec.dataset.Dataset`) and ``manifest.json`` (encoder settings,
split settings, shard list, skip and duplicate reports). :func:`midistyle.codec.dataset.open_dataset`
reads it, piece by piece, for training. The folder is built under a temporary name beside the
output and renamed when complete, so an interrupted run leaves nothing under the final name.

Runs on Beam's DirectRunner (multi-process) by default; other runners (Dataflow, Flink, Spark)
take the same pipeline through ``beam_options`` (for example ``runner=FlinkRunner``), with input
and output folders on storage every worker can reach. Install with ``pip install -e '.[beam]'``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import sys
import tempfile

from ..errors import InputError
from ..fsutil import check_output
from .dataset import (MANIFEST_FORMAT, MANIFEST_NAME, ConvertReport, DatasetWriter, assign_split, encode_file,
                      find_midi_files, is_constant_velocity, no_pieces_error)
from .pianoroll import EncoderSettings

__all__ = ["convert_beam", "pipeline_options", "shard_of"]

#: Format version of ``manifest.json``.
MANIFEST_VERSION = 1


def shard_of(md5: str, n_shards: int) -> int:
    """Shard of a piece, from its content md5 (stable across runs and runners)."""
    return int(md5[:8], 16) % n_shards


def shard_name(k: int, n_shards: int) -> str:
    """File name of shard ``k``."""
    return f"shard-{k:05d}-of-{n_shards:05d}.h5"


def pipeline_options(beam_options=(), workers: int | None = None):
    """:class:`apache_beam.options.pipeline_options.PipelineOptions` from ``K=V`` strings; without
    a runner given, the DirectRunner in multi-process mode with ``workers`` processes."""
    from apache_beam.options.pipeline_options import PipelineOptions

    flags, keys = [], set()
    for opt in beam_options:
        key, sep, value = str(opt).partition("=")
        if not sep or not key:
            raise InputError(f"beam option {opt!r} is not KEY=VALUE")
        keys.add(key.lstrip("-"))
        flags.append(f"--{key.lstrip('-')}={value}")
    if "runner" not in keys:
        flags += ["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                  f"--direct_num_workers={workers or os.cpu_count() or 1}"]
    if "default_sdk_harness_log_level" not in keys:
        flags.append("--default_sdk_harness_log_level=ERROR")     # workers: only what goes wrong
    return PipelineOptions(flags)


# ----------------------------------------------------------------------------- stages (run on workers)
def read_file(item):
    """(order, path, rel, genre) -> ("read", (md5, record)) or ("skipped", {file, reason})."""
    import hashlib

    from apache_beam.io.filesystems import FileSystems

    order, path, rel, genre = item
    if "://" not in path and os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        return "skipped", {"file": path, "reason": "not a regular file"}   # a FIFO would block
    try:
        with FileSystems.open(path) as fh:
            data = fh.read()
    except Exception as exc:   # unreadable, vanished, a pipe ...: reported, never fatal
        return "skipped", {"file": path, "reason": f"cannot be read ({exc})"}
    md5 = hashlib.md5(data).hexdigest()
    return "read", (md5, (order, path, rel, genre, data))


def keep_first(group):
    """(md5, records) -> the first record in traversal order, and the duplicates of it."""
    md5, records = group
    records = sorted(records, key=lambda r: r[0])
    first = records[0]
    dups = [{"file": r[1], "same_as": first[1]} for r in records[1:]]
    return (md5, first), dups


def encode_record(item, settings_dict: dict):
    """(md5, record) -> ("kept", piece) or ("skipped", {file, reason}), by :func:`encode_file`."""
    md5, (order, path, rel, genre, data) = item
    res, reason = encode_file(path, data, EncoderSettings.from_dict(settings_dict))
    if res is None:
        return "skipped", {"file": path, "reason": reason}
    pedals, notes = res
    return "kept", {"order": order, "path": path, "rel": rel, "genre": genre, "md5": md5,
                    "pedals": pedals, "notes": notes}


def split_table(pairs, val_fraction: float, seed: int) -> dict:
    """[(md5, genre)] of every kept piece -> {md5: "train" | "val"} (:func:`assign_split`)."""
    pairs = sorted(pairs)
    split = assign_split([m for m, _ in pairs], [g for _, g in pairs], val_fraction, seed)
    return {m: s for (m, _), s in zip(pairs, split)}


def write_shard(group, split: dict, *, folder: str, n_shards: int, settings_dict: dict,
                val_fraction: float, seed: int) -> dict:
    """(shard, pieces) -> the shard's HDF5 file in ``folder`` (written locally, then copied through
    Beam's FileSystems so any storage a runner reaches works); returns what it holds."""
    import h5py
    from apache_beam.io.filesystems import FileSystems

    k, pieces = group
    pieces = sorted(pieces, key=lambda p: p["order"])
    name = shard_name(k, n_shards)
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, name)
        with h5py.File(local, "w") as h5:
            writer = DatasetWriter(h5, EncoderSettings.from_dict(settings_dict))
            for p in pieces:
                writer.add(p["rel"], p["genre"], p["md5"], p["pedals"], p["notes"])
            writer.finish([split[p["md5"]] for p in pieces], val_fraction=val_fraction, seed=seed,
                          skipped=[], duplicates=[])
        with open(local, "rb") as src, FileSystems.create(FileSystems.join(folder, name)) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return {"shard": name, "pieces": len(pieces), "steps": int(sum(len(p["pedals"]) for p in pieces)),
            "notes": int(sum(len(p["notes"]) for p in pieces)),
            "constant_velocity": [p["path"] for p in pieces if is_constant_velocity(p["notes"])],
            "split_counts": [(p["genre"], split[p["md5"]]) for p in pieces]}


def _write_json(items, path: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.create(path) as fh:
        fh.write(json.dumps(list(items)).encode())


@contextlib.contextmanager
def held_stderr(hold: bool = True):
    """Hold what this process and the processes it starts write to stderr (file descriptor 2:
    Beam's import warnings, its workers' "Logging handler created" lines) in a temporary file, and
    let it through only if the block fails; ``hold=False`` lets everything through as it comes."""
    if not hold:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield
            except BaseException:
                sys.stderr.flush()
                os.dup2(saved, 2)
                held.seek(0)
                os.write(2, held.read())
                raise
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


# ----------------------------------------------------------------------------- driver
def convert_beam(sources, output: str, *, settings: EncoderSettings | None = None,
                 val_fraction: float = 0.15, seed: int = 0, force: bool = False, shards: int = 8,
                 beam_options=(), workers: int | None = None, verbose: bool = False) -> dict:
    """Convert folders of MIDI files into a sharded dataset folder with an Apache Beam pipeline.

    Parameters
    ----------
    sources : list of (genre, folder)
        As for :func:`midistyle.codec.dataset.convert`.
    output : str
        Folder to create (``manifest.json`` + shards); replaced only with ``force``.
    shards : int
        Number of shards (pieces are spread by content hash; empty shards are not written).
    beam_options : list of str
        ``KEY=VALUE`` pipeline options (``runner=...``, runner settings); default the
        DirectRunner in multi-process mode with ``workers`` processes.
    verbose : bool
        Let Beam's own warnings and its workers' log lines through to stderr; by default they are
        held and shown only if the pipeline fails (:func:`held_stderr`).

    Returns
    -------
    ConvertReport
        As :func:`midistyle.codec.dataset.convert` reports (``output`` is the folder); the same
        figures are in its ``manifest.json``.
    """
    try:
        with held_stderr(not verbose):
            import apache_beam as beam
    except ImportError:
        raise InputError("the beam runner needs Apache Beam: pip install -e '.[beam]'") from None

    settings = settings or EncoderSettings()
    output = os.fspath(output).rstrip("/")
    if not 0 <= val_fraction < 1:
        raise InputError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    if shards < 1:
        raise InputError(f"shards must be >= 1, got {shards!r}")
    check_output(output, force=force, folder_output=True)
    parent = os.path.dirname(os.path.abspath(output))
    listing = []       # (traversal order, path, path in its folder, genre)
    for genre, folder in sources:
        for path in find_midi_files(folder):
            listing.append((len(listing), path, os.path.relpath(path, folder), genre))
    options = pipeline_options(beam_options, workers)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(output)}.", suffix=".tmp", dir=parent)
    sd = settings.to_dict()
    try:
        with held_stderr(not verbose), beam.Pipeline(options=options) as p:
            read = p | "List" >> beam.Create(listing) | "Read" >> beam.Map(read_file)
            deduped = (read | "Readable" >> beam.Filter(lambda r: r[0] == "read") | beam.Map(lambda r: r[1])
                       | "ByContent" >> beam.GroupByKey() | "KeepFirst" >> beam.Map(keep_first))
            encoded = deduped | beam.Map(lambda r: r[0]) | "Encode" >> beam.Map(encode_record, sd)
            kept = encoded | "Kept" >> beam.Filter(lambda r: r[0] == "kept") | beam.Map(lambda r: r[1])
            split = (kept | beam.Map(lambda r: (r["md5"], r["genre"])) | "AllPieces" >> beam.combiners.ToList()
                     | "Split" >> beam.Map(split_table, val_fraction, seed))
            written = (kept | beam.Map(lambda r: (shard_of(r["md5"], shards), r)) | "ByShard" >> beam.GroupByKey()
                       | "WriteShards" >> beam.Map(write_shard, beam.pvalue.AsSingleton(split), folder=tmp,
                                                   n_shards=shards, settings_dict=sd,
                                                   val_fraction=val_fraction, seed=seed))
            skipped = ((read | "Unreadable" >> beam.Filter(lambda r: r[0] == "skipped"),
                        encoded | "Failed" >> beam.Filter(lambda r: r[0] == "skipped"))
                       | beam.Flatten() | beam.Map(lambda r: r[1]))
            dups = deduped | beam.FlatMap(lambda r: r[1])
            for name, pcoll in (("skipped", skipped), ("duplicates", dups), ("shards", written)):
                (pcoll | f"All{name}" >> beam.combiners.ToList()
                 | f"Write{name}" >> beam.Map(_write_json, os.path.join(tmp, f"{name}.json")))
        manifest = _manifest(tmp, settings, val_fraction, seed, shards)
        if not manifest["pieces"]:
            raise no_pieces_error(manifest["skipped"])
        if os.path.exists(output):
            shutil.rmtree(output) if os.path.isdir(output) else os.remove(output)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)       # mkdtemp made it private
        os.rename(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ConvertReport(output=output, pieces=manifest["pieces"], steps=manifest["steps"],
                         notes=manifest["notes"], skipped=manifest["skipped"],
                         duplicates=manifest["duplicates"], constant_velocity=manifest["constant_velocity"],
                         split_counts=manifest["split_counts"])


def _manifest(tmp: str, settings: EncoderSettings, val_fraction: float, seed: int, n_shards: int) -> dict:
    """Assemble ``manifest.json`` in ``tmp`` from the pipeline's reports (removed after)."""
    parts = {}
    for name in ("skipped", "duplicates", "shards"):
        with open(os.path.join(tmp, f"{name}.json")) as fh:
            parts[name] = json.load(fh)
        os.remove(os.path.join(tmp, f"{name}.json"))
    shards = sorted(parts["shards"], key=lambda s: s["shard"])
    counts = {}
    for s in shards:
        for genre, sp in s["split_counts"]:
            counts.setdefault(genre, {"train": 0, "val": 0})[sp] += 1
    manifest = {
        "format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION, "encoder": settings.to_dict(),
        "val_fraction": val_fraction, "split_seed": seed, "n_shards": n_shards,
        "shards": [s["shard"] for s in shards], "genres": sorted(counts),
        "pieces": sum(s["pieces"] for s in shards), "steps": sum(s["steps"] for s in shards),
        "notes": sum(s["notes"] for s in shards), "split_counts": counts,
        "skipped": sorted(parts["skipped"], key=lambda r: r["file"]),
        "duplicates": sorted(parts["duplicates"], key=lambda r: r["file"]),
        "constant_velocity": sorted(f for s in shards for f in s["constant_velocity"]),
    }
    with open(os.path.join(tmp, MANIFEST_NAME), "w") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest
