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


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line (``midistyle: error: ...``) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {message} (see {self.prog} --help)\n")


def _add_config_flags(parser, defaults, specs) -> None:
    """One optional flag per config field: ``specs`` are (flag, type, help[, field]); the default
    shown is the config dataclass's own, and an omitted flag leaves the field at that default."""
    for flag, typ, what, *field in specs:
        name = field[0] if field else flag[2:].replace("-", "_")
        parser.add_argument(flag, dest=name, type=typ, default=None,
                            help=f"{what} (default: {getattr(defaults, name)})")
    fields = [spec[3] if len(spec) > 3 else spec[0][2:].replace("-", "_") for spec in specs]
    # a SettingsError names a config field; main() reports the flag that sets it
    parser.set_defaults(config_fields=fields, config_flags={f: spec[0] for f, spec in zip(fields, specs)})


def _config_from_args(cls, args, **fixed):
    """The config of a ``train`` command: the flags given (see :func:`_add_config_flags`) over the defaults."""
    return cls(**fixed, **{k: getattr(args, k) for k in args.config_fields if getattr(args, k) is not None})


def _nonneg_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _pos_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _pos_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


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


def cmd_plot(args):
    from .fsutil import check_output
    from .pianoroll import encode
    from .plot import plot_pieces

    inputs = [args.input] + ([args.compare] if args.compare else [])
    check_output(args.output, force=args.force, protect=tuple(inputs), extensions=(".png",))
    if args.seconds is not None and not args.seconds > 0:
        raise MidistyleError(f"--seconds must be > 0, got {args.seconds}")
    settings = _settings_from_args(args)
    rolls = [encode(p, settings) for p in inputs]
    plot_pieces(rolls, args.output, titles=[os.path.basename(p) for p in inputs], start=args.start,
                seconds=args.seconds, force=args.force)
    if not args.quiet:
        print(f"wrote {args.output}")


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
    if args.runner == "beam":
        from .beamconvert import convert_beam

        report = convert_beam(_parse_sources(args.folders, args.genre), args.output,
                              settings=_settings_from_args(args), val_fraction=args.val_fraction,
                              seed=args.seed, force=args.force, shards=args.shards,
                              beam_options=args.beam_option, workers=args.workers)
    else:
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

    results = restyle(args.inputs, genre=args.to, model=args.model, output=args.output, force=args.force,
                      seed=args.seed, temperature=args.temperature, mean=args.mean, plot=args.plot,
                      max_seconds=args.max_seconds)
    for r in results:
        if args.json:
            print(json.dumps(r))
        elif not args.quiet:
            print(f"{r['input']} -> {r['output']}: {r['notes']} notes, velocity mean "
                  f"{r['mean_velocity_before']:.1f} -> {r['mean_velocity_after']:.1f}, std "
                  f"{r['std_velocity_before']:.1f} -> {r['std_velocity_after']:.1f}")


def cmd_train_velocity(args):
    from .velocity import VelocityConfig, train

    cfg = _config_from_args(VelocityConfig, args, seed=args.seed, max_steps_per_epoch=args.max_steps_per_epoch)
    meta = train(args.data, args.genre, args.output, cfg, strategy=args.strategy,
                 progress=not args.quiet, force=args.force)
    v = meta["validation"]
    line = ", ".join(f"{k} {m['rmse']:.2f}" for k, m in v["methods"].items())
    p = v["performance"]
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s); validation note RMSE (expected "
          f"velocity): {line}; NLL {p['nll_per_note']:.3f} nats/note, spread ratio {p['spread_ratio']:.2f}, "
          f"real-vs-sampled discriminator {p['discriminator']:.2f}")


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
    from .notefeatures import load_judge
    from .pianoroll import encode
    from .registry import velocity_judge_path, velocity_model_path
    from .velocity import VelocityModel, evaluate, note_beats_of
    from . import io as mio

    vm = VelocityModel.load(args.model or velocity_model_path(args.genre))
    paths = _collect_inputs(args.inputs)
    perfs = [mio.read(p) for p in paths]
    rolls = [encode(p, vm.settings) for p in perfs]
    judge = load_judge(velocity_judge_path())
    res = evaluate(vm, rolls, paths, beats=[note_beats_of(p) for p in perfs], seed=args.seed,
                   temperature=args.temperature, judge=judge)
    res["genre"] = vm.genre
    if args.json:
        print(json.dumps(res))
        return
    print(f"{vm.genre} velocity model on {res['pieces']} pieces, {res['notes']} notes")
    print(f"  expected velocity (--mean):\n  {'method':<16} {'RMSE':>7} {'MAE':>7} {'r':>6}")
    for k, m in res["methods"].items():
        print(f"  {k:<16} {m['rmse']:7.2f} {m['mae']:7.2f} {m['r']:6.3f}")
    p = res["performance"]
    print(f"  sampled performances (seed {p['seed']}, temperature {p['temperature']}):")
    print(f"  spread ratio (median std sampled / std real)   {p['spread_ratio']:.2f}")
    print(f"  lag-1 autocorrelation real / sampled           {p['lag1_real']:.2f} / {p['lag1_sampled']:.2f}")
    print(f"  negative log-likelihood per note (nats)        {p['nll_per_note']:.3f}")
    print(f"  real-vs-sampled discriminator accuracy         {p['discriminator']:.2f}  (0.50 = indistinguishable)")
    if "judged_genre_share" in p:
        print(f"  share judged {vm.genre} by the velocity-only judge   {p['judged_genre_share']:.2f}")


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
    v.add_argument("--seed", type=_nonneg_int, default=0,
                   help="seed of the drawn performance: same seed, same file (default: 0)")
    v.add_argument("--temperature", type=_pos_float, default=1.0,
                   help="1 draws from the model's distribution; lower is nearer its most likely velocity (default: 1)")
    v.add_argument("--mean", action="store_true",
                   help="write each note's expected velocity instead of a drawn performance (deterministic)")
    v.add_argument("--plot", metavar="PNG", help="write the input's and the output's velocity heat maps (one input)")
    v.add_argument("--max-seconds", type=_pos_float, default=7200.0,
                   help="refuse inputs longer than this, before allocating anything (default: 7200 = 2 h)")
    v.add_argument("--json", action="store_true", help="one JSON object per input")
    v.add_argument("--quiet", action="store_true", help="print nothing on success")
    v.set_defaults(func=cmd_velocity)

    t = sub.add_parser("train", help="train models (needs TensorFlow)")
    tsub = t.add_subparsers(dest="train_command", metavar="MODEL")
    tsub.required = True
    sub.train_subparsers = tsub
    tv = tsub.add_parser("velocity", help="train a genre's velocity model on an HDF5 dataset",
                         description="Train a velocity model on the train split of DATA.h5 for one genre, with "
                                     "validation each epoch, early stopping, best-model checkpoint, a CSV log and "
                                     "a loss-curve PNG beside the output.")
    tv.add_argument("data", metavar="DATA.h5")
    tv.add_argument("--genre", required=True)
    tv.add_argument("-o", "--output", required=True, help="model path, ending in .keras")
    from .velocity import VelocityConfig

    _add_config_flags(tv, VelocityConfig(), (
        ("--epochs", int, "most epochs (early stopping)"), ("--batch-size", int, "windows per batch"),
        ("--window", int, "training window in notes"), ("--channels", int, "channels of the autoregressive stack"),
        ("--cond-channels", int, "channels of the note-reading stack"), ("--learning-rate", float, "Adam learning rate"),
        ("--patience", int, "epochs without improvement before stopping"),
        ("--val-windows", int, "validation windows per piece", "val_windows_per_piece"),
        ("--dropout", float, "dropout on the note conditioning while training"),
        ("--input-noise", float, "std of the noise on the previous velocity/127 in training")))
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
    sub.evaluate_subparsers = esub  # lets other command groups add "evaluate WHAT" (_add_audio_commands)
    ev = esub.add_parser("velocity", help="how a velocity model plays real performances, against the real playing",
                         description="Play real performances with a velocity model and compare with how they were "
                                     "really played: note RMSE / MAE / r of the expected velocity against the "
                                     "genre-mean baseline, each file's own mean (an oracle) and the local-feature "
                                     "regressor; then, for drawn performances, the spread ratio, lag-1 "
                                     "autocorrelation, likelihood, a real-vs-restyled discriminator and the share "
                                     "the shipped velocity-only judge assigns to the model's genre (the transfer "
                                     "figure when the inputs are of another genre).")
    ev.add_argument("inputs", nargs="+", metavar="DIR_OR_FILE")
    ev.add_argument("--genre", help="shipped model of this genre")
    ev.add_argument("--model", help="model path instead of a shipped genre")
    ev.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the drawn performances (default: 0)")
    ev.add_argument("--temperature", type=_pos_float, default=1.0)
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate_velocity)
    return tsub


