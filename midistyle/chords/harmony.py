"""Harmony: the slow layer of the chord generators.

A chord generator with ``harmony`` steps (:class:`midistyle.chords.ChordsConfig`) first draws one
**harmony** per step of ``harmony`` frames (20 frames of 25 ms: half a second) and then the frames,
each frame reading the harmony of its step and of the next one. A harmony is a pitch-class set
learned from the data by pooling held notes: the pitch classes that sound for at least
:data:`SHARE` of the time of the most sounding one in the step, at most :data:`MAX_PCS` of them
(:func:`step_weights`, :func:`strongest_set`). The sets a model can draw are a
:class:`HarmonyVocabulary`: the most frequent set classes of its training pieces (a set and its
transpositions are one class), each in all twelve transpositions, plus silence; a rarer set is
read as the nearest one in the vocabulary (its weakest pitch classes dropped).

The harmony LSTM (:class:`HarmonyModel`) starts from the same style embedding as the frame model
and draws the next harmony from a softmax over the vocabulary, given the ones before: a key that
stays and harmony that moves by function are learned on a slow clock, where half a minute is 60
steps rather than 1,200 frames. With ``harmony_key`` it also reads, at every step, the key the
music is in (:func:`step_keys`: the best of the 24 Temperley-Kostka-Payne key profiles over
:data:`KEY_SPAN` steps around it); a draw is given one key (:func:`parse_key`, or the key of its
inspiration, :func:`find_key`) and keeps to it because it is told it, not because it learned to
fall back on the commonest harmonies.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..modelfiles import training_summary
from ..nn.numpy_runtime import export_weights

__all__ = ["SHARE", "MAX_PCS", "KEY_SPAN", "KEY_NAMES", "key_profile_matrix", "find_key", "step_keys", "transpose_key", "key_shift", "parse_key",
           "key_bits", "step_weights", "strongest_set", "rotate_mask", "set_class", "mask_bits",
           "HarmonyVocabulary", "HarmonyModel", "harmony_windows", "advance_inputs"]

#: A pitch class belongs to a step's harmony when it sounds for at least this share of the time of
#: the pitch class that sounds most in the step.
SHARE = 0.5
#: At most this many pitch classes (the strongest) make a harmony.
MAX_PCS = 4
_BITS = 1 << np.arange(12)
#: Harmony steps around a step (centred) whose sound decides its key in training (16 s of half-second steps).
KEY_SPAN = 32
#: Temperley's key profiles from the Kostka-Payne corpus (Temperley 2007), C major and C minor: the
#: key a harmony LSTM is told. The judges find keys with Krumhansl-Kessler's, another profile.
TKP_MAJOR = (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400)
TKP_MINOR = (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330)
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: The 24 keys by index: 0-11 the major keys on C..B, 12-23 the minor keys.
KEY_NAMES = tuple(f"{n} major" for n in _NOTE_NAMES) + tuple(f"{n} minor" for n in _NOTE_NAMES)


def key_profile_matrix(major, minor) -> np.ndarray:
    """The 24 key profiles (24, 12) of a major and a minor profile on C, each standardised: rows
    0-11 the major keys on C..B, 12-23 the minor keys (:data:`KEY_NAMES`)."""
    rows = np.array([np.roll(p, k) for p in (major, minor) for k in range(12)], np.float64)
    return (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)


def find_key(weights: np.ndarray) -> np.ndarray:
    """Best key (0-23, :data:`KEY_NAMES`) of pitch-class weights (..., 12): the key profile they
    correlate with most; C major for silence."""
    w = np.asarray(weights, np.float64)
    z = w - w.mean(axis=-1, keepdims=True)
    return np.argmax(z @ key_profile_matrix(TKP_MAJOR, TKP_MINOR).T, axis=-1).astype(np.int64)


def step_keys(weights: np.ndarray, span: int = KEY_SPAN) -> np.ndarray:
    """The key of each harmony step (H,) from step weights (H, 12) (:func:`step_weights`): the best
    key of the weights summed over the ``span`` steps centred on it (fewer at the ends)."""
    w = np.asarray(weights, np.float64)
    c = np.concatenate([np.zeros((1, 12)), np.cumsum(w, axis=0)])
    t = np.arange(len(w))
    lo, hi = np.maximum(t - span // 2, 0), np.minimum(t + span - span // 2, len(w))
    return find_key(c[hi] - c[lo])


def transpose_key(key, k: int):
    """Keys (0-23) transposed up by ``k`` semitones (major stays major)."""
    key = np.asarray(key, np.int64)
    return (key // 12) * 12 + (key + k) % 12


def parse_key(text: str) -> int:
    """A key name -> its index (:data:`KEY_NAMES`): "D minor", "Dm", "F# major", "Bb", "eb min";
    without a mode, an upper-case letter is major and a lower-case one minor. Raises
    :class:`~midistyle.errors.InputError` for anything else."""
    m = _KEY_RE.match(str(text))
    if m is None:
        raise InputError(f"key must be a key name such as 'D minor', 'Dm' or 'F# major' (got {text!r})")
    letter, accidental, mode = m.groups()
    pc = (_LETTERS[letter.upper()] + {"": 0, "#": 1, "b": -1}[accidental.replace("♯", "#").replace("♭", "b")]) % 12
    if mode is None:
        minor = letter.islower()
    else:
        minor = mode != "M" and mode.lower() in ("m", "min", "minor")
    return pc + (12 if minor else 0)


_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*([#b♯♭]?)\s*(major|minor|maj|min|M|m)?\s*$", re.IGNORECASE)


def key_shift(found: int, wanted: int) -> int:
    """Semitones (-6..5) that move music in key ``found`` to key ``wanted`` (0-23): to its tonic when
    both are major or both minor, else to its relative key (the same key signature: D minor asked of
    music in a major key gives F major)."""
    target = wanted % 12
    if found // 12 != wanted // 12:
        target = (target + (3 if wanted >= 12 else 9)) % 12
    return (target - found % 12 + 6) % 12 - 6


def key_bits(keys) -> np.ndarray:
    """Keys (...) -> one-hot (..., 24) float32."""
    k = np.asarray(keys, np.int64)
    return (k[..., None] == np.arange(24)).astype(np.float32)


def step_weights(sound: np.ndarray, step: int, pitch_low: int = 21) -> np.ndarray:
    """How long each pitch class sounds in each step of ``step`` frames: ``sound`` (F, P) bool ->
    (ceil(F / step), 12) counts of sounding key-frames (the last step may be shorter)."""
    sound = np.asarray(sound, bool)
    F, P = sound.shape
    n = -(-F // step)
    pad = np.zeros((n * step - F, P), bool)
    per = np.concatenate([sound, pad]).reshape(n, step, P).sum(axis=1).astype(np.float64)
    pc = np.zeros((P, 12))
    pc[np.arange(P), (np.arange(P) + pitch_low) % 12] = 1.0
    return per @ pc


def strongest_set(weights: np.ndarray) -> np.ndarray:
    """Harmony masks (12-bit ints, bit k = pitch class k) of step weights (H, 12): the pitch
    classes with at least :data:`SHARE` of the strongest's weight, at most :data:`MAX_PCS` (0: silence)."""
    w = np.asarray(weights, np.float64)
    top = w.max(axis=1, keepdims=True)
    rank = np.argsort(np.argsort(-w, axis=1, kind="stable"), axis=1)
    keep = (w >= SHARE * top) & (w > 0) & (rank < MAX_PCS)
    return (keep * _BITS).sum(axis=1).astype(np.int64)


