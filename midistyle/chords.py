"""Chord generation: one LSTM per target genre over the held ("chords") matrix, started from
the style embedding of an inspiration piece.

Representation: the 25 ms held matrix is cut into frames of ``frame_steps`` steps (default 4
-> 100 ms); a key counts as held in a frame when it sounds for at least half of it. The LSTM
reads the previous frame (silence before the first) and gives one logit per key; the
probability of each key being held is ``sigmoid(logit / temperature)``, and generation
draws all keys of a frame at once (independent Bernoulli draws) and feeds the drawn frame back.

Conditioning: the genre classifier's embedding of the piece being modelled (mean over its
segments, :meth:`midistyle.classifier.GenreClassifier.embed`) goes through learned Dense
layers to the LSTM's initial hidden state (tanh) and cell state (linear). In training it is
the embedding of the training piece a window comes from (for a quarter of the windows, of a
random training piece of another genre, so that an inspiration from another genre still
starts the model in its own genre); at generation, of the inspiration.

Why one model per genre rather than one genre-conditioned model: the rest of midistyle is
organised per genre (velocity models, registry, ``--style GENRE``), a genre can be added or
retrained without touching the others, and each model keeps the whole capacity for its
genre's texture; the cost is that the genres share no parameters.

Output: the frames go back to the 25 ms grid, each run of held frames of a key becomes one
note, and the velocities come from the genre's velocity model when one is shipped
(:mod:`midistyle.velocity`), else a constant 64 with a warning.

Training needs TensorFlow; generation and scoring run in NumPy from the ``.npz``. Files::

    chords-GENRE.keras  Keras 3 model         chords-GENRE.json  sidecar (settings, classifier
    chords-GENRE.npz    NumPy weights         fingerprint, base rates, validation figures)
"""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass

import numpy as np

from .errors import InputError, ModelError, SettingsMismatchError
from .pianoroll import EncoderSettings, PianoRoll, encode
from .velocity import model_files, note_beats_of

KIND = "chords"
FORMAT_VERSION = 1
TICKS_PER_SECOND = 960          # 480 ticks per beat at 120 bpm
MAX_SECONDS = 3600.0


@dataclass
class ChordsConfig:
    """Architecture and training settings of a chord generator."""

    frame_steps: int = 4           # 25 ms steps per frame: 4 -> 100 ms
    units: int = 256
    cond_dropout: float = 0.1      # dropout on the embedding in training
    foreign_cond: float = 0.25     # share of training windows started from another genre's embedding
    seq_len: int = 128             # frames per training window (12.8 s)
    batch_size: int = 64
    epochs: int = 12
    steps_per_epoch: int = 50
    patience: int = 2
    learning_rate: float = 3e-3
    seed: int = 0


