"""What ``velocity``, ``train velocity`` and ``evaluate velocity`` do: each reads the parsed arguments and calls the library."""
from __future__ import annotations

import json

from ...velocity import restyle


def cmd_velocity(args):
    results = restyle(args.inputs, genre=args.to, model=args.model, output=args.output, force=args.force,
                      seed=args.seed, temperature=args.temperature, mean=args.mean, strength=args.strength,
                      level=args.level, plot=args.plot,
                      max_seconds=args.max_seconds)
    for r in results:
        if args.json:
            print(json.dumps(r))
        elif not args.quiet:
            print(f"{r['input']} -> {r['output']}: {r['notes']} notes, velocity mean "
                  f"{r['mean_velocity_before']:.1f} -> {r['mean_velocity_after']:.1f}, std "
                  f"{r['std_velocity_before']:.1f} -> {r['std_velocity_after']:.1f}")
