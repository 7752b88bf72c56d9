#!/usr/bin/env bash
# Build the training dataset from The Piano Dataset (both genres) in one command.
# Usage: bash datasets/build_tpd.sh [OUT.h5]      (default: work_data/tpd.h5)
set -euo pipefail
cd "$(dirname "$0")/.."
TPD="${TPD:-../shared/data/tpd}"
OUT="${1:-work_data/tpd.h5}"
mkdir -p "$(dirname "$OUT")"
midistyle dataset convert "classical=$TPD/classical" "jazz=$TPD/jazz" -o "$OUT" --val-fraction 0.15 --seed 0 --force
