"""Scores played like people: ``perform``, ``train tempo``, ``evaluate perform``."""
from __future__ import annotations

from .common import RAW, command, config_flag, name_flags, nonneg_int, pos_float
from .models import add_install_flags

__all__ = ["add_commands", "LEVEL_HELP"]


LEVEL_HELP = ("mean velocity of the result: a dynamic mark (ppp, pp, p, mp, mf, f, ff, fff: MuseScore's "
              "16..126) or a velocity 1..127 (default: the model's; a score is brought to the genre's level)")


def add_commands(sub, train, evaluate) -> None:
    """``perform`` on the top-level subparsers, ``tempo`` on ``train``, ``perform`` on ``evaluate``."""
    p = sub.add_parser("perform", help="play a score like a person: human dynamics and a tempo map that breathes",
                       description="Play each input with a genre's velocity model (a notated score, one that "
                                   "takes few velocities, is brought to the level and spread of the genre's "
                                   "performances) and, where the genre has a tempo model (classical), draw a "
                                   "tempo map over the score's own ticks: every note keeps its tick and pitch, "
                                   "the rubato is a tempo track a DAW shows and edits.",
                       epilog="examples:\n  midistyle perform --to classical score.mid      # writes "
                              "score.performed-classical.mid\n  midistyle perform --to classical score.mid "
                              "--level mf --seed 3",
                       formatter_class=RAW)
    p.add_argument("inputs", nargs="+", metavar="IN", help="MIDI file(s), score(s) or corpus:NAME")
    p.add_argument("--to", metavar="GENRE", help="the style (its velocity model, and its tempo model if any)")
    p.add_argument("-o", "--output", help="output file (one input only; default IN.performed-GENRE.mid)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs (never the input)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the draws: same seed, same file (default: 0)")
    p.add_argument("--temperature", type=pos_float, default=1.0, help="multiplies both models' temperatures (default: 1)")
    p.add_argument("--level", help=LEVEL_HELP)
    p.add_argument("--no-tempo", action="store_true", help="velocities only: keep the input's tempo")
    p.add_argument("--model", help="velocity model path instead of the genre's")
    p.add_argument("--tempo-model", help="tempo model path instead of the genre's")
    p.add_argument("--max-seconds", type=pos_float, default=7200.0, help="refuse longer inputs (default: 7200)")
    p.add_argument("--json", action="store_true", help="one JSON object per input")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    name_flags(p, {"genre": "--to", "level": "--level", "temperature": "--temperature", "max_seconds": "--max-seconds"})
    p.set_defaults(func=command("perform", "cmd_perform"))

    t = train.add_parser("tempo", help="train a genre's tempo (rubato) model on the tempo maps of sequenced MIDI",
                         description="Train a beat-level tempo model on the files of GENRE=DIR folders whose notes "
                                     "sit on a beat grid and whose tempo map varies (sequenced performances: the "
                                     "rubato lives in the tempo map). The folders are split by piece exactly as "
                                     "`dataset convert` splits them (give every genre's folder, so the split is the "
                                     "dataset's).",
                         epilog="example:\n  midistyle train tempo classical=../shared/data/tpd/classical "
                                "jazz=../shared/data/tpd/jazz --genre classical -o models/tempo-classical.keras",
                         formatter_class=RAW)
    t.add_argument("folders", nargs="+", metavar="GENRE=DIR")
    t.add_argument("--genre", required=True, help="the genre to train")
    add_install_flags(t)
    t.add_argument("--val-fraction", type=float, default=0.15, help="validation share, as dataset convert (default: 0.15)")
    t.add_argument("--split-seed", type=int, default=0, help="seed of the split, as dataset convert's --seed (default: 0)")
    for flag, typ, what in (("--epochs", int, "most epochs"), ("--steps-per-epoch", int, "batches per epoch"),
                            ("--window", int, "training window in beats"), ("--bins", int, "classes of the log beat period"),
                            ("--input-noise", float, "std of the noise on the fed-back period class in training"),
                            ("--patience", int, "epochs without a better validation loss before stopping"),
                            ("--learning-rate", float, "Adam learning rate"),
                            ("--seed", int, "training seed")):
        config_flag(t, flag, type=typ, help=what)
    t.add_argument("--force", action="store_true", help="overwrite an existing model")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    name_flags(t, {"genre": "--genre"})
    t.set_defaults(func=command("train", "cmd_train_tempo"))

    e = evaluate.add_parser("perform", help="play score-like versions of real performances and compare with the real playing",
                            description="Make each real performance a score (one velocity, no pedal, its median tempo), "
                                        "perform it and compare: mean velocity and spread against the real playing; for "
                                        "the sequenced pieces with rubato, the drawn tempo curve against the real one "
                                        "(spread, lag-1 autocorrelation, likelihood, a real-vs-drawn discriminator).")
    e.add_argument("inputs", nargs="+", metavar="DIR_OR_FILE")
    e.add_argument("--genre", required=True)
    e.add_argument("--model", help="velocity model path instead of the genre's")
    e.add_argument("--tempo-model", help="tempo model path instead of the genre's")
    e.add_argument("--seed", type=nonneg_int, default=0)
    e.add_argument("--json", action="store_true")
    name_flags(e, {"genre": "--genre"})
    e.set_defaults(func=command("evaluate", "cmd_evaluate_perform"))
