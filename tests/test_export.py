"""`dataset export`: a small converted folder of real TPD files to parquet, read back with Hugging
Face `datasets` offline; MidiTok tokens decode to the same notes; sharded datasets too."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from midistyle.codec import io as mio
from midistyle.codec.dataset import convert, open_dataset
from midistyle.codec.export import VELOCITY_BINS, export_dataset, make_tokenizer, piece_midi

from conftest import TPD, run_cli

if not os.environ.get("CI"):          # CI installs the interop extra and must run these
    pytest.importorskip("miditok")
pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    for g in ("classical", "jazz"):
        (d / g).mkdir()
        for p in sorted((TPD / g).glob("*.mid"))[::80][:3]:
            shutil.copy(p, d / g / p.name)
    h5 = d / "tiny.h5"
    convert([(g, str(d / g)) for g in ("classical", "jazz")], str(h5), val_fraction=0.34, progress=False)
    return d, h5


def test_piece_midi_is_the_converted_note_table(tiny):
    _, h5 = tiny
    with open_dataset(str(h5)) as ds:
        roll = ds.piece(0)
        perf = mio.read_midi_bytes(piece_midi(roll), "exported")
    assert len(perf.notes) == len(roll.notes)
    assert np.array_equal(np.sort(perf.notes["pitch"]), np.sort(roll.notes["pitch"]))
    order_a = np.lexsort((roll.notes["pitch"], roll.notes["start"]))
    order_b = np.lexsort((perf.notes["pitch"], perf.notes["start"]))
    assert np.abs(perf.notes["start"][order_b] - roll.notes["start"][order_a]).max() < 1e-3
    assert np.array_equal(perf.notes["velocity"][order_b], roll.notes["velocity"][order_a])


def test_export_reads_back_with_datasets_and_tokens_decode(tiny, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    import symusic

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    _, h5 = tiny
    out = tmp_path / "parquet"
    r = run_cli("dataset", "export", h5, "-o", out, "--tokenizer", "REMI", "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert set(report["splits"]) == {"train", "val"} and sum(s["pieces"] for s in report["splits"].values()) == 6
    assert sorted(os.listdir(out)) == ["export.json", "tokenizer.json", "train.parquet", "val.parquet"]
    ds = datasets.load_dataset("parquet", data_files={s: str(out / f"{s}.parquet") for s in ("train", "val")})
    assert {"name", "genre", "split", "md5", "midi", "tokens"} <= set(ds["train"].column_names)
    assert len(ds["train"]) + len(ds["val"]) == 6 and set(ds["val"]["split"]) == {"val"}
    # the tokenizer rebuilt from its own file decodes the tokens to the piece's notes
    import miditok

    tok = miditok.REMI(params=str(out / "tokenizer.json"))
    assert tok.config.num_velocities == VELOCITY_BINS
    row = ds["train"][0]
    orig = symusic.Score.from_midi(row["midi"])
    back = tok.decode([row["tokens"]])
    a = sorted((n.pitch, n.velocity) for t in orig.tracks for n in t.notes)
    b = sorted((n.pitch, n.velocity) for t in back.tracks for n in t.notes)
    assert len(b) >= 0.95 * len(a), (len(a), len(b))
    # velocities survive within 2 (pitch by pitch, in order)
    by_pitch_a, by_pitch_b = {}, {}
    for p, v in a:
        by_pitch_a.setdefault(p, []).append(v)
    for p, v in b:
        by_pitch_b.setdefault(p, []).append(v)
    diffs = [abs(x - y) for p in by_pitch_b for x, y in zip(sorted(by_pitch_a.get(p, [])), sorted(by_pitch_b[p]))]
    assert diffs and max(diffs) <= 2, max(diffs)
    # no tokens without a tokenizer; an existing folder needs --force
    r = run_cli("dataset", "export", h5, "-o", out, "--quiet")
    assert r.returncode == 2 and "--force" in r.stderr
    r = run_cli("dataset", "export", h5, "-o", out, "--quiet", "--force")
    assert r.returncode == 0 and "tokens" not in datasets.load_dataset(
        "parquet", data_files=str(out / "train.parquet"))["train"].column_names
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".midistyle-export-")]


def test_export_of_a_sharded_dataset(tiny, tmp_path):
    pytest.importorskip("apache_beam")
    import pyarrow.parquet as pq

    from midistyle.codec.beamconvert import convert_beam

    d, _ = tiny
    sharded = tmp_path / "sharded"
    convert_beam([(g, str(d / g)) for g in ("classical", "jazz")], str(sharded), shards=2, val_fraction=0.34)
    r = export_dataset(str(sharded), str(tmp_path / "out"), progress=False)
    assert sum(s["pieces"] for s in r["splits"].values()) == 6
    t = pq.read_table(tmp_path / "out" / "train.parquet")
    assert t.num_rows == r["splits"]["train"]["pieces"] and bytes(t["midi"][0].as_py())[:4] == b"MThd"


def test_unknown_tokenizer_is_refused():
    with pytest.raises(Exception, match="tokenizer must be one of"):
        make_tokenizer("BPE")
