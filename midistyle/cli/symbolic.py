"""Symbolic models: ``classify``, ``embed``, ``chords``, ``train classifier``, ``train chords``,
``evaluate chords``."""
from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import MidistyleError
from .models import add_install_flags, card_for_install, install_output
from .common import (RAW, add_config_flags, add_strategy_flag, collect_inputs, config_flag, name_flags, nonneg_int,
                     pos_float, run_training, settings_from_args)

__all__ = ["add_commands"]


def cmd_train_classifier(args):
    from ..classifier import ClassifierConfig, format_confusion, train

    meta = run_training(args, lambda output: train(args.data, output, settings_from_args(ClassifierConfig, args),
                                                   progress=not args.quiet, force=args.force, strategy=args.strategy))
    if meta is None:
        return
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
    from ..chords import ChordsConfig, train
    from ..registry import classifier_path

    install_output(args, "chords")
    meta = run_training(args, lambda output: train(args.data, args.genre, args.classifier or classifier_path(), output,
                                                   settings_from_args(ChordsConfig, args), progress=not args.quiet,
                                                   force=args.force, strategy=args.strategy))
    if meta is None:
        return
    card_for_install(args, "chords", meta)
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

    from ..classifier import load_default

    clf = load_default(args.model)
    paths = collect_inputs(args.inputs)
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

    from ..classifier import load_default, save_npy
    from ..fsutil import check_output
    from ..io import CORPUS_PREFIX
    from ..pianoroll import encode

    clf = load_default(args.model)
    protect = () if args.input.startswith(CORPUS_PREFIX) else (args.input,)
    check_output(args.output, force=args.force, protect=protect)      # before the work, as save_npy will
    emb = clf.embed(encode(args.input, clf.settings), per_segment=args.segments)
    save_npy(emb, args.output, force=args.force, protect=protect)
    if args.json:
        print(json.dumps({"file": args.input, "output": args.output, "shape": list(emb.shape),
                          "embedding": np.round(emb, 6).tolist()}))
    elif not args.quiet:
        print(f"{args.input} -> {args.output}: embedding of shape {tuple(emb.shape)}")


def cmd_chords(args):
    from ..chords import generate
    from ..modelfiles import bundle_stem

    r = generate(args.inspire, args.style, output=args.output, seconds=args.seconds, seed=args.seed,
                 temperature=args.temperature, force=args.force, model=args.model, classifier=args.classifier,
                 velocity=not args.constant_velocity, prime=args.prime, steady=args.steady)
    if r["warning"]:
        print(f"warning: {r['warning']}", file=sys.stderr)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        vel = os.path.basename(bundle_stem(r["velocity_model"])) if r["velocity_model"] else "constant 64"
        print(f"{r['input']} -> {r['output']}: {r['seconds']:g} s of {r['style']} chords, {r['notes']} notes "
              f"({r['notes_per_s']:.1f}/s), mean polyphony {r['polyphony']:.1f}, pedal {100 * r['pedal_share']:.0f} %, "
              f"seed {r['seed']}, velocities: {vel}")


