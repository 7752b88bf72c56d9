#!/usr/bin/env bash
# Retrain both shipped velocity models from ../shared/data/tpd with a fixed seed (seed 0),
# then re-measure them and rewrite their cards.
# Usage: bash models/train_velocity.sh      (a few minutes per genre on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=work_data/tpd.h5
[ -f "$DATA" ] || bash datasets/build_tpd.sh "$DATA"
for GENRE in jazz classical; do
  midistyle train velocity "$DATA" --genre "$GENRE" -o "models/velocity-$GENRE.keras" --seed 0 --force --quiet "$@"
done
python models/calibrate_velocity.py "$DATA"
python models/calibrate_scores.py
python models/evaluate_velocity.py "$DATA"
