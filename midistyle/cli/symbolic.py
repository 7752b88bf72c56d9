"""Symbolic models: ``classify``, ``embed``, ``chords``, ``train classifier``, ``train chords``,
``evaluate chords``."""
from __future__ import annotations

import argparse

from ..chords import ChordsConfig
from .common import RAW, add_config_flags, add_strategy_flag, command, config_flag, name_flags, nonneg_int, pos_float
from .models import add_install_flags

__all__ = ["add_commands"]


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
    tc.set_defaults(func=command("train", "cmd_train_classifier"))

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
        ("--harmony-noise", float, "share of the harmony LSTM's input harmonies replaced by random ones in "
                                   "training (it learns to keep its key after an unlikely harmony)"),
        ("--figure-lags", int, "each frame reads the keys struck 1..N harmony steps before it (needs --harmony)"),
        ("--patience", int, "epochs without improvement before stopping")))
    config_flag(th, "--seed", type=int)
    config_flag(th, "--within-frame", action=argparse.BooleanOptionalAction,
                help="a key's onset depends on the keys below it struck in the same frame; --no-within-frame "
                     "draws the keys of a frame independently (default: on)")
    config_flag(th, "--within-holds", action=argparse.BooleanOptionalAction,
                help="the holds and the pedal of a frame depend on the keys struck in it (a key is let go when "
                     "the hand moves on; needs --within-frame; default: off)")
    config_flag(th, "--lowest-key", action=argparse.BooleanOptionalAction,
                help="draw an onset event's lowest struck key from one softmax over the keys (an event always "
                     "strikes a key), the keys above it as --within-frame does (default: off)")
    config_flag(th, "--harmony-key", action=argparse.BooleanOptionalAction,
                help="the harmony LSTM reads the key of each step (from 16 s of sound around it); a draw is told "
                     "one key, the inspiration's or chosen with `chords --key` (needs --harmony; default: off)")
    th.add_argument("--force", action="store_true", help="overwrite an existing model")
    add_strategy_flag(th)
    th.add_argument("--quiet", action="store_true", help="no progress bars")
    th.add_argument("--json", action="store_true", help="print the validation figures as JSON")
    name_flags(th, {"genre": "--genre"})
    th.set_defaults(func=command("train", "cmd_train_chords"))


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
    c.set_defaults(func=command("symbolic", "cmd_classify"))

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
    e.set_defaults(func=command("symbolic", "cmd_embed"))

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
    g.add_argument("--key", metavar="KEY",
                   help="key to play in, e.g. 'D minor', 'Dm', 'F# major', 'Bb': a generator whose harmony reads keys "
                        "is told it (by default the inspiration's); another one's draw is transposed into it, or into "
                        "its relative key (same key signature) when it drew in the other mode (default: its own key)")
    g.add_argument("--constant-velocity", action="store_true", help="velocity 64 instead of the velocity model")
    g.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    g.add_argument("--json", action="store_true", help="print the result as one JSON object")
    g.add_argument("--quiet", action="store_true", help="print nothing on success (warnings still go to stderr)")
    name_flags(g, {"genre": "--style"})
    g.set_defaults(func=command("symbolic", "cmd_chords"))


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
    ec.set_defaults(func=command("evaluate", "cmd_evaluate_chords"))
