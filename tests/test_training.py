"""midistyle.nn.training: distribution strategies (mirrored over two logical CPUs; multiworker needs TF_CONFIG,
its training: test_multiworker.py)."""
from __future__ import annotations

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


def test_mirrored_training_over_two_logical_cpus(tiny_data):
    """The CPU split into two logical devices; `mirrored` trains on both and the model loads and plays."""
    script = textwrap.dedent(f"""
        import json, sys, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from midistyle.nn.training import get_strategy
        from midistyle.velocity import VelocityConfig, train
        print("REPLICAS", get_strategy("mirrored").num_replicas_in_sync)
        meta = train(sys.argv[1], "jazz", sys.argv[2], VelocityConfig(**{TINY!r}), strategy="mirrored",
                     progress=False)
        print("META", json.dumps({{"strategy": meta["strategy"], "epochs": meta["training"]["epochs_run"]}}))
    """)
    out = tiny_data / "mirrored.keras"
    r = subprocess.run([sys.executable, "-c", script, str(tiny_data / "tiny.h5"), str(out)], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "REPLICAS 2" in r.stdout and '"strategy": "mirrored", "epochs": 2' in r.stdout
    vm = VelocityModel.load(str(out))
    roll = encode(REPO / "examples" / "anthropology.mid", vm.settings)
    v = vm.sample(roll, seed=0)[roll.in_range()]
    assert 1 <= v.min() and v.max() <= 127 and np.isfinite(v).all()


def test_mirrored_classifier_over_two_logical_cpus(tiny_data):
    """`train classifier` takes the strategy too: it trains on two replicas (the validation data
    repeated to whole global batches) and the model loads and classifies."""
    from midistyle.classifier import GenreClassifier

    script = textwrap.dedent("""
        import json, sys, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from midistyle import classifier
        meta = classifier.train(sys.argv[1], sys.argv[2], classifier.ClassifierConfig(
            epochs=2, steps_per_epoch=2, batch_size=6, segment=64, channels=8, layers_per_stack=3,
            embedding_dim=5), progress=False, strategy="mirrored")
        print("META", json.dumps([meta["strategy"], meta["training"]["epochs_run"]]))
    """)
    out = tiny_data / "clf-mirrored.keras"
    r = subprocess.run([sys.executable, "-c", script, str(tiny_data / "tiny.h5"), str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'META ["mirrored", 2]' in r.stdout
    clf = GenreClassifier.load(str(out))
    p = clf.predict(encode(REPO / "examples" / "anthropology.mid", clf.settings))
    assert p["genre"] in ("classical", "jazz") and abs(sum(p["probabilities"].values()) - 1) < 1e-4


def test_mirrored_chords_over_two_logical_cpus(tiny_data):
    """`train chords --strategy mirrored` (its own process: one strategy per process) trains the LSTM
    on two replicas; the model loads and plays."""
    from midistyle.chords import ChordModel
    from midistyle.classifier import ClassifierConfig, GenreClassifier, train as train_classifier

    clf_out, out = tiny_data / "clf-for-chords.keras", tiny_data / "chords-mirrored.keras"
    train_classifier(str(tiny_data / "tiny.h5"), str(clf_out), ClassifierConfig(
        epochs=1, steps_per_epoch=1, batch_size=4, segment=64, channels=8, layers_per_stack=2, embedding_dim=5),
        progress=False)
    script = textwrap.dedent("""
        import json, sys, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from midistyle import chords
        meta = chords.train(sys.argv[1], "jazz", sys.argv[2], sys.argv[3], chords.ChordsConfig(
            units=16, seq_len=32, batch_size=4, epochs=2, steps_per_epoch=2), progress=False, strategy="mirrored")
        print("META", json.dumps([meta["strategy"], meta["training"]["epochs_run"]]))
    """)
    r = subprocess.run([sys.executable, "-c", script, str(tiny_data / "tiny.h5"), str(clf_out), str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'META ["mirrored", 2]' in r.stdout
    clf, cm = GenreClassifier.load(str(clf_out)), ChordModel.load(str(out))
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