def chord_frames(held: np.ndarray, frame_steps: int) -> np.ndarray:
    """Held matrix (T, P) -> frames (ceil(T / k), P) bool: held for at least half of a frame."""
    held = np.asarray(held, np.uint8)
    k = frame_steps
    T = held.shape[0]
    n = -(-T // k)
    pad = n * k - T
    if pad:
        held = np.concatenate([held, np.zeros((pad, held.shape[1]), np.uint8)])
    return held.reshape(n, k, -1).sum(axis=1) * 2 >= k


def frames_to_held(frames: np.ndarray, frame_steps: int, n_steps: int | None = None) -> np.ndarray:
    """Frames (F, P) back to the step grid (F * k, P), cut to ``n_steps``."""
    held = np.repeat(np.asarray(frames, bool), frame_steps, axis=0)
    return held if n_steps is None else held[:n_steps]


def held_to_notes(held: np.ndarray) -> list:
    """Runs of held steps -> ``(start_step, end_step, column)`` notes, sorted by start and column."""
    held = np.asarray(held, bool)
    T = held.shape[0]
    pad = np.zeros((1, held.shape[1]), bool)
    d = np.diff(np.vstack([pad, held, pad]).astype(np.int8), axis=0)
    st_t, st_p = np.nonzero(d == 1)
    en_t, en_p = np.nonzero(d == -1)
    # both are sorted by (time, pitch); pair them per pitch in time order
    o1 = np.lexsort((st_t, st_p))
    o2 = np.lexsort((en_t, en_p))
    notes = sorted(zip(st_t[o1].tolist(), np.minimum(en_t[o2], T).tolist(), st_p[o1].tolist()))
    return notes


def notes_to_midi(notes: list, settings: EncoderSettings, seconds: float, velocities=None, name: str = "chords"):
    """A type-0 MIDI file (120 bpm, 480 ticks per beat, piano) of step notes, ending at ``seconds``.

    Parameters
    ----------
    notes : list of (start_step, end_step, column)
    settings : EncoderSettings
        Grid of the steps and pitch of column 0.
    seconds : float
        Length of the file (its end-of-track event).
    velocities : array, optional
        One velocity per note (default 64).
    """
    import mido

    def tick(step):
        return int(round(step * settings.step * TICKS_PER_SECOND))

    end = int(round(seconds * TICKS_PER_SECOND))
    vel = np.full(len(notes), 64) if velocities is None else np.clip(np.rint(velocities), 1, 127).astype(int)
    ev = []
    for (a, b, p), v in zip(notes, vel):
        pitch = int(p) + settings.pitch_low
        ev.append((min(tick(a), end), 1, mido.Message("note_on", channel=0, note=pitch, velocity=int(v))))
        ev.append((min(tick(b), end), 0, mido.Message("note_off", channel=0, note=pitch, velocity=0)))
    ev.sort(key=lambda e: (e[0], e[1], e[2].note))
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("track_name", name=name, time=0))
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.append(mido.Message("program_change", channel=0, program=0, time=0))
    last = 0
    for t, _, msg in ev:
        tr.append(msg.copy(time=t - last))
        last = t
    tr.append(mido.MetaMessage("end_of_track", time=max(end - last, 0)))
    mf = mido.MidiFile(type=0, ticks_per_beat=480)
    mf.tracks.append(tr)
    return mf


def texture_stats(frames: np.ndarray, pitch_low: int = 21) -> dict:
    """Polyphony and register of a frame matrix (F, P).

    Returns
    -------
    dict
        ``polyphony`` (mean held keys over sounding frames), ``silence`` (share of silent
        frames), ``pitch_mean``, ``pitch_p5`` and ``pitch_p95`` (over held cells, MIDI
        numbers), ``note_rate`` (note starts per frame).
    """
    frames = np.asarray(frames, bool)
    n = frames.sum(axis=1)
    t, p = np.nonzero(frames)
    starts = frames & ~np.vstack([np.zeros((1, frames.shape[1]), bool), frames[:-1]])
    if len(p) == 0:
        return {"polyphony": 0.0, "silence": 1.0, "pitch_mean": float("nan"), "pitch_p5": float("nan"),
                "pitch_p95": float("nan"), "note_rate": 0.0}
    pitch = p + pitch_low
    return {"polyphony": float(n[n > 0].mean()), "silence": float(np.mean(n == 0)),
            "pitch_mean": float(pitch.mean()), "pitch_p5": float(np.percentile(pitch, 5)),
            "pitch_p95": float(np.percentile(pitch, 95)), "note_rate": float(starts.sum() / len(frames))}


