"""CycleGAN between two genres on the log-magnitude STFT (seed 000's unpaired translation).

Two generators (A -> B and B -> A) and two PatchGAN discriminators over log1p |STFT| "images"
(frames x bins x 1). Generators: reflection padding, a 7x7 convolution, two stride-2
down-samplings, residual blocks, two up-samplings and a 7x7 output convolution, each
convolution followed by instance normalisation (Keras ``GroupNormalization`` with one group per
channel) and ReLU. Losses: least-squares adversarial, L1 cycle consistency (weight 10) and L1
identity (weight 5), as in Zhu et al. (2017). Training is ``fit()`` on a subclassed
:class:`CycleGAN` with callbacks; validation reports the cycle loss on fixed clips of pieces the
model never trains on (the project's split by piece).

The model file is one ``.keras`` holding both generators (a functional model with two inputs and
two outputs), with a JSON beside it for the STFT settings and domain names; :func:`translate`
maps the magnitude of an input through one generator and rebuilds a waveform with that magnitude
(Griffin-Lim started from the input's phase by default, see :data:`PHASES`).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass

import numpy as np

from ..codec.dataset import assign_split, split_key
from ..codec.io import MIDI_EXTENSIONS, read
from ..errors import InputError, ModelError, MidistyleError, OutputError, SettingsMismatchError
from ..fsutil import atomic_write, check_output
from ..modelfiles import float_history
from ..settings import Settings, is_number
from . import spectral
from .files import AUDIO_EXTENSIONS, WRITE_EXTENSIONS, is_symbolic, limit_peaks, load_input, read_audio, write_audio
from .render import render_performance

KIND = "cyclegan"
FORMAT_VERSION = 1
#: Scale of the network's input: ``log1p |STFT| / LOG_SCALE - 1`` lies roughly in [-1, 1].
LOG_SCALE = 3.0
#: How a translation's waveform gets its phase (see :meth:`Translator.translate`); the first is the default.
PHASES = ("refined", "input", "griffin-lim")


@dataclass
class CycleGANConfig(Settings):
    """Settings of the CycleGAN and of its training (defaults sized for 2 CPU cores).

    Attributes
    ----------
    sr, n_fft, hop : int
        STFT of the model (16 kHz, n_fft 510 -> 256 bins, hop 256 = 16 ms).
    patch_frames : int
        Frames per training patch (64 = about 1 s); a multiple of 4.
    base_channels, res_blocks : int
        Width of the first generator layer (doubled at each down-sampling) and residual blocks.
    disc_channels : int
        Width of the first discriminator layer.
    cycle_weight, identity_weight : float
        Weights of the L1 cycle and identity losses.
    learning_rate : float
        Adam step size (beta_1 0.5) of generators and discriminators.
    batch_size, epochs, steps_per_epoch : int
        Training length.
    seconds_per_file : float
        Audio taken from the middle of each input file (MIDI is rendered only for that stretch).
    max_files : int
        Most training files per domain (0: all); validation files come from the split by piece.
    max_val_files : int
        Most validation files per domain.
    val_fraction : float
        Share of each domain's files held out, by a hash of the file's content (the split of
        ``datasets/build_tpd.sh`` for the same seed and fraction).
    seed : int
        Seed of the split, the weights and the patch order.
    """

    sr: int = 16000
    n_fft: int = 510
    hop: int = 256
    patch_frames: int = 64
    base_channels: int = 16
    res_blocks: int = 3
    disc_channels: int = 16
    cycle_weight: float = 10.0
    identity_weight: float = 5.0
    learning_rate: float = 2e-4
    batch_size: int = 8
    epochs: int = 6
    steps_per_epoch: int = 50
    seconds_per_file: float = 30.0
    max_files: int = 40
    max_val_files: int = 8
    val_fraction: float = 0.15
    seed: int = 0

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def validate(self) -> None:
        """Raise :class:`midistyle.settings.SettingsError`, naming the field, on settings that cannot work."""
        self.require_min(16, "n_fft")
        self.require_min(1, "hop", "base_channels", "disc_channels", "batch_size", "epochs", "steps_per_epoch")
        self.require("n_fft", self.bins % 4 == 0,
                     f"must give a number of bins (n_fft // 2 + 1) that is a multiple of 4, not {self.bins}")
        self.require("patch_frames", is_number(self.patch_frames) and self.patch_frames >= 8
                     and self.patch_frames % 4 == 0, "must be a multiple of 4, at least 8")
        self.require_min(0, "res_blocks", "max_files", "max_val_files", "cycle_weight", "identity_weight", "seed")
        self.require("sr", is_number(self.sr) and 1000 <= self.sr <= 192000, "must be in 1000..192000 Hz")
        self.require("seconds_per_file", is_number(self.seconds_per_file) and self.seconds_per_file > 0, "must be > 0")
        self.require("learning_rate", is_number(self.learning_rate) and self.learning_rate > 0, "must be > 0")
        self.require("val_fraction", is_number(self.val_fraction) and 0 <= self.val_fraction < 1, "must be in [0, 1)")


# ----------------------------------------------------------------------------- spectrogram images
def to_image(y: np.ndarray, cfg: CycleGANConfig) -> np.ndarray:
    """Network input of a waveform: ``(frames, bins)`` of ``log1p |STFT| / LOG_SCALE - 1``."""
    return (spectral.log_magnitude(y, cfg.n_fft, cfg.hop).T / LOG_SCALE - 1.0).astype(np.float32)


def from_image(img: np.ndarray) -> np.ndarray:
    """Magnitude ``(bins, frames)`` of a network output (inverse of :func:`to_image`)."""
    return spectral.magnitude_from_log((np.asarray(img, np.float32) + 1.0) * LOG_SCALE).T


def patches(img: np.ndarray, frames: int, step: int | None = None) -> np.ndarray:
    """Windows of ``frames`` frames every ``step`` (default: ``frames``) of a (frames, bins) image,
    shape ``(n, frames, bins, 1)``."""
    step = step or frames
    if img.shape[0] < frames:
        return np.zeros((0, frames, img.shape[1], 1), np.float32)
    idx = range(0, img.shape[0] - frames + 1, step)
    return np.stack([img[i:i + frames] for i in idx])[..., None].astype(np.float32)


# ----------------------------------------------------------------------------- networks
def _register():
    import keras

    @keras.saving.register_keras_serializable(package="midistyle")
    class ReflectionPad2D(keras.layers.Layer):
        """Reflection padding of the two spatial axes (frames, bins) by ``pad`` cells."""

        def __init__(self, pad: int = 1, **kwargs):
            super().__init__(**kwargs)
            self.pad = int(pad)

        def call(self, x):
            p = self.pad
            return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

        def compute_output_shape(self, shape):
            def grow(n):
                return None if n is None else n + 2 * self.pad
            return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])

        def get_config(self):
            return {**super().get_config(), "pad": self.pad}

    return ReflectionPad2D


_LAYERS = {}


def reflection_pad(pad: int):
    """A :class:`ReflectionPad2D` layer (registered for ``.keras`` saving on first use)."""
    if "pad" not in _LAYERS:
        _LAYERS["pad"] = _register()
    return _LAYERS["pad"](pad)


def _conv_norm_relu(x, channels, kernel, strides=1, seed=0, transpose=False, relu=True):
    import keras
    from keras import layers

    init = keras.initializers.RandomNormal(stddev=0.02, seed=seed)
    if transpose:
        x = layers.Conv2DTranspose(channels, kernel, strides=strides, padding="same", kernel_initializer=init,
                                   use_bias=False)(x)
    else:
        x = layers.Conv2D(channels, kernel, strides=strides, padding="same" if strides > 1 else "valid",
                          kernel_initializer=init, use_bias=False)(x)
    x = layers.GroupNormalization(groups=-1, epsilon=1e-5)(x)  # one group per channel: instance norm
    return layers.ReLU()(x) if relu else x


def build_generator(bins: int, base: int = 16, res_blocks: int = 3, seed: int = 0, name: str = "generator"):
    """ResNet generator: (batch, frames, bins, 1) -> same shape (frames a multiple of 4).

    Parameters
    ----------
    bins : int
        Frequency bins (a multiple of 4).
    base : int
        Channels of the first layer; 2x and 4x after the down-samplings.
    res_blocks : int
        Residual blocks at the lowest resolution.
    seed : int
        Seed of the initialisers.
    name : str
        Model name.
    """
    import keras
    from keras import layers

    inp = keras.Input((None, bins, 1))
    x = reflection_pad(3)(inp)
    x = _conv_norm_relu(x, base, 7, seed=seed)
    x = _conv_norm_relu(x, base * 2, 3, strides=2, seed=seed + 1)
    x = _conv_norm_relu(x, base * 4, 3, strides=2, seed=seed + 2)
    for i in range(res_blocks):
        y = reflection_pad(1)(x)
        y = _conv_norm_relu(y, base * 4, 3, seed=seed + 10 + 2 * i)
        y = reflection_pad(1)(y)
        y = _conv_norm_relu(y, base * 4, 3, seed=seed + 11 + 2 * i, relu=False)
        x = layers.Add()([x, y])
    x = _conv_norm_relu(x, base * 2, 3, strides=2, seed=seed + 3, transpose=True)
    x = _conv_norm_relu(x, base, 3, strides=2, seed=seed + 4, transpose=True)
    x = reflection_pad(3)(x)
    out = layers.Conv2D(1, 7, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02, seed=seed + 5))(x)
    return keras.Model(inp, out, name=name)


def build_discriminator(bins: int, base: int = 16, seed: int = 0, name: str = "discriminator"):
    """PatchGAN discriminator: (batch, frames, bins, 1) -> (batch, frames/8, bins/8, 1) scores."""
    import keras
    from keras import layers

    init = keras.initializers.RandomNormal(stddev=0.02, seed=seed)
    inp = keras.Input((None, bins, 1))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(base, 4, strides=2, padding="same", kernel_initializer=init)(inp))
    for i, mult in enumerate((2, 4)):
        x = layers.Conv2D(base * mult, 4, strides=2, padding="same", use_bias=False,
                          kernel_initializer=keras.initializers.RandomNormal(stddev=0.02, seed=seed + 1 + i))(x)
        x = layers.LeakyReLU(0.2)(layers.GroupNormalization(groups=-1, epsilon=1e-5)(x))
    out = layers.Conv2D(1, 4, padding="same",
                        kernel_initializer=keras.initializers.RandomNormal(stddev=0.02, seed=seed + 9))(x)
    return keras.Model(inp, out, name=name)


def _cycle_model_class():
    import keras
    import tensorflow as tf

    class CycleGAN(keras.Model):
        """Two generators and two discriminators trained together (``fit`` on (a, b) batches)."""

        def __init__(self, gen_ab, gen_ba, disc_a, disc_b, cycle_weight=10.0, identity_weight=5.0):
            super().__init__()
            self.gen_ab, self.gen_ba, self.disc_a, self.disc_b = gen_ab, gen_ba, disc_a, disc_b
            self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)

        def compile(self, g_optimizer, d_optimizer):
            super().compile()
            self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

        def cycle_losses(self, a, b):
            fake_b, fake_a = self.gen_ab(a, training=False), self.gen_ba(b, training=False)
            cyc = (tf.reduce_mean(tf.abs(a - self.gen_ba(fake_b, training=False)))
                   + tf.reduce_mean(tf.abs(b - self.gen_ab(fake_a, training=False))))
            ident = (tf.reduce_mean(tf.abs(a - self.gen_ba(a, training=False)))
                     + tf.reduce_mean(tf.abs(b - self.gen_ab(b, training=False))))
            return cyc, ident

        def train_step(self, data):
            a, b = data
            mse = lambda t, p: tf.reduce_mean(tf.square(p - t))  # noqa: E731
            with tf.GradientTape(persistent=True) as tape:
                fake_b = self.gen_ab(a, training=True)
                fake_a = self.gen_ba(b, training=True)
                cyc = (tf.reduce_mean(tf.abs(a - self.gen_ba(fake_b, training=True)))
                       + tf.reduce_mean(tf.abs(b - self.gen_ab(fake_a, training=True))))
                ident = (tf.reduce_mean(tf.abs(a - self.gen_ba(a, training=True)))
                         + tf.reduce_mean(tf.abs(b - self.gen_ab(b, training=True))))
                df_a, df_b = self.disc_a(fake_a, training=True), self.disc_b(fake_b, training=True)
                adv = mse(tf.ones_like(df_a), df_a) + mse(tf.ones_like(df_b), df_b)
                g_loss = adv + self.cycle_weight * cyc + self.identity_weight * ident
                dr_a, dr_b = self.disc_a(a, training=True), self.disc_b(b, training=True)
                d_loss = 0.5 * (mse(tf.ones_like(dr_a), dr_a) + mse(tf.zeros_like(df_a), df_a)
                                + mse(tf.ones_like(dr_b), dr_b) + mse(tf.zeros_like(df_b), df_b))
            g_vars = self.gen_ab.trainable_variables + self.gen_ba.trainable_variables
            d_vars = self.disc_a.trainable_variables + self.disc_b.trainable_variables
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
            del tape
            return {"cycle": cyc, "identity": ident, "g_adv": adv, "d": d_loss}

        def test_step(self, data):
            cyc, ident = self.cycle_losses(*data)
            return {"cycle": cyc, "identity": ident}

    return CycleGAN


def build_cyclegan(cfg: CycleGANConfig):
    """The :class:`CycleGAN` training model of ``cfg`` (compiled, Adam with beta_1 0.5)."""
    import keras

    s = cfg.seed * 100
    g_ab = build_generator(cfg.bins, cfg.base_channels, cfg.res_blocks, s + 1, "gen_ab")
    g_ba = build_generator(cfg.bins, cfg.base_channels, cfg.res_blocks, s + 21, "gen_ba")
    d_a = build_discriminator(cfg.bins, cfg.disc_channels, s + 41, "disc_a")
    d_b = build_discriminator(cfg.bins, cfg.disc_channels, s + 61, "disc_b")
    model = _cycle_model_class()(g_ab, g_ba, d_a, d_b, cfg.cycle_weight, cfg.identity_weight)
    model.compile(keras.optimizers.Adam(cfg.learning_rate, beta_1=0.5),
                  keras.optimizers.Adam(cfg.learning_rate, beta_1=0.5))
    return model


# ----------------------------------------------------------------------------- data
def _md5(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


def list_domain(folder: str) -> list:
    """Audio and MIDI files under ``folder`` (recursively, sorted)."""
    if not os.path.isdir(folder):
        raise InputError(f"{folder}: not a folder")
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        out += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(MIDI_EXTENSIONS + AUDIO_EXTENSIONS)]
    if not out:
        raise InputError(f"{folder}: no audio or MIDI files")
    return out


def split_domain(files: list, cfg: CycleGANConfig) -> tuple:
    """(train, val) files of one domain: the project's split by content hash, then the caps."""
    md5s = [_md5(p) for p in files]
    split = assign_split(md5s, ["x"] * len(files), cfg.val_fraction, cfg.seed)
    order = sorted(range(len(files)), key=lambda i: split_key(cfg.seed + 1, md5s[i]))
    train = [files[i] for i in order if split[i] == "train"]
    val = [files[i] for i in order if split[i] == "val"]
    if cfg.max_files:
        train = train[:cfg.max_files]
    return train, val[:cfg.max_val_files]


