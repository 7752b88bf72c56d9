#!/usr/bin/env bash
# Retrain the shipped tempo (rubato) model from ../shared/data (seed 0; about 2 minutes on 2 cores)
# and choose its sampling temperature on the training pieces (models/calibrate_tempo.py):
# the classical TPD files whose notes sit on a beat grid and whose tempo map varies, split by
# piece exactly as datasets/build_tpd.sh splits TPD. Jazz gets none: 1 of its 296 files has such
# a tempo map (see models/tempo-classical.md).
set -euo pipefail
cd "$(dirname "$0")/.."
TPD="${TPD:-../shared/data/tpd}"
midistyle train tempo "classical=$TPD/classical" "jazz=$TPD/jazz" --genre classical \
    -o models/tempo-classical.keras --seed 0 --force
python models/calibrate_tempo.py "$TPD"