# ---------------------------------------------------------------------------- symbolic models
def cmd_train_classifier(args):
    from .classifier import ClassifierConfig, format_confusion, train

    cfg = ClassifierConfig(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
                           segment=args.segment, pool=args.pool, channels=args.channels,
                           embedding_dim=args.embedding_dim, use_velocity=args.use_velocity,
                           learning_rate=args.learning_rate, patience=args.patience, seed=args.seed)
    meta = train(args.data, args.output, cfg, progress=not args.quiet, force=args.force)
    v = meta["validation"]
    if args.json:
        print(json.dumps({"output": args.output, "training_seconds": meta["training"]["seconds"], "validation": v}))
        return
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s, {meta['training']['epochs_run']} epochs); "
          f"validation: segment accuracy {v['segment_accuracy']:.3f} ({v['segments']} segments), "
          f"piece accuracy {v['piece_accuracy']:.3f} ({v['pieces']} pieces)")
    print("piece-level confusion (rows: true, columns: predicted):")
    print(format_confusion(v["confusion_pieces"], v["genres"]))
    for m in v["misclassified"]:
        print(f"  misclassified: {m['name']} ({m['genre']}): {m['probabilities']}")


def cmd_train_chords(args):
    from .chords import ChordsConfig, train
    from .registry import classifier_path

    cfg = _config_from_args(ChordsConfig, args, seed=args.seed)
    meta = train(args.data, args.genre, args.classifier or classifier_path(), args.output, cfg,
                 progress=not args.quiet, force=args.force)
    v = meta["validation"]
    if args.json:
        print(json.dumps({"output": args.output, "training_seconds": meta["training"]["seconds"], "validation": v}))
        return
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s, {meta['training']['epochs_run']} epochs); "
          f"validation on {v['frames']} frames of {v['pieces']} pieces:")
    for k in ("model", "markov"):
        print(f"  {k:<10} NLL {v[k]['nll_per_frame']:7.3f} nats/frame   onset F1 {v[k]['onset_f1_best']:.3f} "
              f"(best threshold)")


def cmd_classify(args):
    from tqdm import tqdm

    from .classifier import load_default

    clf = load_default(args.model)
    paths = _collect_inputs(args.inputs)
    results = [clf.predict_file(p) for p in tqdm(paths, desc="classifying", unit="file", file=sys.stderr,
                                                  disable=True if args.quiet or len(paths) < 2 else None)]
    for r in results:
        if args.json:
            print(json.dumps({"file": r["file"], "genre": r["genre"], "probabilities": r["probabilities"]}))
        else:
            probs = ", ".join(f"{g} {p:.3f}" for g, p in r["probabilities"].items())
            print(f"{r['file']}: {r['genre']} ({probs})")


def cmd_embed(args):
    import numpy as np

    from .classifier import load_default, save_npy
    from .errors import OutputError
    from .io import CORPUS_PREFIX
    from .pianoroll import encode

    clf = load_default(args.model)
    if os.path.exists(args.output) and not args.force:
        raise OutputError(f"{args.output}: exists (use --force to overwrite)")
    emb = clf.embed(encode(args.input, clf.settings), per_segment=args.segments)
    protect = () if args.input.startswith(CORPUS_PREFIX) else (args.input,)
    save_npy(emb, args.output, force=args.force, protect=protect)
    if args.json:
        print(json.dumps({"file": args.input, "output": args.output, "shape": list(emb.shape),
                          "embedding": np.round(emb, 6).tolist()}))
    elif not args.quiet:
        print(f"{args.input} -> {args.output}: embedding of shape {tuple(emb.shape)}")


def cmd_chords(args):
    from .chords import generate

    r = generate(args.inspire, args.style, output=args.output, seconds=args.seconds, seed=args.seed,
                 temperature=args.temperature, force=args.force, model=args.model, classifier=args.classifier,
                 velocity=not args.constant_velocity, prime=args.prime)
    if r["warning"]:
        print(f"warning: {r['warning']}", file=sys.stderr)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        vel = os.path.basename(r["velocity_model"]) if r["velocity_model"] else "constant 64"
        print(f"{r['input']} -> {r['output']}: {r['seconds']:g} s of {r['style']} chords, {r['notes']} notes "
              f"({r['notes_per_s']:.1f}/s), mean polyphony {r['polyphony']:.1f}, pedal {100 * r['pedal_share']:.0f} %, "
              f"seed {r['seed']}, velocities: {vel}")


