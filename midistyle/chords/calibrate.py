"""What a chord model's draws are calibrated with, on its training pieces: the typical texture a
generation is checked against, where the running habits of a draw start, the onset-event bias that
keeps real playing's density, and the habit feedback (and bias) that keeps a long draw steady."""
from __future__ import annotations

import numpy as np

from .config import HABIT_COLUMNS
from .frames import texture_stats, windows
from .model import ChordModel

#: Texture figures whose range in the training pieces is stored with a model and checked at generation.
CHECKED_TEXTURE = ("notes_per_s", "polyphony")


def typical_texture(pieces: list, frame_seconds: float, pitch_low: int = 21, seconds: float = 20.0) -> dict:
    """5th and 95th percentile of :data:`CHECKED_TEXTURE` over ``seconds`` windows of real pieces."""
    n = max(1, int(round(seconds / frame_seconds)))
    stats = [texture_stats(f[a:a + n], frame_seconds, pitch_low) for f in pieces for a in range(0, len(f) - n + 1, n)]
    return {k: [round(float(np.percentile([t[k] for t in stats], q)), 3) for q in (5, 95)] for k in CHECKED_TEXTURE}


def draw_blocks(cm: ChordModel, embeddings: list, *, seconds: float, block: float, min_blocks: int = 1,
                seed: int = 0, feedback: float | None = None, event_bias: float | None = None) -> np.ndarray:
    """Notes per second and sustain-pedal share of each ``block`` seconds of a draw of ``seconds``
    (whole blocks, at least ``min_blocks``) from each embedding (seed ``seed + k``; ``feedback``
    and ``event_bias`` as for :meth:`ChordModel.sample`): array (draws, blocks, 2)."""
    block_frames = max(1, int(round(block / cm.frame_seconds)))
    n_blocks = max(min_blocks, int(seconds // block))
    out = np.zeros((len(embeddings), n_blocks, 2))
    secs = block_frames * cm.frame_seconds
    for k, emb in enumerate(embeddings):
        fr = cm.sample(emb, n_blocks * block_frames, seed=seed + k, feedback=feedback, event_bias=event_bias)
        on = fr.onset.reshape(n_blocks, block_frames, -1).sum(axis=(1, 2))
        out[k, :, 0] = on / secs
        out[k, :, 1] = fr.pedal.reshape(n_blocks, block_frames).mean(axis=1)
    return out


def calibrate_feedback(cm: ChordModel, embeddings: list, *, feedbacks=(1.0, 0.75, 0.5, 0.25),
                       event_biases=(), seconds: float = 60.0, block: float = 10.0, seed: int = 0,
                       base_bias: float | None = None) -> dict:
    """How much of its own running habits a steady draw should read back (:attr:`ChordModel.steady_feedback`)
    and, when that alone does not keep it steady, how much to raise its onset event
    (:attr:`ChordModel.steady_event_bias`).

    For each ``feedback``, draws ``seconds`` from each embedding (training pieces': this is chosen
    without the validation split) and compares the last ``block`` seconds with the first: median
    over draws of the notes per second and of the pedal share. If no feedback keeps both within
    25 %, the smallest feedback is tried with each of ``event_biases`` in turn, up to the first
    that does (a generator whose short memories of its own onsets thin it out is held by a bias on
    the event, not by its habits). :func:`choose_feedback` keeps the largest steady feedback, at
    the smallest bias.

    Every draw adds ``base_bias`` (default the model's plain :attr:`~ChordModel.event_bias`) to its
    onset event, and a row's ``event_bias`` is the whole bias drawn with: a steady draw starts from
    the plain draw's density, and ``event_biases`` are added to the base.
    """
    base = cm.event_bias if base_bias is None else float(base_bias)
    table = []

    def add(fb, bias):
        med = np.median(draw_blocks(cm, embeddings, seconds=seconds, block=block, min_blocks=2, seed=seed,
                                    feedback=fb, event_bias=bias), axis=0)
        table.append({"feedback": float(fb), "event_bias": float(bias), "notes_per_s": np.round(med[:, 0], 2).tolist(),
                      "pedal_share": np.round(med[:, 1], 3).tolist()})
        return len(med)

    n = 0
    for fb in feedbacks:
        n = add(fb, base)
    for bias in event_biases:
        if any(_drift(r) <= STEADY_TOLERANCE for r in table):
            break
        add(min(feedbacks), round(base + bias, 6))
    chosen = choose_feedback(table)
    return {"seconds": n * block, "block_seconds": block, "draws": len(embeddings), "table": table,
            "chosen": chosen["feedback"], "chosen_event_bias": chosen["event_bias"]}


def calibrate_event_bias(cm: ChordModel, embeddings: list, real_rate: float, *,
                         biases=(-0.2, -0.1, 0.0, 0.05, 0.1, 0.15, 0.2, 0.3), seconds: float = 30.0,
                         seed: int = 0) -> dict:
    """The onset-event bias (:attr:`ChordModel.event_bias`) whose draws keep real playing's density.

    Drawing, the LSTM reads its own frames, not a real piece's, and a draw drifts from the notes
    per second it was trained on (the classical generator thins out). For each bias, draws
    ``seconds`` (a ``chords`` command's default length) from each embedding (training pieces':
    chosen without the validation split) and takes the median notes per second; keeps the bias
    whose median is nearest ``real_rate`` (the median of real ``seconds`` windows of the same pieces,
    :func:`real_density`)."""
    table = []
    for b in biases:
        rate = float(np.median(draw_blocks(cm, embeddings, seconds=seconds, block=seconds, seed=seed,
                                           event_bias=b)[:, 0, 0]))
        table.append({"event_bias": float(b), "notes_per_s": round(rate, 2)})
    best = min(table, key=lambda r: (abs(r["notes_per_s"] - real_rate), abs(r["event_bias"])))
    return {"seconds": seconds, "draws": len(embeddings), "real_notes_per_s": round(float(real_rate), 2),
            "table": table, "chosen": best["event_bias"]}


def real_density(pieces: list, frame_seconds: float, seconds: float = 30.0) -> float:
    """Median notes per second of the whole ``seconds`` windows of real pieces (:class:`Frames`)."""
    n = max(1, int(round(seconds / frame_seconds)))
    rates = [w.onset.sum() / (n * frame_seconds) for f in pieces for w in windows(f, n) if len(w) == n]
    return float(np.median(rates)) if rates else 0.0


#: How far (relative) the last block of a steady draw may move from its first (:func:`choose_feedback`).
STEADY_TOLERANCE = 0.25


def _drift(row: dict) -> float:
    return max(abs(row[k][-1] / max(row[k][0], 1e-9) - 1.0) for k in ("notes_per_s", "pedal_share"))


def choose_feedback(table: list, *, tolerance: float = STEADY_TOLERANCE) -> dict:
    """The row of :func:`calibrate_feedback`'s table with the largest ``feedback`` (then the smallest
    ``event_bias``, 0 when a row has none) whose last block keeps the notes per second and the
    pedal share of its first within ``tolerance`` (relative); the steadiest row if none does. Returns
    ``{"feedback", "event_bias"}``."""
    ok = [r for r in table if _drift(r) <= tolerance]
    row = max(ok, key=lambda r: (r["feedback"], -abs(r.get("event_bias", 0.0)))) if ok else min(table, key=_drift)
    return {"feedback": float(row["feedback"]), "event_bias": float(row.get("event_bias", 0.0))}


def habit_start(pieces: list) -> list:
    """Mean running pedal share and onset-event rate (the last two model inputs) over every frame
    of real pieces: where a draw without a prime starts them, as in a piece already under way
    (from zero, the model reads "this piece has played nothing and never pedals" and keeps to it
    for seconds)."""
    rows = np.concatenate([f.model_input()[:, HABIT_COLUMNS] for f in pieces]).astype(np.float64)
    return [round(float(x), 6) for x in rows.mean(axis=0)]