# ----------------------------------------------------------------------------- the model
class ChordModel:
    """A trained chord generator for one genre (NumPy runtime).

    Use :meth:`load`; :meth:`sample` draws frames from an embedding, :meth:`probabilities`
    scores real frames (teacher forcing).
    """

    def __init__(self, meta: dict, runtime, path: str):
        self.meta = meta
        self.runtime = runtime
        self.path = path
        self.genre = meta["genre"]
        self.settings = EncoderSettings.from_dict(meta["encoder"])
        self.config = ChordsConfig(**meta["config"])

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
            Sidecar and weights disagree (pitches, embedding size).
        """
        from .classifier import _read_sidecar
        from .nn.numpy_runtime import ConditionedLSTMRuntime, load_weights

        files, meta = _read_sidecar(path, KIND)
        if meta.get("format_version") != FORMAT_VERSION:
            raise SettingsMismatchError(f"{path}: chord model format {meta.get('format_version')}, "
                                        f"this midistyle reads {FORMAT_VERSION}")
        try:
            settings = EncoderSettings.from_dict(meta["encoder"])
            ChordsConfig(**meta["config"])
            emb_dim = int(meta["classifier"]["embedding_dim"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{files['json']}: incomplete chord-model sidecar ({exc})") from None
        if not os.path.exists(files["npz"]):
            raise ModelError(f"{files['npz']}: weights for the NumPy runtime are missing")
        try:
            rt = ConditionedLSTMRuntime(load_weights(files["npz"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{files['npz']}: not chord-model weights ({exc})") from None
        if rt.n_in != settings.n_pitches:
            raise SettingsMismatchError(f"{files['npz']}: weights take {rt.n_in} pitches, encoder settings "
                                        f"{settings.to_dict()} give {settings.n_pitches}")
        if rt.cond_dim != emb_dim:
            raise SettingsMismatchError(f"{files['npz']}: weights take a {rt.cond_dim}-d embedding, "
                                        f"sidecar says {emb_dim}")
        return cls(meta, rt, files["keras"])

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

    def probabilities(self, frames_in: np.ndarray, cond: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Teacher-forced probabilities (B, T, P) of each frame given the previous ones.

        ``frames_in`` (B, T, P) is the frame sequence itself; the model sees it shifted by one
        (silence first), as in training.
        """
        x = np.asarray(frames_in, np.float32)
        prev = np.concatenate([np.zeros_like(x[:, :1]), x[:, :-1]], axis=1)
        logits = self.runtime.logits(prev, cond)
        return 1.0 / (1.0 + np.exp(-logits / temperature))

    def sample(self, cond: np.ndarray, n_frames: int, seed=None, temperature: float = 1.0) -> np.ndarray:
        """Draw ``n_frames`` frames (n_frames, P) bool, started from embedding ``cond`` (D,).

        All keys of a frame are drawn at once from their Bernoulli probabilities
        ``sigmoid(logit / temperature)``; the drawn frame is the next input.
        """
        if not temperature > 0:
            raise InputError(f"temperature must be positive (got {temperature})")
        rng = np.random.default_rng(seed)
        rt = self.runtime
        state = rt.initial_state(np.asarray(cond, np.float32)[None])
        x = np.zeros((1, rt.n_in), np.float32)
        out = np.zeros((n_frames, rt.n_in), bool)
        u = rng.random((n_frames, rt.n_in))
        for t in range(n_frames):
            logit, state = rt.step(x, state)
            p = 1.0 / (1.0 + np.exp(-logit[0] / temperature))
            out[t] = u[t] < p
            x = out[t][None].astype(np.float32)
        return out


def default_output(src: str, style: str) -> str:
    """``song.mid`` -> ``song.chords-STYLE.mid`` beside it."""
    from .velocity import default_output as _d

    return _d(src, f"chords-{style}")


def _velocity_model(style: str):
    """The shipped velocity model of ``style``, or (None, reason)."""
    from .registry import velocity_model_path
    from .velocity import VelocityModel

    try:
        return VelocityModel.load(velocity_model_path(style)), None
    except ModelError as exc:
        return None, str(exc)


