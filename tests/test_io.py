"""midistyle.codec.io: reading MIDI / scores into a Performance, and the exact velocity restyle."""
from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

import mido
import numpy as np
import pytest
import symusic

import midistyle.codec.io as mio
from midistyle.errors import InputError, OutputError

from conftest import (REPO, RICH_DRUM_NOTES, RICH_DURATION, RICH_NOTES, RICH_PEDALS, RICH_TEMPI, SAMPLE,
                      absolute_messages, build_rich_midi, is_sounding_note_on, rich_seconds, sample_id,
                      save_tracks, tpd_sample)


def tmp_leftovers(folder) -> list:
    return [f for f in os.listdir(folder) if f.endswith(".tmp") or f.startswith(".midistyle-")]


def test_tpd_sample_is_present_and_varied(tpd_required):
    classical, jazz = tpd_sample("classical"), tpd_sample("jazz")
    assert len(classical) == 6 and len(jazz) == 6
    assert len(set(SAMPLE)) == 12
    # the sample exercises the data's quirks: several ticks_per_beat, names with spaces
    tpbs = {struct.unpack(">h", p.read_bytes()[12:14])[0] for p in SAMPLE}
    assert len(tpbs) >= 3
    assert any(" " in p.name for p in SAMPLE)


# ----------------------------------------------------------------------------- real files
@pytest.mark.parametrize("path", SAMPLE, ids=sample_id)
def test_exact_restyle_identity_round_trip(path, tmp_path):
    perf = mio.read(path)
    assert len(perf.notes) > 0
    out = tmp_path / "same.mid"
    mio.write_velocities(perf, perf.notes["velocity"], out)

    src = mido.MidiFile(path, clip=True)
    dst = mido.MidiFile(out, clip=True)
    assert dst.type == src.type and dst.ticks_per_beat == src.ticks_per_beat
    assert [len(t) for t in dst.tracks] == [len(t) for t in src.tracks]
    a, b = absolute_messages(src), absolute_messages(dst)
    assert len(a) == len(b)
    for (ta, ka, ma), (tb, kb, mb) in zip(a, b):
        assert (ta, ka) == (tb, kb)
        if ma.type in ("note_on", "note_off"):
            assert (mb.type, mb.channel, mb.note, mb.velocity) == (ma.type, ma.channel, ma.note, ma.velocity)
        assert mb == ma  # every other message too, field for field
    again = mio.read(out)
    assert np.array_equal(again.notes, perf.notes)
    assert np.array_equal(again.pedals, perf.pedals)


@pytest.mark.parametrize("path", SAMPLE, ids=sample_id)
def test_exact_restyle_new_velocities_change_only_note_on_velocities(path, tmp_path):
    perf = mio.read(path, exact=True)
    rng = np.random.default_rng(1234)
    new = rng.integers(1, 128, size=len(perf.notes))
    out = tmp_path / "restyled.mid"
    mio.write_velocities(perf, new, out)

    src = mido.MidiFile(path, clip=True)
    dst = mido.MidiFile(out, clip=True)
    assigned = {(int(t), int(m)): int(v) for t, m, v in zip(perf.notes["track"], perf.notes["msg"], new)}
    assert len(assigned) == len(perf.notes)  # one note-on message per note
    changed = 0
    for ti, (tr_a, tr_b) in enumerate(zip(src.tracks, dst.tracks, strict=True)):
        assert len(tr_a) == len(tr_b)
        for mi, (ma, mb) in enumerate(zip(tr_a, tr_b)):
            # everything but the velocity field is identical, delta times included
            if hasattr(ma, "velocity"):
                assert mb.copy(velocity=0) == ma.copy(velocity=0)
            else:
                assert mb == ma
            if (ti, mi) in assigned:
                assert is_sounding_note_on(ma) and ma.channel != mio.DRUM_CHANNEL
                assert mb.type == "note_on" and mb.velocity == assigned[(ti, mi)]
                changed += 1
            else:
                # note-offs, velocity-0 note-ons and drum notes keep their velocity
                assert mb == ma
                assert not (is_sounding_note_on(ma) and ma.channel != mio.DRUM_CHANNEL)
    assert changed == len(perf.notes)

    # the new velocities land on the right notes
    again = mio.read(out, exact=True)
    assert np.array_equal(again.notes["velocity"], new)
    for k in ("pitch", "start_tick", "end_tick", "start", "end", "track", "msg", "channel"):
        assert np.array_equal(again.notes[k], perf.notes[k]), k
    assert np.array_equal(again.pedals, perf.pedals)
    # the Performance is not modified by writing: the original velocities still restyle exactly
    out2 = tmp_path / "back.mid"
    mio.write_velocities(perf, perf.notes["velocity"], out2)
    assert [list(t) for t in mido.MidiFile(out2, clip=True).tracks] == [list(t) for t in src.tracks]


