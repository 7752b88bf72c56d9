"""Deterministic damaged and odd inputs for the fuzz suite (built from real files and from scratch).

``cases(folder, n)`` writes up to ``n`` files into ``folder`` and returns their paths: byte flips,
truncations and header damage of real TPD files (or the shipped example), huge delta times,
bad status bytes, odd but valid files built with mido (zero-length notes, note-offs without
note-ons and the reverse, velocity-0 note-ons, many tempo changes, only meta events, only drums,
pitches 0 and 127, a 3-hour note, 16 channels, type 2) and non-MIDI bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

import mido
import numpy as np

REPO = Path(__file__).resolve().parents[2]
SOURCES = [REPO / "examples" / "anthropology.mid"]


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _raw(track_body: bytes, fmt: int = 0, ntracks: int = 1, division: int = 480) -> bytes:
    head = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + ntracks.to_bytes(2, "big") + division.to_bytes(2, "big")
    return head + b"MTrk" + len(track_body).to_bytes(4, "big") + track_body


def _valid(path: Path, build) -> None:
    mf = mido.MidiFile(ticks_per_beat=480)
    build(mf)
    mf.save(path)


def _odd_files(folder: Path) -> list:
    M, T = mido.Message, mido.MidiTrack
    out = []

    def add(name, build):
        p = folder / name
        _valid(p, build)
        out.append(p)

    add("zero_length.mid", lambda mf: mf.tracks.append(T([M("note_on", note=60, velocity=80), M("note_off", note=60)])))
    add("off_without_on.mid", lambda mf: mf.tracks.append(T([M("note_off", note=60, time=10), M("note_on", note=62, velocity=70, time=5)])))
    add("vel0_on.mid", lambda mf: mf.tracks.append(T([M("note_on", note=60, velocity=90), M("note_on", note=60, velocity=0, time=480)])))
    add("many_tempi.mid", lambda mf: mf.tracks.append(T([mido.MetaMessage("set_tempo", tempo=400000 + k, time=1) for k in range(10000)]
                                                         + [M("note_on", note=60, velocity=80), M("note_off", note=60, time=480)])))
    add("only_meta.mid", lambda mf: mf.tracks.append(T([mido.MetaMessage("track_name", name="x"), mido.MetaMessage("end_of_track")])))
    add("only_drums.mid", lambda mf: mf.tracks.append(T([M("note_on", channel=9, note=36, velocity=100), M("note_off", channel=9, note=36, time=240)])))
    add("extreme_pitches.mid", lambda mf: mf.tracks.append(T([M("note_on", note=0, velocity=80), M("note_on", note=127, velocity=80),
                                                              M("note_off", note=0, time=480), M("note_off", note=127)])))
    add("three_hours.mid", lambda mf: mf.tracks.append(T([M("note_on", note=60, velocity=80), M("note_off", note=60, time=480 * 2 * 60 * 60 * 3)])))
    add("sixteen_channels.mid", lambda mf: mf.tracks.append(T([M("note_on", channel=c, note=40 + c, velocity=60 + c, time=10) for c in range(16)]
                                                             + [M("note_off", channel=c, note=40 + c, time=100) for c in range(16)])))

    def type2(mf):
        mf.type = 2
        for k in range(3):
            mf.tracks.append(T([M("note_on", note=60 + k, velocity=80), M("note_off", note=60 + k, time=240)]))
    add("type2.mid", type2)
    # raw byte files: a 10-byte delta time, a bad status byte, a tempo of 0
    for name, body in (("huge_delta.mid", _vlq(2 ** 62) + b"\x90\x3c\x50" + b"\x00\x80\x3c\x00" + b"\x00\xff\x2f\x00"),
                       ("bad_status.mid", b"\x00\x90\x3c\x50\x00\xf4\x01\x02\x60\x80\x3c\x00\x00\xff\x2f\x00"),
                       ("tempo_zero.mid", b"\x00\xff\x51\x03\x00\x00\x00\x00\x90\x3c\x50\x60\x80\x3c\x00\x00\xff\x2f\x00")):
        p = folder / name
        p.write_bytes(_raw(body))
        out.append(p)
    for name, data in (("text.mid", b"hello, not a MIDI file\n" * 20), ("empty.mid", b""), ("mthd_only.mid", b"MThd"),
                       ("format3.mid", _raw(b"\x00\x90\x3c\x50\x60\x80\x3c\x00\x00\xff\x2f\x00", fmt=3))):
        p = folder / name
        p.write_bytes(data)
        out.append(p)
    return out


def cases(folder, n: int = 100, seed: int = 0, sources=None) -> list:
    """Write up to ``n`` fuzz inputs into ``folder`` (created) and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = _odd_files(folder)
    rng = np.random.default_rng(seed)
    srcs = [Path(s) for s in (sources or SOURCES)]
    k = 0
    while len(out) < n:
        src = srcs[k % len(srcs)]
        data = bytearray(src.read_bytes())
        kind = k % 4
        if kind == 0:                                   # byte flips
            for i in rng.integers(14, len(data), size=int(rng.integers(1, 20))):
                data[i] = int(rng.integers(0, 256))
        elif kind == 1:                                 # truncation
            data = data[: int(rng.integers(4, len(data)))]
        elif kind == 2:                                 # header damage
            i = int(rng.integers(4, 14))
            data[i] = int(rng.integers(0, 256))
        else:                                           # bit flips
            for i in rng.integers(14, len(data), size=int(rng.integers(1, 50))):
                data[i] ^= 1 << int(rng.integers(0, 8))
        p = folder / f"damaged_{k:04d}.mid"
        p.write_bytes(bytes(data))
        out.append(p)
        k += 1
    return out[:n]


if __name__ == "__main__":
    import sys

    print("\n".join(map(str, cases(sys.argv[1] if len(sys.argv) > 1 else "fuzz_cases", int(os.environ.get("N", "1000"))))))