def cmd_evaluate_chords(args):
    from . import io as mio
    from .chordeval import TEXTURE_NAMES, evaluate_generation
    from .chords import ChordModel, shipped_velocity_model
    from .classifier import GenreClassifier
    from .notefeatures import load_judge
    from .pianoroll import encode
    from .registry import chords_model_path, classifier_path, content_judge_path

    if not (args.style or args.model):
        raise MidistyleError("name the target with --style GENRE or --model PATH")
    cm = ChordModel.load(args.model or chords_model_path(args.style))
    clf = GenreClassifier.load(args.classifier or classifier_path())
    cm.check_classifier(clf)
    inspirations = [mio.read(p) for p in _collect_inputs(args.inspire)]
    real = [encode(p, cm.settings) for p in _collect_inputs(args.real)]
    vm = None if args.constant_velocity else shipped_velocity_model(cm.genre)[0]
    res = evaluate_generation(cm, clf, inspirations, real, load_judge(content_judge_path()), velocity_model=vm,
                              seconds=args.seconds, seed=args.seed, temperature=args.temperature, prime=args.prime)
    res["genre"] = cm.genre
    if args.json:
        print(json.dumps(res))
        return
    print(f"chords-{cm.genre}: {res['generated_with_notes']} of {res['pieces']} inspirations gave music "
          f"({args.seconds:g} s each, seed {args.seed}, prime {args.prime:g} s)")
    if res["judged_target"] is not None:
        print(f"  independent content judge: {100 * res['judged_target']:.0f} % judged {cm.genre}")
    print(f"  real-vs-generated discriminator (balanced accuracy): {res['discriminator']:.2f}")
    print(f"  {'texture':<14} {'generated':>10} {'real':>8} {'ratio':>6}")
    for k in TEXTURE_NAMES:
        t = res["texture"][k]
        print(f"  {k:<14} {t['generated']:10.3f} {t['real']:8.3f} {t['ratio']:6.2f}")
    if res["link"]:
        print(f"  pitch-class profile correlation with its inspiration {res['link']['own']:.2f} vs other "
              f"inspirations {res['link']['other']:.2f}")


