"""What the ``evaluate`` commands do (``evaluate velocity|perform|chords|audio|key-invariance``):
each reads the parsed arguments, measures through the library and prints or writes JSON."""
from __future__ import annotations

import json

from ...audio.evaluate import (evaluate_audio, format_evaluation, key_invariance, key_invariance_settings,
                               plot_key_invariance)
from ...judges.chordeval import COHERENCE_NAMES, TEXTURE_NAMES, evaluate_generation
from ...chords import ChordModel, shipped_velocity_model
from ...classifier import GenreClassifier
from ...codec import io as mio
from ...codec.io import read
from ...codec.pianoroll import encode
from ...errors import MidistyleError
from ...fsutil import check_output
from ...judges.notefeatures import load_judge
from ...perform import evaluate_perform
from ...registry import chords_model_path, classifier_path, content_judge_path, velocity_judge_path, velocity_model_path
from ...velocity import VelocityModel, evaluate, note_beats_of
from ..audio import JUDGE_FIELDS
from ..common import given_fields, settings_from_args
from .audio import transfer_settings
from .common import collect_inputs


def cmd_evaluate_velocity(args):
    vm = VelocityModel.load(args.model or velocity_model_path(args.genre))
    paths = collect_inputs(args.inputs)
    perfs = [mio.read(p) for p in paths]
    rolls = [encode(p, vm.settings) for p in perfs]
    judge = load_judge(velocity_judge_path())
    res = evaluate(vm, rolls, paths, beats=[note_beats_of(p) for p in perfs], seed=args.seed,
                   temperature=args.temperature, judge=judge)
    res["genre"] = vm.genre
    if args.json:
        print(json.dumps(res))
        return
    print(f"{vm.genre} velocity model on {res['pieces']} pieces, {res['notes']} notes")
    print(f"  expected velocity (--mean):\n  {'method':<16} {'RMSE':>7} {'MAE':>7} {'r':>6} {'piece':>7} {'within':>7}")
    for k, m in res["methods"].items():
        print(f"  {k:<16} {m['rmse']:7.2f} {m['mae']:7.2f} {m['r']:6.3f} {m['rmse_piece_level']:7.2f} "
              f"{m['rmse_within_piece']:7.2f}")
    print("  (piece: the RMSE of each piece's overall level; within: the rest; RMSE^2 = piece^2 + within^2)")
    p = res["performance"]
    print(f"  sampled performances (seed {p['seed']}, temperature {p['temperature']}):")
    print(f"  spread ratio (median std sampled / std real)   {p['spread_ratio']:.2f}")
    print(f"  lag-1 autocorrelation real / sampled           {p['lag1_real']:.2f} / {p['lag1_sampled']:.2f}")
    print(f"  negative log-likelihood per note (nats)        {p['nll_per_note']:.3f}")
    print(f"  real-vs-sampled discriminator accuracy         {p['discriminator']:.2f}  (0.50 = indistinguishable)")
    if "judged_genre_share" in p:
        print(f"  share judged {vm.genre} by the velocity-only judge   {p['judged_genre_share']:.2f}")


def cmd_evaluate_perform(args):
    perfs = [mio.read(p) for p in collect_inputs(args.inputs)]
    res = evaluate_perform(perfs, args.genre, seed=args.seed, velocity_model=args.model, tempo_model=args.tempo_model)
    if args.json:
        print(json.dumps(res))
        return
    print(f"{args.genre}: {res['pieces']} performances played from their score-like versions (seed {args.seed})")
    print(f"  mean velocity, |played - real|, median over pieces   {res['level_diff_median']:.1f}")
    print(f"  velocity std played / real, median (IQR)           {res['spread_ratio_median']:.2f} "
          f"({res['spread_ratio_iqr'][0]:.2f}-{res['spread_ratio_iqr'][1]:.2f})")
    t = res["tempo"]
    if t is None:
        print("  tempo: no tempo model, or no sequenced piece with rubato among the inputs")
        return
    print(f"  tempo, {t['pieces']} sequenced pieces with rubato ({t['beats']} beats):")
    print(f"    rubato std drawn / real, median                  {t['std_ratio_median']:.2f}")
    print(f"    lag-1 autocorrelation real / drawn (medians)     {t['lag1_real_median']:.2f} / {t['lag1_drawn_median']:.2f}")
    print(f"    |lag-1 drawn - real|, median over pieces         {t['lag1_diff_median']:.2f}")
    print(f"    real-vs-drawn discriminator ({t['windows']} windows)      {t['discriminator']:.2f}  (0.50 = indistinguishable)")
    print(f"    NLL per beat (nats)                              {t['nll_per_beat']:.3f}")