def cmd_evaluate_chords(args):
    from .. import io as mio
    from ..chordeval import COHERENCE_NAMES, TEXTURE_NAMES, evaluate_generation
    from ..chords import ChordModel, shipped_velocity_model
    from ..classifier import GenreClassifier
    from ..notefeatures import load_judge
    from ..pianoroll import encode
    from ..registry import chords_model_path, classifier_path, content_judge_path

    if not (args.style or args.model):
        raise MidistyleError("name the target with --style GENRE or --model PATH")
    cm = ChordModel.load(args.model or chords_model_path(args.style))
    clf = GenreClassifier.load(args.classifier or classifier_path())
    cm.check_classifier(clf)
    inspirations = [mio.read(p) for p in collect_inputs(args.inspire)]
    real = [encode(p, cm.settings) for p in collect_inputs(args.real)]
    vm = None if args.constant_velocity else shipped_velocity_model(cm.genre)[0]
    res = evaluate_generation(cm, clf, inspirations, real, load_judge(content_judge_path()), velocity_model=vm,
                              seconds=args.seconds, seed=args.seed, temperature=args.temperature, prime=args.prime,
                              **cm.draw_settings(args.steady))
    res["genre"] = cm.genre
    if args.json:
        print(json.dumps(res))
        return
    print(f"chords-{cm.genre}: {res['generated_with_notes']} of {res['pieces']} inspirations gave music "
          f"({args.seconds:g} s each, seed {args.seed}, prime {args.prime:g} s"
          + (f", steady feedback {cm.steady_feedback:g}, event bias {cm.steady_event_bias:+g})" if args.steady else ")"))
    if res["judged_target"] is not None:
        print(f"  independent content judge: {100 * res['judged_target']:.0f} % judged {cm.genre}")
    print(f"  real-vs-generated discriminator (balanced accuracy): {res['discriminator']:.2f} logistic, "
          f"{res['discriminator_boosted']:.2f} gradient-boosted trees")
    if res["separators"]:
        print("  tells them apart most (generated - real, Cohen's d): " + ", ".join(
            f"{x['feature']} {x['d']:+.2f}" for x in res["separators"]))
    print(f"  {'texture':<14} {'generated':>10} {'real':>8} {'ratio':>6}")
    for name, group in ((TEXTURE_NAMES, "texture"), (COHERENCE_NAMES, "coherence")):
        for k in name:
            t = res[group][k]
            print(f"  {k:<14} {t['generated']:10.3f} {t['real']:8.3f} {t['ratio']:6.2f}")
    if res["link"]:
        print(f"  pitch-class profile correlation with its inspiration {res['link']['own']:.2f} vs other "
              f"inspirations {res['link']['other']:.2f}")


def add_commands(sub, train, evaluate) -> None:
    """Genre classifier, style embedding and chord generation: ``classify``, ``embed`` and ``chords`` on
    the top-level subparsers ``sub``, ``classifier`` and ``chords`` on the ``train`` group, ``chords``
    on the ``evaluate`` group."""
    _add_training(train)
    _add_pieces(sub)
    _add_evaluate(evaluate)


