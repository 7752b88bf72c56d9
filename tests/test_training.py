"""midistyle.nn.training: distribution strategies (mirrored over two logical CPUs; multiworker needs TF_CONFIG,
its training: test_multiworker.py)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from midistyle.codec.dataset import convert
from midistyle.errors import InputError
from midistyle.nn.training import get_strategy
from midistyle.codec.pianoroll import EncoderSettings, encode
from midistyle.velocity import VelocityModel

from conftest import REPO, TPD

TINY = dict(epochs=2, max_steps_per_epoch=3, window=128, batch_size=4, channels=8, cond_channels=8,
            cond_dilations=(1, 2), ar_dilations=(1, 2, 4), skip_channels=8, head_units=8, val_windows_per_piece=1)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, tpd_required):
    d = tmp_path_factory.mktemp("dist")
    for g in ("classical", "jazz"):
        (d / g).mkdir()
        for p in sorted((TPD / g).glob("*.mid"))[::60][:3]:
            shutil.copy(p, d / g / p.name)
    convert([(g, str(d / g)) for g in ("classical", "jazz")], str(d / "tiny.h5"),
            settings=EncoderSettings(pitch_low=36, pitch_high=96), val_fraction=0.34, progress=False)
    return d


#: One process trains all three models with the mirrored strategy over two logical CPUs (logical
#: devices are set once per process, before any other TensorFlow work): TensorFlow's import and set-up
#: are paid once instead of three times. Each part reports on its own line, so a failure of one
#: fails only its test.
MIRRORED_SCRIPT = textwrap.dedent(f"""
    import json, sys, traceback, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from midistyle.nn.training import get_strategy
    print("REPLICAS", get_strategy("mirrored").num_replicas_in_sync, flush=True)
    h5, out = sys.argv[1], sys.argv[2]

    def part(name, fn):
        try:
            meta = fn()
            print("META", name, json.dumps([meta["strategy"], meta["training"]["epochs_run"]]), flush=True)
        except Exception:
            print("FAILED", name, json.dumps(traceback.format_exc()), flush=True)

    def velocity():
        from midistyle.velocity import VelocityConfig, train
        return train(h5, "jazz", out + "/mirrored.keras", VelocityConfig(**{TINY!r}), strategy="mirrored",
                     progress=False)

    def classifier():
        from midistyle import classifier
        return classifier.train(h5, out + "/clf-mirrored.keras", classifier.ClassifierConfig(
            epochs=2, steps_per_epoch=2, batch_size=6, segment=64, channels=8, layers_per_stack=3,
            embedding_dim=5), progress=False, strategy="mirrored")

    def chords():   # on the genre embedding of the classifier trained above
        from midistyle import chords
        return chords.train(h5, "jazz", out + "/clf-mirrored.keras", out + "/chords-mirrored.keras",
                            chords.ChordsConfig(units=16, seq_len=32, batch_size=4, epochs=2, steps_per_epoch=2),
                            progress=False, strategy="mirrored")

    part("velocity", velocity)
    part("classifier", classifier)
    part("chords", chords)
""")


@pytest.fixture(scope="module")
def mirrored(tiny_data):
    """The mirrored-training process's stdout and stderr (and the folder of its models)."""
    out = tiny_data / "mirrored"
    out.mkdir()
    r = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(tiny_data / "tiny.h5"), str(out)], cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "REPLICAS 2" in r.stdout, r.stdout
    return out, r.stdout, r.stderr


def mirrored_part(mirrored, name: str) -> list:
    """``[strategy, epochs run]`` that part ``name`` of the mirrored process reported (fails with its traceback)."""
    _, stdout, stderr = mirrored
    for line in stdout.splitlines():
        tag, _, rest = line.partition(" ")
        part, _, payload = rest.partition(" ")
        if part == name and tag in ("META", "FAILED"):
            assert tag == "META", f"mirrored {name} training failed:\n{json.loads(payload)}"
            return json.loads(payload)
    pytest.fail(f"mirrored {name}: no report\n{stdout[-2000:]}\n{stderr[-2000:]}")


def test_mirrored_training_over_two_logical_cpus(mirrored):
    """The CPU split into two logical devices; `mirrored` trains on both and the model loads and plays."""
    assert mirrored_part(mirrored, "velocity") == ["mirrored", 2]
    vm = VelocityModel.load(str(mirrored[0] / "mirrored.keras"))
    roll = encode(REPO / "examples" / "anthropology.mid", vm.settings)
    v = vm.sample(roll, seed=0)[roll.in_range()]
    assert 1 <= v.min() and v.max() <= 127 and np.isfinite(v).all()


def test_mirrored_classifier_over_two_logical_cpus(mirrored):
    """`train classifier` takes the strategy too: it trains on two replicas (the validation data
    repeated to whole global batches) and the model loads and classifies."""
    from midistyle.classifier import GenreClassifier

    assert mirrored_part(mirrored, "classifier") == ["mirrored", 2]
    clf = GenreClassifier.load(str(mirrored[0] / "clf-mirrored.keras"))
    p = clf.predict(encode(REPO / "examples" / "anthropology.mid", clf.settings))
    assert p["genre"] in ("classical", "jazz") and abs(sum(p["probabilities"].values()) - 1) < 1e-4


def test_mirrored_chords_over_two_logical_cpus(mirrored):
    """`train chords --strategy mirrored` trains the LSTM on two replicas; the model loads and plays."""
    from midistyle.chords import ChordModel
    from midistyle.classifier import GenreClassifier

    assert mirrored_part(mirrored, "chords") == ["mirrored", 2]
    clf = GenreClassifier.load(str(mirrored[0] / "clf-mirrored.keras"))
    cm = ChordModel.load(str(mirrored[0] / "chords-mirrored.keras"))
    cm.check_classifier(clf)
    roll = encode(REPO / "examples" / "anthropology.mid", clf.settings)
    assert len(cm.sample(clf.embed(roll), 20, seed=0)) == 20


def test_multiworker_needs_tf_config_and_unknown_names_are_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InputError, match="multiworker: TF_CONFIG is not set"):
        get_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker"}}')
    with pytest.raises(InputError, match="multiworker: TF_CONFIG's task"):
        get_strategy("multiworker")
    with pytest.raises(InputError, match="unknown strategy"):
        get_strategy("tpu")
