"""``models``: every model on the search path (shipped, ``$MIDISTYLE_MODELS``, the user's folder)."""
from __future__ import annotations

from .common import RAW, command

__all__ = ["add_commands"]


def add_install_flags(parser) -> None:
    """``-o/--output`` and ``--install`` of a ``train`` command of a per-genre model."""
    parser.add_argument("-o", "--output", help="model path, ending in .keras")
    parser.add_argument("--install", action="store_true",
                        help="instead of -o, put the model in your user model folder as the genre's model, so "
                             "that commands find it by its genre name (see `midistyle models`)")


def add_commands(sub) -> None:
    """``models`` on the top-level subparsers ``sub``."""
    m = sub.add_parser("models", help="list every model: shipped, in $MIDISTYLE_MODELS and installed by you",
                       description="List the models midistyle finds, in search order: the shipped ones, those in "
                                   "the folders of $MIDISTYLE_MODELS (separated by the path separator) and those "
                                   "in your user model folder (where `train ... --install` puts them). For each: "
                                   "kind, name, where it lives, the first sentence of its card and its headline "
                                   "validation figures. A model named like one found earlier is marked SHADOWED: "
                                   "the first one wins (the shipped models, so that documented names keep their "
                                   "meaning); pass its path with --model to use it.",
                       epilog="examples:\n  midistyle models\n  midistyle models --json",
                       formatter_class=RAW)
    m.add_argument("--json", action="store_true", help="one JSON object: the search path and every model")
    m.set_defaults(func=command("models", "cmd_models"))