def _clip_job(args):
    path, sr, seconds = args
    try:
        if is_symbolic(path):
            perf = read(path)
            start = max(0.0, (perf.duration - seconds) / 2)
            return path, render_performance(perf, sr=sr, start=start, duration=min(seconds, perf.duration)), None
        y = read_audio(path, sr)
        n = int(seconds * sr)
        a = max(0, (len(y) - n) // 2)
        return path, y[a:a + n], None
    except MidistyleError as exc:
        return path, None, str(exc)


def load_clips(files: list, cfg: CycleGANConfig, progress: bool = False, desc: str = "render") -> tuple:
    """Waveforms (middle ``seconds_per_file`` of each file) and the files skipped with reasons."""
    from multiprocessing import get_context

    from tqdm import tqdm

    jobs = [(p, cfg.sr, cfg.seconds_per_file) for p in files]
    clips, skipped = [], []
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_clip_job, jobs), total=len(jobs), desc=desc, disable=not progress,
                                leave=False))
    else:
        results = [_clip_job(j) for j in tqdm(jobs, desc=desc, disable=not progress, leave=False)]
    for path, y, err in results:
        if y is None or not len(y) or float(np.max(np.abs(y))) == 0.0:
            skipped.append((path, err or "silent"))
        else:
            clips.append(y)
    return clips, skipped