def _add_training(train) -> None:
    """``train classifier``, ``train chords``."""
    tc = train.add_parser(
        "classifier", help="train the genre classifier / style embedding on an HDF5 dataset",
        description="Train a dilated 1-D CNN on piano-roll segments (held notes and onsets, max-pooled to "
                    "100 ms) of the dataset's train split to tell its genres apart; the split is by piece (as "
                    "stored in the dataset). Validates each epoch with early stopping and a best-model "
                    "checkpoint, writes MODEL.{keras,json,npz,log.csv,loss.png}, and reports segment- and "
                    "piece-level accuracy and the confusion matrix on the validation pieces.",
        epilog="example:\n  midistyle train classifier work_data/tpd.h5 -o models/classifier.keras --seed 0",
        formatter_class=RAW)
    tc.add_argument("data", metavar="DATA.h5")
    tc.add_argument("-o", "--output", required=True, help="model path, ending in .keras")
    config_flag(tc, "--epochs", type=int, help="most epochs (early stopping; default: 30)")
    config_flag(tc, "--steps-per-epoch", type=int, help="batches per epoch (default: 60)")
    config_flag(tc, "--batch-size", type=int)
    config_flag(tc, "--segment", type=int, help="frames per segment (default: 256 = 25.6 s)")
    config_flag(tc, "--pool", type=int, help="25 ms steps max-pooled per frame (default: 4 = 100 ms)")
    config_flag(tc, "--channels", type=int, help="channels of the dilated stack (default: 32)")
    config_flag(tc, "--embedding-dim", type=int, help="size of the style embedding (default: 48)")
    config_flag(tc, "--use-velocity", action="store_const", const=True,
                help="also feed onset velocities (default: off)")
    config_flag(tc, "--learning-rate", type=float)
    config_flag(tc, "--patience", type=int, help="epochs without improvement before stopping (default: 6)")
    config_flag(tc, "--seed", type=int)
    tc.add_argument("--force", action="store_true", help="overwrite an existing model")
    add_strategy_flag(tc)
    tc.add_argument("--quiet", action="store_true", help="no progress bars")
    tc.add_argument("--json", action="store_true", help="print the validation figures as JSON")
    tc.set_defaults(func=cmd_train_classifier)

    th = train.add_parser(
        "chords", help="train a genre's LSTM chord generator on an HDF5 dataset",
        description="Train an LSTM on the onsets, held notes and sustain pedal, in 25 ms frames, of one genre's "
                    "train pieces (transposed by up to +-6 semitones); the classifier's embedding of each piece "
                    "sets the LSTM's initial state. Validates each epoch (early stopping, checkpoint), writes "
                    "MODEL.{keras,json,npz,log.csv,loss.png} and reports validation NLL and onset F1 against "
                    "the per-key Markov baseline.",
        epilog="example:\n  midistyle train chords --genre classical work_data/tpd.h5 "
               "--classifier models/classifier.keras -o models/chords-classical.keras",
        formatter_class=RAW)
    th.add_argument("data", metavar="DATA.h5")
    th.add_argument("--genre", required=True)
    th.add_argument("--classifier", help="classifier giving the embeddings (default: the shipped one)")
    add_install_flags(th)
    from ..chords import ChordsConfig

    add_config_flags(th, ChordsConfig(), (
        ("--epochs", int, "most epochs (early stopping)"), ("--steps-per-epoch", int, "batches per epoch"),
        ("--batch-size", int, "windows per batch"), ("--units", int, "LSTM units"),
        ("--seq-len", int, "frames per training window"), ("--frame-steps", int, "25 ms steps per frame"),
        ("--transpose", int, "training windows transposed by up to +- this many semitones"),
        ("--foreign-cond", float, "share of training windows started from another genre's embedding"),
        ("--learning-rate", float, "Adam learning rate"),
        ("--input-noise", float, "share of fed-back key/pedal bits flipped in training"),
        ("--key-memory", float, "half-life in seconds of a per-key trace of its last strike that the model "
                                "reads (0: none)"),
        ("--event-memory", int, "frames of past onset events the model reads (0: none)"),
        ("--relative-keys", int, "semitones either side over which the last strikes reach a key's onset "
                                 "by one weight per distance (needs --key-memory; 0: none)"),
        ("--harmony", int, "frames per harmony step: a harmony LSTM draws one pitch-class set per step first, "
                           "each frame reads its step's and the next (0: none)"),
        ("--harmony-vocab", int, "set classes the harmony LSTM draws from (each in 12 transpositions)"),
        ("--figure-lags", int, "each frame reads the keys struck 1..N harmony steps before it (needs --harmony)"),
        ("--patience", int, "epochs without improvement before stopping")))
    config_flag(th, "--seed", type=int)
    config_flag(th, "--within-frame", action=argparse.BooleanOptionalAction,
                help="a key's onset depends on the keys below it struck in the same frame; --no-within-frame "
                     "draws the keys of a frame independently (default: on)")
    config_flag(th, "--lowest-key", action=argparse.BooleanOptionalAction,
                help="draw an onset event's lowest struck key from one softmax over the keys (an event always "
                     "strikes a key), the keys above it as --within-frame does (default: off)")
    th.add_argument("--force", action="store_true", help="overwrite an existing model")
    add_strategy_flag(th)
    th.add_argument("--quiet", action="store_true", help="no progress bars")
    th.add_argument("--json", action="store_true", help="print the validation figures as JSON")
    name_flags(th, {"genre": "--genre"})
    th.set_defaults(func=cmd_train_chords)


