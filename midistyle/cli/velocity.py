"""Velocity commands: ``velocity``, ``train velocity``, ``evaluate velocity``."""
from __future__ import annotations

from ..velocity import VelocityConfig
from .common import (RAW, add_config_flags, add_strategy_flag, command, config_flag, name_flags, nonneg_int, pos_float,
                     unit_float)
from .models import add_install_flags
from .perform import LEVEL_HELP

__all__ = ["add_commands"]


def add_commands(sub, train, evaluate) -> None:
    """``velocity`` on the top-level subparsers ``sub``, ``velocity`` on the ``train`` and
    ``evaluate`` groups."""
    v = sub.add_parser("velocity", help="restyle note velocities to play like a genre",
                       description="Predict how hard each note is struck with a genre's velocity model and "
                                   "write the input back with only the velocities changed (every note's pitch "
                                   "and timing kept to the tick, all other events kept).",
                       epilog="example:\n  midistyle velocity --to classical song.mid   # writes song.classical.mid",
                       formatter_class=RAW)
    v.add_argument("inputs", nargs="+", metavar="IN", help="MIDI file(s), score(s) or corpus:NAME")
    v.add_argument("--to", metavar="GENRE", help="target genre (a shipped model)")
    v.add_argument("--model", help="use this model (.keras) instead of the shipped one")
    v.add_argument("-o", "--output", help="output file (one input only; default IN.GENRE.mid beside the input)")
    v.add_argument("--force", action="store_true", help="overwrite existing outputs (never the input)")
    v.add_argument("--seed", type=nonneg_int, default=0,
                   help="seed of the drawn performance: same seed, same file (default: 0)")
    v.add_argument("--temperature", type=pos_float, default=1.0,
                   help="1 draws from the model's distribution; lower is nearer its most likely velocity (default: 1)")
    v.add_argument("--mean", action="store_true",
                   help="write each note's expected velocity instead of a drawn performance (deterministic)")
    v.add_argument("--strength", type=unit_float, default=1.0,
                   help="how far each note moves from its own velocity toward the model's: 0 keeps the input's "
                        "dynamics, 1 plays the model's (default: 1)")
    v.add_argument("--level", help=LEVEL_HELP)
    v.add_argument("--plot", metavar="PNG", help="write the input's and the output's velocity heat maps (one input)")
    v.add_argument("--max-seconds", type=pos_float, default=7200.0,
                   help="refuse inputs longer than this, before allocating anything (default: 7200 = 2 h)")
    v.add_argument("--json", action="store_true", help="one JSON object per input")
    v.add_argument("--quiet", action="store_true", help="print nothing on success")
    name_flags(v, {"genre": "--to", "max_seconds": "--max-seconds", "strength": "--strength",
                   "temperature": "--temperature", "level": "--level"})
    v.set_defaults(func=command("velocity", "cmd_velocity"))

    tv = train.add_parser("velocity", help="train a genre's velocity model on an HDF5 dataset",
                          description="Train a velocity model on the train split of DATA.h5 for one genre, with "
                                      "validation each epoch, early stopping, best-model checkpoint, a CSV log and "
                                      "a loss-curve PNG beside the output.")
    tv.add_argument("data", metavar="DATA.h5")
    tv.add_argument("--genre", required=True)
    add_install_flags(tv)
    add_config_flags(tv, VelocityConfig(), (
        ("--epochs", int, "most epochs (early stopping)"), ("--batch-size", int, "windows per batch"),
        ("--window", int, "training window in notes"), ("--channels", int, "channels of the autoregressive stack"),
        ("--cond-channels", int, "channels of the note-reading stack"), ("--learning-rate", float, "Adam learning rate"),
        ("--patience", int, "epochs without improvement before stopping"),
        ("--val-windows", int, "validation windows per piece", "val_windows_per_piece"),
        ("--dropout", float, "dropout on the note conditioning while training"),
        ("--input-noise", float, "std of the noise on the previous velocity/127 in training")))
    config_flag(tv, "--max-steps-per-epoch", type=int, help="cap on batches per epoch (0: one pass)")
    config_flag(tv, "--seed", type=int)
    add_strategy_flag(tv)
    tv.add_argument("--force", action="store_true", help="overwrite an existing model")
    tv.add_argument("--quiet", action="store_true")
    name_flags(tv, {"genre": "--genre"})
    tv.set_defaults(func=command("train", "cmd_train_velocity"))

    ev = evaluate.add_parser("velocity", help="how a velocity model plays real performances, against the real playing",
                             description="Play real performances with a velocity model and compare with how they "
                                         "were really played: note RMSE / MAE / r of the expected velocity against "
                                         "the genre-mean baseline, each file's own mean (an oracle) and the "
                                         "local-feature regressor; then, for drawn performances, the spread ratio, "
                                         "lag-1 autocorrelation, likelihood, a real-vs-restyled discriminator and "
                                         "the share the shipped velocity-only judge assigns to the model's genre "
                                         "(the transfer figure when the inputs are of another genre).")
    ev.add_argument("inputs", nargs="+", metavar="DIR_OR_FILE")
    ev.add_argument("--genre", help="shipped model of this genre")
    ev.add_argument("--model", help="model path instead of a shipped genre")
    ev.add_argument("--seed", type=nonneg_int, default=0, help="seed of the drawn performances (default: 0)")
    ev.add_argument("--temperature", type=pos_float, default=1.0)
    ev.add_argument("--json", action="store_true")
    name_flags(ev, {"genre": "--genre"})
    ev.set_defaults(func=command("evaluate", "cmd_evaluate_velocity"))
