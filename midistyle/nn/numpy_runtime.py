"""Run trained models with NumPy only (no TensorFlow start-up).

Weights are exported from Keras by layer name (see :mod:`midistyle.nn.layers`) into an ``.npz``:
Conv1D (``NAME/kernel``, ``NAME/bias``, ``NAME/dilation``), Dense (``NAME/kernel``,
``NAME/bias``) and LSTM (``NAME/kernel``, ``NAME/recurrent_kernel``, ``NAME/bias``) layers.
Runtimes here mirror the builders there: :class:`ARWaveNetRuntime` (``build_autoregressive_wavenet``),
:func:`segment_classifier_forward` (``build_segment_classifier``) and
:class:`ConditionedLSTMRuntime` (``build_conditioned_lstm``).
"""
from __future__ import annotations

import numpy as np


def export_weights(model, path: str, extra: dict | None = None) -> None:
    """Save the weights of every Conv1D, Dense and LSTM layer of ``model`` into ``path`` (.npz).

    Parameters
    ----------
    model : keras.Model
        Trained model; layers are keyed by name.
    path : str or file object
        Destination (``np.savez``).
    extra : dict, optional
        Further arrays to store as they are (e.g. normalisation constants).
    """
    arrays = {}
    for layer in model.layers:
        w = layer.get_weights()
        kind = type(layer).__name__
        if len(w) == 2 and w[0].ndim == 3:
            arrays[f"{layer.name}/kernel"] = w[0].astype(np.float32)
            arrays[f"{layer.name}/bias"] = w[1].astype(np.float32)
            arrays[f"{layer.name}/dilation"] = np.array(layer.dilation_rate[0])
        elif kind == "Dense" and len(w) in (1, 2):
            arrays[f"{layer.name}/kernel"] = w[0].astype(np.float32)
            arrays[f"{layer.name}/bias"] = (w[1] if len(w) == 2 else np.zeros(w[0].shape[1])).astype(np.float32)
        elif kind == "LSTM" and len(w) == 3:
            arrays[f"{layer.name}/kernel"] = w[0].astype(np.float32)
            arrays[f"{layer.name}/recurrent_kernel"] = w[1].astype(np.float32)
            arrays[f"{layer.name}/bias"] = w[2].astype(np.float32)
    for k, v in (extra or {}).items():
        arrays[k] = np.asarray(v)
    np.savez(path, **arrays)