def rotate_mask(mask, k: int):
    """Pitch-class masks transposed up by ``k`` semitones."""
    k %= 12
    m = np.asarray(mask, np.int64)
    return ((m << k) | (m >> (12 - k))) & 0xFFF if k else m.copy()


def set_class(mask) -> np.ndarray:
    """The transposition class of masks: the smallest of their twelve transpositions."""
    m = np.asarray(mask, np.int64)
    return np.min([rotate_mask(m, k) for k in range(12)], axis=0)


def mask_bits(mask) -> np.ndarray:
    """Masks (...) -> pitch-class bits (..., 12) float32."""
    return ((np.asarray(mask, np.int64)[..., None] & _BITS) > 0).astype(np.float32)


@dataclass
class HarmonyVocabulary:
    """The harmonies a model can draw: ``masks`` (V,) ints, silence (0) first, then every
    transposition of each kept set class."""

    masks: np.ndarray

    def __post_init__(self):
        self.masks = np.asarray(self.masks, np.int64)
        self._index = {int(m): i for i, m in enumerate(self.masks)}
        if self.masks[0] != 0 or len(self._index) != len(self.masks):
            raise InputError("harmony vocabulary: masks must start with silence (0) and be distinct")

    def __len__(self):
        return len(self.masks)

    @classmethod
    def fit(cls, masks: np.ndarray, size: int) -> "HarmonyVocabulary":
        """The ``size`` most frequent set classes of ``masks`` (every single pitch class always
        among them), each in all its transpositions."""
        m = np.asarray(masks, np.int64)
        classes, counts = np.unique(set_class(m[m > 0]), return_counts=True)
        order = [int(c) for c in classes[np.argsort(-counts, kind="stable")]]
        keep = [1] + [c for c in order if c != 1][:max(0, size - 1)]
        tokens = sorted({int(rotate_mask(c, k)) for c in keep for k in range(12)})
        return cls(np.array([0] + tokens, np.int64))

    def tokens(self, weights: np.ndarray) -> np.ndarray:
        """Step weights (H, 12) -> tokens (H,): the :func:`strongest_set` of each step, its weakest
        pitch classes dropped until the set is in the vocabulary."""
        w = np.asarray(weights, np.float64)
        out = np.zeros(len(w), np.int64)
        for i, m in enumerate(strongest_set(w)):
            m = int(m)
            while m not in self._index:
                pcs = [k for k in range(12) if m >> k & 1]
                m &= ~(1 << min(pcs, key=lambda k: w[i, k]))
            out[i] = self._index[m]
        return out

    def rotation(self) -> np.ndarray:
        """(12, V) token of each token transposed up by k semitones."""
        return np.array([[self._index[int(rotate_mask(m, k))] for m in self.masks] for k in range(12)])

    def to_dict(self) -> dict:
        """The masks as a list (for a sidecar)."""
        return {"masks": [int(m) for m in self.masks]}

    @classmethod
    def from_dict(cls, d: dict) -> "HarmonyVocabulary":
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(d["masks"], np.int64))


