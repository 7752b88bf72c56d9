"""Genre classifier and style embedding: the shipped model on real validation pieces, the
`classify` / `embed` commands, NumPy-vs-Keras agreement, mismatch errors, and a tiny
three-genre training run.

Real data: TPD validation pieces (the split is recomputed like datasets/build_tpd.sh does).
Every command runs as a real subprocess of ``python -m midistyle``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from midistyle.classifier import ClassifierConfig, GenreClassifier, embed, train
from midistyle.codec.dataset import convert
from midistyle.errors import SettingsMismatchError
from midistyle.codec.pianoroll import EncoderSettings, encode
from midistyle.registry import classifier_path

from conftest import GENRES, REPO, TPD, run_module, tpd_validation_files

EXAMPLE = REPO / "examples" / "anthropology.mid"


def fixed_validation_pieces():
    """A fixed handful: the first four validation pieces of each genre, in path order."""
    val = tpd_validation_files()
    return [(p, g) for g in GENRES for p in val[g][:4]]


# ----------------------------------------------------------------------------- shipped model
def test_classify_json_on_fixed_validation_pieces(tpd_required):
    pieces = fixed_validation_pieces()
    assert len(pieces) == 8
    r = run_module("classify", "--json", *[p for p, _ in pieces])
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == len(pieces)
    for row, (path, genre) in zip(rows, pieces):
        assert set(row) == {"file", "genre", "probabilities"}
        assert row["file"] == str(path)
        probs = row["probabilities"]
        assert set(probs) == set(GENRES)
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert row["genre"] == max(probs, key=probs.get)
        assert row["genre"] == genre, (path, row)


def test_classify_text_output_and_folder(tmp_path):
    folder = tmp_path / "in put"
    folder.mkdir()
    shutil.copy(tpd_validation_files()["jazz"][5], folder / "a jazz piece.mid")
    shutil.copy(tpd_validation_files()["classical"][5], folder / "b classical piece.mid")
    r = run_module("classify", folder)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(str(folder / "a jazz piece.mid") + ": jazz (")
    assert lines[1].startswith(str(folder / "b classical piece.mid") + ": classical (")


def test_numpy_runtime_matches_keras_for_shipped_classifier():
    path = classifier_path()
    a = GenreClassifier.load(path)
    b = GenreClassifier.load(path, prefer_numpy=False)
    assert a.fingerprint == b.fingerprint
    roll = encode(EXAMPLE, a.settings)
    ea, pa = a.segment_outputs(roll)
    eb, pb = b.segment_outputs(roll)
    assert ea.shape == (len(pa), a.embedding_dim) and len(pa) >= 2
    assert np.abs(ea - eb).max() < 1e-4
    assert np.abs(pa - pb).max() < 1e-4


def test_inference_does_not_import_tensorflow():
    code = ("import sys; from midistyle.classifier import classify, embed; "
            f"r = classify([{str(EXAMPLE)!r}]); e = embed({str(EXAMPLE)!r}); "
            "assert e.shape == (48,), e.shape; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; assert not bad, bad; print(r[0]['genre'])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in GENRES


# ----------------------------------------------------------------------------- embed command
def test_embed_command_matches_api_and_protects_files(tmp_path):
    src = tmp_path / "song (1).mid"
    shutil.copy(EXAMPLE, src)
    out = tmp_path / "emb.npy"
    r = run_module("embed", src, "-o", out)
    assert r.returncode == 0, r.stderr
    e = np.load(out)
    assert e.dtype == np.float32 and e.shape == (48,)
    assert np.allclose(e, embed(str(src)), atol=1e-6)
    assert np.abs(e).max() <= 1.0 and np.abs(e).sum() > 0

    stamp = out.read_bytes()
    r = run_module("embed", src, "-o", out, "--segments")
    assert r.returncode == 2 and "exists" in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == stamp
    r = run_module("embed", src, "-o", out, "--segments", "--force", "--quiet")
    assert r.returncode == 0 and r.stdout == ""
    seg = np.load(out)
    assert seg.ndim == 2 and seg.shape[1] == 48 and seg.shape[0] >= 2
    assert np.allclose(seg.mean(axis=0), e, atol=1e-5)

    before = src.read_bytes()
    r = run_module("embed", src, "-o", src, "--force")
    assert r.returncode == 2 and "input" in r.stderr
    assert src.read_bytes() == before


def test_embeddings_separate_genres():
    """Mean embeddings of the two genres' validation pieces lie apart (more than within-genre spread)."""
    clf = GenreClassifier.load(classifier_path())
    val = tpd_validation_files()
    emb = {g: np.stack([clf.embed(encode(p, clf.settings)) for p in val[g][:4]]) for g in GENRES}
    between = np.linalg.norm(emb["jazz"].mean(0) - emb["classical"].mean(0))
    within = max(np.linalg.norm(emb[g] - emb[g].mean(0), axis=1).mean() for g in GENRES)
    assert between > within


