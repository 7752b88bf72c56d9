"""What every command group shares: the one-line-error parser, argparse types, the flags that set
settings fields, and the one place where parsed arguments become settings objects.

Flags that set a settings field default to None, so a flag the user did not give leaves the
field at the default its settings class declares (:func:`settings_from_args`); each parser
records which field each flag sets (``config_flags``), so that :func:`midistyle.cli.main` can
name the flag of the field a :class:`midistyle.settings.SettingsError` reports.
"""
from __future__ import annotations

import argparse
import importlib

__all__ = ["PROG", "RAW", "Parser", "command", "nonneg_int", "pos_int", "pos_float", "unit_float", "config_flag",
           "add_config_flags", "config_fields", "name_flags", "given_fields", "settings_from_args", "add_encoder_args",
           "add_strategy_flag"]

PROG = "midistyle"

#: formatter of the parsers whose description and epilog keep their line breaks (the examples)
RAW = argparse.RawDescriptionHelpFormatter


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line (``midistyle: error: ...``) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {message} (see {self.prog} --help)\n")


def command(group: str, name: str):
    """The ``func`` of a parser: runs the handler ``name`` of :mod:`midistyle.cli.commands` ``.GROUP``,
    imported only when the command runs, so that parsing and ``--help`` load no library module
    (the one deferred import of the command line)."""
    def run(args):
        # lazy: the command's module imports the library it calls; parsing and --help need none of it
        return getattr(importlib.import_module(f"midistyle.cli.commands.{group}"), name)(args)

    run.__qualname__ = f"command({group!r}, {name!r})"
    return run


# ----------------------------------------------------------------------------- argparse types
def nonneg_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def pos_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def pos_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def unit_float(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


# ----------------------------------------------------------------------------- flags -> settings fields
def name_flags(parser, fields: dict) -> None:
    """Record on ``parser`` which flag sets each settings field (``{"window": "--window"}``): a
    :class:`midistyle.settings.SettingsError` names a field, and :func:`midistyle.cli.main` reports
    the flag that sets it. Calls add up."""
    parser.set_defaults(config_flags={**(parser.get_default("config_flags") or {}), **fields})


def config_fields(parser, fields: dict) -> None:
    """Record on ``parser`` that flags set settings fields: ``fields`` maps a field name to its flag,
    whose argument ``dest`` is the flag's name (``--cond-channels``: ``cond_channels``); read back by
    :func:`given_fields`. Calls add up."""
    dests = {flag.lstrip("-").replace("-", "_"): field for field, flag in fields.items()}
    parser.set_defaults(config_fields={**(parser.get_default("config_fields") or {}), **dests})
    name_flags(parser, fields)


def config_flag(parser, flag: str, *names, field: str | None = None, **kwargs):
    """``parser.add_argument(flag, *names, default=None, **kwargs)`` for a flag that sets the settings
    field ``field`` (default: the flag's name, ``--batch-size`` -> ``batch_size``): left out, the
    field keeps its settings class's default. ``names`` are further option strings (``-o``)."""
    dest = flag.lstrip("-").replace("-", "_")
    action = parser.add_argument(*names, flag, dest=dest, default=None, **kwargs)
    config_fields(parser, {field or dest: flag})
    return action


def add_config_flags(parser, defaults, specs) -> None:
    """One optional flag per settings field: ``specs`` are (flag, type, help[, field]); the help shows
    the default of ``defaults`` (an instance of the settings class), which an omitted flag keeps."""
    for flag, typ, what, *field in specs:
        name = field[0] if field else flag[2:].replace("-", "_")
        config_flag(parser, flag, field=name, type=typ, help=f"{what} (default: {getattr(defaults, name)})",
                    **({"metavar": name.upper()} if field else {}))


def given_fields(args, fields: dict | None = None) -> dict:
    """``{field: value}`` of the flags given on the command line; ``fields`` maps argument dests to
    settings fields (default: what :func:`config_fields` recorded). A flag not given is None."""
    fields = getattr(args, "config_fields", {}) if fields is None else fields
    return {field: value for dest, field in fields.items() if (value := getattr(args, dest, None)) is not None}


def settings_from_args(factory, args, fields: dict | None = None, **fixed):
    """The one place where parsed arguments become a settings object: ``factory(**fixed, **given)``
    with only the flags the user gave (:func:`given_fields`), so every other field keeps the
    default its class declares. ``factory`` is a settings class or a library function returning one."""
    return factory(**fixed, **given_fields(args, fields))


# ----------------------------------------------------------------------------- encoder
def add_encoder_args(p) -> None:
    """``--step`` and ``--pitch-range`` (the encoder settings of ``info``, ``plot``, ``dataset convert``)."""
    p.add_argument("--step", type=float, default=None, help="seconds per time step (default: 0.025)")
    p.add_argument("--pitch-range", type=int, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="lowest and highest MIDI pitch kept (default: 21 108, the piano keys)")


def add_strategy_flag(parser) -> None:
    """``--strategy`` of the ``train`` commands."""
    parser.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                        help="tf.distribute strategy: default (one device), mirrored (the devices of this "
                             "machine) or multiworker (workers from TF_CONFIG; run the same command on "
                             "every worker, the chief writes the model)")
