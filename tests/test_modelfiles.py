"""Model bundles: sidecar updates after training (calibrations) keep every other field and leave no
temporary file; the model reads the new field."""
from __future__ import annotations

import json
import shutil

from midistyle.chords import ChordModel
from midistyle.modelfiles import bundle_files, update_sidecar
from midistyle.registry import chords_model_path


def test_update_sidecar_sets_fields_and_keeps_the_rest(tmp_path):
    src = bundle_files(chords_model_path("jazz"))
    for ext in ("keras", "json", "npz"):
        shutil.copy(src[ext], tmp_path / f"m.{ext}")
    before = json.loads((tmp_path / "m.json").read_text())
    meta = update_sidecar(str(tmp_path / "m.keras"), steady_feedback=0.5, note="calibrated")
    after = json.loads((tmp_path / "m.json").read_text())
    assert after == meta and after["steady_feedback"] == 0.5 and after["note"] == "calibrated"
    assert {k: v for k, v in after.items() if k not in ("steady_feedback", "note")} == \
        {k: v for k, v in before.items() if k != "steady_feedback"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras", "m.npz"]
    assert ChordModel.load(str(tmp_path / "m.keras")).steady_feedback == 0.5
