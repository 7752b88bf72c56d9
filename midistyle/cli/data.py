"""Commands on pieces and datasets: ``info``, ``plot``, ``dataset convert``."""
from __future__ import annotations

import json
import os
import sys

from ..errors import MidistyleError
from .common import RAW, add_encoder_args, name_flags, parse_sources, pos_int, settings_from_args

__all__ = ["add_commands"]

#: The flag that sets each encoder settings field: a SettingsError or an encoding error that names one
#: (e.g. a step too fine for the piece) ends with it.
ENCODER_FLAGS = {"step": "--step", "pitch_low": "--pitch-range", "pitch_high": "--pitch-range"}


def add_encoder_flags(parser) -> None:
    """``--step`` and ``--pitch-range`` on ``parser``, recorded as the flags of the encoder settings fields."""
    add_encoder_args(parser)
    name_flags(parser, ENCODER_FLAGS)


def encoder_settings(args):
    """The :class:`midistyle.pianoroll.EncoderSettings` of ``--step`` / ``--pitch-range``; a bad value is
    a :class:`midistyle.settings.SettingsError` naming its field, to which main() adds the flag."""
    from ..pianoroll import EncoderSettings

    pitch = dict(zip(("pitch_low", "pitch_high"), args.pitch_range or ()))
    return settings_from_args(EncoderSettings, args, {"step": "step"}, **pitch)


def cmd_info(args):
    from ..summary import describe, format_summary

    settings = encoder_settings(args)
    for path in args.files:
        d = describe(path, settings)
        print(json.dumps(d) if args.json else format_summary(d))


def cmd_plot(args):
    from ..fsutil import check_output
    from ..pianoroll import encode
    from ..plot import plot_pieces

    from ..io import read
    from ..beats import tempo_curve

    inputs = [args.input] + (args.compare or [])
    check_output(args.output, force=args.force, protect=tuple(inputs), extensions=(".png",))
    if args.seconds is not None and not args.seconds > 0:
        raise MidistyleError(f"--seconds must be > 0, got {args.seconds}")
    settings = encoder_settings(args)
    perfs = [read(p) for p in inputs]
    rolls = [encode(p, settings) for p in perfs]
    tempos = [tempo_curve(p) for p in perfs] if any(p.tempo_changes > 1 for p in perfs) else None
    plot_pieces(rolls, args.output, titles=[os.path.basename(p) for p in inputs], start=args.start,
                seconds=args.seconds, force=args.force, tempos=tempos)
    if not args.quiet:
        print(f"wrote {args.output}")


def cmd_dataset_export(args):
    from ..export import export_dataset

    r = export_dataset(args.data, args.output, tokenizer=args.tokenizer, force=args.force, progress=not args.quiet)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        parts = ", ".join(f"{k} {v['pieces']} pieces ({v['bytes'] / 1e6:.1f} MB)" for k, v in r["splits"].items())
        print(f"wrote {args.output}: {parts}{'; tokens: ' + args.tokenizer if args.tokenizer else ''} ({r['seconds']:.1f} s)")


def cmd_dataset_convert(args):
    sources = parse_sources(args.folders, args.genre)
    common = dict(settings=encoder_settings(args), val_fraction=args.val_fraction, seed=args.seed,
                  force=args.force, workers=args.workers)
    if args.runner == "beam":
        from ..beamconvert import convert_beam

        report = convert_beam(sources, args.output, shards=args.shards,
                              beam_options=args.beam_option, **common)
    else:
        from ..dataset import convert

        report = convert(sources, args.output, progress=not args.quiet, **common)
    if args.json:
        print(json.dumps(report.__dict__))
        return
    err = sys.stderr
    for d in report.duplicates:
        print(f"duplicate: {d['file']} (same bytes as {d['same_as']}), kept once", file=err)
    for f in report.constant_velocity:
        print(f"warning: {f}: every note has the same velocity (flagged constant_velocity)", file=err)
    for s in report.skipped:
        print(f"skipped: {s['file']}: {s['reason']}", file=err)
    splits = ", ".join(f"{g}: {c['train']} train / {c['val']} val" for g, c in sorted(report.split_counts.items()))
    print(f"wrote {report.output}: {report.pieces} pieces, {report.notes} notes, {report.steps} steps "
          f"({splits}); {len(report.skipped)} skipped, {len(report.duplicates)} duplicates, "
          f"{len(report.constant_velocity)} constant-velocity")


