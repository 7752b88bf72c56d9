"""Command line: argument parsing only; every command calls a library function.

Errors the library raises on purpose (:class:`midistyle.errors.MidistyleError`) become one line
on stderr and exit code 2. Heavy libraries are imported inside the commands that need them, so
``--help`` and light commands start fast.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .errors import MidistyleError

PROG = "midistyle"


def _settings_from_args(args):
    from .pianoroll import EncoderSettings

    try:
        return EncoderSettings(step=args.step, pitch_low=args.pitch_range[0], pitch_high=args.pitch_range[1])
    except ValueError as exc:
        raise MidistyleError(f"bad encoder settings: {exc}") from None


def _add_encoder_args(p):
    p.add_argument("--step", type=float, default=0.025, help="seconds per time step (default: 0.025)")
    p.add_argument("--pitch-range", type=int, nargs=2, default=(21, 108), metavar=("LOW", "HIGH"),
                   help="lowest and highest MIDI pitch kept (default: 21 108, the piano keys)")


# ---------------------------------------------------------------------------- info
def cmd_info(args):
    from .summary import describe, format_summary

    settings = _settings_from_args(args)
    for path in args.files:
        d = describe(path, settings)
        print(json.dumps(d) if args.json else format_summary(d))


# ---------------------------------------------------------------------------- dataset
def _parse_sources(items, genre):
    sources = []
    for item in items:
        if "=" in item and not os.path.exists(item):
            g, folder = item.split("=", 1)
            sources.append((g, folder))
        elif genre:
            sources.append((genre, item))
        else:
            raise MidistyleError(f"{item}: give --genre NAME, or write the folder as GENRE=DIR")
    return sources


def cmd_dataset_convert(args):
    from .dataset import convert

    report = convert(_parse_sources(args.folders, args.genre), args.output,
                     settings=_settings_from_args(args), val_fraction=args.val_fraction,
                     seed=args.seed, force=args.force, workers=args.workers,
                     progress=not args.quiet)
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


# ---------------------------------------------------------------------------- models
def cmd_velocity(args):
    from .velocity import restyle

    results = restyle(args.inputs, genre=args.to, model=args.model, output=args.output, force=args.force)
    for r in results:
        if args.json:
            print(json.dumps(r))
        elif not args.quiet:
            print(f"{r['input']} -> {r['output']}: {r['notes']} notes, mean velocity "
                  f"{r['mean_velocity_before']:.1f} -> {r['mean_velocity_after']:.1f}")


def cmd_train_velocity(args):
    from .velocity import VelocityConfig, train

    cfg = VelocityConfig(arch=args.arch, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
                         window=args.window, lookahead=args.lookahead, channels=args.channels,
                         learning_rate=args.learning_rate, max_steps_per_epoch=args.max_steps_per_epoch)
    meta = train(args.data, args.genre, args.output, cfg, strategy=args.strategy,
                 progress=not args.quiet, force=args.force)
    v = meta["validation"]["methods"]
    line = ", ".join(f"{k} {m['rmse']:.2f}" for k, m in v.items())
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s); validation note RMSE: {line}")


def _collect_inputs(items):
    from .dataset import find_midi_files

    out = []
    for item in items:
        if os.path.isdir(item):
            found = find_midi_files(item)
            if not found:
                raise MidistyleError(f"{item}: no MIDI files in this folder")
            out.extend(found)
        else:
            out.append(item)
    return out


def cmd_evaluate_velocity(args):
    from .pianoroll import encode
    from .registry import velocity_model_path
    from .velocity import VelocityModel, evaluate

    vm = VelocityModel.load(args.model or velocity_model_path(args.genre))
    paths = _collect_inputs(args.inputs)
    rolls = [encode(p, vm.settings) for p in paths]
    res = evaluate(vm, rolls, paths)
    res["genre"] = vm.genre
    if args.json:
        print(json.dumps(res))
        return
    print(f"{vm.genre} velocity model on {res['pieces']} pieces, {res['notes']} notes")
    print(f"  {'method':<16} {'RMSE':>7} {'MAE':>7} {'r':>6}")
    for k, m in res["methods"].items():
        print(f"  {k:<16} {m['rmse']:7.2f} {m['mae']:7.2f} {m['r']:6.3f}")


def _add_model_commands(sub):
    v = sub.add_parser("velocity", help="restyle note velocities to play like a genre",
                       description="Predict how hard each note is struck with a genre's velocity model and "
                                   "write the input back with only the velocities changed (every note's pitch "
                                   "and timing kept to the tick, all other events kept).",
                       epilog="example:\n  midistyle velocity --to classical song.mid   # writes song.classical.mid",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("inputs", nargs="+", metavar="IN", help="MIDI file(s), score(s) or corpus:NAME")
    v.add_argument("--to", metavar="GENRE", help="target genre (a shipped model)")
    v.add_argument("--model", help="use this model (.keras) instead of the shipped one")
    v.add_argument("-o", "--output", help="output file (one input only; default IN.GENRE.mid beside the input)")
    v.add_argument("--force", action="store_true", help="overwrite existing outputs (never the input)")
    v.add_argument("--json", action="store_true", help="one JSON object per input")
    v.add_argument("--quiet", action="store_true", help="print nothing on success")
    v.set_defaults(func=cmd_velocity)

    t = sub.add_parser("train", help="train models (needs TensorFlow)")
    tsub = t.add_subparsers(dest="train_command", metavar="MODEL")
    tsub.required = True
    tv = tsub.add_parser("velocity", help="train a genre's velocity model on an HDF5 dataset",
                         description="Train a velocity model on the train split of DATA.h5 for one genre, with "
                                     "validation each epoch, early stopping, best-model checkpoint, a CSV log and "
                                     "a loss-curve PNG beside the output.")
    tv.add_argument("data", metavar="DATA.h5")
    tv.add_argument("--genre", required=True)
    tv.add_argument("-o", "--output", required=True, help="model path, ending in .keras")
    tv.add_argument("--arch", choices=("wavenet", "bilstm"), default="wavenet")
    tv.add_argument("--epochs", type=int, default=12)
    tv.add_argument("--batch-size", type=int, default=16)
    tv.add_argument("--window", type=int, default=1024, help="training window in steps (default: 1024)")
    tv.add_argument("--lookahead", type=int, default=40, help="steps the model reads ahead (default: 40 = 1 s)")
    tv.add_argument("--channels", type=int, default=32, help="residual channels of the wavenet (default: 32)")
    tv.add_argument("--learning-rate", type=float, default=2e-3)
    tv.add_argument("--max-steps-per-epoch", type=int, default=0, help="cap on batches per epoch (0: one pass)")
    tv.add_argument("--seed", type=int, default=0)
    tv.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                    help="tf.distribute strategy (default: one device)")
    tv.add_argument("--force", action="store_true", help="overwrite an existing model")
    tv.add_argument("--quiet", action="store_true")
    tv.set_defaults(func=cmd_train_velocity)

    e = sub.add_parser("evaluate", help="measure models on real performances")
    esub = e.add_subparsers(dest="evaluate_command", metavar="WHAT")
    esub.required = True
    ev = esub.add_parser("velocity", help="note-level RMSE / MAE / r of a velocity model against baselines",
                         description="Predict velocities of real performances and compare with the genre-mean "
                                     "baseline, each file's own mean (an oracle) and the local-feature regressor.")
    ev.add_argument("inputs", nargs="+", metavar="DIR_OR_FILE")
    ev.add_argument("--genre", help="shipped model of this genre")
    ev.add_argument("--model", help="model path instead of a shipped genre")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate_velocity)


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every subcommand)."""
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Musical style transfer for MIDI and audio: restyle velocities, convert datasets, "
                    "train and evaluate models.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("info", help="show what the encoder sees in MIDI / score files",
                       description="Print duration, notes, pitch range, tempo changes, pedal use and "
                                   "velocity statistics of each input (MIDI, MusicXML, ABC, Humdrum, corpus:NAME).")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--json", action="store_true", help="one JSON object per file")
    _add_encoder_args(s)
    s.set_defaults(func=cmd_info)

    d = sub.add_parser("dataset", help="build HDF5 training datasets from folders of MIDI")
    dsub = d.add_subparsers(dest="dataset_command", metavar="ACTION")
    dsub.required = True
    c = dsub.add_parser("convert", help="convert folders of MIDI into one HDF5 dataset",
                        description="Walk folders recursively, encode every MIDI file in parallel and write "
                                    "one HDF5 file. Bad files are skipped and reported; identical files are "
                                    "kept once; the train/validation split is by piece and deterministic.",
                        epilog="examples:\n  midistyle dataset convert tpd/jazz --genre jazz -o jazz.h5\n"
                               "  midistyle dataset convert classical=tpd/classical jazz=tpd/jazz -o tpd.h5",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("folders", nargs="+", metavar="DIR", help="folder to convert, or GENRE=DIR")
    c.add_argument("--genre", help="genre label for folders given without GENRE=")
    c.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    c.add_argument("--val-fraction", type=float, default=0.15, help="share of pieces for validation (default: 0.15)")
    c.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    c.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    c.add_argument("--force", action="store_true", help="overwrite an existing output")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_encoder_args(c)
    c.set_defaults(func=cmd_dataset_convert)

    _add_model_commands(sub)
    return p


def main(argv=None) -> int:
    """Entry point of the ``midistyle`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except MidistyleError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0



if __name__ == "__main__":
    sys.exit(main())
