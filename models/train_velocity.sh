#!/usr/bin/env bash
# Retrain both shipped velocity models from ../shared/data/tpd with a fixed seed.
# Usage: bash models/train_velocity.sh   (about 20 minutes on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=work_data/tpd.h5
[ -f "$DATA" ] || bash datasets/build_tpd.sh "$DATA"
for g in jazz classical; do
  midistyle train velocity "$DATA" --genre "$g" -o "models/velocity-$g.keras" --seed 0 --force "$@"
done