def domain_patches(clips: list, cfg: CycleGANConfig, step: int | None = None) -> np.ndarray:
    """All patches of a domain's clips, shape (n, patch_frames, bins, 1)."""
    parts = [patches(to_image(y, cfg), cfg.patch_frames, step) for y in clips]
    parts = [p for p in parts if len(p)]
    if not parts:
        raise InputError(f"no clip is {cfg.patch_frames} frames long (~{cfg.patch_frames * cfg.hop / cfg.sr:.1f} s)")
    return np.concatenate(parts)


def paired_dataset(pa: np.ndarray, pb: np.ndarray, batch: int, seed: int, shuffle: bool = True):
    """tf.data of (a, b) batches; the shorter domain repeats, shuffled independently."""
    import tensorflow as tf

    da = tf.data.Dataset.from_tensor_slices(pa)
    db = tf.data.Dataset.from_tensor_slices(pb)
    if shuffle:
        da = da.shuffle(len(pa), seed=seed, reshuffle_each_iteration=True).repeat()
        db = db.shuffle(len(pb), seed=seed + 1, reshuffle_each_iteration=True).repeat()
        return tf.data.Dataset.zip((da, db)).batch(batch, drop_remainder=True).prefetch(2)
    n = min(len(pa), len(pb))
    return tf.data.Dataset.zip((da.take(n), db.take(n))).batch(batch)


