"""midistyle.codec.beamconvert: the Apache Beam conversion (DirectRunner) equals the local one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("apache_beam")

from midistyle.codec.beamconvert import convert_beam, shard_of  # noqa: E402
from midistyle.codec.dataset import Dataset, ShardedDataset, open_dataset  # noqa: E402
from midistyle.errors import InputError, OutputError  # noqa: E402

import test_dataset  # noqa: E402
from test_dataset import BAD, SETTINGS, VAL  # noqa: E402

converted = test_dataset.converted        # the fixture: the same small tree, converted locally
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, converted):
    tree, local, report = converted
    out = tmp_path_factory.mktemp("beam") / "tpd small shards"
    beam_report = convert_beam([("classical", tree["classical"]), ("jazz", tree["jazz"])], str(out),
                               settings=SETTINGS, val_fraction=VAL, seed=0, shards=3, workers=2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert beam_report.pieces == manifest["pieces"] and beam_report.output == str(out)
    return tree, local, report, out, manifest


def test_beam_output_equals_local_conversion(sharded):
    tree, local, report, out, manifest = sharded
    with Dataset(local) as a, open_dataset(out) as b:
        assert isinstance(b, ShardedDataset) and b.settings == a.settings
        assert sorted(zip(a.genres, a.names, a.md5, a.split)) == sorted(zip(b.genres, b.names, b.md5, b.split))
        where = {(g, n): i for i, (g, n) in enumerate(zip(b.genres, b.names))}
        for i, key in enumerate(zip(a.genres, a.names)):
            j = where[key]
            ra, rb = a.piece(i), b.piece(j)
            for k in ("onsets", "held", "velocity", "pedals"):
                assert np.array_equal(getattr(ra, k), getattr(rb, k)), (key, k)
            assert np.array_equal(ra.notes, rb.notes)
            assert bool(a.constant_velocity[i]) == bool(b.constant_velocity[j])
        assert b.select("jazz", "train") and len(b.select(skip_constant=True)) < len(b)
    assert manifest["pieces"] == report.pieces and manifest["notes"] == report.notes
    assert manifest["split_counts"] == report.split_counts


def test_beam_reports_every_bad_file_and_duplicate(sharded):
    tree, _, report, out, manifest = sharded
    assert {os.path.basename(s["file"]) for s in manifest["skipped"]} == set(BAD)
    assert sorted(map(json.dumps, manifest["skipped"])) == sorted(map(json.dumps, report.skipped))
    assert manifest["duplicates"] == report.duplicates
    # shards: one file per non-empty hash bucket, each a dataset of its own
    assert sorted(os.listdir(out)) == sorted(manifest["shards"] + ["manifest.json"])
    for name in manifest["shards"]:
        k = int(name.split("-")[1])
        with Dataset(out / name) as shard:
            assert all(shard_of(m, 3) == k for m in shard.md5)


def test_beam_refuses_to_overwrite_and_leaves_nothing_on_failure(sharded, tmp_path):
    tree, _, _, out, _ = sharded
    with pytest.raises(OutputError):
        convert_beam([("jazz", tree["jazz"])], str(out), settings=SETTINGS)
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "bad.mid").write_bytes(b"junk")
    with pytest.raises(InputError, match="no MIDI file could be converted"):
        convert_beam([("jazz", empty)], str(tmp_path / "o"), workers=1)
    assert sorted(os.listdir(tmp_path)) == ["nothing"]     # no output, no temporary folder


def test_training_reads_a_sharded_dataset(sharded, tmp_path):
    """`train velocity` takes the manifest (or its folder) like a single HDF5 file."""
    from midistyle.velocity import VelocityConfig, VelocityModel, train

    _, _, _, out, manifest = sharded
    cfg = VelocityConfig(epochs=1, max_steps_per_epoch=2, window=64, batch_size=2, channels=8, cond_channels=8,
                         cond_dilations=(1,), ar_dilations=(1, 2), skip_channels=8, head_units=8,
                         val_windows_per_piece=1)
    meta = train(str(out / "manifest.json"), "jazz", str(tmp_path / "v.keras"), cfg, progress=False)
    assert meta["data"]["train_pieces"] + meta["data"]["val_pieces"] <= manifest["split_counts"]["jazz"]["train"] + \
        manifest["split_counts"]["jazz"]["val"]
    assert VelocityModel.load(str(tmp_path / "v.keras")).genre == "jazz"


def test_the_command_line_keeps_beams_own_output_out_unless_verbose(sharded, tmp_path):
    tree = sharded[0]
    r = subprocess.run([sys.executable, "-m", "midistyle", "dataset", "convert", f"classical={tree['classical']}",
                        f"jazz={tree['jazz']}", "-o", str(tmp_path / "quiet"), "--runner", "beam", "--shards", "2",
                        "--workers", "2"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("wrote "), r.stderr[-2000:]
    # only the command's own report: the skipped and duplicate files, no Beam warnings or worker logs
    own = ("skipped: ", "duplicate: ", "warning: ")
    assert [ln for ln in r.stderr.splitlines() if not ln.startswith(own)] == [], r.stderr[-2000:]
