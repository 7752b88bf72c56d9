#!/usr/bin/env python3
"""Measure `perform` on the validation split: scores made from real validation performances
(:func:`midistyle.perform.score_like`: one velocity, no pedal, the median tempo) are performed and
compared with how they were really played (:func:`midistyle.perform.evaluate_perform`), with and
without the score handling of the velocity models (``score_inputs`` + ``score_level``, written by
models/calibrate_scores.py on the training pieces), for both genres; the tempo figures on the
classical sequenced pieces with rubato at 3 seeds. Writes models/perform-figures.json, the tempo
model's card models/tempo-classical.md and models/tempo-classical.example.png (a validation piece:
its score, the score performed, the real performance, with tempo strips).

Usage: python models/evaluate_perform.py [TPD_DIR]   (--card-only: rewrite the card from the figures file)
"""
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import midistyle  # noqa: E402
from midistyle.codec import io as mio  # noqa: E402
from midistyle.codec.dataset import split_files  # noqa: E402
from midistyle.perform import evaluate_perform, perform, score_like  # noqa: E402
from midistyle.codec.pianoroll import encode  # noqa: E402
from midistyle.plot import plot_pieces  # noqa: E402
from midistyle.beats import has_rubato, on_beat_grid, tempo_curve  # noqa: E402
from midistyle.tempo import TempoModel  # noqa: E402
from midistyle.velocity import VelocityModel  # noqa: E402

GENRES = ("classical", "jazz")
SEEDS = (0, 1, 2)
MODELS = os.path.join(ROOT, "models")


def unscored(vm: VelocityModel) -> VelocityModel:
    """The same model without its score handling (what `velocity --to` did before)."""
    meta = {k: v for k, v in vm.meta.items() if k not in ("score_inputs", "score_level")}
    return VelocityModel(meta, vm.runtime, vm.path)


def write_score(perf, path: str) -> None:
    """``perf`` as a notation program would export it, as a MIDI file: velocity 64, no pedal
    messages, one tempo (the median beat)."""
    import mido

    sc = score_like(perf)
    midi = mio.with_tempo_map(mio.with_velocities(perf, np.full(len(perf.notes), 64)), [(0, int(sc.tempo[1][0]))])
    for tr in midi.tracks:
        for k, msg in enumerate(tr):
            if msg.type == "control_change" and msg.control in (64, 67):
                tr[k] = mido.MetaMessage("text", text="", time=msg.time)
    mio.save_midi(midi, path, force=True)


def main(tpd=os.path.join(ROOT, "..", "shared", "data", "tpd")):
    split = split_files([(g, os.path.join(tpd, g)) for g in GENRES])
    out = {"protocol": "validation split of datasets/build_tpd.sh; score = velocity 64, no pedal, median tempo",
           "genres": {}}
    for genre in GENRES:
        perfs = [midistyle.read(p) for p in split[genre]["val"]]
        vm = VelocityModel.load(os.path.join(MODELS, f"velocity-{genre}.keras"))
        rows = {}
        for name, model in (("score_handling", vm), ("before", unscored(vm))):
            per_seed = [evaluate_perform(perfs, genre, seed=s, velocity_model=model, tempo=name != "before")
                        for s in SEEDS]
            rows[name] = {"pieces": per_seed[0]["pieces"],
                          "level_diff_median": [round(r["level_diff_median"], 2) for r in per_seed],
                          "spread_ratio_median": [round(r["spread_ratio_median"], 3) for r in per_seed]}
            tempo = [r["tempo"] for r in per_seed if r["tempo"] is not None]
            if tempo:
                rows["tempo"] = [{k: v for k, v in r.items() if k != "per_piece"} for r in tempo]
        out["genres"][genre] = rows
        print(genre, json.dumps(rows))
    # the figure: a validation sequenced piece, its score, the score performed, the real playing
    seq = [p for p in split["classical"]["val"] if (lambda q: on_beat_grid(q) and has_rubato(q))(midistyle.read(p))]
    src = seq[0]
    real = midistyle.read(src)
    with tempfile.TemporaryDirectory() as tmp:
        score_path, played_path = os.path.join(tmp, "score.mid"), os.path.join(tmp, "performed.mid")
        write_score(real, score_path)
        t0 = time.perf_counter()
        r = perform([score_path], "classical", output=played_path, seed=0)[0]
        out["example"] = {"piece": os.path.basename(src), "perform_seconds": round(time.perf_counter() - t0, 3),
                          **{k: r[k] for k in ("notes", "mean_velocity_after", "std_velocity_after", "rubato_std",
                                               "rubato_lag1")},
                          "real_mean_velocity": round(float(real.notes["velocity"].mean()), 2),
                          "real_std_velocity": round(float(real.notes["velocity"].std()), 2)}
        pieces = [midistyle.read(score_path), midistyle.read(played_path), real]
        plot_pieces([encode(p) for p in pieces], os.path.join(MODELS, "tempo-classical.example.png"),
                    titles=[f"score of {os.path.basename(src)}", "the score performed (classical, seed 0)",
                            "the real performance"], seconds=60.0, force=True,
                    tempos=[tempo_curve(p) for p in pieces])
    with open(os.path.join(MODELS, "perform-figures.json"), "w") as fh:
        json.dump(out, fh, indent=1)
    write_card(out)


