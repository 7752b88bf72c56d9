"""midistyle.codec.dataset: folders of MIDI -> HDF5, bad files, duplicates, split, reading back."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import h5py
import mido
import numpy as np
import pytest

from midistyle.codec.dataset import Dataset, assign_split, convert, find_midi_files
from midistyle.codec.io import read
from midistyle.errors import InputError, OutputError, SettingsMismatchError
from midistyle.codec.pianoroll import EncoderSettings, encode

from conftest import REPO, run_cli, save_tracks, simple_notes_midi, tpd_files, tpd_sample

SETTINGS = EncoderSettings(step=0.05)
VAL = 0.5
BAD = {  # file name -> words its skip reason must contain
    "corrupt.mid": "not a MIDI file",
    "empty file.mid": "empty",
    "drums only.mid": "drum",
    "truncated (half).mid": "truncated",
}


def leftovers(folder) -> list:
    return sorted(f for f in os.listdir(folder) if f.endswith(".tmp") or f.startswith(".midistyle-"))


def build_tree(root: Path) -> dict:
    """Two genre folders with subfolders, mixing good real files, bad files, a duplicate and a
    constant-velocity file."""
    cl, jz = root / "classical", root / "jazz"
    (cl / "sub" / "deeper").mkdir(parents=True)
    (jz / "sub").mkdir(parents=True)
    c_files, j_files = tpd_sample("classical"), tpd_sample("jazz")
    good = {
        "classical": [cl / c_files[0].name, cl / "sub" / c_files[5].name],
        "jazz": [jz / j_files[0].name, jz / "sub" / j_files[5].name],
    }
    shutil.copyfile(c_files[0], good["classical"][0])
    shutil.copyfile(c_files[5], good["classical"][1])
    shutil.copyfile(j_files[0], good["jazz"][0])
    shutil.copyfile(j_files[5], good["jazz"][1])
    # byte-identical duplicate of a good file, under another name
    dup = jz / f"copy of {j_files[5].name}"
    shutil.copyfile(j_files[5], dup)
    # bad files
    (cl / "corrupt.mid").write_bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (cl / "sub" / "deeper" / "empty file.mid").write_bytes(b"")
    save_tracks(cl / "sub" / "deeper" / "drums only.mid",
                [[(0, mido.Message("note_on", channel=9, note=36, velocity=100)),
                  (120, mido.Message("note_off", channel=9, note=36)),
                  (240, mido.Message("note_on", channel=9, note=38, velocity=90)),
                  (360, mido.Message("note_off", channel=9, note=38))]])
    data = j_files[1].read_bytes()
    (jz / "truncated (half).mid").write_bytes(data[: len(data) // 2])
    # constant velocity: every note at 127, like the TPD sonatina files
    const = simple_notes_midi(jz / "sub" / "constant.mid",
                              [(60 + (k % 12), 127, k * 0.5, k * 0.5 + 0.4) for k in range(24)])
    # a non-MIDI file that must not be picked up at all
    (jz / "notes.txt").write_text("not music")
    # expected constant-velocity pieces (relative names): the generated one, and any real file
    # that happens to be constant (the TPD has a few, e.g. "02. Christe Eleison .mid")
    constant = []
    for g, folder in (("classical", cl), ("jazz", jz)):
        for f in good[g] + ([const] if g == "jazz" else []):
            if len(np.unique(read(f).notes["velocity"])) == 1:
                constant.append((g, os.path.relpath(f, folder)))
    assert ("jazz", os.path.join("sub", "constant.mid")) in constant
    return {"classical": cl, "jazz": jz, "good": good, "dup": dup, "dup_of": good["jazz"][1],
            "constant": constant}


@pytest.fixture(scope="module")
def converted(tmp_path_factory, tpd_required):
    root = tmp_path_factory.mktemp("ds")
    tree = build_tree(root / "src")
    out_dir = root / "out"
    out_dir.mkdir()
    out = out_dir / "tpd small.h5"
    report = convert([("classical", tree["classical"]), ("jazz", tree["jazz"])], out, settings=SETTINGS,
                     val_fraction=VAL, seed=0, workers=2, progress=False)
    return tree, out, report


def test_find_midi_files_is_recursive_and_sorted(converted):
    tree, _, _ = converted
    files = find_midi_files(tree["jazz"])
    rel = [os.path.relpath(f, tree["jazz"]) for f in files]
    assert rel == sorted(rel)
    assert os.path.join("sub", "constant.mid") in rel
    assert "notes.txt" not in rel
    with pytest.raises(InputError):
        find_midi_files(tree["jazz"] / "nope")


def test_report_counts_skips_duplicates_and_constant(converted):
    tree, out, report = converted
    # 2 classical + 2 jazz real files + the constant-velocity file; the duplicate kept once
    assert report.pieces == 5
    skipped = {Path(s["file"]).name: s["reason"] for s in report.skipped}
    assert set(skipped) == set(BAD)
    for name, words in BAD.items():
        assert words in skipped[name], (name, skipped[name])
    assert len(report.duplicates) == 1
    d = report.duplicates[0]
    assert {Path(d["file"]).name, Path(d["same_as"]).name} == {tree["dup"].name, tree["dup_of"].name}
    assert sorted(os.path.relpath(p, tree[g]) for g in ("classical", "jazz") for p in report.constant_velocity
                  if Path(p).is_relative_to(tree[g])) == sorted(n for _, n in tree["constant"])
    assert len(report.constant_velocity) == len(tree["constant"])
    assert report.split_counts == {"classical": {"train": 1, "val": 1}, "jazz": {"train": 1, "val": 2}}
    assert leftovers(out.parent) == []
    assert os.listdir(out.parent) == [out.name]


def test_hdf5_attributes_and_layout(converted):
    tree, out, report = converted
    with h5py.File(out, "r") as h5:
        a = h5.attrs
        assert a["format"] == "midistyle.dataset" and int(a["format_version"]) == 2
        assert EncoderSettings.from_dict(json.loads(a["encoder"])) == SETTINGS
        assert json.loads(a["genres"]) == ["classical", "jazz"]
        skipped = json.loads(a["skipped"])
        assert {Path(s["file"]).name for s in skipped} == set(BAD)
        assert all(s["reason"] for s in skipped)
        assert json.loads(a["duplicates"]) == report.duplicates
        assert sorted(json.loads(a["constant_velocity"])) == sorted(n for _, n in tree["constant"])
        n = len(h5["pieces/name"])
        assert n == 5
        cv = h5["pieces/constant_velocity"][:]
        names = [s.decode() for s in h5["pieces/name"][:]]
        assert sorted(names[i] for i in np.flatnonzero(cv)) == sorted(n for _, n in tree["constant"])
        T = int(h5["pieces/roll_length"][:].sum())
        assert T == report.steps
        assert set(h5["rolls"]) == {"pedals"}    # the dense matrices are rebuilt from the notes
        assert h5["rolls/pedals"].shape == (T, 2)
        assert h5["notes"].shape == (report.notes,)
        # pieces are contiguous slices in order
        rs, rl = h5["pieces/roll_start"][:], h5["pieces/roll_length"][:]
        assert rs[0] == 0 and np.array_equal(rs[1:], np.cumsum(rl)[:-1])


def test_pieces_match_encode_of_source_files(converted):
    tree, out, _ = converted
    with Dataset(out) as ds:
        assert ds.settings == SETTINGS
        assert len(ds) == 5
        names = {(g, n) for g, n in zip(ds.genres, ds.names)}
        for g, files in tree["good"].items():
            kept = {(g, os.path.relpath(f, tree[g])) for f in files}
            # the duplicate pair: exactly one of the two names is kept
            if g == "jazz":
                pair = {os.path.relpath(tree["dup"], tree[g]), os.path.relpath(tree["dup_of"], tree[g])}
                kept = {k for k in kept if k[1] not in pair}
                assert len(names & {(g, p) for p in pair}) == 1
            assert kept <= names
        for i in range(len(ds)):
            src = tree[ds.genres[i]] / ds.names[i]
            assert ds.md5[i] == hashlib.md5(src.read_bytes()).hexdigest()
            want = encode(src, SETTINGS)
            got = ds.piece(i)
            for k in ("onsets", "held", "velocity", "pedals"):
                a, b = getattr(got, k), getattr(want, k)
                assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b), (ds.names[i], k)
            for k in ("pitch", "velocity", "start", "end"):
                assert np.array_equal(got.notes[k], want.notes[k]), (ds.names[i], k)
            assert np.array_equal(got.note_steps, want.note_steps)
            tpb = mido.MidiFile(str(src)).ticks_per_beat
            np.testing.assert_allclose(got.notes["beat"], want.notes["start_tick"] / tpb)   # beats from ticks
            assert np.array_equal(got.note_velocities(got.velocity)[want.in_range()],
                                  want.note_velocities(want.velocity)[want.in_range()])
            assert bool(ds.constant_velocity[i]) == ((ds.genres[i], ds.names[i]) in tree["constant"])


def test_split_is_by_piece_without_leaks(converted):
    tree, out, report = converted
    with Dataset(out) as ds:
        train = {m for m, s in zip(ds.md5, ds.split) if s == "train"}
        val = {m for m, s in zip(ds.md5, ds.split) if s == "val"}
        assert train and val and not (train & val)
        assert len(set(ds.md5)) == len(ds)
        for g, counts in report.split_counts.items():
            assert counts["val"] == sum(1 for gg, s in zip(ds.genres, ds.split) if gg == g and s == "val")
        # select() filters by genre, split and constant velocity
        assert len(ds.select(genre="jazz")) == 3
        n_const = sum(1 for g, _ in tree["constant"] if g == "jazz")
        assert len(ds.select(genre="jazz", skip_constant=True)) == 3 - n_const
        assert all(not ds.constant_velocity[i] for i in ds.select(skip_constant=True))
        assert set(ds.select(split="val")) == {i for i, s in enumerate(ds.split) if s == "val"}
    with pytest.raises(SettingsMismatchError):
        Dataset(out, settings=EncoderSettings())


def test_convert_is_deterministic(converted, tmp_path):
    tree, out, _ = converted
    again = tmp_path / "again.h5"
    convert([("classical", tree["classical"]), ("jazz", tree["jazz"])], again, settings=SETTINGS,
            val_fraction=VAL, seed=0, workers=1, progress=False)
    with Dataset(out) as a, Dataset(again) as b:
        assert (a.names, a.genres, a.md5, a.split) == (b.names, b.genres, b.md5, b.split)
        assert np.array_equal(a.h5["rolls/pedals"][:], b.h5["rolls/pedals"][:])
        assert np.array_equal(a.h5["notes"][:], b.h5["notes"][:])


def test_assign_split_properties():
    md5s = [hashlib.md5(str(i).encode()).hexdigest() for i in range(40)]
    genres = ["a"] * 20 + ["b"] * 20
    s1 = assign_split(md5s, genres, 0.25, seed=3)
    assert s1 == assign_split(md5s, genres, 0.25, seed=3)
    assert sum(1 for g, s in zip(genres, s1) if g == "a" and s == "val") == 5
    assert sum(1 for g, s in zip(genres, s1) if g == "b" and s == "val") == 5
    # a piece's side depends on its content, not on its position in the list
    order = list(reversed(range(40)))
    s2 = assign_split([md5s[i] for i in order], [genres[i] for i in order], 0.25, seed=3)
    assert [s2[order.index(i)] for i in range(40)] == s1
    assert assign_split(md5s, genres, 0.25, seed=4) != s1
    assert "val" not in assign_split(md5s, genres, 0.0, seed=3)


def test_refuses_to_overwrite_and_leaves_nothing_behind(converted):
    tree, out, _ = converted
    before = hashlib.md5(out.read_bytes()).hexdigest()
    with pytest.raises(OutputError, match="exists"):
        convert([("jazz", tree["jazz"])], out, settings=SETTINGS, workers=1, progress=False)
    assert hashlib.md5(out.read_bytes()).hexdigest() == before
    assert leftovers(out.parent) == []
    with pytest.raises(InputError):
        convert([("jazz", tree["jazz"] / "no such folder")], out.parent / "other.h5", workers=1, progress=False)
    assert not (out.parent / "other.h5").exists()
    assert leftovers(out.parent) == []
    with pytest.raises(OutputError):
        convert([("jazz", tree["jazz"])], out.parent / "missing dir" / "x.h5", workers=1, progress=False)
    with pytest.raises(OutputError):
        convert([("jazz", tree["jazz"])], out.parent, workers=1, progress=False)
    assert os.listdir(out.parent) == [out.name]


def test_force_overwrites(converted, tmp_path):
    tree, _, _ = converted
    out = tmp_path / "f.h5"
    out.write_bytes(b"old")
    report = convert([("jazz", tree["jazz"])], out, settings=SETTINGS, force=True, workers=1, progress=False)
    assert report.pieces == 3
    with Dataset(out) as ds:
        assert ds.genre_names == ["jazz"]
    assert leftovers(tmp_path) == []


def test_cli_convert_matches_library_and_refuses_overwrite(converted, tmp_path):
    tree, lib_out, _ = converted
    out = tmp_path / "cli out.h5"
    args = ["dataset", "convert", f"classical={tree['classical']}", f"jazz={tree['jazz']}", "-o", out,
            "--val-fraction", VAL, "--step", SETTINGS.step, "--workers", 2, "--quiet"]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "wrote" in r.stdout and "5 pieces" in r.stdout
    err = r.stderr.splitlines()
    assert sum(line.startswith("skipped:") for line in err) == len(BAD)
    assert sum(line.startswith("duplicate:") for line in err) == 1
    warnings = [line for line in err if line.startswith("warning:")]
    assert len(warnings) == len(tree["constant"])
    assert any("constant.mid" in line and "same velocity" in line for line in warnings)
    with Dataset(out) as a, Dataset(lib_out) as b:
        assert (a.names, a.genres, a.md5, a.split) == (b.names, b.genres, b.md5, b.split)
    before = out.read_bytes()
    r = run_cli(*args)
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1 and out.name in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []
    r = run_cli(*args, "--force", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["pieces"] == 5 and len(rep["skipped"]) == len(BAD) and len(rep["duplicates"]) == 1
    assert leftovers(tmp_path) == []


def test_interrupted_convert_leaves_no_temp_file_and_no_output(tmp_path, tpd_required):
    src = tmp_path / "src"
    src.mkdir()
    # every file four times, each copy made distinct (not a duplicate) by an extra track holding only
    # a text event: several seconds of work to interrupt, even on a busy machine
    for g in ("classical", "jazz"):
        for p in tpd_files(g):
            data = p.read_bytes()
            for k in range(4):
                text = f"copy {k}".encode()
                body = b"\x00\xff\x01" + bytes([len(text)]) + text + b"\x00\xff\x2f\x00"
                header = data[:8] + struct.pack(">HH", 1, int.from_bytes(data[10:12], "big") + 1) + data[12:14]
                (src / f"{g}-{k}-{p.name}").write_bytes(header + data[14:] + b"MTrk" + struct.pack(">I", len(body)) + body)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "x.h5"
    proc = subprocess.Popen([sys.executable, str(REPO / "cli.py"), "dataset", "convert", str(src), "--genre", "jazz",
                             "-o", str(out), "--workers", "1", "--quiet"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # as at a terminal: a runner started in the background may have SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not leftovers(out_dir) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert leftovers(out_dir), "the conversion never created its temporary file"
        assert proc.poll() is None, "conversion finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert os.listdir(out_dir) == []


def test_older_format_is_refused_with_a_clear_error(converted, tmp_path):
    _, out, _ = converted
    old = tmp_path / "old.h5"
    old.write_bytes(Path(out).read_bytes())
    with h5py.File(old, "a") as h5:
        h5.attrs["format_version"] = 1
    with pytest.raises(InputError, match="format version 1.*convert the MIDI folders again"):
        Dataset(old)