def cmd_evaluate_chords(args):
    if not (args.style or args.model):
        raise MidistyleError("name the target with --style GENRE or --model PATH")
    cm = ChordModel.load(args.model or chords_model_path(args.style))
    clf = GenreClassifier.load(args.classifier or classifier_path())
    cm.check_classifier(clf)
    inspirations = [mio.read(p) for p in collect_inputs(args.inspire)]
    real = [encode(p, cm.settings) for p in collect_inputs(args.real)]
    vm = None if args.constant_velocity else shipped_velocity_model(cm.genre)[0]
    res = evaluate_generation(cm, clf, inspirations, real, load_judge(content_judge_path()), velocity_model=vm,
                              seconds=args.seconds, seed=args.seed, temperature=args.temperature, prime=args.prime,
                              **cm.draw_settings(args.steady))
    res["genre"] = cm.genre
    if args.json:
        print(json.dumps(res))
        return
    print(f"chords-{cm.genre}: {res['generated_with_notes']} of {res['pieces']} inspirations gave music "
          f"({args.seconds:g} s each, seed {args.seed}, prime {args.prime:g} s"
          + (f", steady feedback {cm.steady_feedback:g}, event bias {cm.steady_event_bias:+g})" if args.steady else ")"))
    if res["judged_target"] is not None:
        print(f"  independent content judge: {100 * res['judged_target']:.0f} % judged {cm.genre}")
    print(f"  real-vs-generated discriminator (balanced accuracy): {res['discriminator']:.2f} logistic, "
          f"{res['discriminator_boosted']:.2f} gradient-boosted trees")
    if res["separators"]:
        print("  tells them apart most (generated - real, Cohen's d): " + ", ".join(
            f"{x['feature']} {x['d']:+.2f}" for x in res["separators"]))
    print(f"  {'texture':<14} {'generated':>10} {'real':>8} {'ratio':>6}")
    for names, group in ((TEXTURE_NAMES, "texture"), (COHERENCE_NAMES, "coherence")):
        for k in names:
            t = res[group][k]
            print(f"  {k:<14} {t['generated']:10.3f} {t['real']:8.3f} {t['ratio']:6.2f}")
    if res["link"]:
        print(f"  pitch-class profile correlation with its inspiration {res['link']['own']:.2f} vs other "
              f"inspirations {res['link']['other']:.2f}")


def cmd_evaluate_audio(args):
    r = evaluate_audio(args.content, args.style, args.result, settings=transfer_settings(args),
                       classifier=args.model, soundfont=args.soundfont, **given_fields(args, JUDGE_FIELDS))
    print(json.dumps(r) if args.json else format_evaluation(r))


def parse_offsets(text):
    """``-6..6`` or ``-2,0,2`` -> list of ints."""
    try:
        if ".." in text:
            a, b = text.split("..")
            return list(range(int(a), int(b) + 1))
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise MidistyleError(f"--offsets: expected A..B or a comma list of integers, got {text!r}") from None


def cmd_evaluate_key_invariance(args):
    if args.plot:
        check_output(args.plot, force=args.force, extensions=(".png",))
    notes = None
    if args.input:
        notes = read(args.input).notes
    s = settings_from_args(key_invariance_settings, args)
    r = key_invariance(notes, parse_offsets(args.offsets), settings=s, seconds=args.seconds,
                       soundfont=args.soundfont, progress=not args.quiet)
    if args.plot:
        plot_key_invariance(r, args.plot, force=args.force)
    r["plot"] = args.plot
    if args.json:
        print(json.dumps(r))
        return
    if args.quiet:
        return
    names = r["representations"]
    print("offset  " + "  ".join(f"{n:>20}" for n in names))
    for i, off in enumerate(r["offsets"]):
        print(f"{off:+6d}  " + "  ".join(f"{r['mse'][n][i]:20.4f}" for n in names))
    print("mean (non-zero offsets)  " + ", ".join(f"{n} {r['mean_nonzero'][n]:.4f}" for n in names))
    print(f"key-invariant content beats plain STFT at {r['wins']} of {r['nonzero_offsets']} non-zero offsets"
          + (f"; plot {args.plot}" if args.plot else ""))
