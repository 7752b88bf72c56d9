"""Benchmark of the Ulyanov audio style transfer (``midistyle audio transfer``), judged on the audio written.

A 10 s content clip (classical) and a 10 s style clip (jazz), both rendered from The Piano Dataset
through the SoundFont path, with the reference settings (4096 random filters of width 11, ReLU,
alpha 1e-2, n_fft 2048, hop 512, 22.05 kHz).

Every variant ends in a WAV file, and what counts is that file: it is read back and judged by an
**independent network** (the reference architecture drawn from another seed,
:func:`midistyle.audio.evaluate.judge_settings`: seed 1000, what ``midistyle evaluate audio``
uses by default), which the optimiser never saw.

* ``plain``: the reference implementation as written (``conv1d`` + automatic differentiation of
  the whole loss, the (filters x filters) Gram, SciPy L-BFGS-B, 300 iterations), then the
  notebook's reconstruction: magnitude ``exp(x) - 1``, 500 classic Griffin-Lim iterations, the
  waveform written as it comes (float WAV). Its WAV sets two levels: its style loss under the
  judge (the bar every variant must reach), and under the transfer's own filters (the stopping
  level the variants may use, since they must not look at the judge).
* ``fast-lbfgs``: :func:`midistyle.audio.transfer.stylise` (one fused value-and-gradient
  ``tf.function``, convolution as one matrix product, style statistics once, (frames x frames)
  style loss, log-magnitudes bounded at 0), SciPy L-BFGS-B on the spectrogram, fast Griffin-Lim,
  then L-BFGS-B on the waveform itself, each stage stopping at the *stopping level* (or its
  budget); written as 16-bit PCM like ``midistyle audio transfer``. The stopping level is
  ``--margin`` (0.5) times the plain WAV's style loss under the transfer's own filters: a result
  fitted to a set of filters scores worse under another draw of them, so a variant stopping at
  exactly the plain WAV's own-filter level would not reach its level under the judge. The
  variants never see the judge.
* ``warm-lbfgs``: ``fast-lbfgs`` after a warm start on the loss of only the first 512 of the same
  4096 filters (150 cheap L-BFGS-B iterations, ``--warm-filters 512 --warm-iterations 150``).
* ``warm-bf16grad``: ``warm-lbfgs`` with the convolution's input gradient as a bfloat16 product
  (``--precision bfloat16-grad``; the loss itself stays float32). bfloat16 products are fast only
  on CPUs with AVX512-BF16.
* ``fast-adam``: the spectrogram stage with Adam (step budget), then the same waveform stage.
* ``cli-fast``: ``midistyle audio transfer --fast`` as shipped (no stopping level: its budgets).

A speed-up (plain's seconds to its WAV over the variant's, set-up excluded for both, phase
reconstruction and the waveform stage included) **counts only if the variant's WAV reaches the
plain WAV's style loss under the judge**; otherwise the table says "no".

    python benchmarks/bench_audio_transfer.py              # everything (about 15 minutes on one core)
    python benchmarks/bench_audio_transfer.py --quick      # 40 reference iterations, smaller check
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TPD = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data", "tpd")
CONTENT = ("classical", "ADIG01.mid", 30.0)
STYLE = ("jazz", "A Sleepin' Bee.mid", 30.0)
SR = 22050


def clips(seconds: float = 10.0, sr: int = SR):
    import midistyle
    from midistyle.audio.render import render_performance

    out = []
    for genre, name, start in (CONTENT, STYLE):
        perf = midistyle.read(os.path.join(TPD, genre, name))
        out.append(render_performance(perf, start=start, duration=seconds, sr=sr))
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------- the plain reference
def run_plain(yc, ys, iterations: int, wav: str, seed: int = 0) -> dict:
    """The reference graph: conv1d, ReLU, Gram by autodiff, L-BFGS-B via SciPy (no shortcuts), then
    the notebook's reconstruction (``exp(x) - 1``, 500 classic Griffin-Lim iterations), float WAV."""
    import soundfile as sf
    import tensorflow as tf
    from scipy.optimize import minimize

    from midistyle.audio import spectral
    from midistyle.audio.transfer import TransferSettings, random_filters, spectrogram_frames

    s = TransferSettings(seed=seed)
    C = spectrogram_frames(yc, s)
    S = spectrogram_frames(ys, s)
    T, nb = C.shape
    W = tf.constant(random_filters(nb, s.filters, s.kernel, s.seed))

    def net(x):
        return tf.nn.relu(tf.nn.conv1d(x[None], W, 1, "VALID"))[0]

    Fs, Fc = net(tf.constant(S)), net(tf.constant(C))
    Gs = tf.matmul(Fs, Fs, transpose_a=True) / float(Fs.shape[0])
    n = float(T - s.kernel + 1)

    @tf.function(input_signature=[tf.TensorSpec((T, nb), tf.float32)])
    def vg(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            F = net(x)
            G = tf.matmul(F, F, transpose_a=True) / n
            sl = tf.reduce_sum(tf.square(G - Gs))
            cl = s.content_weight * tf.reduce_sum(tf.square(F - Fc))
            L = sl + cl
        return L, sl, cl, tape.gradient(L, x)

    hist, last = [], {}
    t0 = time.perf_counter()

    def fun(v):
        L, sl, cl, g = vg(v.reshape(T, nb).astype(np.float32))
        last.update(loss=float(L), style_loss=float(sl), content_loss=float(cl))
        last["evaluations"] = last.get("evaluations", 0) + 1
        return float(L), g.numpy().astype(np.float64).ravel()

    def cb(*a):
        hist.append(dict(last, iteration=len(hist) + 1, seconds=time.perf_counter() - t0))

    x0 = np.random.default_rng(s.seed + 1).standard_normal((T, nb)) * 1e-3
    vg(x0.astype(np.float32))  # trace outside the timing
    t0 = time.perf_counter()
    res = minimize(fun, x0.ravel(), jac=True, method="L-BFGS-B", callback=cb, options={"maxiter": iterations})
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    mag = np.expm1(res.x.reshape(T, nb).T).astype(np.float32)  # the notebook: np.exp(result) - 1
    y, sc = spectral.griffin_lim(mag, 500, s.hop, length=len(yc), momentum=0.0, seed=s.seed)
    sf.write(wav, y, SR, subtype="FLOAT")
    t_gl = time.perf_counter() - t1
    return dict(history=hist, wall=wall, griffin_lim_seconds=t_gl, total=wall + t_gl, evaluations=last["evaluations"],
                griffin_lim_convergence=sc, negative_share=float(np.mean(res.x < 0)))


def run_fast(yc, ys, wav: str, optimizer: str, iterations: int, target: float | None, lr: float, init: str,
             gram_form: str, warm_filters: int = 0, warm_iterations: int = 0, precision: str = "float32",
             waveform_iterations: int = 100, cli_fast: bool = False) -> dict:
    from midistyle.audio.files import write_audio
    from midistyle.audio.transfer import TransferSettings, fast_settings, stylise

    if cli_fast:
        s = fast_settings(TransferSettings())
    else:
        s = TransferSettings(optimizer=optimizer, iterations=iterations, target_style_loss=target,
                             learning_rate=lr, init=init, gram_form=gram_form, warm_filters=warm_filters,
                             warm_iterations=warm_iterations, precision=precision,
                             waveform_iterations=waveform_iterations)
    r = stylise(yc, ys, s)
    write_audio(wav, r.waveform, SR, force=True)
    t = r.timings
    return dict(history=r.history, wall=t["optimise"], evaluations=r.evaluations, setup=t["setup"],
                griffin_lim_seconds=t["griffin_lim"], waveform_seconds=t["waveform"],
                total=t["optimise"] + t["griffin_lim"] + t["waveform"],
                griffin_lim_convergence=r.griffin_lim_convergence, stop=r.stop_reason,
                gram_form=r.extra["gram_form"], settings=s.to_dict(), final=r.final)


def child(args):
    t0 = time.perf_counter()
    yc, ys = clips(args.seconds)
    t_clips = time.perf_counter() - t0
    if args.variant == "plain":
        out = run_plain(yc, ys, args.iterations, args.wav)
    else:
        warm = (args.warm_filters, args.warm_iterations) if args.variant.startswith("warm") else (0, 0)
        precision = "bfloat16-grad" if args.variant.endswith("bf16grad") else "float32"
        opt = "adam" if args.variant.endswith("adam") else "lbfgs"
        out = run_fast(yc, ys, args.wav, opt, args.iterations, args.target, args.lr, args.init, args.gram_form,
                       *warm, precision=precision, waveform_iterations=args.waveform_iterations,
                       cli_fast=args.variant == "cli-fast")
    out.update(variant=args.variant, peak_mb=peak_mb(), render_seconds=t_clips)
    print("RESULT " + json.dumps(out))


def spawn(variant: str, **kw) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--variant", variant]
    for k, v in kw.items():
        if v is not None:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{variant} failed:\n{p.stderr[-3000:]}")


def judge_wav(wav: str, yc, ys, judge, own) -> dict:
    """Style losses of a written WAV (read back) under the independent judge and the transfer's own filters."""
    from midistyle.audio.evaluate import transfer_losses
    from midistyle.audio.files import read_audio

    y = read_audio(wav, SR)
    j = transfer_losses(y, ys, yc, judge)
    o = transfer_losses(y, ys, yc, own)
    return {"judge_style_loss": j["style_loss"], "judge_style_loss_content": j["style_loss_content_vs_style"],
            "own_style_loss": o["style_loss"], "own_loss": o["style_loss"] + o["content_loss"],
            "rms": float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))), "peak": float(np.max(np.abs(y)))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--wav", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="plain")
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--target", type=float, default=None)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--init", default="noise")
    ap.add_argument("--gram-form", default="auto")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warm-filters", type=int, default=512, help="filters of the warm start (default: 512)")
    ap.add_argument("--warm-iterations", type=int, default=150, help="warm-start iterations (default: 150)")
    ap.add_argument("--waveform-iterations", type=int, default=100,
                    help="budget of the waveform stage of the variants (default: 100)")
    ap.add_argument("--adam-steps", type=int, default=400, help="step budget of Adam (default: 400)")
    ap.add_argument("--margin", type=float, default=0.5,
                    help="stopping level of the variants as a share of the plain WAV's own-filter style loss "
                         "(default: 0.5)")
    ap.add_argument("--variants", default="fast-lbfgs,warm-lbfgs,warm-bf16grad,fast-adam,cli-fast",
                    help="comma list of variants to compare with plain")
    ap.add_argument("--quick", action="store_true", help="40 reference iterations instead of 300")
    ap.add_argument("--json", help="also write all results to this JSON file")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    from midistyle.audio.evaluate import judge_settings
    from midistyle.audio.transfer import TransferSettings

    iters = 40 if args.quick else args.iterations
    judge, own = judge_settings(0), TransferSettings()
    yc, ys = clips(args.seconds)
    tmp = tempfile.mkdtemp(prefix="bench_audio_")
    print(f"reference: plain TF graph + L-BFGS-B, {iters} iterations, then the notebook's Griffin-Lim; "
          f"{args.seconds:g} s + {args.seconds:g} s, 4096 filters x 11; judge: Conv1D 4096 x 11 seed {judge.seed} "
          f"(the transfer's filters: seed {own.seed}) ...", flush=True)
    wav = os.path.join(tmp, "plain.wav")
    plain = spawn("plain", iterations=iters, wav=wav, seconds=args.seconds)
    plain.update(judge_wav(wav, yc, ys, judge, own))
    opt_level = plain["history"][-1]["style_loss"]
    bar, level = plain["judge_style_loss"], args.margin * plain["own_style_loss"]
    print(f"  plain: {plain['wall']:.1f} s optimising + {plain['griffin_lim_seconds']:.1f} s Griffin-Lim, "
          f"{plain['evaluations']} evaluations, optimiser's style loss {opt_level:.4g} "
          f"({100 * plain['negative_share']:.0f} % of the log-magnitudes negative); its WAV: style loss "
          f"{plain['own_style_loss']:.4g} under its own filters, {bar:.4g} under the judge (content clip: "
          f"{plain['judge_style_loss_content']:.4g}); peak {plain['peak_mb']:.0f} MB; the variants stop at "
          f"{args.margin:g} x {plain['own_style_loss']:.4g} = {level:.4g}", flush=True)
    results = {"plain": plain, "judge_level": bar, "stopping_level": level, "margin": args.margin,
               "judge_seed": judge.seed}
    rows = [("plain L-BFGS-B", plain)]
    warm_its = args.warm_iterations if not args.quick else max(1, args.warm_iterations * iters // 300)
    kws = {"fast-lbfgs": dict(iterations=3 * iters, target=level),
           "warm-lbfgs": dict(iterations=3 * iters, target=level, warm_filters=args.warm_filters,
                              warm_iterations=warm_its),
           "warm-bf16grad": dict(iterations=3 * iters, target=level, warm_filters=args.warm_filters,
                                 warm_iterations=warm_its),
           "fast-adam": dict(iterations=args.adam_steps, target=level, lr=args.lr),
           "cli-fast": dict()}
    for variant in filter(None, args.variants.split(",")):
        what = "as shipped" if variant == "cli-fast" else f"until style loss <= {level:.4g} under its own filters"
        print(f"{variant} {what} ...", flush=True)
        wav = os.path.join(tmp, f"{variant}.wav")
        r = spawn(variant, wav=wav, seconds=args.seconds, waveform_iterations=args.waveform_iterations, **kws[variant])
        r.update(judge_wav(wav, yc, ys, judge, own))
        r["counts"] = r["judge_style_loss"] <= bar
        results[variant] = r
        rows.append((variant, r))
        f = r["final"]
        print(f"  {variant}: {r['wall']:.1f} s spectrogram + {r['griffin_lim_seconds']:.1f} s Griffin-Lim + "
              f"{r['waveform_seconds']:.1f} s waveform = {r['total']:.1f} s ({r['evaluations']} evaluations; "
              f"{r['stop']}); final loss {f['loss']:.4g} (style {f['style_loss']:.4g}); its WAV: own style "
              f"{r['own_style_loss']:.4g}, judge {r['judge_style_loss']:.4g} "
              f"({'reaches' if r['counts'] else 'does NOT reach'} plain's {bar:.4g}); speed-up "
              f"{plain['total'] / r['total']:.2f}x{'' if r['counts'] else ' (does not count)'}; "
              f"peak {r['peak_mb']:.0f} MB", flush=True)
    print()
    print(f"{'variant':<16} {'total s':>8} {'own style':>10} {'judge style':>12} {'reaches':>8} {'speed-up':>9} "
          f"{'peak MB':>8}")
    for name, r in rows:
        ok = name.startswith("plain") or r["counts"]
        speed = f"{plain['total'] / r['total']:.2f}x" if ok else "-"
        print(f"{name:<16} {r['total']:8.1f} {r['own_style_loss']:10.4g} {r['judge_style_loss']:12.4g} "
              f"{'(bar)' if name.startswith('plain') else ('yes' if ok else 'no'):>8} {speed:>9} {r['peak_mb']:8.0f}")
    print(f"(judge: Conv1D 4096 x 11, seed {judge.seed}; content clip under the judge "
          f"{plain['judge_style_loss_content']:.4g})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh)


if __name__ == "__main__":
    main()
