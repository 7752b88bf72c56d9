"""Commands on pieces and datasets: ``info``, ``plot``, ``dataset convert``."""
from __future__ import annotations

from ..codec.export import TOKENIZERS
from .common import RAW, add_encoder_args, command, name_flags, pos_int

__all__ = ["add_commands"]


#: The flag that sets each encoder settings field: a SettingsError or an encoding error that names one
#: (e.g. a step too fine for the piece) ends with it.
ENCODER_FLAGS = {"step": "--step", "pitch_low": "--pitch-range", "pitch_high": "--pitch-range"}


def add_encoder_flags(parser) -> None:
    """``--step`` and ``--pitch-range`` on ``parser``, recorded as the flags of the encoder settings fields."""
    add_encoder_args(parser)
    name_flags(parser, ENCODER_FLAGS)


def add_commands(sub) -> None:
    """``info``, ``plot`` and ``dataset convert`` on the top-level subparsers ``sub``."""
    s = sub.add_parser("info", help="show what the encoder sees in MIDI / score files",
                       description="Print duration, notes, pitch range, tempo changes, pedal use and "
                                   "velocity statistics of each input (MIDI, MusicXML, ABC, Humdrum, corpus:NAME).")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--json", action="store_true", help="one JSON object per file")
    add_encoder_flags(s)
    s.set_defaults(func=command("data", "cmd_info"))

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
    pl.set_defaults(func=command("data", "cmd_plot"))

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
    c.add_argument("--verbose", action="store_true",
                   help="with --runner beam: show Beam's own warnings and its workers' log lines (by default "
                        "they are shown only when the pipeline fails)")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    add_encoder_flags(c)
    c.set_defaults(func=command("data", "cmd_dataset_convert"))

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
    x.set_defaults(func=command("data", "cmd_dataset_export"))