def generate(inspire: str, style: str, output: str | None = None, seconds: float = 30.0, seed: int | None = None,
             temperature: float = 1.0, force: bool = False, model: str | None = None,
             classifier: str | None = None, velocity: bool = True) -> dict:
    """Generate chords in ``style`` from the style embedding of ``inspire``, write a MIDI file.

    Parameters
    ----------
    inspire : str
        MIDI file, score or ``corpus:NAME`` whose embedding starts the generator.
    style : str
        Target genre (a shipped chord model, :func:`midistyle.registry.chords_model_path`).
    output : str, optional
        Output path (default ``IN.chords-STYLE.mid`` beside the input).
    seconds : float
        Length of the output.
    seed : int, optional
        Seed of the draws (a fresh one if None; it is returned). Same seed, same file.
    temperature : float
        > 1 more adventurous, < 1 more conservative.
    force : bool
        Overwrite an existing output (never the input).
    model, classifier : str, optional
        Chord model / classifier paths instead of the shipped ones.
    velocity : bool
        Use the style's velocity model when one is shipped (else constant 64).

    Returns
    -------
    dict
        ``input``, ``output``, ``style``, ``seconds``, ``seed``, ``temperature``, ``notes``,
        ``polyphony``, ``velocity_model`` (path or None) and ``warning`` (or None).
    """
    from . import io as mio
    from .classifier import GenreClassifier
    from .registry import chords_model_path, classifier_path

    if not (isinstance(seconds, (int, float)) and 0 < seconds <= MAX_SECONDS):
        raise InputError(f"--seconds must be in (0, {MAX_SECONDS:g}] (got {seconds})")
    if not temperature > 0:
        raise InputError(f"--temperature must be positive (got {temperature})")
    cm = ChordModel.load(model if model is not None else chords_model_path(style))
    clf = GenreClassifier.load(classifier or classifier_path())
    cm.check_classifier(clf)
    out = output or default_output(inspire, style)
    if os.path.exists(out) and not force:
        from .errors import OutputError

        raise OutputError(f"{out}: exists (use --force to overwrite)")
    perf = mio.read(inspire)
    emb = clf.embed(encode(perf, clf.settings))
    if seed is None:
        seed = secrets.randbelow(2 ** 31)
    n_frames = int(np.ceil(seconds / cm.frame_seconds))
    frames = cm.sample(emb, n_frames, seed=seed, temperature=temperature)
    n_steps = int(round(seconds / cm.settings.step))
    notes = held_to_notes(frames_to_held(frames, cm.config.frame_steps, n_steps))
    midi = notes_to_midi(notes, cm.settings, seconds, name=f"midistyle chords ({style})")
    vm_path, warning = None, None
    if velocity and notes:
        vm, why = _velocity_model(style)
        if vm is None:
            warning = f"no velocity model for {style!r}, notes get velocity 64 ({why})"
        else:
            gen = mio.performance_from_midifile(midi, "generated")
            vel = vm.sample(encode(gen, vm.settings), beats=note_beats_of(gen), seed=seed)
            midi = mio.with_velocities(gen, vel)
            vm_path = vm.path
    elif not notes:
        warning = "the generator drew only silence (try another --seed or a higher --temperature)"
    protect = () if inspire.startswith(mio.CORPUS_PREFIX) else (inspire,)
    mio.save_midi(midi, out, force=force, protect=protect)
    return {"input": inspire, "output": out, "style": style, "seconds": float(seconds), "seed": int(seed),
            "temperature": float(temperature), "notes": len(notes),
            "polyphony": round(texture_stats(frames)["polyphony"], 2), "velocity_model": vm_path,
            "warning": warning}


# ----------------------------------------------------------------------------- evaluation
def _bce_sum(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p)).sum(axis=-1)


def _f1(y: np.ndarray, pred: np.ndarray) -> dict:
    tp = float(np.sum(y & pred))
    fp = float(np.sum(~y & pred))
    fn = float(np.sum(y & ~pred))
    prec = tp / max(tp + fp, 1.0)
    rec = tp / max(tp + fn, 1.0)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(prec + rec, 1e-12)}


def windows(frames: np.ndarray, seq_len: int) -> list:
    """Non-overlapping windows of ``seq_len`` frames (the last, shorter one kept)."""
    return [frames[a:a + seq_len] for a in range(0, len(frames), seq_len)]


def evaluate(cm: ChordModel, pieces: list, embeddings: list, base_rates: np.ndarray,
             markov: np.ndarray | None = None, batch: int = 512) -> dict:
    """Frame-level NLL and note F1 of the model against simple baselines (teacher forcing).

    Every piece is cut into non-overlapping windows of ``seq_len`` frames; each window starts
    from the piece's embedding and silence, as in training.

    Parameters
    ----------
    cm : ChordModel
    pieces : list of bool arrays (F, P)
        :func:`chord_frames` of real pieces.
    embeddings : list of arrays (D,)
        Classifier embedding of each piece.
    base_rates : array (P,)
        Share of frames each key is held in the training data (the base-rate baseline).
    markov : array (2, P), optional
        P(held | previous frame silent / held) per key (a stronger baseline).

    Returns
    -------
    dict
        Per method (``model``, ``base_rate``, ``markov``): ``nll_per_frame`` (nats, summed over
        keys, mean over frames), ``nll_per_cell``, and F1 of held cells at threshold 0.5
        (``f1``, ``precision``, ``recall``); the base rate also at its best threshold
        (``f1_best_threshold``, an oracle choice in its favour).
    """
    seq = cm.config.seq_len
    W, C, L = [], [], []
    for f, e in zip(pieces, embeddings):
        for w in windows(np.asarray(f, bool), seq):
            pad = seq - len(w)
            W.append(np.concatenate([w, np.zeros((pad, w.shape[1]), bool)]) if pad else w)
            C.append(e)
            L.append(len(w))
    W, C, L = np.stack(W), np.stack(C).astype(np.float32), np.array(L)
    mask = np.arange(seq)[None, :] < L[:, None]
    Y = W[mask]                                      # (N, P) bool, real frames only
    pm = np.concatenate([cm.probabilities(W[a:a + batch], C[a:a + batch])[mask[a:a + batch]]
                         for a in range(0, len(W), batch)])
    P = W.shape[2]
    res = {"frames": int(len(Y)), "windows": int(len(W)), "pieces": len(pieces), "keys": P}

    def summarize(p, name, best=False):
        nll = _bce_sum(Y, p)
        r = {"nll_per_frame": float(nll.mean()), "nll_per_cell": float(nll.mean() / P), **_f1(Y, p >= 0.5)}
        if best:
            cands = np.unique(np.quantile(p, np.linspace(0.5, 0.995, 40)))
            r["f1_best_threshold"] = max((_f1(Y, p >= t)["f1"], float(t)) for t in cands)
        res[name] = r

    summarize(pm, "model")
    summarize(np.broadcast_to(np.clip(base_rates, 1e-4, 1 - 1e-4), Y.shape), "base_rate", best=True)
    if markov is not None:
        prev = np.concatenate([np.zeros_like(W[:, :1]), W[:, :-1]], axis=1)[mask]
        summarize(np.where(prev, markov[1], markov[0]), "markov")
    return res