def harmony_inputs(tokens: np.ndarray, n_vocab: int, vocab_masks: np.ndarray, keys=None) -> np.ndarray:
    """What the harmony LSTM reads at each step: the token before it (one-hot) and its pitch-class
    bits, silence before the first (H, V + 12) float32; with ``keys`` (H,), also the key of the step
    one-hot (H, V + 36)."""
    prev = np.concatenate([[0], np.asarray(tokens, np.int64)[:-1]])
    x = np.zeros((len(prev), n_vocab + 12), np.float32)
    x[np.arange(len(prev)), prev] = 1.0
    x[:, n_vocab:] = mask_bits(vocab_masks[prev])
    return x if keys is None else np.concatenate([x, key_bits(keys)], axis=1)


def harmony_windows(tokens: list, embs: list, *, vocab: HarmonyVocabulary, seq_len: int, transpose: int, seed: int,
                    foreign: list | None = None, foreign_share: float = 0.0, noise: float = 0.0, keys: list | None = None):
    """Endless training windows of harmony tokens (pieces weighted by length, random offset,
    random transposition within +-``transpose``, a share ``foreign_share`` started from another
    genre's embedding, a share ``noise`` of the input tokens replaced by random ones, the targets
    kept; with ``keys`` per piece, each step also reads its key, transposed with it): yields
    ``((inputs, embedding), targets)``."""
    rng = np.random.default_rng(seed)
    lens = np.array([len(t) for t in tokens], np.float64)
    p = lens / lens.sum()
    rotation = vocab.rotation()
    while True:
        k = int(rng.choice(len(tokens), p=p))
        t = tokens[k]
        a = int(rng.integers(0, max(1, len(t) - seq_len + 1)))
        w = np.zeros(seq_len, np.int64)
        w[:len(t[a:a + seq_len])] = t[a:a + seq_len]
        shift = int(rng.integers(-transpose, transpose + 1))
        w = rotation[shift % 12][w]
        kw = None
        if keys is not None:
            kw = np.zeros(seq_len, np.int64)
            kw[:len(t[a:a + seq_len])] = keys[k][a:a + seq_len]
            kw = transpose_key(kw, shift)
        e = embs[k]
        if foreign and rng.random() < foreign_share:
            e = foreign[int(rng.integers(len(foreign)))]
        seen = w
        if noise:
            seen = np.where(rng.random(seq_len) < noise, rng.integers(0, len(vocab), seq_len), w)
        yield (harmony_inputs(seen, len(vocab), vocab.masks, kw), np.asarray(e, np.float32)), w


