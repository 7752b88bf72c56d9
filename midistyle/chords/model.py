"""A trained chord generator (:class:`ChordModel`): loaded from its files, run by the NumPy runtime,
drawing frames (:mod:`midistyle.chords.sample`) and scoring real ones."""
from __future__ import annotations

import os

import numpy as np

from ..errors import InputError, ModelError, SettingsMismatchError
from ..modelfiles import read_sidecar
from ..nn.numpy_runtime import ConditionedLSTMRuntime, load_weights
from ..codec.pianoroll import EncoderSettings
from .config import FORMAT_VERSION, HABIT_COLUMNS, KIND, ChordsConfig, memory_settings
from .frames import Frames, frame_harmony, frame_keys, previous_frames
from .harmony import HarmonyModel, HarmonyVocabulary
from .inputs import input_size
from .outputs import n_outputs
from .sample import anchored_habits, sample_frames


class ChordModel:
    """A trained chord generator for one genre (NumPy runtime).

    Use :meth:`load`; :meth:`sample` draws frames from an embedding (and a prime), :meth:`logits`
    scores real frames (teacher forcing).
    """

    def __init__(self, meta: dict, runtime, path: str):
        self.meta = meta
        self.runtime = runtime
        self.path = path
        self.genre = meta["genre"]
        self.settings = EncoderSettings.from_dict(meta["encoder"])
        self.config = ChordsConfig.from_dict(meta["config"])
        #: running pedal share and onset-event rate a draw without a prime starts from
        #: (:func:`.calibrate.habit_start`)
        self.habit_start = [float(x) for x in meta["habit_start"]]
        #: How much of its own draws' running pedal share and event rate (away from
        #: :attr:`habit_start`) a draw reads back by default (:func:`.sample.anchored_habits`): 1, as
        #: in training; over a minute that loop drifts (classical thins out, jazz pedals more and more)
        self.habit_feedback = float(meta.get("habit_feedback", 1.0))
        #: The feedback a steady draw (``chords --steady``) reads back with, chosen on the training
        #: pieces so that a minute keeps its texture (:func:`.calibrate.calibrate_feedback`)
        self.steady_feedback = float(meta.get("steady_feedback", self.habit_feedback))
        #: Added to the onset-event logit when drawing: chosen on the training pieces so that draws
        #: keep the notes per second of real playing (:func:`.calibrate.calibrate_event_bias`; 0 if
        #: not calibrated)
        self.event_bias = float(meta.get("event_bias", 0.0))
        #: The onset-event bias a steady draw adds (0 unless no habit feedback alone kept the
        #: training pieces' draws steady, :func:`.calibrate.calibrate_feedback`)
        self.steady_event_bias = float(meta.get("steady_event_bias", self.event_bias))
        #: The harmony LSTM that draws a harmony per step before the frames (None without one)
        self.harmony = harmony_model(meta, runtime)

    def harmony_masks(self, fr: Frames) -> np.ndarray | None:
        """The pitch-class masks of the harmony of each harmony step of frames: those they were
        drawn under, or for real frames those of their held notes (None without a harmony layer)."""
        if self.harmony is None:
            return None
        if fr.harmony is not None:
            return fr.harmony
        h = self.harmony
        return h.vocab.masks[frame_harmony(fr, h.vocab, self.config.harmony, self.settings.pitch_low)]

    @property
    def reads_keys(self) -> bool:
        """Whether this generator's harmony reads keys (``harmony_key``): its draws are told one."""
        return self.harmony is not None and self.config.harmony_key

    def harmony_keys(self, fr: Frames) -> np.ndarray | None:
        """The key of each harmony step of frames: those they were drawn in, or for real frames
        those of their sound (:func:`.frames.frame_keys`); None unless the harmony reads keys."""
        if not self.reads_keys:
            return None
        return fr.keys if fr.keys is not None else frame_keys(fr, self.config.harmony, self.settings.pitch_low)

    def draw_settings(self, steady: bool = False) -> dict:
        """``feedback`` and ``event_bias`` of a plain or a steady draw (:attr:`steady_feedback`,
        :attr:`steady_event_bias`), as :meth:`sample` takes them."""
        if steady:
            return {"feedback": self.steady_feedback, "event_bias": self.steady_event_bias}
        return {"feedback": self.habit_feedback, "event_bias": self.event_bias}

    @property
    def frame_seconds(self) -> float:
        """Seconds per generated frame."""
        return self.settings.step * self.config.frame_steps

    @classmethod
    def load(cls, path: str) -> "ChordModel":
        """Load a chord model from its ``.keras`` path (sidecar ``.json`` and ``.npz`` beside it).

        Raises
        ------
        ModelError
            Missing or unreadable files, or not a chord model.
        SettingsMismatchError
            Sidecar and weights disagree (pitches, embedding size), or an older format.
        """
        files, meta = read_sidecar(path, KIND)
        if meta.get("format_version") != FORMAT_VERSION:
            raise SettingsMismatchError(f"{path}: chord model format {meta.get('format_version')}, "
                                        f"this midistyle reads {FORMAT_VERSION}")
        try:
            settings = EncoderSettings.from_dict(meta["encoder"])
            cfg = ChordsConfig.from_dict(meta["config"])
            emb_dim = int(meta["classifier"]["embedding_dim"])
            start = [float(x) for x in meta["habit_start"]]
            if len(start) != 2 or not all(0.0 <= x <= 1.0 for x in start):
                raise ValueError(f"habit_start must be two shares in [0, 1], got {meta['habit_start']}")
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise ModelError(f"{files['json']}: incomplete chord-model sidecar ({exc})") from None
        if not os.path.exists(files["npz"]):
            raise ModelError(f"{files['npz']}: weights for the NumPy runtime are missing")
        try:
            rt = ConditionedLSTMRuntime(load_weights(files["npz"]))
        except Exception as exc:  # damaged archive: zip, pickle or missing-array errors
            raise ModelError(f"{files['npz']}: not chord-model weights ({type(exc).__name__}: {exc})") from None
        if rt.n_in != input_size(settings.n_pitches, cfg):
            raise SettingsMismatchError(f"{files['npz']}: weights take {rt.n_in} inputs per frame, encoder "
                                        f"settings {settings.to_dict()} and memories {memory_settings(cfg)} give "
                                        f"{input_size(settings.n_pitches, cfg)}")
        n_out = n_outputs(settings.n_pitches, cfg)
        if rt.w["out/kernel"].shape[1] != n_out:
            raise SettingsMismatchError(f"{files['npz']}: weights give {rt.w['out/kernel'].shape[1]} outputs per "
                                        f"frame, the sidecar's settings (lowest_key={cfg.lowest_key}) read {n_out}")
        if (rt.within is not None) != cfg.within_frame or (
                rt.within is not None and rt.within.shape != (settings.n_pitches, n_out)):
            raise SettingsMismatchError(f"{files['npz']}: within-frame weights "
                                        f"{None if rt.within is None else rt.within.shape} do not fit the sidecar's "
                                        f"within_frame={cfg.within_frame} over {settings.n_pitches} keys")
        if rt.cond_dim != emb_dim:
            raise SettingsMismatchError(f"{files['npz']}: weights take a {rt.cond_dim}-d embedding, "
                                        f"sidecar says {emb_dim}")
        try:
            return cls(meta, rt, files["keras"])
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise ModelError(f"{files['json']}: incomplete harmony layer ({exc})") from None

    def check_classifier(self, clf) -> None:
        """Raise :class:`SettingsMismatchError` unless ``clf`` is the classifier this model was trained with."""
        want = self.meta["classifier"]
        self.settings.check(clf.settings, what=f"classifier {clf.path} (chord model {self.path})")
        if clf.embedding_dim != int(want["embedding_dim"]):
            raise SettingsMismatchError(f"{clf.path}: gives {clf.embedding_dim}-d embeddings, chord model "
                                        f"{self.path} takes {want['embedding_dim']}-d")
        if want.get("fingerprint") and clf.fingerprint and clf.fingerprint != want["fingerprint"]:
            raise SettingsMismatchError(
                f"chord model {self.path} was trained on the embeddings of classifier {want['fingerprint']}, "
                f"but {clf.path} is {clf.fingerprint} (retrain the chord model with this classifier)")

    def logits(self, frames: list, conds: np.ndarray, habit0=None, feedback: float = 1.0) -> list:
        """Teacher-forced logits (F, 2P + 2) of each :class:`Frames` given the frames before it
        (running pedal share and event rate from ``habit0``: 0 as in training, or
        :attr:`habit_start` as a draw without a prime starts; read as a draw reads them with
        ``feedback``, see :func:`.sample.anchored_habits`)."""
        out = []
        for fr, c in zip(frames, conds):
            cur = fr.onset[None].astype(np.float32) if self.config.within_frame else None
            x = previous_frames(fr, self.settings.pitch_low, habit0, self.config, self.harmony_masks(fr),
                                self.harmony_keys(fr))
            if feedback != 1.0:
                x[:, HABIT_COLUMNS] = anchored_habits(x[:, HABIT_COLUMNS], self.habit_start, feedback)
            out.append(self.runtime.logits(x[None],
                                           np.asarray(c, np.float32)[None], cur)[0])
        return out

    def sample(self, cond: np.ndarray, n_frames: int, seed=None, temperature: float = 1.0,
               prime: Frames | None = None, feedback: float | None = None,
               event_bias: float | None = None, key: int | None = None) -> Frames:
        """Draw ``n_frames`` frames started from embedding ``cond`` (D,).

        With ``prime``, those frames are first read through the LSTM (teacher forced) and the
        draw continues after them (the prime itself is not returned). A frame is drawn at once:
        first whether keys are struck (the onset event), then, if so, each key with its
        probability given the event and (``within_frame``) the keys below it already struck in this
        frame, lowest key first (with ``lowest_key``, the lowest struck key comes from the softmax and
        the keys above it are drawn so); a key that sounded before and is not struck holds with its hold
        probability; the pedal likewise (both given the keys struck in the frame, with ``within_holds``). Every probability is ``sigmoid(logit / temperature)``,
        the onset event's logit first raised by ``event_bias`` (default :attr:`event_bias`).
        The running pedal share and event rate start at :attr:`habit_start` (before the prime, if any)
        and the drawn frames are read back with ``feedback`` (default :attr:`habit_feedback`,
        :func:`.sample.anchored_habits`). A harmony LSTM that reads keys draws in ``key`` (0-23,
        :data:`.harmony.KEY_NAMES`; by default the prime's, or one it draws); others ignore it.
        """
        return sample_frames(self, cond, n_frames, seed, temperature, prime, feedback, event_bias, key)


def harmony_model(meta: dict, runtime) -> HarmonyModel | None:
    """The harmony LSTM of a chord model whose settings ask for one: its vocabulary and draw
    temperature from the sidecar's ``harmony``, its weights the ``harmony/`` arrays of the ``.npz``."""
    if not meta["config"].get("harmony"):
        return None
    w = {k[len("harmony/"):]: v for k, v in runtime.w.items() if k.startswith("harmony/")}
    if not w:
        raise ValueError("the weights hold no harmony/ arrays")
    h = meta["harmony"]
    return HarmonyModel(ConditionedLSTMRuntime(w), HarmonyVocabulary.from_dict(h["vocabulary"]),
                        float(h.get("temperature", 1.0)), float(h.get("major_share", 0.5)))