def transfer(cm: ChordModel, clf, inspirations: list, seconds: float = 30.0, seed: int = 0,
             temperature: float = 1.0) -> dict:
    """Generate from each inspiration (PianoRolls, usually of another genre) and classify the result.

    Returns
    -------
    dict
        ``share_target`` (share of generated pieces the classifier assigns to the model's
        genre), ``mean_p_target``, per-piece ``p_target``, and ``texture`` of every generated
        piece (:func:`texture_stats`).
    """
    n_frames = int(np.ceil(seconds / cm.frame_seconds))
    n_steps = int(round(seconds / cm.settings.step))
    p_t, pred, textures = [], [], []
    for k, roll in enumerate(inspirations):
        emb = clf.embed(roll)
        frames = cm.sample(emb, n_frames, seed=seed + k, temperature=temperature)
        held = frames_to_held(frames, cm.config.frame_steps, n_steps)
        onsets = held & ~np.vstack([np.zeros((1, held.shape[1]), bool), held[:-1]])
        gen = PianoRoll(onsets=onsets, held=held, velocity=np.where(onsets, 64, 0).astype(np.uint8),
                        pedals=np.zeros((len(held), 2), np.uint8), settings=cm.settings)
        res = clf.predict(gen)
        p_t.append(res["probabilities"][cm.genre])
        pred.append(res["genre"])
        textures.append(texture_stats(frames, cm.settings.pitch_low))
    return {"pieces": len(pred), "share_target": float(np.mean([g == cm.genre for g in pred])),
            "mean_p_target": float(np.mean(p_t)), "p_target": [float(p) for p in p_t],
            "predicted": pred, "texture": textures}


# ----------------------------------------------------------------------------- training
def load_pieces(ds, indices, clf, frame_steps: int | None) -> tuple:
    """Chord frames (None when ``frame_steps`` is None) and classifier embeddings of dataset pieces."""
    from .classifier import features_from_arrays

    r = ds.h5["rolls"]
    frames, embs = [], []
    cfg = clf.config
    for i in indices:
        a, n = int(ds.roll_start[i]), int(ds.roll_length[i])
        held = r["held"][a:a + n]
        on = r["onsets"][a:a + n]
        vel = r["velocity"][a:a + n] if cfg.use_velocity else None
        feats = features_from_arrays(held, on, vel, cfg.pool, ds.settings.pitch_low if cfg.harmony else None)
        emb, _ = clf.segment_outputs_from_features(feats)
        embs.append(emb.mean(axis=0))
        if frame_steps is not None:
            frames.append(chord_frames(held, frame_steps))
    return (frames if frame_steps is not None else None), embs


def markov_rates(pieces: list) -> np.ndarray:
    """Per key, P(held | previous frame silent) and P(held | previous frame held), shape (2, P)."""
    P = pieces[0].shape[1]
    cnt = np.ones((2, P))
    tot = np.full((2, P), 2.0)
    for f in pieces:
        prev, cur = f[:-1], f[1:]
        cnt[1] += (prev & cur).sum(0)
        tot[1] += prev.sum(0)
        cnt[0] += (~prev & cur).sum(0)
        tot[0] += (~prev).sum(0)
    return cnt / tot


