"""Figures of pieces, written as PNG: the seed's three panels (held notes, velocity heat map,
onsets) with the pedals below, for one piece or several compared; velocity before/after.

Figures are made with matplotlib's object API (``Figure``, no pyplot), so they hold no global
state and several can be drawn at once from threads (the studio does)."""
from __future__ import annotations

import numpy as np

from .codec.pianoroll import PianoRoll
from .fsutil import atomic_write

__all__ = ["velocity_image", "pool_columns", "plot_velocity_compare", "plot_pieces"]

#: most image columns drawn across a figure (it is about 1000 pixels wide): longer spans are
#: max-pooled in time first, so a two-hour piece costs what a short one does
MAX_COLUMNS = 2000


def velocity_image(roll: PianoRoll, velocities=None) -> np.ndarray:
    """(P, T) float image: each note's velocity over the steps it is held, NaN where silent.

    ``velocities`` (one per note of ``roll.notes``) replace the notes' own.
    """
    s = roll.settings
    img = np.full((s.n_pitches, roll.n_steps), np.nan, np.float32)
    if roll.notes is None:                                  # a bare roll: velocity at its onsets
        img[roll.onsets.T] = roll.velocity.T[roll.onsets.T]
        return img
    m = roll.in_range()
    n = roll.notes[m]
    v = (roll.notes["velocity"] if velocities is None else np.asarray(velocities))[m]
    st = roll.note_steps[m]
    en = np.maximum(np.rint(n["end"] / s.step).astype(np.int64), st + 1)
    order = np.argsort(st, kind="stable")          # later notes overwrite earlier ones
    for a, b, p, vel in zip(st[order], en[order], n["pitch"][order] - s.pitch_low, v[order]):
        img[p, a:b] = vel
    return img


