"""What ``perform``, ``train tempo`` and ``evaluate perform`` do: each reads the parsed arguments and calls the library."""
from __future__ import annotations

import json

from ...perform import perform


def cmd_perform(args):
    results = perform(args.inputs, args.to, output=args.output, force=args.force, seed=args.seed,
                      temperature=args.temperature, level=args.level, tempo=not args.no_tempo,
                      velocity_model=args.model, tempo_model=args.tempo_model, max_seconds=args.max_seconds)
    for r in results:
        if args.json:
            print(json.dumps(r))
        elif not args.quiet:
            tempo = (f"tempo drawn over {r['beats']} beats (rubato std {r['rubato_std']:.3f}, lag-1 "
                     f"{r['rubato_lag1']:.2f})" if r["tempo"] == "drawn" else f"tempo kept: {r['tempo']}")
            print(f"{r['input']} -> {r['output']}: {r['notes']} notes{' (read as a score)' if r['score'] else ''}, "
                  f"velocity mean {r['mean_velocity_before']:.1f} -> {r['mean_velocity_after']:.1f}, std "
                  f"{r['std_velocity_before']:.1f} -> {r['std_velocity_after']:.1f}; {tempo}")