def write_card(figs: dict) -> None:
    tm = TempoModel.load(os.path.join(MODELS, "tempo-classical.keras"))
    m = tm.meta
    t = figs["genres"]["classical"]["tempo"]
    ex = figs["example"]

    def seeds(key):
        return " / ".join(f"{r[key]:.2f}" for r in t)

    lines = [
        "# Tempo model: classical",
        "",
        "Draws a tempo map that breathes for a classical score, beat by beat: `midistyle perform --to classical "
        "score.mid` writes one tempo event per beat over the score's own ticks (every note keeps its tick), around "
        "the score's own tempo. Files: `tempo-classical.keras` (Keras 3, training), `tempo-classical.json` "
        "(sidecar: beat features, config, figures), `tempo-classical.npz` (NumPy weights used at inference).",
        "",
        "## Data",
        f"The Piano Dataset (TPD, Iman Malik, CC-BY 4.0), classical files whose notes sit on a 16th / triplet grid "
        f"of their beats and whose tempo map varies (the sequenced ones: their performers' rubato lives in the tempo "
        f"map), split by piece as `datasets/build_tpd.sh` splits TPD: {m['data']['train_pieces']} training pieces "
        f"({m['data']['train_beats']} beats), {m['data']['val_pieces']} validation pieces. Jazz has none: 1 of TPD's "
        "296 jazz files has a tempo map that varies, so no jazz tempo model ships and `perform --to jazz` keeps the "
        "score's tempo (swing lives in note timing within the beat, which recorded jazz files have without a beat "
        "grid to measure it against).",
        "",
        "## Model",
        "Per beat (a quarter note of the file's ticks; bars assumed 4/4), 23 features from the ticks alone: onsets, "
        "register and pitch range, harmonic change, note lengths, rests before and after, position in the bar and "
        "the piece. Target: the log beat period minus the piece's median, in "
        f"{tm.config.bins} classes over +-{tm.config.span}. The autoregressive WaveNet of the velocity models "
        "(a non-causal dilated stack over the features, a causal dilated stack over the periods drawn so far), "
        "trained by likelihood; drawn beat by beat in NumPy with a seed.",
        "",
        "## Settings",
        "`" + json.dumps(m["config"]) + "`",
        "",
        f"Training: {m['training']['seconds']:.0f} s on 2 CPU cores, {m['training']['epochs_run']} epochs (early "
        "stopping). Retrain with `bash models/train_tempo.sh`; measure with `python models/evaluate_perform.py`.",
        "",
        "## Validation (the validation pieces' scores performed, seeds 0 / 1 / 2)",
        "| measure | value | real / target |",
        "|---|---|---|",
        f"| rubato: std of log beat period, drawn / real (median) | {seeds('std_ratio_median')} | 0.6-1.5 |",
        f"| lag-1 autocorrelation of log beat period, drawn (median) | {seeds('lag1_drawn_median')} | real "
        f"{t[0]['lag1_real_median']:.2f}, within 0.15 |",
        f"| real-vs-drawn discriminator, logistic, {t[0]['windows']} windows of 32 beats | {seeds('discriminator')} | <= 0.70 |",
        f"| lag-1: per piece, median of abs(drawn - real) | {seeds('lag1_diff_median')} | |",
        f"| NLL per beat (teacher forced) | {t[0]['nll_per_beat']:.3f} | |",
        "",
        f"Sampling temperature {tm.temperature:g}, chosen on the training pieces (`models/calibrate_tempo.py`: of the "
        "temperatures that keep the real rubato's spread, the one a real-vs-drawn discriminator tells apart least): "
        + ", ".join(f"T {r['temperature']:g}: discriminator {r['discriminator']:.2f}, std d {r['std_d']:+.2f}"
                    for r in m.get("sampling_calibration", {}).get("table", [])) + ".",
        "",
        "## Velocities of a performed score (both genres, validation, seeds 0 / 1 / 2)",
        "| genre | median abs(mean velocity - real) | median std ratio | the same before the score handling |",
        "|---|---|---|---|",
    ]
    for g, r in figs["genres"].items():
        sh, b = r["score_handling"], r["before"]
        lines.append(f"| {g} ({sh['pieces']} pieces) | {' / '.join(f'{x:.1f}' for x in sh['level_diff_median'])} | "
                     f"{' / '.join(f'{x:.2f}' for x in sh['spread_ratio_median'])} | "
                     f"{' / '.join(f'{x:.1f}' for x in b['level_diff_median'])}; "
                     f"{' / '.join(f'{x:.2f}' for x in b['spread_ratio_median'])} |")
    lines += [
        "",
        f"Targets: within 8, 0.7-1.3. The median is the target, not every piece: the example below is played at a "
        f"mean velocity of {ex['mean_velocity_after']:.0f} where its real performance averages {ex['real_mean_velocity']:.0f}.",
        "",
        f"Example (`tempo-classical.example.png`, first 60 s): the score of `{ex['piece']}` (velocity 64, its median "
        f"tempo), the score performed (seed 0: mean velocity {ex['mean_velocity_after']:.1f}, std "
        f"{ex['std_velocity_after']:.1f}, rubato std {ex['rubato_std']:.3f}, lag-1 {ex['rubato_lag1']:.2f}) and the "
        f"real performance (mean velocity {ex['real_mean_velocity']:.1f}, std {ex['real_std_velocity']:.1f}); "
        f"`perform` took {ex['perform_seconds']:.2f} s.",
        "",
        "Trained on The Piano Dataset (TPD) by Iman Malik (\"Neural Translation of Musical Style\", Malik & Ek, "
        "2017), licensed CC-BY 4.0.",
        "",
    ]
    with open(os.path.join(MODELS, "tempo-classical.md"), "w") as fh:
        fh.write("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:] == ["--card-only"]:
        with open(os.path.join(MODELS, "perform-figures.json")) as fh:
            write_card(json.load(fh))
    else:
        main(*sys.argv[1:])
