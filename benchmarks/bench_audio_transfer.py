"""Benchmark of the Ulyanov audio style transfer (``midistyle audio transfer``).

A 10 s content clip (classical) and a 10 s style clip (jazz), both rendered from The Piano Dataset
through the SoundFont path, with the reference settings (4096 random filters of width 11, ReLU,
alpha 1e-2, n_fft 2048, hop 512, 22.05 kHz).

Variants (each runs in its own process, so its peak memory is its own):

* ``plain``: the reference implementation as written (``conv1d`` + automatic differentiation of
  the whole loss, the (filters x filters) Gram, SciPy L-BFGS-B, 300 iterations). Its final style
  loss is the *fixed level* the other variants must reach.
* ``fast-lbfgs``: :mod:`midistyle.audio.transfer` (one fused value-and-gradient ``tf.function``,
  convolution as one matrix product, style statistics once, (frames x frames) style loss, analytic
  feature gradients) with SciPy L-BFGS-B, stopping at the fixed level.
* ``warm-lbfgs``: ``fast-lbfgs`` after a warm start on the loss of only the first 512 of the same
  4096 filters (150 cheap L-BFGS-B iterations, ``--warm-filters 512 --warm-iterations 150`` of
  ``midistyle audio transfer``), stopping at the fixed level of the full loss.
* ``warm-bf16grad``: ``warm-lbfgs`` with the convolution's input gradient as a bfloat16 product
  (``--precision bfloat16-grad``; the loss itself stays float32, so the level is checked exactly).
  bfloat16 products are fast only on CPUs with AVX512-BF16 (this machine has it).
* ``fast-adam``: the same loss with Adam, stopping at the fixed level (or after its step budget).

Prints seconds per loss evaluation / iteration, iterations and evaluations to reach the level, wall
time, peak memory and the speed-up over ``plain``, then the Griffin-Lim spectral convergence.

    python benchmarks/bench_audio_transfer.py              # everything (about 17 minutes on 2 cores)
    python benchmarks/bench_audio_transfer.py --quick      # 40 iterations, smaller check
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TPD = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data", "tpd")
CONTENT = ("classical", "ADIG01.mid", 30.0)
STYLE = ("jazz", "A Sleepin' Bee.mid", 30.0)


def clips(seconds: float = 10.0, sr: int = 22050):
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
def run_plain(yc, ys, iterations: int, seed: int = 0) -> dict:
    """The reference graph: conv1d, ReLU, Gram by autodiff, L-BFGS-B via SciPy (no shortcuts)."""
    import tensorflow as tf
    from scipy.optimize import minimize

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
    minimize(fun, x0.ravel(), jac=True, method="L-BFGS-B", callback=cb, options={"maxiter": iterations})
    wall = time.perf_counter() - t0
    return dict(history=hist, wall=wall, evaluations=last["evaluations"])


def run_fast(yc, ys, optimizer: str, iterations: int, target: float | None, lr: float, init: str,
             gram_form: str, warm_filters: int = 0, warm_iterations: int = 0, precision: str = "float32") -> dict:
    from midistyle.audio.transfer import TransferSettings, stylise

    s = TransferSettings(optimizer=optimizer, iterations=iterations, target_style_loss=target,
                         learning_rate=lr, init=init, gram_form=gram_form, warm_filters=warm_filters,
                         warm_iterations=warm_iterations, precision=precision)
    r = stylise(yc, ys, s)
    return dict(history=r.history, wall=r.timings["optimise"], evaluations=r.evaluations,
                setup=r.timings["setup"], griffin_lim_seconds=r.timings["griffin_lim"],
                griffin_lim_convergence=r.griffin_lim_convergence, stop=r.stop_reason,
                gram_form=r.extra["gram_form"], total=r.timings["total"])


def child(args):
    t0 = time.perf_counter()
    yc, ys = clips(args.seconds)
    t_clips = time.perf_counter() - t0
    if args.variant == "plain":
        out = run_plain(yc, ys, args.iterations)
    else:
        warm = (args.warm_filters, args.warm_iterations) if args.variant.startswith("warm") else (0, 0)
        precision = "bfloat16-grad" if args.variant.endswith("bf16grad") else "float32"
        opt = "adam" if args.variant.endswith("adam") else "lbfgs"
        out = run_fast(yc, ys, opt, args.iterations, args.target, args.lr, args.init, args.gram_form, *warm,
                       precision=precision)
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


def reach(history: list, level: float):
    """First history entry with style loss <= level (or None)."""
    for h in history:
        if h.get("phase", "full") == "full" and h["style_loss"] <= level:  # not the warm start's own loss
            return h
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="plain")
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--target", type=float, default=None)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--init", default="noise")
    ap.add_argument("--gram-form", default="auto")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warm-filters", type=int, default=512, help="filters of the warm start (default: 512)")
    ap.add_argument("--warm-iterations", type=int, default=150, help="warm-start iterations (default: 150)")
    ap.add_argument("--adam-steps", type=int, default=400, help="step budget of Adam (default: 400)")
    ap.add_argument("--quick", action="store_true", help="40 reference iterations instead of 300")
    ap.add_argument("--json", help="also write all results to this JSON file")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    iters = 40 if args.quick else args.iterations
    print(f"reference: plain TF graph + L-BFGS-B, {iters} iterations, 10 s + 10 s, 4096 filters x 11 ...", flush=True)
    plain = spawn("plain", iterations=iters)
    level = plain["history"][-1]["style_loss"]
    per_eval = plain["wall"] / plain["evaluations"]
    print(f"  plain: {plain['wall']:.1f} s, {plain['evaluations']} evaluations ({per_eval:.3f} s each), "
          f"{len(plain['history'])} iterations, final style loss {level:.4g}, "
          f"content loss {plain['history'][-1]['content_loss']:.4g}, peak {plain['peak_mb']:.0f} MB", flush=True)
    results = {"plain": plain, "level": level}
    rows = [("plain L-BFGS-B", plain, plain["history"][-1])]
    warm_its = args.warm_iterations if not args.quick else max(1, args.warm_iterations * iters // 300)
    for variant, kw in (("fast-lbfgs", dict(iterations=3 * iters, target=level)),
                        ("warm-lbfgs", dict(iterations=3 * iters, target=level, warm_filters=args.warm_filters,
                                            warm_iterations=warm_its)),
                        ("warm-bf16grad", dict(iterations=3 * iters, target=level, warm_filters=args.warm_filters,
                                               warm_iterations=warm_its)),
                        ("fast-adam", dict(iterations=args.adam_steps, target=level, lr=args.lr))):
        print(f"{variant} until style loss <= {level:.4g} ...", flush=True)
        r = spawn(variant, **kw)
        results[variant] = r
        hit = reach(r["history"], level)
        rows.append((variant, r, hit))
        per = r["wall"] / max(r["evaluations"], 1)
        if hit:
            warm = f" (+{hit['warm_evaluations']} warm-start evaluations)" if hit.get("warm_evaluations") else ""
            print(f"  {variant}: reached after {hit['iteration']} iterations / {hit['evaluations']} evaluations{warm} "
                  f"in {hit['seconds']:.1f} s ({per:.3f} s per evaluation), speed-up "
                  f"{plain['wall'] / hit['seconds']:.2f}x; peak {r['peak_mb']:.0f} MB", flush=True)
        else:
            best = min(h["style_loss"] for h in r["history"])
            print(f"  {variant}: did not reach the level in {len(r['history'])} iterations "
                  f"({r['wall']:.1f} s, best style loss {best:.4g}); peak {r['peak_mb']:.0f} MB", flush=True)
        if "griffin_lim_convergence" in r:
            print(f"    Griffin-Lim: spectral convergence {r['griffin_lim_convergence']:.4f} "
                  f"({r['griffin_lim_seconds']:.1f} s); total wall incl. set-up {r['total']:.1f} s", flush=True)
    print()
    print(f"{'variant':<16} {'s/eval':>7} {'iters':>6} {'evals':>8} {'wall s':>8} {'speed-up':>9} {'peak MB':>8}")
    for name, r, hit in rows:
        per = r["wall"] / max(r["evaluations"], 1)
        if hit is not None and hit.get("warm_evaluations"):
            per = float("nan")  # two kinds of evaluation: see the lines above
        if hit is None:
            print(f"{name:<16} {per:7.3f} {'-':>6} {'-':>8} {'-':>8} {'-':>9} {r['peak_mb']:8.0f}")
            continue
        secs = hit["seconds"] if name != "plain L-BFGS-B" else r["wall"]
        evals = f"{hit['evaluations']}" + (f"+{hit['warm_evaluations']}w" if hit.get("warm_evaluations") else "")
        print(f"{name:<16} {per:7.3f} {hit['iteration']:6d} {evals:>8} {secs:8.1f} "
              f"{plain['wall'] / secs:8.2f}x {r['peak_mb']:8.0f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh)


if __name__ == "__main__":
    main()