def load_weights(weights) -> dict:
    """Arrays of an ``.npz`` written by :func:`export_weights` (or a mapping of them) as a dict.

    Never unpickles. Raises ``OSError`` when the file cannot be opened and ``ValueError`` for
    anything else a damaged archive does (not a zip, truncated, object arrays, bad headers).
    """
    if isinstance(weights, dict):
        return weights
    try:
        with np.load(weights, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except OSError:
        raise
    except Exception as exc:      # zipfile.BadZipFile, EOFError, pickle / format errors ...
        raise ValueError(f"damaged weights archive ({type(exc).__name__}: {exc})") from None


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _conv(w, name, x):
    """Causal Conv1D ``name`` over the time axis (-2) of ``x`` (..., time, channels)."""
    k = w[f"{name}/kernel"]
    b = w[f"{name}/bias"]
    if k.shape[0] == 1:
        return x @ k[0] + b
    d = int(w[f"{name}/dilation"])
    T = x.shape[-2]
    y = x @ k[-1] + b
    for j in range(k.shape[0] - 1):
        shift = (k.shape[0] - 1 - j) * d
        if shift < T:
            y[..., shift:, :] += x[..., :T - shift, :] @ k[j]
    return y


def n_body_layers(w: dict) -> int:
    """Number of gated layers of the :func:`midistyle.nn.layers.wavenet_body` in weights ``w``."""
    return len([k for k in w if k.startswith("f") and k.endswith("/kernel") and k[1:-len("/kernel")].isdigit()])


def wavenet_body_forward(w: dict, x: np.ndarray, n_layers: int | None = None) -> np.ndarray:
    """NumPy twin of :func:`midistyle.nn.layers.wavenet_body`: ([batch,] time, n_in) -> ReLU of the skip sum."""
    n_layers = n_body_layers(w) if n_layers is None else n_layers
    x = _conv(w, "in", np.asarray(x, np.float32))
    skip = None
    for i in range(n_layers):
        z = np.tanh(_conv(w, f"f{i}", x)) * _sigmoid(_conv(w, f"g{i}", x))
        s = _conv(w, f"skip{i}", z)
        skip = s if skip is None else skip + s
        if f"res{i}/kernel" in w:  # Keras drops the last residual branch (its output is unused)
            x = x + _conv(w, f"res{i}", z)
    return np.maximum(skip, 0)


def dense(w: dict, name: str, x: np.ndarray, activation: str = "linear") -> np.ndarray:
    """A Dense layer ``name`` on ``x`` (..., n_in), with "linear", "relu", "tanh", "sigmoid" or "softmax"."""
    y = np.asarray(x, np.float32) @ w[f"{name}/kernel"] + w[f"{name}/bias"]
    if activation == "linear":
        return y
    if activation == "relu":
        return np.maximum(y, 0)
    if activation == "tanh":
        return np.tanh(y)
    if activation == "sigmoid":
        return _sigmoid(y)
    if activation == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(f"unknown activation {activation!r}")


def segment_classifier_forward(w: dict, x: np.ndarray) -> tuple:
    """NumPy twin of :func:`midistyle.nn.layers.build_segment_classifier` for one segment.

    Parameters
    ----------
    w : dict
        Exported weights.
    x : array ([batch,] time, n_in)
        Features of one segment (any length >= 1), or a batch of equally long segments.

    Returns
    -------
    embedding : array ([batch,] embedding_dim)
    probabilities : array ([batch,] n_classes)
    """
    s = wavenet_body_forward(w, x)
    pooled = np.concatenate([s.mean(axis=-2), s.max(axis=-2)], axis=-1)
    emb = dense(w, "embed", pooled, "tanh")
    return emb, dense(w, "out", emb, "softmax")


class ConditionedLSTMRuntime:
    """NumPy twin of :func:`midistyle.nn.layers.build_conditioned_lstm`.

    Gate order is Keras's (input, forget, cell, output), recurrent activation sigmoid.

    Parameters
    ----------
    weights : str or mapping
        ``.npz`` path written by :func:`export_weights`, or its loaded arrays.
    """

    def __init__(self, weights):
        self.w = dict(load_weights(weights))
        if "relative/kernel" in self.w:      # the relative layer reads the input as "out" does: fold it in
            out = np.array(self.w["out/kernel"], np.float32)
            out[out.shape[0] - self.w["relative/kernel"].shape[0]:] += self.w["relative/kernel"]
            self.w["out/kernel"] = out
        self.K = self.w["lstm/kernel"]
        self.R = self.w["lstm/recurrent_kernel"]
        self.b = self.w["lstm/bias"]
        self.units = self.R.shape[0]
        self.n_in = self.K.shape[0]
        self.cond_dim = self.w["init_h/kernel"].shape[0]
        self.skip_input = self.w["out/kernel"].shape[0] == self.units + self.n_in
        #: (P, n_out) weights of the keys struck in the same step (``within_frame``), or None
        self.within = self.w.get("within/kernel")

    def initial_state(self, cond: np.ndarray) -> tuple:
        """(h0, c0) from conditioning vectors ``cond`` (..., cond_dim)."""
        return dense(self.w, "init_h", cond, "tanh"), dense(self.w, "init_c", cond)

    def step(self, x: np.ndarray, state: tuple, xk: np.ndarray | None = None) -> tuple:
        """One LSTM step for a batch: ``x`` (B, n_in) (``xk`` = x @ kernel, if already computed).

        Returns the output logits (B, n_out) and the new state (h, c).
        """
        h, c = state
        u = self.units
        if xk is None and x.shape[0] == 1:
            # one row, mostly zeros (struck keys, memories): multiply only its nonzero entries, which
            # also keeps the product below the size at which BLAS spreads it over busy cores
            nz = np.flatnonzero(x[0])
            xk = x[:, nz] @ self.K[nz]
        z = (x @ self.K if xk is None else xk) + h @ self.R + self.b
        i = _sigmoid(z[..., :u])
        f = _sigmoid(z[..., u:2 * u])
        g = np.tanh(z[..., 2 * u:3 * u])
        o = _sigmoid(z[..., 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        return dense(self.w, "out", np.concatenate([h, x], axis=-1) if self.skip_input else h), (h, c)

    def logits(self, frames: np.ndarray, cond: np.ndarray, current: np.ndarray | None = None) -> np.ndarray:
        """Teacher-forced logits for a batch: ``frames`` (B, T, n_in), ``cond`` (B, cond_dim) -> (B, T, n_out).

        A model with a within-step layer also takes ``current`` (B, T, P), the keys struck in
        each step; :meth:`step` leaves that term to the caller (it is drawn key by key)."""
        if (current is None) != (self.within is None):
            raise ValueError("current: the keys struck in each step are needed exactly when the model has "
                             "a within-step layer")
        frames = np.asarray(frames, np.float32)
        state = self.initial_state(np.asarray(cond, np.float32))
        xk = frames @ self.K
        hs = []
        h, c = state
        u = self.units
        for t in range(frames.shape[1]):
            z = xk[:, t] + h @ self.R + self.b
            i = _sigmoid(z[:, :u])
            f = _sigmoid(z[:, u:2 * u])
            g = np.tanh(z[:, 2 * u:3 * u])
            o = _sigmoid(z[:, 3 * u:])
            c = f * c + i * g
            h = o * np.tanh(c)
            hs.append(h)
        hs = np.stack(hs, axis=1)
        out = dense(self.w, "out", np.concatenate([hs, frames], axis=-1) if self.skip_input else hs)
        return out if current is None else out + np.asarray(current, np.float32) @ self.within


def _conv_same(w: dict, name: str, x: np.ndarray) -> np.ndarray:
    """Non-causal ("same") Conv1D ``name`` with an odd kernel over the time axis of ``x`` (time, channels)."""
    k = w[f"{name}/kernel"]
    d = int(w[f"{name}/dilation"])
    T = x.shape[0]
    c = (k.shape[0] - 1) // 2
    y = x @ k[c] + w[f"{name}/bias"]
    for j in range(k.shape[0]):
        s = (j - c) * d                     # tap j reads x[t + s]
        if j == c or abs(s) >= T:
            continue
        if s > 0:
            y[:T - s] += x[s:] @ k[j]
        else:
            y[-s:] += x[:T + s] @ k[j]
    return y


class ARWaveNetRuntime:
    """NumPy twin of :func:`midistyle.nn.layers.build_autoregressive_wavenet`.

    :meth:`condition` runs the non-causal part once over a whole sequence; :meth:`logits` is the
    teacher-forced forward pass (previous values given); :meth:`sample` draws the sequence event
    by event with cached per-layer states (fast WaveNet generation: each event costs a few small
    matrix-vector products per layer, never a pass over the sequence).
    """

    def __init__(self, weights):
        self.w = w = load_weights(weights) if not isinstance(weights, dict) else dict(weights)
        self.n_cond = len([k for k in w if k.startswith("cond_conv") and k.endswith("/kernel")])
        self.n_ar = len([k for k in w if k.startswith("ar_f") and k.endswith("/kernel")])
        self.dil = [int(w[f"ar_f{k}/dilation"]) for k in range(self.n_ar)]
        self.channels = w["ar_in/kernel"].shape[1]
        # fused per-layer matrices for sampling: [x(t-d), x(t)] @ K -> [filter | gate]
        self._K = [np.concatenate([np.concatenate([w[f"ar_f{k}/kernel"][0], w[f"ar_g{k}/kernel"][0]], 1),
                                   np.concatenate([w[f"ar_f{k}/kernel"][1], w[f"ar_g{k}/kernel"][1]], 1)], 0)
                   for k in range(self.n_ar)]
        self._RS = [np.concatenate([w[f"ar_skip{k}/kernel"]] + ([w[f"ar_res{k}/kernel"]] if f"ar_res{k}/kernel" in w else []), 1)
                    for k in range(self.n_ar)]
        self._RSb = [np.concatenate([w[f"ar_skip{k}/bias"]] + ([w[f"ar_res{k}/bias"]] if f"ar_res{k}/bias" in w else []))
                     for k in range(self.n_ar)]

    @property
    def n_features(self) -> int:
        """Input features per event."""
        return self.w["cond_in/kernel"].shape[0]

    def condition(self, feats: np.ndarray) -> dict:
        """Everything that depends on the features only: conditioning, mean, per-layer gate inputs."""
        w = self.w
        h = dense(w, "cond_in", feats)
        for k in range(self.n_cond):
            a = np.maximum(_conv_same(w, f"cond_conv{k}", h), 0)
            h = h + dense(w, f"cond_res{k}", a)
        mean = dense(w, "mean", dense(w, "mean_hidden", h, "relu"), "sigmoid")[:, 0]
        fg = [np.concatenate([dense(w, f"ar_cf{k}", h) + w[f"ar_f{k}/bias"],
                              dense(w, f"ar_cg{k}", h) + w[f"ar_g{k}/bias"]], 1) for k in range(self.n_ar)]
        return {"mean": mean, "fg": fg, "skip": dense(w, "skip_cond", h)}

    def logits(self, feats: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Teacher-forced logits (N, classes) given every event's previous value (N, 2)."""
        w = self.w
        c = self.condition(np.asarray(feats, np.float32))
        x = dense(w, "ar_in", previous)
        skip = c["skip"]
        C = self.channels
        for k in range(self.n_ar):
            fg = c["fg"][k].copy()
            d = self.dil[k]
            fg += x @ self._K[k][C:]
            if d < len(x):
                fg[d:] += x[:-d] @ self._K[k][:C]
            z = np.tanh(fg[:, :C]) * _sigmoid(fg[:, C:])
            rs = z @ self._RS[k] + self._RSb[k]
            skip = skip + rs[:, :skip.shape[1]]
            if rs.shape[1] > skip.shape[1]:
                x = x + rs[:, skip.shape[1]:]
        return dense(w, "logits", dense(w, "head", np.maximum(skip, 0), "relu"))

    def sample(self, feats: np.ndarray, rng: np.random.Generator, *, temperature: float = 1.0,
               scale: float = 127.0) -> np.ndarray:
        """Draw one value class per event, in order, each from the distribution given the
        classes already drawn. Returns int array (N,)."""
        w = self.w
        feats = np.asarray(feats, np.float32)
        N = len(feats)
        out = np.zeros(N, np.int64)
        if N == 0:
            return out
        c = self.condition(feats)
        n_cls = w["logits/kernel"].shape[1]
        gumbel = -np.log(-np.log(rng.random((N, n_cls)) + 1e-20) + 1e-20)
        inv_t = 1.0 / np.maximum(np.broadcast_to(np.asarray(temperature, np.float64), (N,)), 1e-6)
        C, L = self.channels, self.n_ar
        pad = max(self.dil)
        hist = [np.zeros((N + pad, C), np.float32) for _ in range(L)]   # input of each layer
        k_in, b_in = w["ar_in/kernel"], w["ar_in/bias"]
        hist[0][pad] = b_in                                               # previous = (0, no event)
        Wh, bh, Wl, bl = w["head/kernel"], w["head/bias"], w["logits/kernel"], w["logits/bias"]
        fgs, Ks, RSs, RSbs, dil = c["fg"], self._K, self._RS, self._RSb, self.dil
        S = c["skip"].shape[1]
        skip0 = c["skip"]
        xx = np.empty(2 * C, np.float32)
        for i in range(N):
            skip = skip0[i].copy()
            for k in range(L):
                h = hist[k]
                xx[:C] = h[pad + i - dil[k]]
                xx[C:] = h[pad + i]
                fg = xx @ Ks[k] + fgs[k][i]
                z = np.tanh(fg[:C]) * (0.5 + 0.5 * np.tanh(0.5 * fg[C:]))
                rs = z @ RSs[k] + RSbs[k]
                skip += rs[:S]
                if k + 1 < L:
                    hist[k + 1][pad + i] = h[pad + i] + rs[S:]
            lg = np.maximum(np.maximum(skip, 0) @ Wh + bh, 0) @ Wl + bl
            v = int(np.argmax(lg * inv_t[i] + gumbel[i]))
            out[i] = v
            if i + 1 < N:
                hist[0][pad + i + 1] = k_in[0] * (v / scale) + k_in[1] + b_in
        return out
