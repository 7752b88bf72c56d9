"""What the encoder sees in one input: a plain dict, for ``midistyle info``."""
from __future__ import annotations


from .codec.io import SOFT_CC, SUSTAIN_CC, read
from .codec.pianoroll import EncoderSettings, encode


def describe(path: str, settings: EncoderSettings | None = None) -> dict:
    """Summarise an input file: duration, notes, pitch range, tempo changes, pedals, velocities.

    Returns
    -------
    dict
        JSON-ready facts about the file as encoded with ``settings``.
    """
    perf = read(path)
    roll = encode(perf, settings)
    n = perf.notes
    v = n["velocity"].astype(float)
    sustain = roll.pedals[:, 0] >= 64
    in_range = roll.in_range()
    return {
        "file": perf.source,
        "duration_s": round(perf.duration, 3),
        "notes": int(len(n)),
        "notes_outside_pitch_range": int((~in_range).sum()),
        "drum_notes_ignored": int(perf.drum_notes),
        "tracks": perf.n_tracks,
        "ticks_per_beat": perf.ticks_per_beat,
        "tempo_changes": int(perf.tempo_changes),
        "pitch_min": int(n["pitch"].min()),
        "pitch_max": int(n["pitch"].max()),
        "max_polyphony": int(roll.held.sum(1).max()),
        "mean_polyphony": round(float(roll.held.sum(1).mean()), 3),
        "velocity_min": int(v.min()),
        "velocity_max": int(v.max()),
        "velocity_mean": round(float(v.mean()), 2),
        "velocity_std": round(float(v.std()), 2),
        "constant_velocity": bool(v.min() == v.max()),
        "sustain_events": int((perf.pedals["cc"] == SUSTAIN_CC).sum()),
        "sustain_down_share": round(float(sustain.mean()), 3),
        "soft_events": int((perf.pedals["cc"] == SOFT_CC).sum()),
        "grid_steps": int(roll.n_steps),
        "encoder": roll.settings.to_dict(),
    }


def format_summary(d: dict) -> str:
    """Human-readable lines of :func:`describe`'s dict."""
    lines = [d["file"]]
    lines.append(f"  duration        {d['duration_s']:.2f} s  ({d['grid_steps']} steps of {d['encoder']['step']} s)")
    lines.append(f"  notes           {d['notes']}  (outside pitch range: {d['notes_outside_pitch_range']}, drum notes ignored: {d['drum_notes_ignored']})")
    lines.append(f"  pitch range     {d['pitch_min']}..{d['pitch_max']}   polyphony mean {d['mean_polyphony']:.2f}, max {d['max_polyphony']}")
    lines.append(f"  tracks          {d['tracks']}   ticks/beat {d['ticks_per_beat']}   tempo changes {d['tempo_changes']}")
    lines.append(f"  velocity        min {d['velocity_min']}  max {d['velocity_max']}  mean {d['velocity_mean']:.1f}  std {d['velocity_std']:.1f}"
                 + ("   (constant!)" if d["constant_velocity"] else ""))
    lines.append(f"  pedals          sustain {d['sustain_events']} events, down {100 * d['sustain_down_share']:.0f}% of the time; soft {d['soft_events']} events")
    return "\n".join(lines)
