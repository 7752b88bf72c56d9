"""Drawing frames from a chord model (:func:`sample_frames`, behind :meth:`ChordModel.sample
<midistyle.chords.model.ChordModel.sample>`): the harmony first when the model has a harmony layer,
then frame by frame the onset event, the struck keys lowest first, the holds and the pedal, each
frame read back by the LSTM with its running profiles, memories and habits."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .config import HABIT_COLUMNS, ChordsConfig, frame_decays, key_memory_decay
from .frames import Frames, frame_harmony, frame_keys, frames_key, previous_frames
from .harmony import advance_inputs
from .inputs import advance_column, memory_column, pitch_class_matrix
from .outputs import log_softmax, n_outputs, sigmoid


def sample_frames(cm, cond: np.ndarray, n_frames: int, seed=None, temperature: float = 1.0,
                  prime: Frames | None = None, feedback: float | None = None,
                  event_bias: float | None = None, key: int | None = None) -> Frames:
    """Draw ``n_frames`` frames from chord model ``cm`` (a :class:`~midistyle.chords.model.ChordModel`)
    started from embedding ``cond`` (D,): :meth:`ChordModel.sample
    <midistyle.chords.model.ChordModel.sample>` says how."""
    if not temperature > 0:
        raise InputError(f"temperature must be positive (got {temperature})")
    fb = cm.habit_feedback if feedback is None else float(feedback)
    if not 0.0 <= fb <= 1.0:
        raise InputError(f"feedback must be in [0, 1] (got {feedback})")
    rng = np.random.default_rng(seed)
    rt, cfg, P = cm.runtime, cm.config, cm.settings.n_pitches
    n_prime = len(prime) if prime is not None else 0
    on = np.zeros((n_frames, P), bool)
    sound = np.zeros((n_frames, P), bool)
    ped = np.zeros(n_frames, bool)
    u = rng.random((n_frames, 2 * P + 2))
    u_low = rng.random(n_frames) if cfg.lowest_key else None
    masks, keys, struck, at = draw_harmony(cm, cond, prime, n_frames, rng, key)
    run = DrawState.start(cm, cond, prime)
    adv = advance_row(masks, struck, n_prime, cfg, keys)
    if len(adv):
        run.x = run.x.copy()
        run.x[0, at:at + len(adv)] = adv
    inv_t = 1.0 / temperature
    within = None if rt.within is None else rt.within[:, :P]
    after = rt.within[:, P:2 * P + 1] if rt.within is not None and cfg.within_holds else None
    bias = np.zeros(n_outputs(P, cfg), np.float32)
    bias[2 * P + 1] = cm.event_bias if event_bias is None else float(event_bias)
    start = np.array(cm.habit_start, np.float64)
    for t in range(n_frames):
        logit, run.state = rt.step(run.x, run.state)
        logit = logit + bias
        p = sigmoid(logit[0] * inv_t)
        if u[t, 2 * P + 1] >= p[2 * P + 1]:
            o = np.zeros(P, bool)
        elif within is None:
            o = u[t, :P] < p[:P]
        elif cfg.lowest_key:
            o = draw_keys_above_lowest(logit[0], within, u[t, :P], u_low[t], inv_t)
        else:
            o = draw_keys_in_order(logit[0, :P], within, u[t, :P], inv_t)
        if after is not None and o.any():       # holds and pedal given the keys just struck
            p[P:2 * P + 1] = sigmoid((logit[0, P:2 * P + 1] + after[o].sum(axis=0)) * inv_t)
        s_ = o | (run.prev_sound & (u[t, P:2 * P] < p[P:2 * P]))
        on[t], sound[t], ped[t] = o, s_, u[t, 2 * P] < p[2 * P]
        if struck is not None:
            struck[n_prime + t] = o
        run.read_back(o, s_, ped[t], advance_row(masks, struck, n_prime + t + 1, cfg, keys), start, fb)
    step = cfg.harmony
    whole = masks is not None and n_prime % step == 0
    drawn = masks[n_prime // step:] if whole else None
    drawn_keys = keys[n_prime // step:] if whole and keys is not None else None
    return Frames(on, sound, ped, cfg.frame_steps, drawn, drawn_keys)


@dataclass
class DrawState:
    """What a draw carries from one frame to the next: the LSTM's ``state``, the next frame's model
    input ``x`` (1, n_in), the keys sounding in the last frame, the running pitch-class profiles
    (counts), the running pedal share and onset-event rate (``habit``), and the short memories of
    :func:`~midistyle.chords.inputs.memory_inputs` (``recent`` per key, past ``events``)."""

    state: tuple
    x: np.ndarray
    prev_sound: np.ndarray
    prof: np.ndarray
    habit: np.ndarray
    recent: np.ndarray
    events: np.ndarray
    cfg: ChordsConfig
    pcs: np.ndarray               # pitch class of each key

    @classmethod
    def start(cls, cm, cond: np.ndarray, prime: Frames | None) -> "DrawState":
        """The state of chord model ``cm`` started from embedding ``cond``: from silence, with the
        running habits at :attr:`~midistyle.chords.model.ChordModel.habit_start`, or after reading
        the frames of ``prime`` (teacher forced)."""
        rt, cfg, P, low = cm.runtime, cm.config, cm.settings.n_pitches, cm.settings.pitch_low
        state = rt.initial_state(np.asarray(cond, np.float32)[None])
        x = np.zeros((1, rt.n_in), np.float32)
        x[0, HABIT_COLUMNS] = cm.habit_start
        prev_sound = np.zeros(P, bool)
        key_decays, _ = frame_decays(cfg.frame_steps)
        prof = np.zeros((len(key_decays), 12))
        habit = np.array(cm.habit_start, np.float64)   # running pedal share, onset-event rate
        if prime is not None and len(prime):
            xs = previous_frames(prime, low, cm.habit_start, cfg, cm.harmony_masks(prime), cm.harmony_keys(prime))
            xk = xs @ rt.K
            for t in range(len(xs)):
                _, state = rt.step(xs[t][None], state, xk[t][None])
            last = prime.model_input(low, cm.habit_start, cfg)
            x = last[-1:]
            prev_sound = prime.sound[-1].copy()
            decay = np.array(key_decays)[:, None]
            for c in prime.onset.astype(np.float64) @ pitch_class_matrix(P, low):
                prof = decay * prof + c
            habit = last[-1, HABIT_COLUMNS].astype(np.float64)
        # the short memories (memory_inputs) carried on from the last frame read
        mem = memory_column(P)
        recent = x[0, mem:mem + P].astype(np.float64) if cfg.key_memory else np.zeros(0)
        events = x[0, mem + len(recent):mem + len(recent) + cfg.event_memory].astype(np.float64)
        return cls(state, x, prev_sound, prof, habit, recent, events, cfg, (np.arange(P) + low) % 12)

    def read_back(self, onset: np.ndarray, sound: np.ndarray, pedal, advance: np.ndarray, start: np.ndarray,
                  feedback: float) -> None:
        """Move on past a drawn frame (its struck and sounding keys and pedal): the next model input
        ``x`` reads it, with the running profiles, memories and habits updated (the habits read back
        with ``feedback``, :func:`anchored_habits`) and the frame's ``advance`` columns."""
        cfg = self.cfg
        key_decays, habit_decay = frame_decays(cfg.frame_steps)
        self.prof = np.array(key_decays)[:, None] * self.prof + np.bincount(self.pcs[onset], minlength=12)
        norm = self.prof / np.maximum(self.prof.sum(axis=1, keepdims=True), 1e-6)
        self.habit = habit_decay * self.habit + (1.0 - habit_decay) * np.array([pedal, onset.any()], np.float64)
        if cfg.key_memory:
            self.recent = np.maximum(key_memory_decay(cfg.frame_steps, cfg.key_memory) * self.recent, onset)
        if cfg.event_memory:
            self.events = np.concatenate([[float(onset.any())], self.events[:-1]])
        self.x = np.concatenate([onset, sound, [pedal], norm.ravel(), self.recent, self.events, advance,
                                 anchored_habits(self.habit, start, feedback)]).astype(np.float32)[None]
        self.prev_sound = sound


