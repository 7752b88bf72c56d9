"""What the commands share: their inputs (files and the MIDI files of folders, ``GENRE=DIR``)."""
from __future__ import annotations

import os

from ...codec.dataset import find_midi_files
from ...errors import MidistyleError

__all__ = ["collect_inputs", "parse_sources"]


def collect_inputs(items) -> list:
    """Files and the MIDI files of folders, in order."""
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


def parse_sources(items, genre):
    """``GENRE=DIR`` items, or folders labelled ``genre`` -> [(genre, folder)]."""
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
