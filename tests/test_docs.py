"""The README and docs/ stay true: every ``midistyle ...`` command they show is a real (sub)command
whose ``--help`` exits 0, and every flag shown is one of that command's options."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from midistyle.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def shown_commands() -> list:
    """(page, command line) of every ``midistyle ...`` line of a code block and every inline
    ```midistyle ...``` span of the pages, cut at ``#`` comments and ``&&``."""
    out = []
    for page in PAGES:
        text = page.read_text()
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
        lines = [ln for b in blocks for ln in b.splitlines()]
        lines += re.findall(r"(?<!`)`(midistyle [^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        for ln in lines:
            for part in re.split(r"&&|;|\|", ln.split(" #")[0]):
                part = part.strip().removeprefix("~/ms/bin/")
                if part.startswith("midistyle ") or part == "midistyle":
                    out.append((page.name, part))
    return out


def subcommand(tokens: list) -> tuple:
    """The (sub)command path a command line names and its parser."""
    parser, path = build_parser(), []
    for tok in tokens:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or tok not in sub.choices:
            break
        parser, path = sub.choices[tok], path + [tok]
    return path, parser


COMMANDS = shown_commands()


def test_the_pages_show_commands():
    assert len(COMMANDS) > 40 and {p for p, _ in COMMANDS} >= {"README.md", "commands.md"}


@pytest.mark.parametrize("page, line", COMMANDS, ids=[f"{p}: {c}" for p, c in COMMANDS])
def test_every_flag_shown_is_an_option_of_its_command(page, line):
    tokens = line.split()[1:]
    path, parser = subcommand(tokens)
    flags = {re.sub(r"[\[\]]", "", t).split("=")[0] for t in tokens if re.sub(r"[\[\]]", "", t).startswith("--")}
    unknown = sorted(f for f in flags if f not in parser._option_string_actions)
    assert not unknown, f"{page}: `{line}`: `midistyle {' '.join(path)}` has no {', '.join(unknown)}"


def test_every_command_shown_has_a_help_that_exits_0():
    paths = sorted({tuple(subcommand(line.split()[1:])[0]) for _, line in COMMANDS})
    assert ("velocity",) in paths and ("dataset", "convert") in paths
    for path in paths:
        r = subprocess.run([sys.executable, "-m", "midistyle", *path, "--help"], cwd=ROOT, capture_output=True,
                           text=True)
        assert r.returncode == 0 and "usage: midistyle" in r.stdout, (path, r.stderr[-500:])