# ----------------------------------------------------------------------------- generated files
@pytest.mark.parametrize("tpb,midi_type", [(96, 1), (960, 1), (480, 0)])
def test_read_rich_file_times_from_tempo_map(tmp_path, tpb, midi_type):
    path = build_rich_midi(tmp_path / "rich.mid", tpb=tpb, midi_type=midi_type)
    perf = mio.read(path, exact=True)
    n = perf.notes
    assert len(n) == len(RICH_NOTES)
    assert n["pitch"].tolist() == [r[0] for r in RICH_NOTES]
    assert n["velocity"].tolist() == [r[1] for r in RICH_NOTES]
    np.testing.assert_allclose(n["start"], [rich_seconds(r[2]) for r in RICH_NOTES], atol=1e-9)
    end_beats = [r[3] for r in RICH_NOTES]
    if midi_type == 0:  # one track: the two channel-0 notes of pitch 60 are matched first in, first out
        assert (RICH_NOTES[0][0], RICH_NOTES[2][0]) == (60, 60)
        end_beats[0], end_beats[2] = RICH_NOTES[2][3], RICH_NOTES[0][3]
    np.testing.assert_allclose(n["end"], [rich_seconds(b) for b in end_beats], atol=1e-9)
    assert n["start_tick"].tolist() == [round(r[2] * tpb) for r in RICH_NOTES]
    assert n["end_tick"].tolist() == [round(b * tpb) for b in end_beats]
    assert n["channel"].tolist() == [r[5] for r in RICH_NOTES]
    if midi_type == 1:
        assert n["track"].tolist() == [r[4] for r in RICH_NOTES]
    else:
        assert set(n["track"].tolist()) == {0}
    # every note's recorded message is its own note-on
    for row in n:
        msg = perf.midi.tracks[int(row["track"])][int(row["msg"])]
        assert is_sounding_note_on(msg)
        assert (msg.note, msg.velocity, msg.channel) == (row["pitch"], row["velocity"], row["channel"])
    # drums ignored but counted; drum-channel CC64 is not a piano pedal
    assert perf.drum_notes == RICH_DRUM_NOTES
    assert not np.isin(n["channel"], [mio.DRUM_CHANNEL]).any()
    assert perf.pedals["cc"].tolist() == [cc for _, cc, _ in RICH_PEDALS]
    assert perf.pedals["value"].tolist() == [v for _, _, v in RICH_PEDALS]
    np.testing.assert_allclose(perf.pedals["time"], [rich_seconds(b) for b, _, _ in RICH_PEDALS], atol=1e-9)
    assert perf.tempo_changes == len(RICH_TEMPI)
    assert perf.duration == pytest.approx(RICH_DURATION)
    assert perf.programs == [0]


def test_tempo_change_count_is_the_number_of_set_tempo_events(tmp_path):
    note = [(0, mido.Message("note_on", note=60, velocity=64)), (480, mido.Message("note_off", note=60))]
    none = mio.read(save_tracks(tmp_path / "none.mid", [note]))
    assert none.tempo_changes == 0
    assert none.notes["end"][0] == pytest.approx(0.5)  # default 120 bpm
    late = mio.read(save_tracks(tmp_path / "late.mid", [note + [(240, mido.MetaMessage("set_tempo", tempo=1000000))]]))
    assert late.tempo_changes == 1
    assert late.notes["end"][0] == pytest.approx(0.25 + 0.5)  # half a beat at 120 bpm, half at 60


