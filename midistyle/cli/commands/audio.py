"""What ``render``, ``audio transfer``, ``audio texture``, ``audio translate``, ``train cyclegan``,
``evaluate audio`` and ``evaluate key-invariance`` do: each reads the parsed arguments and calls the library."""
from __future__ import annotations

import json

from ...audio.cyclegan import format_translation, translate_file
from ...audio.files import load_input, render_file
from ...audio.multi import MultiSettings
from ...audio.transfer import TransferSettings, format_summary, transfer_files, ulyanov_settings
from ...errors import MidistyleError
from ..audio import METHOD_FIELDS
from ..common import settings_from_args


def parse_terms(text):
    """``stft_style=1,cqt_content=0.5`` -> dict of floats (a clear error on bad syntax)."""
    out = {}
    for part in filter(None, (text or "").split(",")):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise MidistyleError(f"--terms: expected NAME=FACTOR[,NAME=FACTOR...], got {part!r}") from None
    return out


def set_away(args, cls, dest) -> bool:
    """The flag ``dest`` was given, with a value other than the default of ``cls``'s field of that name."""
    return getattr(args, dest, None) not in (None, getattr(cls, dest))


def transfer_settings(args):
    """The settings of the method named by ``--method`` (ulyanov or multi) from the flags given; the
    defaults are the settings classes' (ulyanov: those of its ``--net``)."""
    method = getattr(args, "method", None) or "ulyanov"
    if method == "multi":
        if getattr(args, "fast", False) or any(set_away(args, TransferSettings, d)
                                               for d in ("net", "warm_iterations", "precision", "envelope_weight")):
            raise MidistyleError("--net, --fast, --warm-*, --precision and --envelope-weight belong to --method ulyanov")
        terms = {} if getattr(args, "terms", None) is None else {"terms": parse_terms(args.terms)}
        return settings_from_args(MultiSettings, args, METHOD_FIELDS["multi"], **terms)
    if getattr(args, "preset", None) or getattr(args, "terms", None) or set_away(args, MultiSettings, "sparsity"):
        raise MidistyleError("--preset, --terms and --sparsity belong to --method multi")
    return settings_from_args(ulyanov_settings, args, METHOD_FIELDS["ulyanov"], fast=getattr(args, "fast", False))


def cmd_render(args):
    r = render_file(args.input, args.output, sr=args.sr, soundfont=args.soundfont, force=args.force,
                    float_samples=args.float)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        print(f"{r['input']} -> {r['output']}: {r['seconds']:.1f} s at {r['sample_rate']} Hz, {r['notes']} notes "
              f"(rendered in {r['render_seconds']:.1f} s)")


def print_transfer(args, r):
    if args.json:
        print(json.dumps(r))
        return
    if args.quiet:
        return
    print(format_summary(r))


def cmd_audio_transfer(args):
    content = args.content
    s = transfer_settings(args)
    if args.content_weight == 0:
        # texture of the content's length: the content only sets the duration
        n = len(load_input(content, s.sr, args.soundfont))
        r = transfer_files(None, args.style, args.output, s, seconds=n / s.sr, force=args.force, plot=args.plot,
                           progress=not args.quiet, float_samples=args.float, soundfont=args.soundfont)
        r["content"] = content
    else:
        r = transfer_files(content, args.style, args.output, s, force=args.force, plot=args.plot,
                           progress=not args.quiet, float_samples=args.float, soundfont=args.soundfont)
    print_transfer(args, r)


def cmd_audio_texture(args):
    r = transfer_files(None, args.style, args.output, transfer_settings(args),
                       seconds=args.seconds, force=args.force, plot=args.plot, progress=not args.quiet,
                       float_samples=args.float, soundfont=args.soundfont)
    print_transfer(args, r)


def cmd_audio_translate(args):
    r = translate_file(args.model, args.to, args.input, args.output, phase=args.phase, force=args.force,
                       soundfont=args.soundfont)
    if args.json:
        print(json.dumps(r))
    elif not args.quiet:
        print(format_translation(r))
