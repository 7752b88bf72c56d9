"""What ``info``, ``plot``, ``dataset convert`` and ``dataset export`` do: each reads the parsed arguments and calls the library."""
from __future__ import annotations

import json
import os
import sys

from ...beats import tempo_curve
from ...codec.beamconvert import convert_beam
from ...codec.dataset import convert
from ...codec.export import export_dataset
from ...codec.io import read
from ...codec.pianoroll import EncoderSettings, encode
from ...errors import MidistyleError
from ...fsutil import check_output
from ...plot import plot_pieces
from ...summary import describe, format_summary
from ..common import settings_from_args
from .common import parse_sources


def encoder_settings(args):
    """The :class:`midistyle.codec.pianoroll.EncoderSettings` of ``--step`` / ``--pitch-range``; a bad value is
    a :class:`midistyle.settings.SettingsError` naming its field, to which main() adds the flag."""
    pitch = dict(zip(("pitch_low", "pitch_high"), args.pitch_range or ()))
    return settings_from_args(EncoderSettings, args, {"step": "step"}, **pitch)


def cmd_info(args):
    settings = encoder_settings(args)
    for path in args.files:
        d = describe(path, settings)
        print(json.dumps(d) if args.json else format_summary(d))


def cmd_plot(args):

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
        report = convert_beam(sources, args.output, shards=args.shards, beam_options=args.beam_option,
                              verbose=args.verbose, **common)
    else:
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