def advance_inputs(masks: np.ndarray, onset: np.ndarray, first: int, n: int, *, step: int, lags: int,
                   keys: np.ndarray | None = None) -> np.ndarray:
    """What frames ``first .. first + n - 1`` know before they are drawn (n, :func:`advance_size`): the
    pitch-class bits of the harmony of their step and of the next step (``masks`` per step from
    frame 0, the last one repeated beyond its end), where in its step the frame lies (0..1), and,
    for each of ``lags`` harmony periods back, the keys struck that many periods before
    (``onset`` (>= first + n, P) from frame 0; silence before it) so that a figure can return;
    with ``keys`` (per step, like ``masks``), last the key of their step, one-hot."""
    t = np.arange(first, first + n)
    s = t // step
    last = len(masks) - 1
    cur = mask_bits(masks[np.minimum(s, last)])
    nxt = mask_bits(masks[np.minimum(s + 1, last)])
    parts = [cur, nxt, ((t % step) / step).astype(np.float32)[:, None]]
    for j in range(1, lags + 1):
        src = t - j * step
        back = np.zeros((n, onset.shape[1]), np.float32)
        ok = src >= 0
        back[ok] = onset[src[ok]]
        parts.append(back)
    if keys is not None:
        parts.append(key_bits(np.asarray(keys)[np.minimum(s, len(keys) - 1)]))
    return np.concatenate(parts, axis=1).astype(np.float32)


def advance_size(n_pitches: int, lags: int, key: bool = False) -> int:
    """Columns of :func:`advance_inputs` (``key``: with the keys)."""
    return 25 + lags * n_pitches + (24 if key else 0)


class HarmonyModel:
    """The harmony LSTM of a chord generator (NumPy runtime): :meth:`sample` draws harmony tokens
    from an embedding, :meth:`nll` scores real ones (teacher forcing)."""

    def __init__(self, runtime, vocab: HarmonyVocabulary, temperature: float = 1.0, major_share: float = 0.5):
        self.runtime = runtime
        self.vocab = vocab
        #: Softmax temperature of a draw (calibrated on the training pieces)
        self.temperature = float(temperature)
        #: Share of the training pieces' harmony steps in a major key (where a draw told no key draws one)
        self.major_share = float(major_share)

    @property
    def uses_key(self) -> bool:
        """Whether this LSTM reads the key of each step (trained with ``harmony_key``)."""
        return self.runtime.n_in == len(self.vocab) + 36

    def inputs(self, tokens: np.ndarray, keys=None) -> np.ndarray:
        """:func:`harmony_inputs` of tokens (and their ``keys``, for an LSTM that reads them) under
        this vocabulary."""
        return harmony_inputs(tokens, len(self.vocab), self.vocab.masks, keys if self.uses_key else None)

    def nll(self, tokens: list, conds: list, keys: list | None = None) -> np.ndarray:
        """NLL (nats) of each step of each token sequence, concatenated; ``keys``: the key of each
        step of each sequence (needed by an LSTM that reads them, :attr:`uses_key`)."""
        if self.uses_key and keys is None:
            raise ValueError("keys: this harmony LSTM reads the key of each step")
        out = []
        for i, (t, c) in enumerate(zip(tokens, conds)):
            x = self.inputs(t, keys[i] if self.uses_key else None)
            lg = self.runtime.logits(x[None], np.asarray(c, np.float32)[None])[0].astype(np.float64)
            lg -= lg.max(axis=1, keepdims=True)
            logp = lg - np.log(np.exp(lg).sum(axis=1, keepdims=True))
            out.append(-logp[np.arange(len(t)), t])
        return np.concatenate(out) if out else np.zeros(0)

    def sample(self, cond: np.ndarray, n_steps: int, *, rng: np.random.Generator, prime: np.ndarray | None = None,
               temperature: float | None = None, key: int | None = None) -> np.ndarray:
        """Draw ``n_steps`` tokens started from embedding ``cond`` (after reading the tokens of
        ``prime``, which are not returned). An LSTM that reads keys (:attr:`uses_key`) is told
        ``key`` (0-23, :data:`KEY_NAMES`) at every step; without one it draws in a key of its own
        (:meth:`draw_key`)."""
        rt = self.runtime
        V = len(self.vocab)
        inv_t = 1.0 / (self.temperature if temperature is None else float(temperature))
        told = (self.draw_key(rng) if key is None else int(key)) if self.uses_key else None
        key_row = key_bits(told) if told is not None else np.zeros(0, np.float32)
        state = rt.initial_state(np.asarray(cond, np.float32)[None])
        prev = 0
        if prime is not None and len(prime):
            x = self.inputs(np.asarray(prime, np.int64), None if told is None else np.full(len(prime), told))
            for row in x:
                _, state = rt.step(row[None], state)
            prev = int(prime[-1])
        out = np.zeros(n_steps, np.int64)
        u = rng.random(n_steps)
        for i in range(n_steps):
            x = np.zeros((1, V + 12 + len(key_row)), np.float32)
            x[0, prev] = 1.0
            x[0, V:V + 12] = mask_bits(self.vocab.masks[prev])
            x[0, V + 12:] = key_row
            logit, state = rt.step(x, state)
            z = logit[0].astype(np.float64) * inv_t
            q = np.exp(z - z.max())
            prev = min(int(np.searchsorted(np.cumsum(q), u[i] * q.sum(), side="right")), V - 1)
            out[i] = prev
        return out

    def draw_key(self, rng: np.random.Generator) -> int:
        """A key for a draw told none: any of the twelve tonics, major with the training pieces'
        share of major-key steps (:attr:`major_share`)."""
        return int(rng.integers(12)) + (0 if rng.random() < self.major_share else 12)


