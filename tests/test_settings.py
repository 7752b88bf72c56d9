"""midistyle.settings: every settings class validates itself, names the bad field, round-trips."""
from __future__ import annotations

import json

import pytest

from midistyle.audio.cyclegan import CycleGANConfig
from midistyle.audio.features import FeatureSettings
from midistyle.audio.genre import AudioGenreConfig
from midistyle.audio.multi import MultiSettings
from midistyle.audio.transfer import TransferSettings
from midistyle.chords import ChordsConfig
from midistyle.classifier import ClassifierConfig
from midistyle.errors import MidistyleError
from midistyle.codec.pianoroll import EncoderSettings
from midistyle.settings import SettingsError
from midistyle.velocity import VelocityConfig

CLASSES = {
    EncoderSettings: [("step", 0), ("step", "fast"), ("pitch_high", 128), ("pitch_low", -1)],
    VelocityConfig: [("window", 0), ("dropout", 1.0), ("ar_dilations", []), ("learning_rate", 0), ("epochs", "many")],
    ChordsConfig: [("units", 0), ("foreign_cond", 1.5), ("cond_dropout", 1.0), ("transpose", -1),
                   ("harmony_noise", 0.1), ("harmony_noise", -0.1), ("harmony_key", True), ("harmony_key", "yes"),
                   ("within_holds", 1)],
    ClassifierConfig: [("segment", 0), ("dropout", -0.1), ("kernel", 0), ("learning_rate", -1)],
    TransferSettings: [("filters", 0), ("net", "lstm"), ("content_weight", float("nan")), ("sr", 100),
                       ("waveform_iterations", -1), ("hop", 4096), ("precision", "float16"), ("seed", "zero"),
                       ("envelope_weight", 1.0), ("envelope_weight", -1.0)],
    MultiSettings: [("preset", "everything"), ("terms", {"stft_colour": 1}), ("terms", {"stft_style": -1}),
                    ("sparsity", -1.0), ("cqt_bins", 200), ("activation", "elu"), ("mel_blocks", -1)],
    CycleGANConfig: [("n_fft", 128), ("patch_frames", 10), ("val_fraction", 1.0), ("seconds_per_file", 0),
                     ("res_blocks", -1), ("learning_rate", 0)],
    FeatureSettings: [("rolloff", 1.5), ("n_mfcc", 0), ("hop", 0), ("sr", "22050")],
    AudioGenreConfig: [("monitor_fraction", 0), ("hidden", [0]), ("workers", 0), ("dropout", 1.0), ("epochs", 0)],
}


@pytest.mark.parametrize("cls", list(CLASSES), ids=lambda c: c.__name__)
def test_round_trip_through_json(cls):
    s = cls()
    again = cls.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s and again.to_dict() == s.to_dict()
    assert cls.from_dict({**s.to_dict(), "from_an_older_version": 1}) == s     # unknown keys ignored


@pytest.mark.parametrize("cls,field,value", [(c, f, v) for c, bad in CLASSES.items() for f, v in bad],
                         ids=lambda x: getattr(x, "__name__", str(x)))
def test_bad_value_names_its_field(cls, field, value):
    with pytest.raises(SettingsError) as err:
        cls(**{field: value})
    assert err.value.field == field and field in str(err.value) and cls.__name__ in str(err.value)
    assert isinstance(err.value, MidistyleError)      # the command line reports it in one line
    with pytest.raises(SettingsError):
        cls.from_dict({**cls().to_dict(), field: value})


def test_settings_change_through_replace_and_stay_valid():
    import dataclasses

    s = dataclasses.replace(TransferSettings(), warm_filters=64, warm_iterations=5)
    assert (s.warm_filters, s.warm_iterations) == (64, 5)
    with pytest.raises(SettingsError) as err:
        dataclasses.replace(s, filters=64)               # a warm start needs fewer filters than the full loss
    assert err.value.field == "warm_filters"


def test_encoder_settings_from_dict_needs_every_field():
    with pytest.raises(SettingsError, match="pitch_high is missing"):
        EncoderSettings.from_dict({"step": 0.025, "pitch_low": 21})
    with pytest.raises(SettingsError):
        EncoderSettings.from_dict(["not", "a", "mapping"])