def _add_symbolic_commands(sub, train_sub):
    """Genre classifier, style embedding and chord generation (``train classifier``, ``train chords``,
    ``classify``, ``embed``, ``chords``)."""
    tc = train_sub.add_parser(
        "classifier", help="train the genre classifier / style embedding on an HDF5 dataset",
        description="Train a dilated 1-D CNN on piano-roll segments (held notes and onsets, max-pooled to "
                    "100 ms) of the dataset's train split to tell its genres apart; the split is by piece (as "
                    "stored in the dataset). Validates each epoch with early stopping and a best-model "
                    "checkpoint, writes MODEL.{keras,json,npz,log.csv,loss.png}, and reports segment- and "
                    "piece-level accuracy and the confusion matrix on the validation pieces.",
        epilog="example:\n  midistyle train classifier work_data/tpd.h5 -o models/classifier.keras --seed 0",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    tc.add_argument("data", metavar="DATA.h5")
    tc.add_argument("-o", "--output", required=True, help="model path, ending in .keras")
    tc.add_argument("--epochs", type=int, default=30, help="most epochs (early stopping; default: 30)")
    tc.add_argument("--steps-per-epoch", type=int, default=60, help="batches per epoch (default: 60)")
    tc.add_argument("--batch-size", type=int, default=32)
    tc.add_argument("--segment", type=int, default=256, help="frames per segment (default: 256 = 25.6 s)")
    tc.add_argument("--pool", type=int, default=4, help="25 ms steps max-pooled per frame (default: 4 = 100 ms)")
    tc.add_argument("--channels", type=int, default=32, help="channels of the dilated stack (default: 32)")
    tc.add_argument("--embedding-dim", type=int, default=48, help="size of the style embedding (default: 48)")
    tc.add_argument("--use-velocity", action="store_true", help="also feed onset velocities (default: off)")
    tc.add_argument("--learning-rate", type=float, default=2e-3)
    tc.add_argument("--patience", type=int, default=6, help="epochs without improvement before stopping (default: 6)")
    tc.add_argument("--seed", type=int, default=0)
    tc.add_argument("--force", action="store_true", help="overwrite an existing model")
    tc.add_argument("--quiet", action="store_true", help="no progress bars")
    tc.add_argument("--json", action="store_true", help="print the validation figures as JSON")
    tc.set_defaults(func=cmd_train_classifier)

    th = train_sub.add_parser(
        "chords", help="train a genre's LSTM chord generator on an HDF5 dataset",
        description="Train an LSTM on the onsets, held notes and sustain pedal, in 50 ms frames, of one genre's "
                    "train pieces (transposed by up to +-6 semitones); the classifier's embedding of each piece "
                    "sets the LSTM's initial state. Validates each epoch (early stopping, checkpoint), writes "
                    "MODEL.{keras,json,npz,log.csv,loss.png} and reports validation NLL and onset F1 against "
                    "the per-key Markov baseline.",
        epilog="example:\n  midistyle train chords --genre classical work_data/tpd.h5 "
               "--classifier models/classifier.keras -o models/chords-classical.keras",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    th.add_argument("data", metavar="DATA.h5")
    th.add_argument("--genre", required=True)
    th.add_argument("--classifier", help="classifier giving the embeddings (default: the shipped one)")
    th.add_argument("-o", "--output", required=True, help="model path, ending in .keras")
    from .chords import ChordsConfig

    _add_config_flags(th, ChordsConfig(), (
        ("--epochs", int, "most epochs (early stopping)"), ("--steps-per-epoch", int, "batches per epoch"),
        ("--batch-size", int, "windows per batch"), ("--units", int, "LSTM units"),
        ("--seq-len", int, "frames per training window"), ("--frame-steps", int, "25 ms steps per frame"),
        ("--transpose", int, "training windows transposed by up to +- this many semitones"),
        ("--foreign-cond", float, "share of training windows started from another genre's embedding"),
        ("--learning-rate", float, "Adam learning rate"),
        ("--input-noise", float, "share of fed-back key/pedal bits flipped in training"),
        ("--patience", int, "epochs without improvement before stopping")))
    th.add_argument("--seed", type=int, default=0)
    th.add_argument("--force", action="store_true", help="overwrite an existing model")
    th.add_argument("--quiet", action="store_true", help="no progress bars")
    th.add_argument("--json", action="store_true", help="print the validation figures as JSON")
    th.set_defaults(func=cmd_train_chords)

    c = sub.add_parser("classify", help="predict the genre of MIDI files",
                       description="Predict each input's genre with the genre classifier: segments of 25.6 s are "
                                   "classified and their probabilities averaged over the piece.",
                       epilog="examples:\n  midistyle classify song.mid other.mid\n"
                              "  midistyle classify --json DIR   # one JSON object per file: file, genre, probabilities",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("inputs", nargs="+", metavar="FILE", help="MIDI file(s), score(s), corpus:NAME or folders")
    c.add_argument("--model", help="classifier (.keras) instead of the shipped one")
    c.add_argument("--json", action="store_true", help="one JSON object per file with keys file, genre, probabilities")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_classify)

    e = sub.add_parser("embed", help="write the style embedding of a piece (.npy)",
                       description="Write the classifier's style embedding of one input: the mean over its "
                                   "segments, a float32 vector (or every segment's with --segments).",
                       epilog="example:\n  midistyle embed song.mid -o song.npy",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("input", metavar="FILE")
    e.add_argument("-o", "--output", required=True, help="output .npy file")
    e.add_argument("--segments", action="store_true", help="one row per 25.6 s segment instead of the mean")
    e.add_argument("--model", help="classifier (.keras) instead of the shipped one")
    e.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    e.add_argument("--json", action="store_true", help="also print the embedding as JSON")
    e.add_argument("--quiet", action="store_true", help="print nothing on success")
    e.set_defaults(func=cmd_embed)

    g = sub.add_parser("chords", help="generate chords in a genre, inspired by a piece",
                       description="The style embedding of the inspiration starts the LSTM generator of the "
                                   "target genre (and with --prime, the inspiration's first seconds are read through "
                                   "it first), which draws the struck keys, the held keys and the sustain pedal of "
                                   "each 50 ms frame and feeds them back. Struck keys become notes that last while "
                                   "held; velocities are drawn by the genre's velocity model when one is shipped. "
                                   "Same --seed, same file.",
                       epilog="example:\n  midistyle chords --inspire song.mid --style jazz --seconds 30 --seed 1"
                              "   # writes song.chords-jazz.mid",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("--inspire", required=True, metavar="IN", help="MIDI file, score or corpus:NAME")
    g.add_argument("--style", required=True, metavar="GENRE", help="target genre (a shipped chord model)")
    g.add_argument("-o", "--output", help="output file (default: IN.chords-GENRE.mid beside the input)")
    g.add_argument("--seconds", type=_pos_float, default=30.0, help="length of the output (default: 30)")
    g.add_argument("--prime", type=float, default=0.0, metavar="SECONDS",
                   help="read the inspiration's first SECONDS through the generator before drawing (default: 0)")
    g.add_argument("--seed", type=_nonneg_int, default=None, help="seed of the draws (default: a fresh one, printed)")
    g.add_argument("--temperature", type=_pos_float, default=1.0,
                   help="sampling temperature: >1 more adventurous, <1 more conservative (default: 1)")
    g.add_argument("--model", help="chord model (.keras) instead of the shipped one")
    g.add_argument("--classifier", help="classifier (.keras) instead of the shipped one")
    g.add_argument("--constant-velocity", action="store_true", help="velocity 64 instead of the velocity model")
    g.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    g.add_argument("--json", action="store_true", help="print the result as one JSON object")
    g.add_argument("--quiet", action="store_true", help="print nothing on success (warnings still go to stderr)")
    g.set_defaults(func=cmd_chords)

    ec = sub.evaluate_subparsers.add_parser(
        "chords", help="judge generated music with judges the generator was not trained against",
        description="Generate SECONDS of music in the chord model's genre from each inspiration, then judge it: "
                    "the share the independent content judge (logistic regression on pitch-class, interval, "
                    "rhythm, polyphony and pedal statistics; shipped as models/content-judge.json) assigns to "
                    "the target genre, a cross-validated real-vs-generated discriminator against windows of the "
                    "--real pieces (balanced accuracy, 0.5 = indistinguishable), texture figures generated vs "
                    "real, and how much each output keeps of its inspiration's pitch-class profile.",
        epilog="example:\n  midistyle evaluate chords --style classical --inspire tpd/jazz --real tpd/classical",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ec.add_argument("--style", metavar="GENRE", help="target genre (a shipped chord model)")
    ec.add_argument("--model", help="chord model (.keras) instead of the shipped one")
    ec.add_argument("--classifier", help="classifier (.keras) instead of the shipped one")
    ec.add_argument("--inspire", nargs="+", required=True, metavar="DIR_OR_FILE", help="inspirations")
    ec.add_argument("--real", nargs="+", required=True, metavar="DIR_OR_FILE", help="real pieces of the target genre")
    ec.add_argument("--seconds", type=_pos_float, default=20.0, help="seconds generated per inspiration (default: 20)")
    ec.add_argument("--prime", type=float, default=0.0, metavar="SECONDS", help="as for `chords` (default: 0)")
    ec.add_argument("--seed", type=_nonneg_int, default=0)
    ec.add_argument("--temperature", type=_pos_float, default=1.0)
    ec.add_argument("--constant-velocity", action="store_true", help="velocity 64 instead of the velocity model")
    ec.add_argument("--json", action="store_true")
    ec.set_defaults(func=cmd_evaluate_chords)


# ---------------------------------------------------------------------------- audio
def _transfer_settings(args, content_weight=None):
    """Settings of the method named by ``--method`` (ulyanov or multi), defaults per method."""
    cw = args.content_weight if content_weight is None else content_weight
    if getattr(args, "method", "ulyanov") == "multi":
        from .audio.multi import MultiSettings

        if (getattr(args, "net", "conv1d") != "conv1d" or getattr(args, "warm_iterations", 0)
                or getattr(args, "fast", False)
                or getattr(args, "precision", "float32") != "float32"):
            raise MidistyleError("--net, --fast, --warm-* and --precision belong to --method ulyanov")

        return MultiSettings(sr=args.sr, preset=args.preset or "full", terms=_parse_terms(args.terms),
                             content_weight=1.0 if cw is None else cw,
                             stft_filters=args.filters or 512, stft_kernel=args.kernel or 11,
                             mel_filters=args.mel_filters, cqt_filters=args.cqt_filters,
                             activation=args.activation or "selu", sparsity=args.sparsity,
                             iterations=100 if getattr(args, "iterations", None) is None else args.iterations,
                             init=getattr(args, "init", "noise"), seed=args.seed)
    from .audio.gramnets import net_defaults
    from .audio.transfer import TransferSettings

    if getattr(args, "preset", None) or getattr(args, "terms", None) or getattr(args, "sparsity", 0):
        raise MidistyleError("--preset, --terms and --sparsity belong to --method multi")
    it = getattr(args, "iterations", 0)
    net = getattr(args, "net", "conv1d")
    nd = net_defaults(net)
    fast = getattr(args, "fast", False)
    s = TransferSettings(sr=args.sr, filters=args.filters or nd["filters"], kernel=args.kernel or nd["kernel"],
                         net=net, optimizer=getattr(args, "optimizer", None) or nd["optimizer"],
                         activation=args.activation or "relu", content_weight=1e-2 if cw is None else cw,
                         iterations=(150 if fast else 300) if it is None else it,
                         learning_rate=getattr(args, "learning_rate", 0.02), seed=args.seed,
                         griffin_lim_iterations=getattr(args, "griffin_lim_iterations", 0),
                         waveform_iterations=getattr(args, "waveform_iterations", 0),
                         init=getattr(args, "init", "noise"), warm_filters=getattr(args, "warm_filters", 0),
                         warm_iterations=getattr(args, "warm_iterations", 0),
                         precision=getattr(args, "precision", "float32"))
    if fast:
        from .audio.transfer import fast_settings

        return fast_settings(s, iterations=150 if it is None else it)
    return s


def _parse_terms(text):
    """``stft_style=1,cqt_content=0.5`` -> dict of floats (a clear error on bad syntax)."""
    out = {}
    for part in filter(None, (text or "").split(",")):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise MidistyleError(f"--terms: expected NAME=FACTOR[,NAME=FACTOR...], got {part!r}") from None
    return out


def cmd_render(args):
    from .audio.files import render_file

    r = render_file(args.input, args.output, sr=args.sr, soundfont=args.soundfont, force=args.force,
                    float_samples=args.float)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        print(f"{r['input']} -> {r['output']}: {r['seconds']:.1f} s at {r['sample_rate']} Hz, {r['notes']} notes "
              f"(rendered in {r['render_seconds']:.1f} s)")


def _print_transfer(args, r):
    if args.json:
        print(json.dumps(r))
        return
    if args.quiet:
        return
    from .audio.transfer import format_summary

    print(format_summary(r))


def cmd_audio_transfer(args):
    from .audio.transfer import transfer_files

    content = args.content
    if args.content_weight == 0:
        # texture of the content's length: the content only sets the duration
        from .audio.files import load_input

        n = len(load_input(content, args.sr, args.soundfont))
        r = transfer_files(None, args.style, args.output, _transfer_settings(args), seconds=n / args.sr,
                           force=args.force, plot=args.plot, progress=not args.quiet,
                           float_samples=args.float, soundfont=args.soundfont)
        r["content"] = content
    else:
        r = transfer_files(content, args.style, args.output, _transfer_settings(args), force=args.force,
                           plot=args.plot, progress=not args.quiet, float_samples=args.float,
                           soundfont=args.soundfont)
    _print_transfer(args, r)


def cmd_audio_texture(args):
    from .audio.transfer import transfer_files

    r = transfer_files(None, args.style, args.output, _transfer_settings(args, content_weight=0.0),
                       seconds=args.seconds, force=args.force, plot=args.plot, progress=not args.quiet,
                       float_samples=args.float, soundfont=args.soundfont)
    _print_transfer(args, r)


def cmd_train_cyclegan(args):
    from .audio.cyclegan import CycleGANConfig, train

    cfg = CycleGANConfig(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
                         seconds_per_file=args.seconds, max_files=args.max_files, max_val_files=args.max_val_files,
                         base_channels=args.channels, res_blocks=args.res_blocks, learning_rate=args.learning_rate,
                         seed=args.seed)
    meta = train(args.a, args.b, args.output, cfg, names=(args.name_a, args.name_b), force=args.force,
                 progress=not args.quiet)
    if args.json:
        print(json.dumps({k: meta[k] for k in ("data", "validation")} | {"training": {
            k: v for k, v in meta["training"].items() if k != "history"}}))
        return
    v = meta["validation"]
    t = meta["training"]
    print(f"{args.output}: validation cycle loss (L1, both directions) {v['before']['cycle']:.4f} -> "
          f"{v['after']['cycle']:.4f}, identity {v['before']['identity']:.4f} -> {v['after']['identity']:.4f}; "
          f"{t['steps']} steps in {t['seconds']:.0f} s ({t['examples_per_second']:.1f} examples/s)")


def cmd_audio_translate(args):
    from .audio.cyclegan import format_translation, translate_file

    r = translate_file(args.model, args.to, args.input, args.output, phase=args.phase, force=args.force,
                       soundfont=args.soundfont)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        print(format_translation(r))


def cmd_evaluate_audio(args):
    from .audio.evaluate import evaluate_audio, format_evaluation

    r = evaluate_audio(args.content, args.style, args.result, settings=_transfer_settings(args),
                       judge_seed=args.judge_seed, judge_filters=args.judge_filters, judge_kernel=args.judge_kernel,
                       classifier=args.model, soundfont=args.soundfont)
    print(json.dumps(r) if args.json else format_evaluation(r))


def _parse_offsets(text):
    """``-6..6`` or ``-2,0,2`` -> list of ints."""
    try:
        if ".." in text:
            a, b = text.split("..")
            return list(range(int(a), int(b) + 1))
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise MidistyleError(f"--offsets: expected A..B or a comma list of integers, got {text!r}") from None


def cmd_evaluate_key_invariance(args):
    from .audio.evaluate import key_invariance, plot_key_invariance
    from .fsutil import check_output
    from .audio.multi import MultiSettings

    if args.plot:
        check_output(args.plot, force=args.force, extensions=(".png",))
    notes = None
    if args.input:
        from .io import read

        notes = read(args.input).notes
    s = MultiSettings(stft_filters=args.filters, cqt_filters=args.cqt_filters, iterations=args.iterations,
                      seed=args.seed, activation=args.activation).validate()
    r = key_invariance(notes, _parse_offsets(args.offsets), settings=s, seconds=args.seconds,
                       soundfont=args.soundfont, progress=not args.quiet)
    if args.plot:
        plot_key_invariance(r, args.plot, force=args.force)
    r["plot"] = args.plot
    if args.json:
        print(json.dumps(r))
        return
    if args.quiet:
        return
    names = r["representations"]
    print("offset  " + "  ".join(f"{n:>20}" for n in names))
    for i, off in enumerate(r["offsets"]):
        print(f"{off:+6d}  " + "  ".join(f"{r['mse'][n][i]:20.4f}" for n in names))
    print("mean (non-zero offsets)  " + ", ".join(f"{n} {r['mean_nonzero'][n]:.4f}" for n in names))
    print(f"key-invariant content beats plain STFT at {r['wins']} of {r['nonzero_offsets']} non-zero offsets"
          + (f"; plot {args.plot}" if args.plot else ""))


def _add_spectral_args(p, iterations=True):
    p.add_argument("--sr", type=int, default=22050, help="sample rate of the analysis (default: 22050)")
    p.add_argument("--filters", type=int, default=None,
                   help="random Conv1D filters on the STFT (default: 4096, the reference; multi: 512); "
                        "units of --net rnn/bilstm (default: 256)")
    p.add_argument("--kernel", type=int, default=None,
                   help="filter width in STFT frames (default: 11; --net cnn: 3)")
    p.add_argument("--activation", choices=("relu", "selu", "elu", "leaky_relu"), default=None,
                   help="activation after the convolutions (default: relu; multi: selu with LeCun-normal "
                        "weights; multi takes selu or relu)")
    p.add_argument("--seed", type=int, default=0, help="seed of the filters, the start and the phases (default: 0)")
    p.add_argument("--soundfont", metavar="SF2", help="SoundFont for MIDI inputs (default: the bundled TimGM6mb.sf2)")
    if iterations:
        p.add_argument("--iterations", type=int, default=None,
                       help="optimiser iterations (default: 300, the reference L-BFGS-B budget; multi: 100)")
        p.add_argument("--optimizer", choices=("lbfgs", "adam"), default=None,
                       help="SciPy L-BFGS-B (default, converges faster here) or Adam (default of --net "
                            "cnn/rnn/bilstm, as in seed 000)")
        p.add_argument("--learning-rate", type=float, default=0.02, help="Adam step size (default: 0.02)")
        p.add_argument("--init", choices=("noise", "content"), default="noise",
                       help="start from small noise (reference) or from the content spectrogram")
        p.add_argument("--griffin-lim-iterations", type=int, default=300,
                       help="fast Griffin-Lim iterations for the phase (default: 300; multi needs none)")
        p.add_argument("--waveform-iterations", type=int, default=50,
                       help="L-BFGS-B iterations on the waveform after Griffin-Lim, so the audio written carries "
                            "the loss reported (default: 50; 0: off; multi optimises the waveform throughout)")
        p.add_argument("--method", choices=("ulyanov", "multi"), default="ulyanov",
                       help="ulyanov: optimise the log STFT, then Griffin-Lim (default); multi: optimise the "
                            "waveform through STFT, Mel and CQT networks (Barry & Kim)")
        u = p.add_argument_group("--method ulyanov")
        u.add_argument("--fast", action="store_true",
                       help="warm start on 1/8 of the filters (150 iterations), then 150 full iterations, "
                            "bfloat16 input gradients on CPUs with AVX512-BF16; on the 10 s benchmark its WAV was "
                            "ready 3.2x sooner than the plain reference's and closer to the style under the "
                            "independent judge (see benchmarks/bench_audio_transfer.py)")
        u.add_argument("--warm-filters", type=int, default=0,
                       help="warm start: first optimise the loss of only this many of the filters (default: 0, "
                            "off; see --fast and benchmarks/bench_audio_transfer.py)")
        u.add_argument("--warm-iterations", type=int, default=0, help="L-BFGS-B iterations of the warm start")
        u.add_argument("--precision", choices=("float32", "bfloat16-grad", "bfloat16"), default="float32",
                       help="bfloat16-grad: only the convolution's input gradient as a bfloat16 product (the "
                            "loss stays float32); bfloat16: the convolution too (final losses re-measured in "
                            "float32). bfloat16 products are about 2.2x faster on CPUs with AVX512-BF16 "
                            "(default: float32)")
        u.add_argument("--net", choices=("conv1d", "cnn", "rnn", "bilstm"), default="conv1d",
                       help="feature network: conv1d (the reference, default); seed 000's cnn (Conv1D k=3), "
                            "rnn or bilstm (random recurrent layer + dense layer; Gram of its output)")
        m = p.add_argument_group("--method multi")
        m.add_argument("--preset", choices=("stft", "mel", "cqt", "stft+mel", "stft+cqt", "mel+cqt", "full"),
                       default=None, help="networks that take part (default: full)")
        m.add_argument("--terms", metavar="NAME=F,...",
                       help="user factor per loss term after gradient-norm normalisation, e.g. "
                            "cqt_content=2,stft_style=0 (terms: stft|mel|cqt _content|_style)")
        m.add_argument("--mel-filters", type=int, default=256, help="channels of the Mel network (default: 256)")
        m.add_argument("--cqt-filters", type=int, default=32, help="2-D filters of the CQT network (default: 32)")
        m.add_argument("--sparsity", type=float, default=0.0,
                       help="L1 penalty on the result's log STFT, relative to the unit-norm terms (default: 0)")
        p.add_argument("--plot", metavar="PNG", help="write content/style/result spectrograms and the loss curve")
        p.add_argument("--float", action="store_true", help="write 32-bit float WAV instead of 16-bit PCM")
        p.add_argument("--force", action="store_true", help="overwrite existing outputs (never an input)")
        p.add_argument("--json", action="store_true", help="print the result as one JSON object")
        p.add_argument("--quiet", action="store_true", help="no progress bars, print nothing on success")


def _add_audio_commands(sub):
    """Waveform path and audio style transfer: ``render``, ``audio transfer``, ``audio texture``,
    ``evaluate audio``."""
    r = sub.add_parser("render", help="synthesise MIDI to a WAV / FLAC file (SoundFont piano)",
                       description="Render a MIDI file (or score) with the piano of a SoundFont, in pure NumPy: "
                                   "sustain pedal held notes ring until the pedal is up, soft pedal plays softer. "
                                   "Works offline with the SoundFont bundled with pretty_midi (TimGM6mb.sf2). "
                                   "The output is peak-normalised to -1 dBFS.",
                       epilog="example:\n  midistyle render song.mid -o song.wav --sr 22050",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("input", metavar="IN", help="MIDI file, score or corpus:NAME")
    r.add_argument("-o", "--output", help="output .wav or .flac (default: IN.wav beside the input)")
    r.add_argument("--sr", type=int, default=22050, help="sample rate (default: 22050)")
    r.add_argument("--soundfont", metavar="SF2", help="SoundFont file (default: the bundled TimGM6mb.sf2)")
    r.add_argument("--float", action="store_true", help="write 32-bit float WAV instead of 16-bit PCM")
    r.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    r.add_argument("--json", action="store_true", help="print the result as one JSON object")
    r.add_argument("--quiet", action="store_true", help="print nothing on success")
    r.set_defaults(func=cmd_render)

    a = sub.add_parser("audio", help="audio style transfer and texture synthesis (Ulyanov method)")
    asub = a.add_subparsers(dest="audio_command", metavar="ACTION")
    asub.required = True
    t = asub.add_parser(
        "transfer", help="restyle a content clip with the spectral texture of a style clip",
        description="Ulyanov-style spectral style transfer: log1p |STFT| (n_fft 2048, hop 512), one Conv1D of "
                    "fixed random filters over time with the frequency bins as channels, style loss on Gram "
                    "matrices (normalised by length, so clips may differ in length), content loss on the feature "
                    "maps weighted by --content-weight; the spectrogram is optimised (L-BFGS-B or Adam), "
                    "Griffin-Lim finds a phase, and the waveform itself is refined on the same loss "
                    "(--waveform-iterations), so the file written carries the loss reported (printed, with the "
                    "file read back). The result keeps the optimised level (peaks beyond full scale are bent by "
                    "a soft limiter, reported). Inputs may be WAV/FLAC or MIDI (rendered first). The result has "
                    "the content's length. --content-weight 0 makes a texture of the style. Judge the result "
                    "with `midistyle evaluate audio`.",
        epilog="example:\n  midistyle audio transfer --content a.mid --style b.wav -o out.wav --plot out.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--content", required=True, metavar="C", help="content clip (WAV/FLAC/MIDI)")
    t.add_argument("--style", required=True, metavar="S", help="style clip (WAV/FLAC/MIDI)")
    t.add_argument("-o", "--output", required=True, help="result .wav or .flac")
    t.add_argument("--content-weight", type=float, default=None,
                   help="alpha, weight of the content loss (default: 0.01; multi: 1, a factor on every content "
                        "term; 0: texture of the content's length)")
    _add_spectral_args(t)
    t.set_defaults(func=cmd_audio_transfer)

    x = asub.add_parser(
        "texture", help="synthesise a texture from a style clip alone",
        description="Ulyanov texture synthesis: only the style (Gram) loss; the result is --seconds long "
                    "(default: the style clip's length).",
        epilog="example:\n  midistyle audio texture --style b.wav --seconds 15 -o texture.wav",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    x.add_argument("--style", required=True, metavar="S", help="style clip (WAV/FLAC/MIDI)")
    x.add_argument("-o", "--output", required=True, help="result .wav or .flac")
    x.add_argument("--seconds", type=float, default=None, help="length of the texture (default: the style's)")
    x.set_defaults(content_weight=0.0)
    _add_spectral_args(x)
    x.set_defaults(func=cmd_audio_texture)

    tr = asub.add_parser(
        "translate", help="translate a clip to the other genre with a trained CycleGAN",
        description="Map the log-magnitude STFT of IN through the CycleGAN generator towards --to and rebuild "
                    "the waveform with the input's phase (default) or Griffin-Lim. IN may be WAV/FLAC or MIDI "
                    "(rendered first). Train a model with `midistyle train cyclegan`.",
        epilog="example:\n  midistyle audio translate --model work_data/cyclegan.keras --to classical in.wav -o out.wav",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    tr.add_argument("input", metavar="IN")
    tr.add_argument("--model", required=True, help="CycleGAN .keras written by `midistyle train cyclegan`")
    tr.add_argument("--to", required=True, help="target domain: its name or a / b")
    tr.add_argument("-o", "--output", required=True, help="result .wav or .flac")
    tr.add_argument("--phase", choices=("input", "griffin-lim"), default="input",
                    help="phase of the result: the input's (default) or Griffin-Lim's")
    tr.add_argument("--soundfont", metavar="SF2", help="SoundFont for a MIDI input")
    tr.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    tr.add_argument("--json", action="store_true", help="print the result as one JSON object")
    tr.add_argument("--quiet", action="store_true", help="print nothing on success")
    tr.set_defaults(func=cmd_audio_translate)

    tsub = getattr(sub, "train_subparsers", None)
    if tsub is not None:
        tg = tsub.add_parser(
            "cyclegan", help="train a CycleGAN between two folders of audio / MIDI (STFT magnitude)",
            description="Unpaired translation between two genres on log1p |STFT| (16 kHz, 256 bins, 16 ms hop): "
                        "ResNet generators with reflection padding and instance normalisation, PatchGAN "
                        "discriminators, least-squares adversarial + L1 cycle (x10) + identity (x5) losses. The middle "
                        "--seconds of each file is used (MIDI is rendered through the SoundFont path). Each folder "
                        "is split by file content like `dataset convert` (15 %% validation); the validation cycle "
                        "loss is reported before and after training. Writes MODEL.keras, MODEL.json, MODEL.log.csv.",
            epilog="example:\n  midistyle train cyclegan --a ../shared/data/tpd/jazz --b ../shared/data/tpd/classical "
                   "\\\n      --name-a jazz --name-b classical -o work_data/cyclegan.keras",
            formatter_class=argparse.RawDescriptionHelpFormatter)
        tg.add_argument("--a", required=True, metavar="DIR_A", help="folder of domain A (audio or MIDI)")
        tg.add_argument("--b", required=True, metavar="DIR_B", help="folder of domain B")
        tg.add_argument("--name-a", default="a", help="name of domain A (default: a)")
        tg.add_argument("--name-b", default="b", help="name of domain B (default: b)")
        tg.add_argument("-o", "--output", required=True, help="model path, ending in .keras")
        tg.add_argument("--epochs", type=int, default=6, help="epochs (default: 6)")
        tg.add_argument("--steps-per-epoch", type=int, default=50, help="batches per epoch (default: 50)")
        tg.add_argument("--batch-size", type=int, default=8)
        tg.add_argument("--seconds", type=float, default=30.0, help="seconds taken from each file (default: 30)")
        tg.add_argument("--max-files", type=int, default=40, help="most training files per domain (0: all; default: 40)")
        tg.add_argument("--max-val-files", type=int, default=8, help="most validation files per domain (default: 8)")
        tg.add_argument("--channels", type=int, default=16, help="first generator layer's channels (default: 16)")
        tg.add_argument("--res-blocks", type=int, default=3, help="residual blocks (default: 3)")
        tg.add_argument("--learning-rate", type=float, default=2e-4)
        tg.add_argument("--seed", type=int, default=0)
        tg.add_argument("--force", action="store_true", help="overwrite an existing model")
        tg.add_argument("--quiet", action="store_true", help="no progress bars")
        tg.add_argument("--json", action="store_true", help="print the figures as JSON")
        tg.set_defaults(func=cmd_train_cyclegan)

    esub = getattr(sub, "evaluate_subparsers", None)
    if esub is not None:
        ea = esub.add_parser(
            "audio", help="genre probabilities, losses, rhythm and copy checks of an audio transfer",
            description="For content C, style S and result R (WAV/FLAC or MIDI): the style loss of R and of C "
                        "against S under an independent judge network (the reference Conv1D, 4096 x 11, drawn "
                        "from the transfer's --seed + 1000 unless --judge-seed), their ratio, and a FLAG line "
                        "when R is not closer to the style than C; the same losses under the transfer's own "
                        "filters (give the transfer's --seed/--filters/--kernel/--activation), the content "
                        "loss of R against C, the audio genre classifier's probabilities for all three, the KL "
                        "divergence of inter-onset-interval distributions (librosa onsets) between R and S, and "
                        "the maximum normalised cross-correlation of the R and S waveforms (near 1 would mean R "
                        "copies S). For a texture, give any other clip as C.",
            epilog="example:\n  midistyle evaluate audio --content a.mid --style b.wav --result out.wav --json",
            formatter_class=argparse.RawDescriptionHelpFormatter)
        ea.add_argument("--content", required=True, metavar="C")
        ea.add_argument("--style", required=True, metavar="S")
        ea.add_argument("--result", required=True, metavar="R")
        ea.add_argument("--content-weight", type=float, default=1e-2, help="alpha of the content loss (default: 0.01)")
        ea.add_argument("--judge-seed", type=int, default=None,
                        help="seed of the independent judge network (default: the transfer's --seed + 1000)")
        ea.add_argument("--judge-filters", type=int, default=4096,
                        help="filters of the judge network (default: 4096, the reference)")
        ea.add_argument("--judge-kernel", type=int, default=11,
                        help="filter width of the judge network (default: 11, the reference)")
        ea.add_argument("--model", help="audio genre classifier instead of models/audio-genre.keras")
        ea.add_argument("--json", action="store_true", help="print every figure as one JSON object")
        _add_spectral_args(ea, iterations=False)
        ea.set_defaults(func=cmd_evaluate_audio)

        k = esub.add_parser(
            "key-invariance", help="does a key-invariant content loss let the result take the style's key?",
            description="Seed 001's experiment with --method multi: a short melody with harmony (or --input) is "
                        "rendered as content and in each transposition (--offsets, default -6..6 semitones) as "
                        "style; the content is restyled once with the plain STFT content loss and once with the "
                        "key-invariant CQT content loss (max-pooled over frequency), and the log-STFT MSE between "
                        "result and style is reported per offset (a table, --json, --plot PNG).",
            epilog="example:\n  midistyle evaluate key-invariance --plot keyinv.png",
            formatter_class=argparse.RawDescriptionHelpFormatter)
        k.add_argument("--input", metavar="MIDI", help="notes to transpose (default: a built-in 3 s I-IV-V-I tune)")
        k.add_argument("--offsets", default="-6..6", help="transpositions in semitones: A..B or a,b,c (default: -6..6)")
        k.add_argument("--seconds", type=float, default=None, help="clip length (default: the notes' end + 0.5 s)")
        k.add_argument("--iterations", type=int, default=40, help="L-BFGS-B iterations per run (default: 40)")
        k.add_argument("--filters", type=int, default=256, help="STFT network filters (default: 256)")
        k.add_argument("--cqt-filters", type=int, default=16, help="CQT network filters (default: 16)")
        k.add_argument("--activation", choices=("selu", "relu"), default="selu")
        k.add_argument("--seed", type=int, default=0)
        k.add_argument("--soundfont", metavar="SF2")
        k.add_argument("--plot", metavar="PNG", help="write the error-per-offset plot")
        k.add_argument("--force", action="store_true", help="overwrite an existing plot")
        k.add_argument("--json", action="store_true", help="print the figures as one JSON object")
        k.add_argument("--quiet", action="store_true", help="no progress bar")
        k.set_defaults(func=cmd_evaluate_key_invariance)


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every subcommand)."""
    p = _Parser(
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

    pl = sub.add_parser("plot", help="draw a piece: held notes, velocity, onsets, pedals (PNG)",
                        description="The seed's figure of a piece: three panels over time (held notes, velocity "
                                    "heat map, onsets) and the pedals as a strip below. With --compare, a second "
                                    "piece is drawn below on the same scales (a piece and its restyled version, or "
                                    "an inspiration and generated chords).",
                        epilog="examples:\n  midistyle plot song.mid -o song.png\n"
                               "  midistyle plot song.mid --compare song.classical.mid -o cmp.png --start 30 --seconds 20",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pl.add_argument("input", metavar="IN", help="MIDI file, score or corpus:NAME")
    pl.add_argument("--compare", metavar="OTHER", help="a second piece drawn below the first")
    pl.add_argument("-o", "--output", required=True, help="PNG to write")
    pl.add_argument("--start", type=float, default=0.0, help="first second shown (default: 0)")
    pl.add_argument("--seconds", type=float, default=None, help="seconds shown (default: the whole piece)")
    pl.add_argument("--force", action="store_true", help="overwrite an existing output (never an input)")
    pl.add_argument("--quiet", action="store_true")
    _add_encoder_args(pl)
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
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("folders", nargs="+", metavar="DIR", help="folder to convert, or GENRE=DIR")
    c.add_argument("--genre", help="genre label for folders given without GENRE=")
    c.add_argument("-o", "--output", required=True,
                   help="HDF5 file to write (with --runner beam: a folder of shards + manifest.json)")
    c.add_argument("--runner", choices=("local", "beam"), default="local",
                   help="local: one process pool, one HDF5 file (default); beam: an Apache Beam pipeline "
                        "writing shards (needs pip install -e '.[beam]')")
    c.add_argument("--shards", type=_pos_int, default=8, help="with --runner beam: number of shards (default: 8)")
    c.add_argument("--beam-option", action="append", default=[], metavar="KEY=VALUE",
                   help="with --runner beam: a pipeline option, e.g. runner=DataflowRunner (repeatable; "
                        "default: DirectRunner, multi-process, --workers processes)")
    c.add_argument("--val-fraction", type=float, default=0.15, help="share of pieces for validation (default: 0.15)")
    c.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    c.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    c.add_argument("--force", action="store_true", help="overwrite an existing output")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_encoder_args(c)
    c.set_defaults(func=cmd_dataset_convert)

    train_sub = _add_model_commands(sub)
    _add_symbolic_commands(sub, train_sub)
    _add_audio_commands(sub)
    return p


def main(argv=None) -> int:
    """Entry point of the ``midistyle`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except MidistyleError as exc:
        flag = getattr(args, "config_flags", {}).get(getattr(exc, "field", None))
        print(f"{PROG}: error: {exc}" + (f" (flag {flag})" if flag else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0



if __name__ == "__main__":
    sys.exit(main())
