"""midistyle.audio.files: audio and MIDI inputs read alike, and damaged or missing inputs are one-line
errors with exit code 2 on the command line."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import SR, midistyle_cli, simple_notes_midi

from midistyle.errors import InputError


@pytest.mark.parametrize("kind", ["audio", "midi", "missing", "empty"])
def test_corrupt_inputs_exit_2_with_one_line(tmp_path, clip_files, kind):
    bad = {"audio": tmp_path / "bad.wav", "midi": tmp_path / "bad.mid", "missing": tmp_path / "none.flac",
           "empty": tmp_path / "empty.wav"}[kind]
    if kind == "audio":
        bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio" * 3)
    elif kind == "midi":
        bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x90\x3c")
    elif kind == "empty":
        bad.write_bytes(b"")
    r = midistyle_cli("audio", "transfer", "--content", bad, "--style", clip_files / "style.flac",
                      "-o", tmp_path / "o.wav", "--iterations", 1, "--quiet")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("midistyle: error: ") and str(bad) in lines[0], r.stderr
    assert not (tmp_path / "o.wav").exists()
    if kind == "midi":
        r = midistyle_cli("render", bad, "-o", tmp_path / "o.wav")
        assert r.returncode == 2 and r.stderr.startswith("midistyle: error: ")


def test_load_input_reads_audio_and_midi(clip_files, tmp_path):
    from midistyle.audio.files import load_input

    y = load_input(clip_files / "style.flac", 16000)
    assert abs(len(y) - 3.0 * 16000) <= 1
    path = simple_notes_midi(tmp_path / "m.mid", [(60, 90, 0, 1)])
    assert np.max(np.abs(load_input(path, SR))) > 0.5
    with pytest.raises(InputError, match="no such file"):
        load_input(tmp_path / "nope.wav", SR)