def test_note_left_open_ends_at_last_event_of_file(tmp_path):
    short = [(0, mido.Message("note_on", channel=0, note=60, velocity=70)),
             (100, mido.Message("control_change", channel=0, control=7, value=100))]
    long = [(0, mido.Message("note_on", channel=1, note=50, velocity=70)),
            (960, mido.Message("note_off", channel=1, note=50))]
    perf = mio.read(save_tracks(tmp_path / "open.mid", [short, long], tpb=480))
    by_pitch = {int(r["pitch"]): r for r in perf.notes}
    assert by_pitch[60]["end_tick"] == 960
    assert by_pitch[60]["end"] == pytest.approx(1.0)


def test_rich_restyle_writes_into_original_tracks(rich_midi, tmp_path):
    perf = mio.read(rich_midi)
    new = np.arange(11, 11 + len(perf.notes))
    out = tmp_path / "rich out.mid"
    mio.write_velocities(perf, new, out)
    src, dst = mido.MidiFile(rich_midi), mido.MidiFile(out)
    assert len(dst.tracks) == 4
    # conductor and drum tracks are untouched
    assert list(dst.tracks[0]) == list(src.tracks[0])
    assert list(dst.tracks[3]) == list(src.tracks[3])
    for (pitch, _, _, _, track, ch), v in zip(RICH_NOTES, new.tolist()):
        hits = [m for m in dst.tracks[track] if is_sounding_note_on(m) and m.note == pitch and m.channel == ch
                and m.velocity == v]
        assert len(hits) == 1, (pitch, track, v)
    for ta, tb in zip(src.tracks, dst.tracks):
        for ma, mb in zip(ta, tb, strict=True):
            if ma.type == "note_off" or (ma.type == "note_on" and ma.velocity == 0):
                assert mb == ma  # a note-off stays a note-off, release velocity kept
    again = mio.read(out, exact=True)
    assert again.notes["velocity"].tolist() == new.tolist()
    assert again.notes["track"].tolist() == [r[4] for r in RICH_NOTES]
    assert again.drum_notes == RICH_DRUM_NOTES


def test_restyle_clips_and_rounds_and_never_writes_velocity_zero(rich_midi, tmp_path):
    perf = mio.read(rich_midi)
    n = len(perf.notes)
    vel = np.array([0, -5, 0.4, 1.6, 200, 127.4, 64.5, 3.0, 255.0][:n], dtype=float)
    out = tmp_path / "clipped.mid"
    mio.write_velocities(perf, vel, out)
    again = mio.read(out)
    assert again.notes["velocity"].tolist() == [1, 1, 1, 2, 127, 127, 64, 3, 127][:n]
    # no new note-offs: the count of velocity-0 note-ons is unchanged
    def zeros(m):
        return sum(1 for t in m.tracks for x in t if x.type == "note_on" and x.velocity == 0)
    assert zeros(mido.MidiFile(out)) == zeros(mido.MidiFile(rich_midi))
    assert len(again.notes) == n


def test_restyle_needs_one_velocity_per_note(rich_midi, tmp_path):
    perf = mio.read(rich_midi)
    with pytest.raises(ValueError):
        mio.write_velocities(perf, np.ones(len(perf.notes) - 1), tmp_path / "x.mid")
    with pytest.raises(ValueError):
        mio.write_velocities(perf, np.ones((len(perf.notes), 1)), tmp_path / "x.mid")
    assert not (tmp_path / "x.mid").exists()
    assert tmp_leftovers(tmp_path) == []


def test_write_refuses_overwrite_and_protects_input(rich_midi, tmp_path):
    perf = mio.read(rich_midi)
    out = tmp_path / "o.mid"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="exists"):
        mio.write_velocities(perf, perf.notes["velocity"], out)
    assert out.read_bytes() == b"keep me"
    mio.write_velocities(perf, perf.notes["velocity"], out, force=True)
    assert mio.read(out).notes["velocity"].tolist() == perf.notes["velocity"].tolist()
    original = Path(rich_midi).read_bytes()
    with pytest.raises(OutputError, match="input"):
        mio.write_velocities(perf, np.full(len(perf.notes), 5), rich_midi, force=True)
    assert Path(rich_midi).read_bytes() == original
    with pytest.raises(OutputError, match="does not exist"):
        mio.write_velocities(perf, perf.notes["velocity"], tmp_path / "no such dir" / "o.mid")
    assert tmp_leftovers(tmp_path) == []


