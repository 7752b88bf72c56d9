"""Does a jazz/classical CycleGAN move validation clips towards the other genre?

For the validation files of each TPD genre (the split by piece that `midistyle train cyclegan`
uses), 10 s from the middle of the piece are rendered, translated to the other genre and judged by
the shipped audio genre classifier (models/audio-genre.keras): mean probability of the target genre
and share judged as the target, before and after translation. Both sides are rendered at the
model's 16 kHz and resampled to the classifier's 22.05 kHz, so the band limit is the same.

    midistyle train cyclegan --a ../shared/data/tpd/jazz --b ../shared/data/tpd/classical \
        --name-a jazz --name-b classical -o work_data/cyclegan.keras
    python models/evaluate_cyclegan.py work_data/cyclegan.keras
"""
import json
import os
import sys

import numpy as np

from midistyle.audio.cyclegan import CycleGANConfig, Translator, list_domain, load_clips, split_domain
from midistyle.audio.files import resample
from midistyle.audio.genre import AudioGenreClassifier

TPD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "tpd")


def judge(model: str, seconds: float = 10.0) -> dict:
    """Target-genre probability before/after translation, per direction (domains named as TPD genres)."""
    tr = Translator.load(model)
    cfg = tr.config
    clf = AudioGenreClassifier.load()
    out = {}
    a, b = tr.domains
    for src, dst in ((a, b), (b, a)):
        _, val = split_domain(list_domain(os.path.join(TPD, src)), cfg)
        clips, _ = load_clips(val, CycleGANConfig(**{**cfg.__dict__, "seconds_per_file": seconds}))
        before, after = [], []
        for y in clips:
            t = tr.translate(y, dst)
            t = t / max(1e-9, float(np.max(np.abs(t))))
            before.append(clf.predict(resample(y, cfg.sr, 22050))[dst])
            after.append(clf.predict(resample(t, cfg.sr, 22050))[dst])
        before, after = np.array(before), np.array(after)
        out[f"{src}->{dst}"] = {"clips": len(clips), "p_target_before": float(before.mean()),
                                "p_target_after": float(after.mean()),
                                "judged_target_before": float(np.mean(before > 0.5)),
                                "judged_target_after": float(np.mean(after > 0.5))}
    return out


if __name__ == "__main__":
    print(json.dumps(judge(sys.argv[1] if len(sys.argv) > 1 else "work_data/cyclegan.keras"), indent=1))
