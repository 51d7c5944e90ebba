#!/usr/bin/env bash
# How the zoo in ecc/zoo/ was trained (CPU, 2 cores). Each step resumes from runs/<name>/last.pt
# when rerun. The base model is trained with lambda = 0.05, then 0.02 per kbps; the other rates are
# fine-tuned from it with other lambdas, then every run is exported with its coding tables.
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
[ -d data/asterisk/train ] || $ECC prepare-data data/asterisk

BASE_STEPS=${BASE_STEPS:-40000}   # the shipped base was stopped earlier: see ecc/zoo/*.json
FT_STEPS=${FT_STEPS:-1200}
# the shipped base: lambda 0.05 for its first 2000 steps, then 0.02 (resumed from step 2000)
$ECC train --out runs/ecc-base --steps 2000 --lmbda 0.05
$ECC train --out runs/ecc-base --steps "$BASE_STEPS" --lmbda 0.02
$ECC train --out runs/ecc-0k5 --init-from runs/ecc-base/last.pt --steps "$FT_STEPS" --lmbda 0.25
$ECC train --out runs/ecc-3k --init-from runs/ecc-base/last.pt --steps "$FT_STEPS" --lmbda 0.012
$ECC train --out runs/ecc-6k --init-from runs/ecc-base/last.pt --steps "$FT_STEPS" --lmbda 0.004

# nominal kbps = the file bitrate measured on the dev split (python -m benchmarks.ecc_report), rounded
$ECC export runs/ecc-base/last.pt ecc-1k5 ecc/zoo/ecc-1k5.pt --nominal-kbps 1.5 --force
$ECC export runs/ecc-0k5/last.pt ecc-0k5 ecc/zoo/ecc-0k5.pt --nominal-kbps 0.5 --force
$ECC export runs/ecc-3k/last.pt ecc-3k ecc/zoo/ecc-3k.pt --nominal-kbps 3 --force
$ECC export runs/ecc-6k/last.pt ecc-6k ecc/zoo/ecc-6k.pt --nominal-kbps 6 --force
