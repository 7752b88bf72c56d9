"""What the ``train`` commands do (``train velocity|tempo|classifier|chords|cyclegan``): each reads
the parsed arguments, trains through the library (TensorFlow loads there) and reports; with
``--install``, the model goes to the user's model folder with a card."""
from __future__ import annotations

import json

from ...audio.cyclegan import CycleGANConfig, train as train_cyclegan
from ...chords import ChordsConfig, train as train_chords
from ...classifier import ClassifierConfig, format_confusion, train as train_classifier
from ...codec.dataset import split_files
from ...errors import MidistyleError
from ...modelfiles import write_card
from ...nn.distributed import worker_path
from ...registry import classifier_path, install_path
from ...tempo import TempoConfig, train as train_tempo
from ...velocity import VelocityConfig, train as train_velocity
from ..common import settings_from_args
from .common import parse_sources


def install_output(args, kind: str) -> str:
    """The model path of a ``train`` command: ``--output``, or with ``--install`` the user's model
    folder (``KIND-GENRE.keras``); exactly one of the two."""
    if bool(args.output) == bool(args.install):
        raise MidistyleError("give either -o/--output or --install")
    if args.install:
        args.output = install_path(kind, args.genre)
    return args.output


def card_for_install(args, kind: str, meta: dict) -> None:
    """With ``--install``, write the installed model's card (what ``models`` shows of it)."""
    import datetime

    if not args.install:
        return
    day = datetime.date.today().isoformat()
    write_card(args.output, f"{kind.capitalize()} model: {args.genre} (installed)",
               f"Trained on {day} from {args.data} ({meta['training']['seconds']:.0f} s of training).",
               f"Command: `midistyle train {kind} {args.data} --genre {args.genre} --install`; the validation "
               "figures are in the sidecar beside this card.")


def run_training(args, fit):
    """Run ``fit(output_path)`` for a ``train`` command and return its sidecar; under ``--strategy
    multiworker`` on a worker other than the chief, ``fit`` writes into a temporary folder removed
    afterwards (only the chief writes ``--output``), the worker prints its one line and None is returned."""
    if args.strategy != "multiworker":
        return fit(args.output)
    with worker_path(args.output) as output:
        meta = fit(output)
    if output == args.output:
        return meta
    h = meta["training"]["history"]
    print(f"worker done in {meta['training']['seconds']:.0f} s: loss {h['loss'][-1]:.6g}, "
          f"val_loss {h['val_loss'][-1]:.6g}; the chief writes {args.output}")
    return None


def cmd_train_velocity(args):
    cfg = settings_from_args(VelocityConfig, args)
    install_output(args, "velocity")
    meta = run_training(args, lambda output: train_velocity(args.data, args.genre, output, cfg, strategy=args.strategy,
                                                   progress=not args.quiet, force=args.force))
    if meta is None:
        return
    card_for_install(args, "velocity", meta)
    v = meta["validation"]
    line = ", ".join(f"{k} {m['rmse']:.2f}" for k, m in v["methods"].items())
    p = v["performance"]
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s); validation note RMSE (expected "
          f"velocity): {line}; NLL {p['nll_per_note']:.3f} nats/note, spread ratio {p['spread_ratio']:.2f}, "
          f"real-vs-sampled discriminator {p['discriminator']:.2f}")


def cmd_train_tempo(args):
    cfg = settings_from_args(TempoConfig, args)
    install_output(args, "tempo")
    split = split_files(parse_sources(args.folders, None), val_fraction=args.val_fraction, seed=args.split_seed)
    if args.genre not in split:
        raise MidistyleError(f"no folder of genre {args.genre!r} among {', '.join(split) or 'none'}")
    meta = train_tempo(split[args.genre]["train"], split[args.genre]["val"], args.genre, args.output, cfg,
                 progress=not args.quiet, force=args.force)
    card_for_install(args, "tempo", meta)
    v = meta["validation"]
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s, {meta['data']['train_pieces']} training pieces); "
          f"validation on {v['pieces']} pieces: NLL {v['nll_per_beat']:.3f} nats/beat, rubato std ratio "
          f"{v['std_ratio_median']:.2f}, lag-1 real {v['lag1_real_median']:.2f} / drawn {v['lag1_drawn_median']:.2f}, "
          f"real-vs-drawn discriminator {v['discriminator']:.2f}")


def cmd_train_classifier(args):
    meta = run_training(args, lambda output: train_classifier(
        args.data, output, settings_from_args(ClassifierConfig, args), progress=not args.quiet, force=args.force,
        strategy=args.strategy))
    if meta is None:
        return
    v = meta["validation"]
    if args.json:
        print(json.dumps({"output": args.output, "training_seconds": meta["training"]["seconds"], "validation": v}))
        return
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s, {meta['training']['epochs_run']} epochs); "
          f"validation: segment accuracy {v['segment_accuracy']:.3f} ({v['segments']} segments), "
          f"piece accuracy {v['piece_accuracy']:.3f} ({v['pieces']} pieces)")
    print("piece-level confusion (rows: true, columns: predicted):")
    print(format_confusion(v["confusion_pieces"], v["genres"]))
    for m in v["misclassified"]:
        print(f"  misclassified: {m['name']} ({m['genre']}): {m['probabilities']}")


def cmd_train_chords(args):
    install_output(args, "chords")
    meta = run_training(args, lambda output: train_chords(
        args.data, args.genre, args.classifier or classifier_path(), output, settings_from_args(ChordsConfig, args),
        progress=not args.quiet, force=args.force, strategy=args.strategy))
    if meta is None:
        return
    card_for_install(args, "chords", meta)
    v = meta["validation"]
    if args.json:
        print(json.dumps({"output": args.output, "training_seconds": meta["training"]["seconds"], "validation": v}))
        return
    print(f"wrote {args.output} ({meta['training']['seconds']:.0f} s, {meta['training']['epochs_run']} epochs); "
          f"validation on {v['frames']} frames of {v['pieces']} pieces:")
    for k in ("model", "markov"):
        print(f"  {k:<10} NLL {v[k]['nll_per_frame']:7.3f} nats/frame   onset F1 {v[k]['onset_f1_best']:.3f} "
              f"(best threshold)")


def cmd_train_cyclegan(args):
    meta = train_cyclegan(args.a, args.b, args.output, settings_from_args(CycleGANConfig, args),
                 names=(args.name_a, args.name_b), force=args.force, progress=not args.quiet)
    if args.json:
        print(json.dumps({k: meta[k] for k in ("data", "validation")} | {"training": {
            k: v for k, v in meta["training"].items() if k != "history"}}))
        return
    v = meta["validation"]
    t = meta["training"]
    print(f"{args.output}: validation cycle loss (L1, both directions) {v['before']['cycle']:.4f} -> "
          f"{v['after']['cycle']:.4f}, identity {v['before']['identity']:.4f} -> {v['after']['identity']:.4f}; "
          f"{t['steps']} steps in {t['seconds']:.0f} s ({t['examples_per_second']:.1f} examples/s)")
