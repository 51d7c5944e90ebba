#!/usr/bin/env bash
# How the zoo in ecc/zoo/ was trained (CPU, 2 cores). Each step resumes from runs/<name>/last.pt
# when rerun. The base model is trained with lambda = 0.05, then 0.02 per kbps; the other rates are
# fine-tuned from it with other lambdas, then every run is exported with its coding tables.
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
[ -d data/asterisk/train ] || $ECC prepare-data data/asterisk

# the shipped base: lambda 0.05 for its first 2000 steps, then 0.02 (resumed from step 2000), 7500 steps
$ECC train --out runs/ecc-base --steps 2000 --lmbda 0.05
$ECC train --out runs/ecc-base --steps 7500 --lmbda 0.02
# fine-tunes from the base's step-7500 weights (optimizer state fresh)
$ECC train --out runs/ecc-ft-a --init-from runs/ecc-base/last.pt --steps 900 --lmbda 0.006
$ECC train --out runs/ecc-ft-b --init-from runs/ecc-base/last.pt --steps 900 --lmbda 0.0015
$ECC train --out runs/ecc-ft-c --init-from runs/ecc-base/last.pt --steps 900 --lmbda 0.0003
$ECC train --out runs/ecc-ft-d --init-from runs/ecc-base/last.pt --steps 400 --lmbda 0.08

# nominal kbps = the file bitrate measured on the dev split, rounded
$ECC export runs/ecc-ft-d/last.pt ecc-0k6 ecc/zoo/ecc-0k6.pt --nominal-kbps 0.6 --force
$ECC export runs/ecc-base/last.pt ecc-0k7 ecc/zoo/ecc-0k7.pt --nominal-kbps 0.7 --force
$ECC export runs/ecc-ft-a/last.pt ecc-1k ecc/zoo/ecc-1k.pt --nominal-kbps 1.0 --force
$ECC export runs/ecc-ft-b/last.pt ecc-1k3 ecc/zoo/ecc-1k3.pt --nominal-kbps 1.3 --force
$ECC export runs/ecc-ft-c/last.pt ecc-1k5 ecc/zoo/ecc-1k5.pt --nominal-kbps 1.5 --force