#: Training of the harmony LSTM: windows per batch and learning rate (epochs, steps per epoch and
#: patience are the frame model's).
HARMONY_BATCH, HARMONY_LR = 64, 3e-3


def harmony_loss(y_true, y_pred):
    """Keras loss: NLL (nats) of each step's harmony token under the softmax of its logits."""
    import keras

    return keras.ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)


def fit_harmony(data: dict, cfg, emb_dim: int, foreign: list | None, stem: str, progress: bool) -> dict:
    """Fit the harmony LSTM of a chord generator (``cfg``: its :class:`midistyle.chords.ChordsConfig`)
    on ``data`` (``vocab``, ``train`` / ``val`` token sequences and ``train_embs`` / ``val_embs``;
    with ``cfg.harmony_key``, ``train_keys`` / ``val_keys`` of each step),
    logging to ``STEM.harmony.log.csv``.

    Returns ``{"weights": arrays for the NumPy runtime, "training": summary}``."""
    import keras
    import tensorflow as tf

    from ..nn.layers import build_conditioned_lstm
    from ..nn.training import array_dataset, fit_with_checkpoints, generator_dataset

    vocab, L = data["vocab"], cfg.harmony_seq
    V = len(vocab)
    n_in = V + 12 + (24 if cfg.harmony_key else 0)
    keys = (data["train_keys"], data["val_keys"]) if cfg.harmony_key else (None, None)
    sig = ((tf.TensorSpec((L, n_in), tf.float32), tf.TensorSpec((emb_dim,), tf.float32)),
           tf.TensorSpec((L,), tf.int64))
    train_ds = generator_dataset(lambda: harmony_windows(data["train"], data["train_embs"], vocab=vocab, seq_len=L,
                                                         transpose=cfg.transpose, seed=cfg.seed + 1, foreign=foreign,
                                                         foreign_share=cfg.foreign_cond, noise=cfg.harmony_noise,
                                                         keys=keys[0]),
                            sig, HARMONY_BATCH)
    vx, ve, vy = [], [], []
    for i, (t, e) in enumerate(zip(data["val"], data["val_embs"])):
        for a in range(0, len(t) - L + 1, L):
            vx.append(harmony_inputs(t[a:a + L], V, vocab.masks, None if keys[1] is None else keys[1][i][a:a + L]))
            ve.append(np.asarray(e, np.float32))
            vy.append(t[a:a + L])
    val_ds = array_dataset(((np.stack(vx), np.stack(ve)), np.stack(vy)), 64)
    model = build_conditioned_lstm(n_in, emb_dim, units=cfg.harmony_units, n_out=V, cond_dropout=cfg.cond_dropout,
                                   name="harmony")
    model.compile(optimizer=keras.optimizers.Adam(HARMONY_LR, clipnorm=1.0), loss=harmony_loss)
    hist, seconds = fit_with_checkpoints(model, train_ds, val_ds, stem + ".harmony", epochs=cfg.epochs,
                                         steps_per_epoch=cfg.steps_per_epoch, patience=cfg.patience, lr_patience=1,
                                         min_lr=2e-4, progress=progress)
    buf = io.BytesIO()
    export_weights(model, buf)
    buf.seek(0)
    with np.load(buf) as z:
        weights = {k: z[k] for k in z.files}
    return {"weights": weights, "training": training_summary(hist.history, seconds, steps_per_epoch=cfg.steps_per_epoch,
                                                             batch_size=HARMONY_BATCH, sequence=("seq_len", L, "steps"))}


def add_weights(npz_path: str, arrays: dict, *, prefix: str) -> None:
    """Add ``arrays`` under ``prefix`` to the NumPy weights file ``npz_path`` (rewritten in place
    through a temporary file)."""
    with np.load(npz_path) as z:
        merged = {k: z[k] for k in z.files}
    merged.update({prefix + k: v for k, v in arrays.items()})
    tmp = npz_path + ".part.npz"
    np.savez(tmp, **merged)
    os.replace(tmp, npz_path)