def _add_pieces(sub) -> None:
    """``classify``, ``embed``, ``chords``."""
    c = sub.add_parser("classify", help="predict the genre of MIDI files",
                       description="Predict each input's genre with the genre classifier: segments of 25.6 s are "
                                   "classified and their probabilities averaged over the piece.",
                       epilog="examples:\n  midistyle classify song.mid other.mid\n"
                              "  midistyle classify --json DIR   # one JSON object per file: file, genre, probabilities",
                       formatter_class=RAW)
    c.add_argument("inputs", nargs="+", metavar="FILE", help="MIDI file(s), score(s), corpus:NAME or folders")
    c.add_argument("--model", help="classifier (.keras) instead of the shipped one")
    c.add_argument("--json", action="store_true", help="one JSON object per file with keys file, genre, probabilities")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_classify)

    e = sub.add_parser("embed", help="write the style embedding of a piece (.npy)",
                       description="Write the classifier's style embedding of one input: the mean over its "
                                   "segments, a float32 vector (or every segment's with --segments).",
                       epilog="example:\n  midistyle embed song.mid -o song.npy",
                       formatter_class=RAW)
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
                                   "each 25 ms frame (lowest key first) and feeds them back. Struck keys become notes that last while "
                                   "held; velocities are drawn by the genre's velocity model when one is shipped. "
                                   "Same --seed, same file.",
                       epilog="example:\n  midistyle chords --inspire song.mid --style jazz --seconds 30 --seed 1"
                              "   # writes song.chords-jazz.mid",
                       formatter_class=RAW)
    g.add_argument("--inspire", required=True, metavar="IN", help="MIDI file, score or corpus:NAME")
    g.add_argument("--style", required=True, metavar="GENRE", help="target genre (a shipped chord model)")
    g.add_argument("-o", "--output", help="output file (default: IN.chords-GENRE.mid beside the input)")
    g.add_argument("--seconds", type=pos_float, default=30.0, help="length of the output (default: 30)")
    g.add_argument("--prime", type=float, default=0.0, metavar="SECONDS",
                   help="read the inspiration's first SECONDS through the generator before drawing (default: 0)")
    g.add_argument("--seed", type=nonneg_int, default=None, help="seed of the draws (default: a fresh one, printed)")
    g.add_argument("--temperature", type=pos_float, default=1.0,
                   help="sampling temperature: >1 more adventurous, <1 more conservative (default: 1)")
    g.add_argument("--model", help="chord model (.keras) instead of the shipped one")
    g.add_argument("--classifier", help="classifier (.keras) instead of the shipped one")
    g.add_argument("--steady", action="store_true",
                   help="keep the texture of a long draw: read back only part of the draw's own running pedal share "
                        "and density (calibrated per model); without it, after about 20 s the classical generator "
                        "thins out and the jazz one pedals more and more")
    g.add_argument("--constant-velocity", action="store_true", help="velocity 64 instead of the velocity model")
    g.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    g.add_argument("--json", action="store_true", help="print the result as one JSON object")
    g.add_argument("--quiet", action="store_true", help="print nothing on success (warnings still go to stderr)")
    name_flags(g, {"genre": "--style"})
    g.set_defaults(func=cmd_chords)


def _add_evaluate(evaluate) -> None:
    """``evaluate chords``."""
    ec = evaluate.add_parser(
        "chords", help="judge generated music with judges the generator was not trained against",
        description="Generate SECONDS of music in the chord model's genre from each inspiration, then judge it: "
                    "the share the independent content judge (logistic regression on pitch-class, interval, "
                    "rhythm, polyphony and pedal statistics; shipped as models/content-judge.json) assigns to "
                    "the target genre, two cross-validated real-vs-generated discriminators (logistic regression and "
                    "gradient-boosted trees) against windows of the --real pieces (balanced accuracy, 0.5 = "
                    "indistinguishable), texture figures generated vs "
                    "real, and how much each output keeps of its inspiration's pitch-class profile.",
        epilog="example:\n  midistyle evaluate chords --style classical --inspire tpd/jazz --real tpd/classical",
        formatter_class=RAW)
    ec.add_argument("--style", metavar="GENRE", help="target genre (a shipped chord model)")
    ec.add_argument("--model", help="chord model (.keras) instead of the shipped one")
    ec.add_argument("--classifier", help="classifier (.keras) instead of the shipped one")
    ec.add_argument("--inspire", nargs="+", required=True, metavar="DIR_OR_FILE", help="inspirations")
    ec.add_argument("--real", nargs="+", required=True, metavar="DIR_OR_FILE", help="real pieces of the target genre")
    ec.add_argument("--seconds", type=pos_float, default=20.0, help="seconds generated per inspiration (default: 20)")
    ec.add_argument("--prime", type=float, default=0.0, metavar="SECONDS", help="as for `chords` (default: 0)")
    ec.add_argument("--seed", type=nonneg_int, default=0)
    ec.add_argument("--temperature", type=pos_float, default=1.0)
    ec.add_argument("--steady", action="store_true", help="as for `chords`: draw with the model's steady feedback")
    ec.add_argument("--constant-velocity", action="store_true", help="velocity 64 instead of the velocity model")
    ec.add_argument("--json", action="store_true")
    name_flags(ec, {"genre": "--style"})
    ec.set_defaults(func=cmd_evaluate_chords)