def test_written_file_has_normal_permissions(rich_midi, tmp_path):
    perf = mio.read(rich_midi)
    out = tmp_path / "perm.mid"
    mio.write_velocities(perf, perf.notes["velocity"], out)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~umask


def test_failed_save_leaves_no_temp_file_and_no_output(tmp_path):
    bad = mido.MidiFile()
    bad.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=64, time=-1)]))
    out = tmp_path / "never.mid"
    with pytest.raises(Exception):
        mio.save_midi(bad, out)
    assert not out.exists()
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- bad inputs
def _drums_only(path):
    return save_tracks(path, [[(0, mido.Message("note_on", channel=9, note=36, velocity=100)),
                               (10, mido.Message("note_off", channel=9, note=36))]])


def test_read_rejects_bad_inputs_with_input_error(tmp_path):
    real = tpd_sample("jazz")[0].read_bytes()
    cases = {}
    cases["missing"] = (tmp_path / "missing.mid", "no such file")
    d = tmp_path / "folder.mid"
    d.mkdir()
    cases["dir"] = (d, "directory")
    (tmp_path / "empty.mid").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.mid", "empty")
    (tmp_path / "noise.mid").write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    cases["noise"] = (tmp_path / "noise.mid", "not a MIDI file")
    (tmp_path / "half.mid").write_bytes(real[: len(real) // 2])
    cases["truncated"] = (tmp_path / "half.mid", "truncated")
    (tmp_path / "head.mid").write_bytes(real[:10])
    cases["header cut"] = (tmp_path / "head.mid", None)
    cases["drums"] = (_drums_only(tmp_path / "drums.mid"), "drum")
    cases["no notes"] = (save_tracks(tmp_path / "silent.mid", [[(0, mido.MetaMessage("set_tempo", tempo=400000))]]),
                         "no notes")
    smpte = tmp_path / "smpte.mid"
    smpte.write_bytes(b"MThd" + struct.pack(">Lhhh", 6, 0, 1, -(25 << 8) | 40) + b"MTrk"
                      + struct.pack(">L", 8) + bytes([0, 0x90, 60, 64, 0, 0xFF, 0x2F, 0]))
    cases["smpte"] = (smpte, "SMPTE")
    (tmp_path / "notes.txt").write_text("hello")
    cases["unsupported"] = (tmp_path / "notes.txt", "unsupported")
    for name, (path, words) in cases.items():
        with pytest.raises(InputError, match=words) as ei:
            mio.read(path)
        assert os.fspath(path) in str(ei.value), name
    with pytest.raises(InputError, match="corpus"):
        mio.read("corpus:no/such/work_xyz")


# ----------------------------------------------------------------------------- scores
def test_corpus_work_is_read():
    perf = mio.read("corpus:bach/bwv66.6")
    assert len(perf.notes) > 100
    assert perf.source == "corpus:bach/bwv66.6"
    assert perf.notes["pitch"].min() >= 36 and perf.notes["pitch"].max() <= 84
    assert (perf.notes["end"] > perf.notes["start"]).all()


def test_musicxml_dynamics_become_velocities(tmp_path):
    import music21 as m21

    part = m21.stream.Part()
    part.insert(0, m21.instrument.Piano())
    part.append(m21.dynamics.Dynamic("pp"))
    for name in ("C4", "D4", "E4", "F4"):
        part.append(m21.note.Note(name, quarterLength=1))
    part.append(m21.dynamics.Dynamic("ff"))
    for name in ("G4", "A4", "B4", "C5"):
        part.append(m21.note.Note(name, quarterLength=1))
    score = m21.stream.Score()
    score.insert(0, part)
    path = tmp_path / "dyn.musicxml"
    score.write("musicxml", fp=str(path))
    perf = mio.read(path)
    assert perf.notes["pitch"].tolist() == [60, 62, 64, 65, 67, 69, 71, 72]
    v = perf.notes["velocity"]
    assert v[:4].max() < v[4:].min()
    assert np.all(np.diff(perf.notes["start"]) > 0)
    # a score can be restyled like a MIDI file, to a new file
    out = tmp_path / "dyn.mid"
    mio.write_velocities(perf, np.full(8, 77), out)
    assert mio.read(out).notes["velocity"].tolist() == [77] * 8


def test_abc_file_is_read(tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nT:Scale\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nC D E F|G A B c|\n")
    perf = mio.read(path)
    assert perf.notes["pitch"].tolist() == [60, 62, 64, 65, 67, 69, 71, 72]
    np.testing.assert_allclose(perf.notes["start"], np.arange(8) * 0.5, atol=1e-6)


# ----------------------------------------------------------------------------- fast vs exact reader
def assert_same_table(fast, exact):
    """The fast (symusic) reader's table equals the exact (mido) reader's where both know it."""
    assert exact.exact
    assert len(fast.notes) == len(exact.notes)
    for k in ("pitch", "velocity", "start_tick", "end_tick"):
        assert np.array_equal(fast.notes[k], exact.notes[k]), k
    for k in ("start", "end"):
        np.testing.assert_allclose(fast.notes[k], exact.notes[k], rtol=0, atol=1e-6)
    assert np.array_equal(fast.pedals, exact.pedals)
    assert (fast.ticks_per_beat, fast.n_tracks, fast.tempo_changes, fast.drum_notes) == \
        (exact.ticks_per_beat, exact.n_tracks, exact.tempo_changes, exact.drum_notes)
    assert fast.duration == pytest.approx(exact.duration, abs=1e-6)


def reader_comparison_files() -> list:
    """The TPD files the fast and exact readers are compared on.

    Agreement is a property of each file, so a deterministic sample stands for the corpus (the
    exact reader costs ~0.06 s a file; all 600 took ~35 s of the suite): every 8th file, plus the
    files that stress the fast reader most, found with the fast reader and plain symusic (cheap):
    the first file of each ticks-per-beat value, the 8 with the most tempo changes, the 8 with the
    most notes left open, the 8 with the most pedal events and the 4 with the most notes.
    ``MIDISTYLE_TEST_FULL_TPD=1`` compares every file (do that when a reader changes).
    """
    from conftest import tpd_files

    files = tpd_files("classical") + tpd_files("jazz")
    assert len(files) > 500
    if os.environ.get("MIDISTYLE_TEST_FULL_TPD") == "1":
        return files
    perfs = [mio.read(p) for p in files]
    opened = [len(q.notes) - sum(len(t.notes) for t in symusic.Score.from_midi(Path(p).read_bytes()).tracks
                                 if not t.is_drum) for p, q in zip(files, perfs)]       # notes left open
    picked = set(range(0, len(files), 8))
    picked |= {min(i for i, q in enumerate(perfs) if q.ticks_per_beat == tpb) for tpb in {q.ticks_per_beat for q in perfs}}
    for key, n in ((lambda i: perfs[i].tempo_changes, 8), (lambda i: opened[i], 8),
                   (lambda i: len(perfs[i].pedals), 8), (lambda i: len(perfs[i].notes), 4)):
        picked |= set(sorted(range(len(files)), key=lambda i: (-key(i), i))[:n])
    return [files[i] for i in sorted(picked)]


def test_fast_reader_agrees_with_exact_reader_on_tpd_files(tpd_required):
    files = reader_comparison_files()
    assert len(files) > 80
    dropped = 0
    for path in files:
        fast, exact = mio.read(path), mio.read(path, exact=True)
        assert not fast.exact
        assert_same_table(fast, exact)
        plain = symusic.Score.from_midi(Path(path).read_bytes())
        dropped += sum(len(t.notes) for t in plain.tracks if not t.is_drum) < len(exact.notes)
    # real files leave notes open, which plain symusic drops: the fast reader ends them instead
    assert dropped > 10


def _raw_midi(track_bodies, tpb=96, fmt=1) -> bytes:
    """MIDI bytes from raw track bodies (delta-time + event bytes, End-of-Track added)."""
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(track_bodies), tpb)
    for body in track_bodies:
        body = body + b"\x00\xff\x2f\x00"
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out


def _open_notes(times: int) -> list:
    """A pitch struck ``times`` times and never released, then another note played to the end."""
    ev = [(i * 10, mido.Message("note_on", note=64, velocity=50 + i)) for i in range(times)]
    return [ev + [(200, mido.Message("note_on", note=40, velocity=30)),
                  (300, mido.Message("note_off", note=40))]]


ODD_FILES = {
    # running status: one note-on status byte for six events (three notes on, three off by velocity 0)
    "running status": lambda p: p.write_bytes(_raw_midi([
        b"\x00\x90\x3c\x40" b"\x00\x40\x41" b"\x00\x43\x42" b"\x60\x3c\x00" b"\x00\x40\x00" b"\x10\x43\x00"])) and p,
    # sysex, text, marker, copyright, a program change and a sequencer-specific event between notes
    "sysex and text": lambda p: p.write_bytes(_raw_midi([
        b"\x00\xf0\x05\x7e\x7f\x09\x01\xf7" b"\x00\xff\x01\x04abcd" b"\x00\xff\x06\x02hi" b"\x00\xc0\x05"
        b"\x00\x90\x3c\x40" b"\x10\xff\x7f\x03\x00\x00\x41" b"\x10\x80\x3c\x00" b"\x00\xff\x02\x01c"])) and p,
    "overlapping same pitch": lambda p: save_tracks(p, [[
        (0, mido.Message("note_on", note=60, velocity=50)), (10, mido.Message("note_on", note=60, velocity=70)),
        (20, mido.Message("note_off", note=60)), (30, mido.Message("note_on", note=60, velocity=0)),
        (30, mido.Message("note_on", note=60, velocity=90)), (30, mido.Message("note_off", note=60))]]),
    "zero-length and orphan note-offs": lambda p: save_tracks(p, [[
        (0, mido.Message("note_off", note=61)), (5, mido.Message("note_on", note=62, velocity=40)),
        (5, mido.Message("note_off", note=62)), (9, mido.Message("note_on", note=63, velocity=41)),
        (12, mido.Message("note_off", note=63))]]),
    "left open once": lambda p: save_tracks(p, _open_notes(1)),
    "left open three times": lambda p: save_tracks(p, _open_notes(3)),
    "left open six times": lambda p: save_tracks(p, _open_notes(6)),   # more than the fast reader's rounds
    # a track that ends early leaves a note open: it ends at the *file's* last event
    "open in a short track": lambda p: save_tracks(p, [
        [(0, mido.Message("note_on", channel=0, note=60, velocity=70)),
         (100, mido.Message("control_change", channel=0, control=64, value=127))],
        [(0, mido.Message("note_on", channel=1, note=50, velocity=70)), (960, mido.Message("note_off", channel=1, note=50)),
         (970, mido.MetaMessage("set_tempo", tempo=300000)), (990, mido.Message("control_change", channel=1, control=67, value=5))]]),
    "rich, type 1": lambda p: build_rich_midi(p, tpb=96, midi_type=1),
    "rich, type 0": lambda p: build_rich_midi(p, tpb=480, midi_type=0),
    "rich, 960 tpb": lambda p: build_rich_midi(p, tpb=960, midi_type=1),
}


@pytest.mark.parametrize("name", list(ODD_FILES))
def test_fast_reader_agrees_with_exact_reader_on_odd_files(name, tmp_path):
    path = tmp_path / "odd.mid"
    ODD_FILES[name](path)
    fast, exact = mio.read(path), mio.read(path, exact=True)
    assert fast.exact == (name == "left open six times")   # more than the rounds: read exactly
    assert_same_table(fast, exact)
    # a fast-read performance writes the same bytes as an exact-read one
    vel = np.arange(len(fast.notes)) % 100 + 20
    mio.write_velocities(fast, vel, tmp_path / "f.mid")
    mio.write_velocities(exact, vel, tmp_path / "e.mid")
    assert (tmp_path / "f.mid").read_bytes() == (tmp_path / "e.mid").read_bytes()


def test_open_notes_end_at_the_files_last_event_in_both_readers(tmp_path):
    path = ODD_FILES["open in a short track"](tmp_path / "o.mid")
    for exact in (False, True):
        perf = mio.read(path, exact=exact)
        by_pitch = {int(r["pitch"]): r for r in perf.notes}
        assert by_pitch[60]["end_tick"] == 990
        assert by_pitch[50]["end_tick"] == 960


def test_running_status_file_is_read_note_for_note(tmp_path):
    perf = mio.read(ODD_FILES["running status"](tmp_path / "r.mid"))
    assert perf.notes["pitch"].tolist() == [60, 64, 67]
    assert perf.notes["end_tick"].tolist() == [96, 96, 112]
    assert perf.notes["velocity"].tolist() == [64, 65, 66]


def test_fast_reader_leaves_damaged_files_to_the_exact_reader(tmp_path):
    good = build_rich_midi(tmp_path / "g.mid").read_bytes()
    for cut in (len(good) - 2, len(good) // 2, 30):
        with pytest.raises(InputError, match="truncated|corrupt"):
            mio.read_midi_bytes(good[:cut], "cut.mid")
    # one track chunk without End-of-Track still reads (as mido reads it), through the exact reader
    body = b"\x00\x90\x3c\x40\x60\x80\x3c\x00"
    raw = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(">I", len(body)) + body
    perf = mio.read_midi_bytes(raw, "no-eot.mid")
    assert perf.exact and perf.notes["pitch"].tolist() == [60]


# ----------------------------------------------------------------------------- symusic.Score in the API
def test_symusic_score_reads_and_encodes_like_its_file(tmp_path):
    import symusic

    from midistyle import encode, to_score
    from midistyle.codec.io import SYMUSIC_SOURCE
    from midistyle.velocity import restyle

    ex = REPO / "examples" / "anthropology.mid"
    compared = 0
    for path in [ex] + tpd_sample("classical", n=3) + tpd_sample("jazz", n=3):
        a, b = encode(str(path)), encode(symusic.Score(str(path)))
        if len(b.notes) < len(a.notes):
            # symusic drops a note never switched off when it loads a file (midistyle's reader ends it
            # at the file's last event): a Score has only the notes symusic kept, all of them ours
            ours = set(zip(a.notes["start_tick"].tolist(), a.notes["pitch"].tolist()))
            assert set(zip(b.notes["start_tick"].tolist(), b.notes["pitch"].tolist())) <= ours
            continue
        compared += 1
        assert np.array_equal(a.onsets, b.onsets) and np.array_equal(a.held, b.held), path
        assert np.array_equal(a.velocity, b.velocity) and np.array_equal(a.pedals, b.pedals), path
        for k in ("pitch", "velocity", "start_tick", "end_tick"):
            assert np.array_equal(a.notes[k], b.notes[k]), (path, k)
    assert compared >= 4
    assert mio.read(symusic.Score(str(ex))).source == SYMUSIC_SOURCE
    # to_score: from a path, a corpus work, a performance, bytes; a Score back unchanged
    sc = to_score(str(ex))
    assert isinstance(sc, symusic.Score) and to_score(sc) is sc
    assert np.array_equal(mio.read(sc).notes["pitch"], mio.read(str(ex)).notes["pitch"])
    assert np.array_equal(mio.read(to_score(mio.read(str(ex), exact=True))).notes["velocity"], mio.read(str(ex)).notes["velocity"])
    assert len(mio.read(to_score("corpus:bach/bwv66.6")).notes) == len(mio.read("corpus:bach/bwv66.6").notes)
    with pytest.raises(InputError):
        to_score(b"not midi")
    # restyle takes a Score (with an output path: it has no name to write beside)
    out_a, out_b = tmp_path / "a.mid", tmp_path / "b.mid"
    restyle([str(ex)], genre="jazz", output=str(out_a), seed=2)
    r = restyle([symusic.Score(str(ex))], genre="jazz", output=str(out_b), seed=2)[0]
    assert r["input"] == SYMUSIC_SOURCE
    assert np.array_equal(mio.read(str(out_a)).notes["velocity"], mio.read(str(out_b)).notes["velocity"])
    with pytest.raises(InputError, match="output"):
        restyle([symusic.Score(str(ex))], genre="jazz")