def _window_stream(frames: list, embs: list, cfg: ChordsConfig, seed: int, foreign: list | None = None):
    """Endless training windows: piece weighted by length, random offset; input = previous frames.

    With ``foreign`` embeddings (training pieces of the other genres), a share ``cfg.foreign_cond``
    of the windows starts from one of those instead of its own piece's embedding: at generation
    the inspiration usually comes from another genre, and the model must still continue in its
    own genre from such a start."""
    rng = np.random.default_rng(seed)
    lens = np.array([len(f) for f in frames], np.float64)
    w = lens / lens.sum()
    L = cfg.seq_len
    P = frames[0].shape[1]
    while True:
        k = int(rng.choice(len(frames), p=w))
        f = frames[k]
        if len(f) > L:
            a = int(rng.integers(0, len(f) - L + 1))
            y = f[a:a + L]
        else:
            y = np.concatenate([f, np.zeros((L - len(f), P), bool)])
        y = y.astype(np.float32)
        x = np.concatenate([np.zeros((1, P), np.float32), y[:-1]])
        e = embs[k]
        if foreign and rng.random() < cfg.foreign_cond:
            e = foreign[int(rng.integers(len(foreign)))]
        yield (x, e.astype(np.float32)), y


def _logit(p):
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _init_as_markov(model, markov: np.ndarray, units: int) -> None:
    """Start the output layer as the per-key Markov chain: bias = logit P(held | not held before),
    input-skip weights = the logit gain of being held before; LSTM rows scaled down to 0.1.

    The untrained model then scores like the Markov baseline, and training only has to add what
    the LSTM knows beyond it (much faster than learning the base rates and "keep what sounds"
    from scratch on a CPU budget)."""
    out = model.get_layer("out")
    k, b = out.get_weights()
    k = k.copy()
    k[:units] *= 0.1
    if k.shape[0] > units:
        k[units:] = np.diag(_logit(markov[1]) - _logit(markov[0]))
    out.set_weights([k.astype(np.float32), _logit(markov[0]).astype(np.float32)])