def pool_columns(img: np.ndarray, most: int = MAX_COLUMNS) -> np.ndarray:
    """``img`` (rows, T) with its columns max-pooled (NaN ignored) into at most ``most``."""
    img = np.asarray(img, np.float32)
    k = -(-img.shape[1] // most)
    if k <= 1:
        return img
    pad = (-img.shape[1]) % k
    padded = np.pad(img, ((0, 0), (0, pad)), constant_values=np.nan)
    return np.fmax.reduce(padded.reshape(img.shape[0], -1, k), axis=2)


def plot_velocity_compare(roll: PianoRoll, velocities, path: str, *, titles=("input", "output"),
                          start: float = 0.0, seconds: float | None = None, force: bool = False) -> None:
    """Two velocity heat maps over the piano roll, one above the other, on one colour scale:
    the piece as given and with ``velocities``. Written atomically to ``path`` (PNG)."""
    from matplotlib.figure import Figure

    s = roll.settings
    a, b = roll.step_span(start, seconds)
    imgs = [pool_columns(velocity_image(roll)[:, a:b]), pool_columns(velocity_image(roll, velocities)[:, a:b])]
    fig = Figure(figsize=(12, 6.5))
    axes = fig.subplots(2, 1, sharex=True)
    extent = (a * s.step, b * s.step, s.pitch_low - 0.5, s.pitch_high + 0.5)
    for ax, img, title in zip(axes, imgs, titles):
        vals = img[np.isfinite(img)]
        sd = f", velocity mean {vals.mean():.0f}, std {vals.std():.1f}" if len(vals) else ""
        im = ax.imshow(img, aspect="auto", origin="lower", extent=extent, cmap="magma", vmin=1, vmax=127,
                       interpolation="nearest")
        ax.set_facecolor("#e8e8e8")
        ax.set_title(title + sd, fontsize=10)
        ax.set_ylabel("pitch")
    axes[-1].set_xlabel("seconds")
    fig.colorbar(im, ax=axes, label="velocity", shrink=0.8)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"), force=force, suffix=".png")


#: margins of :func:`plot_pieces` in inches: left (tick labels and "pitch"), right (the colour
#: bar), top, bottom (the seconds axis), and the gap between strips (each strip's title)
_LEFT, _RIGHT, _TOP, _BOTTOM, _GAP = 0.75, 1.3, 0.3, 0.55, 0.3


def plot_pieces(rolls, path: str, *, titles=None, start: float = 0.0, seconds: float | None = None,
                force: bool = False, tempos=None) -> None:
    """The seed's figure of each piece, pieces one above the other on shared scales.

    Per piece: held notes ("chords"), velocity heat map, onsets, and a strip with the sustain
    and soft pedals. ``start`` / ``seconds`` zoom in. ``tempos`` (one per piece: ``(seconds, bpm)``
    of each beat, :func:`midistyle.tempo.tempo_curve`, or None) adds a tempo strip to every piece.
    Written atomically to ``path`` (PNG).
    """
    from matplotlib.figure import Figure

    rolls = list(rolls)
    titles = list(titles or [f"piece {k + 1}" for k in range(len(rolls))])
    windows = [r.step_span(min(start, max(r.duration - r.settings.step, 0.0)), seconds) for r in rolls]
    windows = [(a, max(b, a + 1)) for a, b in windows]
    span = max(b - a for a, b in windows) * rolls[0].settings.step
    tempos = list(tempos) if tempos is not None and any(t is not None for t in tempos) else None
    per = 5 if tempos else 4
    ratios = []
    for _ in rolls:
        ratios += [3, 3, 3, 0.8] + ([1.2] if tempos else [])
    width, height = 12.0, 1.2 + (7.0 if tempos else 6.0) * len(rolls)
    fig = Figure(figsize=(width, height))
    # fixed margins in inches instead of constrained layout, which measured every strip's ticks
    # and took about half the time of the whole figure (the studio draws one per result); titles
    # at a fixed height (y=1) for the same reason: no strip has ticks on top
    n = len(ratios)
    axes_h = height - _TOP - _BOTTOM - (n - 1) * _GAP
    axes = fig.subplots(n, 1, sharex=True, gridspec_kw={
        "height_ratios": ratios, "left": _LEFT / width, "right": 1 - _RIGHT / width, "top": 1 - _TOP / height,
        "bottom": _BOTTOM / height, "hspace": _GAP / (axes_h / n)})
    im = None
    for k, (roll, (a, b), title) in enumerate(zip(rolls, windows, titles)):
        s = roll.settings
        ext = (a * s.step, b * s.step, s.pitch_low - 0.5, s.pitch_high + 0.5)
        ax_h, ax_v, ax_o, ax_p = axes[per * k: per * k + 4]
        ax_h.imshow(pool_columns(roll.held[a:b].T), aspect="auto", origin="lower", extent=ext, cmap="Greys",
                    vmin=0, vmax=1, interpolation="nearest")
        ax_h.set_title(f"{title}: held notes", fontsize=9, y=1)
        im = ax_v.imshow(pool_columns(velocity_image(roll)[:, a:b]), aspect="auto", origin="lower", extent=ext,
                         cmap="magma", vmin=1, vmax=127, interpolation="nearest")
        ax_v.set_facecolor("#e8e8e8")
        ax_v.set_title("velocity", fontsize=9, y=1)
        ts, ps = np.nonzero(roll.onsets[a:b])
        ax_o.scatter((ts + a) * s.step, ps + s.pitch_low, s=3, c="k", marker="s", linewidths=0)
        ax_o.set_ylim(ext[2], ext[3])
        ax_o.set_title("onsets", fontsize=9, y=1)
        ped = pool_columns(roll.pedals[a:b].T / 127.0)
        t = a * s.step + np.arange(ped.shape[1]) * (b - a) * s.step / max(ped.shape[1], 1)
        ax_p.fill_between(t, 0, ped[0], step="post", color="tab:blue", alpha=0.6, label="sustain")
        ax_p.fill_between(t, 0, -ped[1], step="post", color="tab:orange", alpha=0.6, label="soft")
        ax_p.set_ylim(-1, 1)
        ax_p.set_yticks([])
        ax_p.legend(loc="upper right", fontsize=7, ncol=2)
        strips = [ax_h, ax_v, ax_o, ax_p]
        if tempos:
            ax_t = axes[per * k + 4]
            if tempos[k] is not None and len(tempos[k][0]):
                ax_t.step(tempos[k][0], tempos[k][1], where="post", color="tab:green", lw=1.2)
            ax_t.set_ylabel("bpm", fontsize=8)
            ax_t.set_title("tempo (quarter notes per minute)", fontsize=9, y=1)
            strips.append(ax_t)
        for ax in strips:
            ax.set_xlim(a * s.step, a * s.step + span)
        for ax in (ax_h, ax_v, ax_o):
            ax.set_ylabel("pitch", fontsize=8)
    axes[-1].set_xlabel("seconds")
    bar_h = 0.4 * (height - _TOP - _BOTTOM)
    cax = fig.add_axes(((width - _RIGHT + 0.3) / width, (_BOTTOM + 0.3 * (height - _TOP - _BOTTOM)) / height,
                        0.2 / width, bar_h / height))
    fig.colorbar(im, cax=cax, label="velocity")
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=80, format="png"), force=force, suffix=".png")
