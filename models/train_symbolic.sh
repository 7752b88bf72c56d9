#!/usr/bin/env bash
# Retrain the genre classifier and both chord generators from ../shared/data/tpd with a fixed seed,
# then measure them and rewrite the model cards.
# Usage: bash models/train_symbolic.sh [--quiet]   (about 45 minutes on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=work_data/tpd.h5
[ -f "$DATA" ] || bash datasets/build_tpd.sh "$DATA"
SECONDS=0
midistyle train classifier "$DATA" -o models/classifier.keras --seed 0 --force "$@"
echo "classifier trained: ${SECONDS} s wall"
# jazz: defaults (3 of 1000 fed-back key/pedal bits flipped in training, --input-noise 0.003);
# classical: no input noise (with 50 ms frames it made classical output too sparse: 2.9 vs 11.3 notes/s;
# with 25 ms frames it gave notes of 0.07-0.08 s against 0.10 s in real playing, and no better judge figures),
# short memories of its own strikes and onset events, read by distance, and each onset event's lowest key
# from one softmax (draws of single lines instead of scattered keys: real-vs-generated 0.71 / 0.72 against
# 0.84 / 0.78 without them; the same for jazz measured no better on the training pieces, so jazz keeps its settings)
# classical also draws a harmony per half-second first (a harmony LSTM over pitch-class sets) and reads the keys
# struck one and two harmony steps before each frame (its draws wandered between keys: key stability 0.36 vs 0.60
# real; see models/chords-classical.md); its harmony LSTM reads a tenth of its input harmonies replaced by random
# ones in training, so that a draw returns to its key after an unlikely harmony (key stability of 24 s of harmony
# alone 0.62 -> 0.67, of 20 s draws 0.54 -> 0.63 against 0.61 real, training pieces). Jazz with the same layer
# (--harmony 20 --figure-lags 2) kept its key but drew 1.4x real jazz's notes per second and was told from real
# playing far more easily (discriminators 0.84-0.88 against 0.65-0.73), so jazz keeps its settings.
midistyle train chords --genre jazz "$DATA" --classifier models/classifier.keras \
  -o models/chords-jazz.keras --seed 0 --force "$@"
echo "chords-jazz trained: ${SECONDS} s wall in all"
midistyle train chords --genre classical "$DATA" --classifier models/classifier.keras \
  -o models/chords-classical.keras --seed 0 --force --input-noise 0 \
  --key-memory 0.2 --event-memory 40 --relative-keys 24 --lowest-key --harmony 20 --harmony-noise 0.1 --figure-lags 2 "$@"
echo "chords-classical trained: ${SECONDS} s wall in all"
python models/calibrate_chords.py "$DATA"    # the --steady habit feedback (and event bias), on the training pieces
python models/evaluate_symbolic.py "$DATA"
python models/evaluate_chords.py "$DATA"
echo "done: ${SECONDS} s wall in all (training and evaluation)"
