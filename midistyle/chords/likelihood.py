"""How well a chord model predicts real frames: a per-key Markov baseline and the validation
figures of a trained model (:func:`evaluate`, :func:`harmony_likelihood`), teacher forced."""
from __future__ import annotations

import numpy as np

from .frames import Frames, frame_harmony, window_keys, windows
from .model import ChordModel
from .outputs import frame_nll, frame_targets, log_odds, onset_probabilities


def _f1(y: np.ndarray, pred: np.ndarray) -> dict:
    tp = float(np.sum(y & pred))
    fp = float(np.sum(~y & pred))
    fn = float(np.sum(y & ~pred))
    prec = tp / max(tp + fp, 1.0)
    rec = tp / max(tp + fn, 1.0)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(prec + rec, 1e-12)}


def markov_rates(pieces: list) -> np.ndarray:
    """A first-order baseline per key (4, P): P(key struck | event, key silent before),
    P(key struck | event, key sounding before), P(hold | sounding before, not struck), and in the
    last row P(pedal | up before), P(pedal | down before), P(event | no event before),
    P(event | event before)."""
    P = pieces[0].onset.shape[1]
    cnt = np.ones((4, P))
    tot = np.full((4, P), 2.0)
    for f in pieces:
        ev = f.onset.any(axis=1)
        prev, on, hold, e = f.sound[:-1], f.onset[1:], f.hold[1:], ev[1:, None]
        cnt[0] += (~prev & on).sum(0)
        tot[0] += (~prev & e).sum(0)
        cnt[1] += (prev & on).sum(0)
        tot[1] += (prev & e).sum(0)
        cnt[2] += (prev & ~on & hold).sum(0)
        tot[2] += (prev & ~on).sum(0)
        for col, (a, b) in enumerate(((f.pedal[:-1], f.pedal[1:]), (ev[:-1], ev[1:]))):
            cnt[3, 2 * col] += (~a & b).sum()
            tot[3, 2 * col] += (~a).sum()
            cnt[3, 2 * col + 1] += (a & b).sum()
            tot[3, 2 * col + 1] += a.sum()
    return cnt / tot


def markov_logits(fr: Frames, markov: np.ndarray) -> np.ndarray:
    """The Markov baseline's logits (F, 2P + 2) for ``fr`` (teacher forced)."""
    prev = np.concatenate([np.zeros_like(fr.sound[:1]), fr.sound[:-1]])
    pprev = np.concatenate([[False], fr.pedal[:-1]])
    eprev = np.concatenate([[False], fr.onset.any(axis=1)[:-1]])
    on = np.where(prev, markov[1], markov[0])
    hold = np.broadcast_to(markov[2], prev.shape)
    ped = np.where(pprev, markov[3, 1], markov[3, 0])
    ev = np.where(eprev, markov[3, 3], markov[3, 2])
    return log_odds(np.concatenate([on, hold, ped[:, None], ev[:, None]], axis=1))


def evaluate(cm: ChordModel, pieces: list, embeddings: list, markov: np.ndarray) -> dict:
    """Frame-level NLL and onset F1 of the model against the per-key Markov baseline (teacher forcing).

    Every piece is cut into windows of ``seq_len`` frames, each started from the piece's embedding
    and silence, as in training.

    Returns
    -------
    dict
        Per method (``model``, ``markov``): ``nll_per_frame`` (nats: onset event, struck keys,
        decided holds, pedal), ``onset_f1`` at threshold 0.5 and ``onset_f1_best`` (best threshold, an oracle
        choice in each method's favour), with ``frames``, ``windows``, ``pieces``.
    """
    seq = cm.config.seq_len
    W, C = [], []
    for f, e in zip(pieces, embeddings):
        keys = cm.harmony_keys(f)              # a window reads the keys of its piece's steps, as in training
        for j, w in enumerate(windows(f, seq)):
            if keys is not None:
                w.keys = window_keys(keys, j * seq, len(w), cm.config.harmony)
            W.append(w)
            C.append(e)
    logits = {"model": cm.logits(W, C), "markov": [markov_logits(w, markov) for w in W]}
    Y = np.concatenate([w.onset for w in W])
    T = np.concatenate([frame_targets(w) for w in W])
    res = {"frames": int(len(Y)), "windows": len(W), "pieces": len(pieces)}
    for name, lg in logits.items():
        lg = np.concatenate(lg)
        p_on = onset_probabilities(lg, Y)
        cands = np.unique(np.quantile(p_on, np.linspace(0.9, 0.9995, 30)))
        res[name] = {"nll_per_frame": float(frame_nll(T, lg).mean()), "onset_f1": _f1(Y, p_on >= 0.5)["f1"],
                     "onset_f1_best": max(_f1(Y, p_on >= t)["f1"] for t in cands)}
    return res


def harmony_likelihood(cm: ChordModel, pieces: list, embeddings: list) -> dict:
    """Validation NLL of the harmony LSTM (teacher forced, windows of ``harmony_seq`` steps started
    from the piece's embedding): nats per harmony step and per frame (spread over its frames),
    and how often a step keeps the harmony before it (real) against the model's probability of it."""
    cfg = cm.config
    toks, conds, keys = [], [], []
    for f, e in zip(pieces, embeddings):
        t = frame_harmony(f, cm.harmony.vocab, cfg.harmony, cm.settings.pitch_low)
        k = cm.harmony_keys(f)
        for a in range(0, len(t), cfg.harmony_seq):
            toks.append(t[a:a + cfg.harmony_seq])
            keys.append(None if k is None else k[a:a + cfg.harmony_seq])
            conds.append(e)
    nll = cm.harmony.nll(toks, conds, keys if cm.reads_keys else None)
    return {"steps": int(len(nll)), "nll_per_step": float(nll.mean()), "nll_per_frame": float(nll.mean() / cfg.harmony),
            "vocabulary": len(cm.harmony.vocab)}
