#!/usr/bin/env bash
# How the zoo in ecc/zoo/ was trained (CPU, 2 cores). Each step resumes from runs/<name>/last.pt
# when rerun; configs are in scripts/zoo/.
#
# 1. The first generation (no harmonic source), in the git history at commit 2f33f4b:
#      ecc train --out runs/ecc-base --steps 2000 --lmbda 0.05
#      ecc train --out runs/ecc-base --steps 7500 --lmbda 0.02
#      ecc train --out runs/ecc-ft-c --init-from runs/ecc-base/last.pt --steps 900 --lmbda 0.0003
#    exported then as ecc-1k5; step 2 starts from those weights (taken from git below).
# 2. The harmonic-source base, from those weights (scripts/zoo/base.json).
# 3. Fine-tunes from it to the other rates: a higher lambda for the lowest rate, and for higher
#    rates a latent gain (finer quantization grid) with lower lambdas.
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
[ -d data/asterisk/train ] || $ECC prepare-data data/asterisk
if [ ! -f runs/gen1/ecc-1k5.pt ]; then
  mkdir -p runs/gen1
  git show 2f33f4b:ecc/zoo/ecc-1k5.pt > runs/gen1/ecc-1k5.pt
fi

$ECC train --config scripts/zoo/base.json
for ft in ft-low ft-g4 ft-g16 ft-g64 ft-vlow; do
  $ECC train --config scripts/zoo/$ft.json
done