def add_commands(sub) -> None:
    """``info``, ``plot`` and ``dataset convert`` on the top-level subparsers ``sub``."""
    s = sub.add_parser("info", help="show what the encoder sees in MIDI / score files",
                       description="Print duration, notes, pitch range, tempo changes, pedal use and "
                                   "velocity statistics of each input (MIDI, MusicXML, ABC, Humdrum, corpus:NAME).")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--json", action="store_true", help="one JSON object per file")
    add_encoder_flags(s)
    s.set_defaults(func=cmd_info)

    pl = sub.add_parser("plot", help="draw a piece: held notes, velocity, onsets, pedals (PNG)",
                        description="The seed's figure of a piece: three panels over time (held notes, velocity "
                                    "heat map, onsets) and the pedals as a strip below. With --compare, a second "
                                    "piece is drawn below on the same scales (a piece and its restyled version, or "
                                    "an inspiration and generated chords).",
                        epilog="examples:\n  midistyle plot song.mid -o song.png\n"
                               "  midistyle plot song.mid --compare song.classical.mid -o cmp.png --start 30 --seconds 20",
                        formatter_class=RAW)
    pl.add_argument("input", metavar="IN", help="MIDI file, score or corpus:NAME")
    pl.add_argument("--compare", metavar="OTHER", nargs="+", help="pieces drawn below the first (a tempo strip is added when any has tempo changes)")
    pl.add_argument("-o", "--output", required=True, help="PNG to write")
    pl.add_argument("--start", type=float, default=0.0, help="first second shown (default: 0)")
    pl.add_argument("--seconds", type=float, default=None, help="seconds shown (default: the whole piece)")
    pl.add_argument("--force", action="store_true", help="overwrite an existing output (never an input)")
    pl.add_argument("--quiet", action="store_true")
    add_encoder_flags(pl)
    pl.set_defaults(func=cmd_plot)

    d = sub.add_parser("dataset", help="build HDF5 training datasets from folders of MIDI")
    dsub = d.add_subparsers(dest="dataset_command", metavar="ACTION")
    dsub.required = True
    c = dsub.add_parser("convert", help="convert folders of MIDI into one HDF5 dataset",
                        description="Walk folders recursively, encode every MIDI file in parallel and write "
                                    "one HDF5 file. Bad files are skipped and reported; identical files are "
                                    "kept once; the train/validation split is by piece and deterministic.",
                        epilog="examples:\n  midistyle dataset convert tpd/jazz --genre jazz -o jazz.h5\n"
                               "  midistyle dataset convert classical=tpd/classical jazz=tpd/jazz -o tpd.h5\n"
                               "  midistyle dataset convert classical=C jazz=J -o corpus --runner beam --shards 64 "
                               "\\\n      --beam-option runner=FlinkRunner --beam-option flink_master=HOST:8081",
                        formatter_class=RAW)
    c.add_argument("folders", nargs="+", metavar="DIR", help="folder to convert, or GENRE=DIR")
    c.add_argument("--genre", help="genre label for folders given without GENRE=")
    c.add_argument("-o", "--output", required=True,
                   help="HDF5 file to write (with --runner beam: a folder of shards + manifest.json)")
    c.add_argument("--runner", choices=("local", "beam"), default="local",
                   help="local: one process pool, one HDF5 file (default); beam: an Apache Beam pipeline "
                        "writing shards (needs pip install -e '.[beam]')")
    c.add_argument("--shards", type=pos_int, default=8, help="with --runner beam: number of shards (default: 8)")
    c.add_argument("--beam-option", action="append", default=[], metavar="KEY=VALUE",
                   help="with --runner beam: a pipeline option, e.g. runner=DataflowRunner (repeatable; "
                        "default: DirectRunner, multi-process, --workers processes)")
    c.add_argument("--val-fraction", type=float, default=0.15, help="share of pieces for validation (default: 0.15)")
    c.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    c.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    c.add_argument("--force", action="store_true", help="overwrite an existing output")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    add_encoder_flags(c)
    c.set_defaults(func=cmd_dataset_convert)

    from ..export import TOKENIZERS

    x = dsub.add_parser("export", help="export a dataset to parquet (Hugging Face datasets), optionally with MidiTok tokens",
                        description="Write one parquet file per split of DATA (an HDF5 dataset or a sharded manifest) "
                                    "into the folder OUT: name, genre, split, md5 and the piece as MIDI bytes; with "
                                    "--tokenizer also a tokens column and the tokenizer's tokenizer.json (64 velocity "
                                    "bins: decoded velocities within 1). Needs the interop extra "
                                    "(pip install 'midistyle[interop]').",
                        epilog="example:\n  midistyle dataset export work_data/tpd.h5 -o work_data/tpd-parquet --tokenizer REMI\n"
                               "  python -c \"import datasets; print(datasets.load_dataset('parquet', "
                               "data_files='work_data/tpd-parquet/*.parquet'))\"",
                        formatter_class=RAW)
    x.add_argument("data", metavar="DATA")
    x.add_argument("-o", "--output", required=True, metavar="OUT", help="folder to write (built whole, then renamed)")
    x.add_argument("--tokenizer", choices=TOKENIZERS, help="add MidiTok tokens of this tokenizer")
    x.add_argument("--format", choices=("parquet",), default="parquet", help="file format (default: parquet)")
    x.add_argument("--force", action="store_true", help="replace an existing output folder")
    x.add_argument("--quiet", action="store_true", help="no progress bar")
    x.add_argument("--json", action="store_true", help="print the report as JSON")
    name_flags(x, {"tokenizer": "--tokenizer"})
    x.set_defaults(func=cmd_dataset_export)