# ----------------------------------------------------------------------------- training
def _files(output: str) -> dict:
    if not output.endswith(".keras"):
        raise OutputError(f"{output}: model path must end with .keras")
    stem = output[: -len(".keras")]
    return {"keras": output, "json": stem + ".json", "log": stem + ".log.csv"}


def fit(model, train_a: np.ndarray, train_b: np.ndarray, val_a: np.ndarray, val_b: np.ndarray,
        cfg: CycleGANConfig, *, log: str | None = None, progress: bool = False) -> dict:
    """Train ``model`` (a :func:`build_cyclegan`) and measure the validation cycle loss before and after.

    Returns
    -------
    dict
        ``val_before`` / ``val_after`` (cycle and identity L1), the per-epoch history, seconds,
        steps per second.
    """
    import keras

    keras.utils.set_random_seed(cfg.seed)
    train = paired_dataset(train_a, train_b, cfg.batch_size, cfg.seed)
    val = paired_dataset(val_a, val_b, cfg.batch_size, cfg.seed, shuffle=False)
    before = {k: float(v) for k, v in model.evaluate(val, verbose=0, return_dict=True).items()}
    callbacks = [keras.callbacks.CSVLogger(log)] if log else []
    t0 = time.time()
    hist = model.fit(train, validation_data=val, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
                     callbacks=callbacks, verbose=1 if progress else 0)
    seconds = time.time() - t0
    after = {k: float(v) for k, v in model.evaluate(val, verbose=0, return_dict=True).items()}
    steps = cfg.epochs * cfg.steps_per_epoch
    return {"val_before": before, "val_after": after, "seconds": seconds, "steps": steps,
            "steps_per_second": steps / seconds, "examples_per_second": steps * cfg.batch_size / seconds,
            "history": float_history(hist.history)}