def draw_harmony(cm, cond, prime: Frames | None, n_frames: int, rng, key: int | None = None) -> tuple:
    """With a harmony layer in chord model ``cm``: ``(masks, keys, struck, at)``: the harmony of each
    step of the prime and the draw (the prime's whole steps read, the rest drawn by the harmony LSTM),
    the key of each step if the harmony reads keys (the prime's steps their own, the drawn ones
    ``key``: by default the prime's key, or one the harmony LSTM draws; else None), an array for the
    keys struck in every frame (the prime's filled in), and where the advance columns sit; else
    ``(None, None, None, 0)``."""
    if cm.harmony is None:
        return None, None, None, 0
    step, P, low = cm.config.harmony, cm.settings.n_pitches, cm.settings.pitch_low
    n_prime = len(prime) if prime is not None else 0
    known = frame_harmony(prime, cm.harmony.vocab, step, low)[:n_prime // step] if n_prime else np.zeros(0, np.int64)
    n_steps = -(-(n_prime + n_frames) // step) + 1 - len(known)
    if key is None and cm.reads_keys:
        key = frames_key(prime, low) if n_prime else cm.harmony.draw_key(rng)
    tokens = np.concatenate([known, cm.harmony.sample(cond, n_steps, rng=rng, prime=known, key=key)])
    keys = None
    if cm.reads_keys:
        keys = np.concatenate([frame_keys(prime, step, low)[:len(known)] if n_prime else np.zeros(0, np.int64),
                               np.full(n_steps, int(key), np.int64)])
    struck = np.zeros((n_prime + n_frames + 1, P), np.float32)
    if n_prime:
        struck[:n_prime] = prime.onset
    return cm.harmony.vocab.masks[tokens], keys, struck, advance_column(P, cm.config)


def advance_row(masks, struck, frame: int, cfg: ChordsConfig, keys=None) -> np.ndarray:
    """The advance columns of global frame ``frame`` of a draw (none without a harmony layer: ``masks``
    None); ``masks``, ``keys`` and ``struck`` as :func:`draw_harmony` gives them."""
    if masks is None:
        return np.zeros(0, np.float32)
    return advance_inputs(masks, struck, frame, 1, step=cfg.harmony, lags=cfg.figure_lags, keys=keys)[0]


def draw_keys_in_order(logit: np.ndarray, within: np.ndarray, u: np.ndarray, inv_t: float) -> np.ndarray:
    """Keys struck in one frame, drawn lowest first (bool array like ``logit``).

    Key ``k`` is struck when ``u[k]`` is below ``sigmoid((logit[k] + sum of within[j, k] over the
    struck keys j < k) * inv_t)``: ``logit`` (P,) from the LSTM, ``within`` (P, P) the within-frame
    weights, ``u`` (P,) uniforms, ``inv_t`` one over the temperature. Each pass finds the next
    struck key at once, so the loop runs once per struck key, not once per key."""
    z = np.array(logit, np.float64)
    o = np.zeros(len(z), bool)
    i = 0
    while i < len(z):
        hit = np.flatnonzero(u[i:] < sigmoid(z[i:] * inv_t))
        if not len(hit):
            break
        j = i + int(hit[0])
        o[j] = True
        z += within[j]
        i = j + 1
    return o


def draw_keys_above_lowest(logit: np.ndarray, within: np.ndarray, u: np.ndarray, u_lowest: float,
                           inv_t: float) -> np.ndarray:
    """Keys struck in one frame of a model with a lowest-key softmax (``logit`` (3P + 2,) of
    :func:`.outputs.n_outputs` with ``lowest_key``): the lowest struck key is drawn from
    ``softmax(logit[2P + 2:] * inv_t)`` by the uniform ``u_lowest``, then the keys above it as
    :func:`draw_keys_in_order` draws them, given it. A bool array (P,) with at least one key."""
    P = within.shape[0]
    q = np.exp(log_softmax(np.asarray(logit[2 * P + 2:], np.float64) * inv_t))
    j = min(int(np.searchsorted(np.cumsum(q), u_lowest * q.sum(), side="right")), P - 1)
    z = np.asarray(logit[:P], np.float64) + within[j]
    z[:j + 1] = -np.inf
    o = draw_keys_in_order(z, within, u, inv_t)
    o[j] = True
    return o


def anchored_habits(habits: np.ndarray, start, feedback: float) -> np.ndarray:
    """Running habits as a draw reads them back: ``start + feedback * (habits - start)``. At
    ``feedback`` 1 the draw reads its own running pedal share and event rate, as in training; below
    1 it reads them pulled towards the habit start, so that a sparse stretch does not make the next
    one sparser and sparser."""
    s = np.asarray(start, np.float64)
    return (s + feedback * (np.asarray(habits, np.float64) - s)).astype(np.asarray(habits).dtype)
