"""Command line: argument parsing here; what each command does in :mod:`.commands`.

One parser module per command group (:mod:`.data`: ``info``, ``plot``, ``dataset``; :mod:`.velocity`;
:mod:`.perform`; :mod:`.symbolic`: classifier, embedding, chords; :mod:`.audio`; :mod:`.models`;
:mod:`.studio`), each with an ``add_commands`` that :func:`build_parser` calls with the top-level
subparsers and the shared ``train`` and ``evaluate`` groups. :mod:`.common` holds the parser class,
argparse types and the one place where parsed arguments become settings objects
(:func:`.common.settings_from_args`). Each parser's ``func`` is :func:`.common.command`: the
command's module in :mod:`.commands` (which imports the library at its top) is imported only when
the command runs, so ``--help`` and parsing start fast.

Errors the library raises on purpose (:class:`midistyle.errors.MidistyleError`) become one line
on stderr and exit code 2.
"""
from __future__ import annotations

import sys

from .. import __version__
from ..errors import MidistyleError, OutputExistsError
from . import audio, data, models, perform, studio, symbolic, velocity
from .common import PROG, Parser

__all__ = ["main", "build_parser"]


class CommandGroup:
    """A command with subcommands (``train MODEL``, ``evaluate WHAT``) that several command groups
    add to. Its parser joins the top-level listing when its first subcommand is added, so
    ``midistyle --help`` lists the commands in the order the groups add them."""

    def __init__(self, sub, name: str, help: str, dest: str, metavar: str):
        self._sub, self._spec, self._group = sub, dict(name=name, help=help, dest=dest, metavar=metavar), None

    def add_parser(self, *args, **kwargs):
        if self._group is None:
            spec = self._spec
            self._group = self._sub.add_parser(spec["name"], help=spec["help"]).add_subparsers(
                dest=spec["dest"], metavar=spec["metavar"])
            self._group.required = True
        return self._group.add_parser(*args, **kwargs)


def build_parser() -> Parser:
    """The full argument parser (every subcommand)."""
    p = Parser(
        prog=PROG,
        description="Musical style transfer for MIDI and audio: restyle velocities, convert datasets, "
                    "train and evaluate models.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    train = CommandGroup(sub, "train", "train models (needs TensorFlow)", "train_command", "MODEL")
    evaluate = CommandGroup(sub, "evaluate", "measure models on real performances", "evaluate_command", "WHAT")
    data.add_commands(sub)
    velocity.add_commands(sub, train, evaluate)
    perform.add_commands(sub, train, evaluate)
    symbolic.add_commands(sub, train, evaluate)
    audio.add_commands(sub, train, evaluate)
    models.add_commands(sub)
    studio.add_commands(sub)
    return p


def flag_hint(args, exc: MidistyleError) -> str:
    """What the command line adds to a library error: how to overwrite an existing output, or the
    flag that sets the parameter or settings field the error names (``config_flags`` of the command)."""
    if isinstance(exc, OutputExistsError):
        return " (use --force to overwrite)"
    flag = getattr(args, "config_flags", {}).get(exc.field)
    return f" (flag {flag})" if flag else ""


def main(argv=None) -> int:
    """Entry point of the ``midistyle`` console script."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except MidistyleError as exc:
        print(f"{PROG}: error: {exc}{flag_hint(args, exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0
