#!/usr/bin/env bash
# Retrain the genre classifier and both chord generators from ../shared/data/tpd with a fixed seed,
# then measure them and rewrite the model cards.
# Usage: bash models/train_symbolic.sh [--quiet]   (about 40 minutes on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=work_data/tpd.h5
[ -f "$DATA" ] || bash datasets/build_tpd.sh "$DATA"
SECONDS=0
midistyle train classifier "$DATA" -o models/classifier.keras --seed 0 --force "$@"
echo "classifier trained: ${SECONDS} s wall"
for g in jazz classical; do
  midistyle train chords --genre "$g" "$DATA" --classifier models/classifier.keras \
    -o "models/chords-$g.keras" --seed 0 --force "$@"
  echo "chords-$g trained: ${SECONDS} s wall in all"
done
python models/evaluate_symbolic.py "$DATA"
python models/evaluate_chords.py "$DATA"
echo "done: ${SECONDS} s wall in all (training and evaluation)"