# ----------------------------------------------------------------------------- errors
def test_bad_inputs_exit_2(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    for args in (["classify", bad], ["classify", tmp_path / "missing.mid"], ["classify", EXAMPLE, bad],
                 ["embed", bad, "-o", tmp_path / "e.npy"], ["classify", "--model", tmp_path / "nope.keras", EXAMPLE]):
        r = run_module(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("midistyle: error:") and len(r.stderr.splitlines()) == 1, r.stderr
        assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mid"]


def test_settings_mismatch_is_clear_error(tmp_path):
    clf = GenreClassifier.load(classifier_path())
    with pytest.raises(SettingsMismatchError):
        clf.predict(encode(EXAMPLE, EncoderSettings(pitch_low=36, pitch_high=96)))
    stem = classifier_path()[: -len(".keras")]
    for ext in (".keras", ".npz", ".json"):
        shutil.copy(stem + ext, tmp_path / f"m{ext}")
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["encoder"]["pitch_high"] = 100
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(SettingsMismatchError):
        GenreClassifier.load(str(tmp_path / "m.keras"))
    r = run_module("classify", "--model", tmp_path / "m.keras", EXAMPLE)
    assert r.returncode == 2 and "features" in r.stderr and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def tiny_three_genres(tmp_path_factory):
    """A classifier trained for a few steps on real files labelled with three genres."""
    d = tmp_path_factory.mktemp("three")
    files = {"classical": sorted((TPD / "classical").glob("*.mid"))[::70][:3],
             "jazz": sorted((TPD / "jazz").glob("*.mid"))[::70][:3],
             "other": sorted((TPD / "classical").glob("*.mid"))[35::70][:3]}
    for g, fs in files.items():
        (d / g).mkdir()
        for p in fs:
            shutil.copy(p, d / g / p.name)
    data = d / "three.h5"
    convert([(g, str(d / g)) for g in files], str(data), val_fraction=0.34, progress=False, workers=1)
    out = d / "clf3.keras"
    cfg = ClassifierConfig(epochs=2, steps_per_epoch=2, batch_size=6, segment=64, channels=8,
                           layers_per_stack=3, embedding_dim=5)
    meta = train(str(data), str(out), cfg, progress=False)
    return out, meta


def test_training_any_number_of_genres(tiny_three_genres, tmp_path):
    out, meta = tiny_three_genres
    stem = str(out)[: -len(".keras")]
    for ext in (".keras", ".json", ".npz", ".log.csv", ".loss.png"):
        assert os.path.getsize(stem + ext) > 0, ext
    assert not [p for p in out.parent.iterdir() if ".tmp" in p.name]
    assert meta["genres"] == ["classical", "jazz", "other"]
    v = meta["validation"]
    assert np.array(v["confusion_pieces"]).shape == (3, 3) and np.array(v["confusion_pieces"]).sum() == v["pieces"]
    assert len(open(stem + ".log.csv").read().splitlines()) == 3   # header + 2 epochs
    r = run_module("classify", "--model", out, "--json", EXAMPLE)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert set(row["probabilities"]) == {"classical", "jazz", "other"}
    assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    a = GenreClassifier.load(str(out)).embed(encode(EXAMPLE), per_segment=True)
    b = GenreClassifier.load(str(out), prefer_numpy=False).embed(encode(EXAMPLE), per_segment=True)
    assert a.shape[1] == 5 and np.abs(a - b).max() < 1e-4
    r = run_module("train", "classifier", out.parent / "three.h5", "-o", out)
    assert r.returncode == 2 and "exists" in r.stderr
