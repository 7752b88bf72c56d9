"""``models``: every model on the search path (shipped, ``$MIDISTYLE_MODELS``, the user's folder)."""
from __future__ import annotations

import json

from .common import RAW

__all__ = ["add_commands", "add_install_flags", "install_output", "card_for_install"]


def cmd_models(args):
    from ..registry import catalog, search_path

    entries = catalog()
    if args.json:
        print(json.dumps({"search_path": [{"origin": o, "folder": f} for o, f in search_path()],
                          "models": [e.to_dict() for e in entries]}))
        return
    print("searched, in order: " + "; ".join(f"{o} {f}" for o, f in search_path()))
    for e in entries:
        print(f"\n{e.kind:<15} {e.name:<15} {e.origin:<8} {e.path}")
        if e.summary:
            print(f"    {e.summary}")
        if e.figures:
            print("    validation: " + ", ".join(f"{k} {v:g}" for k, v in e.figures.items()))
        if e.shadowed_by:
            print(f"    SHADOWED by {e.shadowed_by} (found first; use --model {e.path} to use this one)")


def install_output(args, kind: str) -> str:
    """The model path of a ``train`` command: ``--output``, or with ``--install`` the user's model
    folder (``KIND-GENRE.keras``); exactly one of the two."""
    from ..errors import MidistyleError
    from ..registry import install_path

    if bool(args.output) == bool(args.install):
        raise MidistyleError("give either -o/--output or --install")
    if args.install:
        args.output = install_path(kind, args.genre)
    return args.output


def add_install_flags(parser) -> None:
    """``-o/--output`` and ``--install`` of a ``train`` command of a per-genre model."""
    parser.add_argument("-o", "--output", help="model path, ending in .keras")
    parser.add_argument("--install", action="store_true",
                        help="instead of -o, put the model in your user model folder as the genre's model, so "
                             "that commands find it by its genre name (see `midistyle models`)")


def card_for_install(args, kind: str, meta: dict) -> None:
    """With ``--install``, write the installed model's card (what ``models`` shows of it)."""
    import datetime

    from ..modelfiles import write_card

    if not args.install:
        return
    day = datetime.date.today().isoformat()
    write_card(args.output, f"{kind.capitalize()} model: {args.genre} (installed)",
               f"Trained on {day} from {args.data} ({meta['training']['seconds']:.0f} s of training).",
               f"Command: `midistyle train {kind} {args.data} --genre {args.genre} --install`; the validation "
               "figures are in the sidecar beside this card.")


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
    m.set_defaults(func=cmd_models)
