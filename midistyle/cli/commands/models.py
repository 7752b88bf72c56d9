"""What ``models`` does, and the model path and card of a ``train ... --install``: each command
reads the parsed arguments and calls the library."""
from __future__ import annotations

import json

from ...registry import catalog, search_path


def cmd_models(args):
    entries = catalog()
    if args.json:
        print(json.dumps({"search_path": [{"origin": o, "folder": f} for o, f in search_path()],
                          "models": [e.to_dict() for e in entries]}))
        return
    print("searched, in order: " + "; ".join(f"{o} {f}" for o, f in search_path()))
    for e in entries:
        print(f"\n{e.kind:<15} {e.name:<15} {e.origin:<8} {e.path}")
        if e.summary:
            print(f"    {e.summary}")
        if e.figures:
            print("    validation: " + ", ".join(f"{k} {v:g}" for k, v in e.figures.items()))
        if e.shadowed_by:
            print(f"    SHADOWED by {e.shadowed_by} (found first; use --model {e.path} to use this one)")
