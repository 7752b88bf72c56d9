"""What ``classify``, ``embed``, ``chords``, ``train classifier``, ``train chords`` and
``evaluate chords`` do: each reads the parsed arguments and calls the library."""
from __future__ import annotations

import json
import os
import sys

from ...chords import generate
from ...classifier import load_default, save_npy
from ...codec.io import CORPUS_PREFIX
from ...codec.pianoroll import encode
from ...fsutil import check_output
from ...modelfiles import bundle_stem
from .common import collect_inputs


def cmd_classify(args):
    from tqdm import tqdm

    clf = load_default(args.model)
    paths = collect_inputs(args.inputs)
    results = [clf.predict_file(p) for p in tqdm(paths, desc="classifying", unit="file", file=sys.stderr,
                                                  disable=True if args.quiet or len(paths) < 2 else None)]
    for r in results:
        if args.json:
            print(json.dumps({"file": r["file"], "genre": r["genre"], "probabilities": r["probabilities"]}))
        else:
            probs = ", ".join(f"{g} {p:.3f}" for g, p in r["probabilities"].items())
            print(f"{r['file']}: {r['genre']} ({probs})")


def cmd_embed(args):
    import numpy as np

    clf = load_default(args.model)
    protect = () if args.input.startswith(CORPUS_PREFIX) else (args.input,)
    check_output(args.output, force=args.force, protect=protect)      # before the work, as save_npy will
    emb = clf.embed(encode(args.input, clf.settings), per_segment=args.segments)
    save_npy(emb, args.output, force=args.force, protect=protect)
    if args.json:
        print(json.dumps({"file": args.input, "output": args.output, "shape": list(emb.shape),
                          "embedding": np.round(emb, 6).tolist()}))
    elif not args.quiet:
        print(f"{args.input} -> {args.output}: embedding of shape {tuple(emb.shape)}")


def cmd_chords(args):
    r = generate(args.inspire, args.style, output=args.output, seconds=args.seconds, seed=args.seed,
                 temperature=args.temperature, force=args.force, model=args.model, classifier=args.classifier,
                 velocity=not args.constant_velocity, prime=args.prime, steady=args.steady, key=args.key)
    if r["warning"]:
        print(f"warning: {r['warning']}", file=sys.stderr)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        vel = os.path.basename(bundle_stem(r["velocity_model"])) if r["velocity_model"] else "constant 64"
        print(f"{r['input']} -> {r['output']}: {r['seconds']:g} s of {r['style']} chords, {r['notes']} notes "
              f"({r['notes_per_s']:.1f}/s), mean polyphony {r['polyphony']:.1f}, pedal {100 * r['pedal_share']:.0f} %, "
              f"{'in ' + r['key'] + ', ' if r['key'] else ''}seed {r['seed']}, velocities: {vel}")