def train(dataset_path: str, genre: str, classifier: str, output: str, cfg: ChordsConfig | None = None,
          progress: bool = True, force: bool = False) -> dict:
    """Train the chord generator of ``genre`` on the held matrices of that genre's pieces.

    Parameters
    ----------
    dataset_path : str
        HDF5 dataset (:mod:`midistyle.dataset`); its train split is fitted, its validation split
        drives early stopping and the figures.
    genre : str
        Genre to model.
    classifier : str
        Genre classifier whose embeddings condition the model (its encoder settings must equal
        the dataset's).
    output : str
        Model path ending in ``.keras`` (``.json``, ``.npz``, ``.log.csv``, ``.loss.png`` beside).
    cfg : ChordsConfig, optional
    progress : bool
        Keras progress bars.
    force : bool
        Overwrite an existing model.

    Returns
    -------
    dict
        The sidecar written (settings, timings, validation NLL / F1 against baselines).
    """
    from .classifier import GenreClassifier, _check_output, _plot_history, save_without_optimizer
    from .dataset import Dataset

    cfg = cfg or ChordsConfig()
    files = _check_output(output, force)
    ds = Dataset(dataset_path)
    if genre not in ds.genre_names:
        raise InputError(f"{dataset_path}: no genre {genre!r} (has: {', '.join(ds.genre_names)})")
    clf = GenreClassifier.load(classifier)
    clf.settings.check(ds.settings, what=f"dataset {dataset_path} (classifier {clf.path})")
    tr_idx, va_idx = ds.select(genre, "train"), ds.select(genre, "val")
    if not tr_idx or not va_idx:
        raise InputError(f"{dataset_path}: genre {genre!r} needs pieces in both splits")

    import keras
    import tensorflow as tf

    from .nn.layers import build_conditioned_lstm
    from .nn.numpy_runtime import ConditionedLSTMRuntime, export_weights, load_weights

    keras.utils.set_random_seed(cfg.seed)
    P, D, L = ds.settings.n_pitches, clf.embedding_dim, cfg.seq_len
    t0 = time.time()
    tr_frames, tr_embs = load_pieces(ds, tr_idx, clf, cfg.frame_steps)
    va_frames, va_embs = load_pieces(ds, va_idx, clf, cfg.frame_steps)
    other_idx = [i for i in ds.select(None, "train") if ds.genres[i] != genre]
    foreign = load_pieces(ds, other_idx, clf, None)[1] if cfg.foreign_cond > 0 and other_idx else None
    load_s = time.time() - t0
    all_tr = np.concatenate(tr_frames)
    base = all_tr.mean(axis=0)
    markov = markov_rates(tr_frames)
    del all_tr

    sig = ((tf.TensorSpec((L, P), tf.float32), tf.TensorSpec((D,), tf.float32)), tf.TensorSpec((L, P), tf.float32))
    train_ds = (tf.data.Dataset.from_generator(lambda: _window_stream(tr_frames, tr_embs, cfg, cfg.seed, foreign),
                                               output_signature=sig)
                .batch(cfg.batch_size, drop_remainder=True).prefetch(2))
    vX, vC, vY = [], [], []
    for f, e in zip(va_frames, va_embs):
        for w in windows(f, L)[:8]:
            if len(w) < L:
                continue
            y = w.astype(np.float32)
            vX.append(np.concatenate([np.zeros((1, P), np.float32), y[:-1]]))
            vC.append(e)
            vY.append(y)
    val_ds = tf.data.Dataset.from_tensor_slices(((np.stack(vX), np.stack(vC).astype(np.float32)), np.stack(vY))).batch(128)

    model = build_conditioned_lstm(P, D, units=cfg.units, cond_dropout=cfg.cond_dropout, name=f"chords_{genre}")
    _init_as_markov(model, markov, cfg.units)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    from .nn.training import fit_with_checkpoints

    stem = files["keras"][: -len(".keras")]
    hist, train_s = fit_with_checkpoints(model, train_ds, val_ds, stem, epochs=cfg.epochs,
                                         steps_per_epoch=cfg.steps_per_epoch, patience=cfg.patience,
                                         lr_patience=1, min_lr=2e-4, progress=progress)

    tmp_keras, tmp_npz = stem + ".tmp.keras", stem + ".tmp.npz"
    save_without_optimizer(model, tmp_keras)
    export_weights(model, tmp_npz)
    meta = {
        "kind": KIND, "format_version": FORMAT_VERSION, "genre": genre, "encoder": ds.settings.to_dict(),
        "frame_seconds": ds.settings.step * cfg.frame_steps, "config": asdict(cfg),
        "classifier": {"path": os.path.basename(clf.path), "fingerprint": clf.fingerprint, "embedding_dim": D},
        "base_rates": [round(float(x), 6) for x in base],
        "markov": [[round(float(x), 6) for x in row] for row in markov],
        "data": {"dataset": os.path.basename(dataset_path), "train_pieces": len(tr_idx), "val_pieces": len(va_idx),
                 "train_frames": int(sum(len(f) for f in tr_frames)), "val_frames": int(sum(len(f) for f in va_frames)),
                 "foreign_embeddings": len(foreign or []),
                 "split": "by piece, as stored in the dataset (pieces/split)"},
        "training": {"seconds": round(train_s, 1), "load_seconds": round(load_s, 1),
                     "epochs_run": len(hist.history["loss"]), "steps_per_epoch": cfg.steps_per_epoch,
                     "batch_size": cfg.batch_size, "seq_len": L,
                     "frames_per_s": round(len(hist.history["loss"]) * cfg.steps_per_epoch * cfg.batch_size * L / train_s, 1),
                     "history": {k: [float(x) for x in v] for k, v in hist.history.items()}},
    }
    cm = ChordModel(meta, ConditionedLSTMRuntime(load_weights(tmp_npz)), files["keras"])
    t0 = time.time()
    meta["validation"] = evaluate(cm, va_frames, va_embs, base, markov)
    meta["validation"]["seconds"] = round(time.time() - t0, 1)
    os.replace(tmp_keras, files["keras"])
    os.replace(tmp_npz, files["npz"])
    with open(files["json"] + ".tmp", "w") as fh:
        json.dump(meta, fh, indent=1)
    os.replace(files["json"] + ".tmp", files["json"])
    _plot_history(hist.history, stem + ".loss.png", f"chord generator, {genre}", keys=("loss", "val_loss"),
                  ylabel="binary cross-entropy per key")
    ds.close()
    return meta
