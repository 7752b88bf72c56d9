#!/usr/bin/env bash
# Retrain the shipped audio genre classifier (models/audio-genre.{keras,json,npz}) with a fixed seed:
# 3 ten-second excerpts per TPD piece rendered through the SoundFont path, seed 000's clip features,
# a small dense network; split by piece as stored in the dataset.
# Usage: bash models/train_audio.sh   (about 10 minutes on 2 CPU cores; features are cached in work_data/)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=work_data/tpd.h5
TPD="${TPD:-../shared/data/tpd}"
[ -f "$DATA" ] || bash datasets/build_tpd.sh "$DATA"
python -m midistyle.audio.genre train "$DATA" --tpd "$TPD" -o models/audio-genre.keras \
  --cache work_data/audio-genre-features.npz --excerpts-per-piece 3 --seed 0 --force "$@"