def save(model, cfg: CycleGANConfig, output: str, names: tuple, meta: dict | None = None, *,
         force: bool = False) -> dict:
    """Write both generators as one ``.keras`` (inputs a, b -> outputs a->b, b->a) and the JSON beside."""
    import keras

    f = _files(output)
    a = keras.Input((None, cfg.bins, 1), name="a")
    b = keras.Input((None, cfg.bins, 1), name="b")
    both = keras.Model([a, b], [model.gen_ab(a), model.gen_ba(b)], name="cyclegan_generators")
    info = {"kind": KIND, "format_version": FORMAT_VERSION, "domains": list(names), "config": cfg.to_dict(),
            "log_scale": LOG_SCALE, **(meta or {})}
    atomic_write(f["keras"], lambda tmp: both.save(tmp), force=force, suffix=".keras")
    atomic_write(f["json"], lambda tmp: open(tmp, "w").write(json.dumps(info, indent=1)), force=force, suffix=".json")
    return f


def _domain_data(folder: str, key: str, cfg: CycleGANConfig, progress: bool) -> dict:
    """The clips of one domain's folder, split by piece, cut into patches (training patches
    overlap by half), with the files counted and the ones skipped."""
    tr, va = split_domain(list_domain(folder), cfg)
    if not va:
        raise InputError(f"{folder}: too few files for a validation split (need at least 2)")
    ctr, s1 = load_clips(tr, cfg, progress, f"render {key} train")
    cva, s2 = load_clips(va, cfg, progress, f"render {key} val")
    if not ctr or not cva:
        raise InputError(f"{folder}: no usable clips")
    return {"train": domain_patches(ctr, cfg, cfg.patch_frames // 2), "val": domain_patches(cva, cfg),
            "train_files": len(ctr), "val_files": len(cva), "skipped": s1 + s2}


def _sidecar(data: dict, folders: dict, res: dict, data_seconds: float) -> dict:
    """What :func:`save` adds to the JSON: the data of each domain, the validation losses before
    and after :func:`fit` (its result ``res``) and the timings."""
    return {"data": {k: {"folder": os.path.abspath(d), "train_files": data[k]["train_files"],
                         "val_files": data[k]["val_files"], "train_patches": int(len(data[k]["train"])),
                         "val_patches": int(len(data[k]["val"])), "skipped": data[k]["skipped"]}
                     for k, d in folders.items()},
            "validation": {"before": res["val_before"], "after": res["val_after"]},
            "training": {"seconds": res["seconds"], "data_seconds": data_seconds, "steps": res["steps"],
                         "steps_per_second": res["steps_per_second"],
                         "examples_per_second": res["examples_per_second"], "history": res["history"]}}


def train(dir_a: str, dir_b: str, output: str, cfg: CycleGANConfig | None = None, *, names: tuple = ("a", "b"),
          force: bool = False, progress: bool = True) -> dict:
    """Train a CycleGAN between the audio / MIDI files of two folders and save it.

    Parameters
    ----------
    dir_a, dir_b : str
        Folders of WAV / FLAC / MIDI files (MIDI is rendered through the SoundFont path).
    output : str
        ``.keras`` path; ``.json`` and ``.log.csv`` go beside it.
    cfg : CycleGANConfig, optional
    names : (str, str)
        Names of the domains (e.g. ("jazz", "classical")), usable as ``to`` of :func:`translate_file`.
    force : bool
        Replace an existing model.
    progress : bool
        Progress bars.

    Returns
    -------
    dict
        What was written to the JSON: data counts, validation cycle loss before / after, timings.
    """
    cfg = cfg or CycleGANConfig()
    f = _files(output)
    for p in f.values():
        check_output(p, force=force)
    if len(set(names)) != 2:
        raise MidistyleError("the two domains need different names")
    folders = {"a": dir_a, "b": dir_b}
    t0 = time.time()
    data = {key: _domain_data(folder, key, cfg, progress) for key, folder in folders.items()}
    t_data = time.time() - t0
    model = build_cyclegan(cfg)
    res = fit(model, data["a"]["train"], data["b"]["train"], data["a"]["val"], data["b"]["val"], cfg,
              log=f["log"], progress=progress)
    meta = _sidecar(data, folders, res, t_data)
    save(model, cfg, output, names, meta, force=force)
    return meta


# ----------------------------------------------------------------------------- translation
def read_model_info(path: str) -> dict:
    """The checked JSON of the CycleGAN model ``path`` (.keras), without loading the network, so
    that a wrong path or model fails before TensorFlow is imported (seconds)."""
    f = _files(os.fspath(path))
    for p in (f["keras"], f["json"]):
        if not os.path.isfile(p):
            raise ModelError(f"{p}: missing (a CycleGAN model is a .keras file with its .json beside it)")
    with open(f["json"]) as fh:
        info = json.load(fh)
    if info.get("kind") != KIND:
        raise ModelError(f"{f['json']}: not a CycleGAN model (kind {info.get('kind')!r})")
    if info.get("format_version") != FORMAT_VERSION or info.get("log_scale") != LOG_SCALE:
        raise SettingsMismatchError(f"{f['json']}: written for another version of the spectrogram encoding")
    return info


def target_domain(to: str, domains) -> str:
    """The domain name ``to`` means ("a" / "b" or a name of ``domains``); MidistyleError if none."""
    domains = list(domains)
    to = {"a": domains[0], "b": domains[1]}.get(to, to)
    if to not in domains:
        raise MidistyleError(f"unknown domain {to!r}; this model has {', '.join(domains)} (or a, b)")
    return to


class Translator:
    """A trained CycleGAN's generators with their settings (see :func:`load`)."""

    def __init__(self, generators, info: dict, path: str):
        self.info = info
        self.path = path
        self.config = CycleGANConfig.from_dict(info["config"])
        self.domains = list(info["domains"])
        self.gen = {self.domains[1]: generators.get_layer("gen_ab"), self.domains[0]: generators.get_layer("gen_ba")}

    @classmethod
    def load(cls, path: str) -> "Translator":
        """Load a ``.keras`` written by :func:`save` and check its JSON."""
        info = read_model_info(path)
        import keras

        f = _files(os.fspath(path))
        reflection_pad(1)  # registers the custom layer before loading
        try:
            gens = keras.saving.load_model(f["keras"], compile=False)
        except Exception as exc:
            raise ModelError(f"{f['keras']}: cannot load ({str(exc).splitlines()[0]})") from None
        if gens.inputs[0].shape[2] != CycleGANConfig.from_dict(info["config"]).bins:
            raise SettingsMismatchError(f"{f['keras']}: the network's bins do not match its settings")
        return cls(gens, info, f["keras"])

    def translated_magnitude(self, y: np.ndarray, to: str) -> np.ndarray:
        """The generator's STFT magnitude ``(bins, frames)`` for waveform ``y`` translated to ``to``.

        Raises
        ------
        MidistyleError
            ``to`` is not a domain of the model.
        """
        cfg = self.config
        to = target_domain(to, self.domains)
        img = to_image(y, cfg)
        n = img.shape[0]
        pad = (-n) % 4
        if pad:
            img = np.pad(img, ((0, pad), (0, 0)), mode="reflect" if n > pad else "edge")
        out = np.asarray(self.gen[to](img[None, ..., None], training=False))[0, :n, :, 0]
        return from_image(out)

    def translate(self, y: np.ndarray, to: str, *, phase: str = "refined", griffin_lim_iterations: int = 200,
                  seed: int = 0) -> np.ndarray:
        """Waveform ``y`` (at the model's rate) translated to domain ``to``.

        Parameters
        ----------
        y : array of float
            Mono waveform at ``config.sr``.
        to : str
            Target domain name (or "a" / "b").
        phase : str
            One of :data:`PHASES`: "refined" (Griffin-Lim started from the input's STFT phase, so
            the audio carries the generator's magnitude while staying near the input), "input"
            (the input's phase as it is: the written magnitude drifts back towards the input's) or
            "griffin-lim" (from random phases).
        griffin_lim_iterations : int
            Iterations when ``phase`` is "refined" or "griffin-lim".
        seed : int
            Seed of Griffin-Lim's initial phases (``phase="griffin-lim"``).
        """
        check_phase(phase)
        return self.waveform(self.translated_magnitude(y, to), y, phase=phase,
                             griffin_lim_iterations=griffin_lim_iterations, seed=seed)

    def waveform(self, mag: np.ndarray, y: np.ndarray, *, phase: str = "refined", griffin_lim_iterations: int = 200,
                 seed: int = 0) -> np.ndarray:
        """A waveform of ``len(y)`` samples with STFT magnitude ``mag`` (from :meth:`translated_magnitude`),
        its phase from ``y`` as ``phase`` says; see :meth:`translate`."""
        cfg = self.config
        check_phase(phase)
        start = None
        if phase != "griffin-lim":
            start = np.angle(spectral.stft(y, cfg.n_fft, cfg.hop))[:, :mag.shape[1]]
        if phase == "input":
            return spectral.istft(mag * np.exp(1j * start), cfg.hop, length=len(y)).astype(np.float32)
        wav, _ = spectral.griffin_lim(mag, griffin_lim_iterations, cfg.hop, length=len(y), seed=seed,
                                      start_phase=start)
        return wav.astype(np.float32)


def check_phase(phase: str) -> None:
    """Raise :class:`MidistyleError` unless ``phase`` is one of :data:`PHASES`."""
    if phase not in PHASES:
        raise MidistyleError(f"phase must be one of {', '.join(PHASES)} (got {phase!r})", field="phase")


def translate_file(model: str, to: str, src: str, output: str, *, phase: str = "refined", force: bool = False,
                   soundfont: str | None = None) -> dict:
    """Translate an audio (or MIDI, rendered) file with a trained CycleGAN; write WAV / FLAC atomically.

    The result keeps the level of the generator's magnitude (no normalisation; only peaks beyond
    full scale are bent by :func:`midistyle.audio.files.limit_peaks`, reported as ``limiter``).
    The file written is read back and its STFT magnitude compared with the generator's:
    ``written_spectral_convergence`` (``|| mag - |STFT(file)| || / || mag ||``) and
    ``written_log_error`` (the same on ``log1p`` magnitudes) say how much of the translation the
    audio carries.

    Returns
    -------
    dict
        input, output, to, seconds, translate_seconds, phase, limiter, rms, written_spectral_convergence,
        written_log_error.
    """
    check_output(output, force=force, protect=(src,), extensions=WRITE_EXTENSIONS)
    target_domain(to, read_model_info(model)["domains"])       # a wrong model or domain fails before TensorFlow loads
    tr = Translator.load(model)
    cfg = tr.config
    y = load_input(src, cfg.sr, soundfont)
    t0 = time.perf_counter()
    mag = tr.translated_magnitude(y, to)
    out = tr.waveform(mag, y, phase=phase)
    out, limiter = limit_peaks(out)
    write_audio(output, out, cfg.sr, force=force, protect=(src,))
    got = np.abs(spectral.stft(read_audio(output, cfg.sr), cfg.n_fft, cfg.hop))[:, :mag.shape[1]]
    log_err = float(np.linalg.norm(np.log1p(got) - np.log1p(mag)) / max(np.linalg.norm(np.log1p(mag)), 1e-12))
    return {"input": src, "output": output, "to": {"a": tr.domains[0], "b": tr.domains[1]}.get(to, to),
            "seconds": len(y) / cfg.sr, "translate_seconds": time.perf_counter() - t0, "phase": phase,
            "limiter": limiter, "rms": float(np.sqrt(np.mean(np.square(out, dtype=np.float64)))),
            "written_spectral_convergence": float(np.linalg.norm(mag - got) / max(np.linalg.norm(mag), 1e-12)),
            "written_log_error": log_err}


def format_translation(r: dict) -> str:
    """The text report of :func:`translate_file` (what ``midistyle audio translate`` prints)."""
    lim = r["limiter"]
    return (f"{r['input']} -> {r['output']}: {r['seconds']:.1f} s translated to {r['to']} "
            f"({r['translate_seconds']:.1f} s, phase: {r['phase']}); the file read back is "
            f"{r['written_log_error']:.3f} (relative log1p error) from the generator's magnitude, RMS {r['rms']:.3f}"
            + (f"; limiter bent {lim['limited_samples']} samples (peak {lim['peak_in']:.2f})"
               if lim["limited_samples"] else ""))


__all__ = ["CycleGANConfig", "build_generator", "build_discriminator", "build_cyclegan", "fit", "train", "save",
           "Translator", "read_model_info", "target_domain", "translate_file", "PHASES", "check_phase",
           "format_translation", "to_image", "from_image", "patches"]
