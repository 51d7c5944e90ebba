#!/usr/bin/env bash
# How the zoo model in ecc/zoo/ (one variable-rate ECC model, ecc.safetensors) was trained: CPU,
# 2 cores. Every step resumes from runs/<name>/last.pt when rerun (and returns at once when done);
# configs are in scripts/zoo/. Nothing is taken from git history: run from a clean clone, the chain
# trains from scratch (days on 2 cores; the shipped model's record says which steps it ran).
#
# 1. First generation, no harmonic source (scripts/zoo/gen1.json): 9500 steps at lambda 0.02.
#    (The shipped chain started from the first-generation ecc-1k5 of commit 2f33f4b, trained
#    2000 steps at lambda 0.05 + 5500 at 0.02 + a 900-step fine-tune; gen1.json is that recipe.)
# 2. The harmonic-source base from it (base.json): 12500 steps at lr 5e-4;
# 3. continued at lr 3e-4 with another crop seed (base2.json), 20750 steps;
# 4. continued again (base3.json), 30000 steps, lr 3e-4 -> 1e-5 (cosine), a third crop seed;
# 5. fine-tuned with spectral errors above the reference weighted 3x (base4.json), 3000 steps,
#    lr 1e-4 -> 1e-5: runs/ecc-hs4, the per-rate zoo's ecc-1k7;
# 6. the variable-rate model from it (variable-rate.json): seven gain vectors, one per lambda of the
#    per-rate zoo it replaces (2.0 ... 0.0004), step s training rate s mod 7, 10500 steps,
#    lr 3e-4 -> 1e-5 (cosine), gains learning 10x faster;
# 7. presets placed on the dev split at the per-rate zoo's rates, and export (float16 weights).
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
[ -d data/asterisk/train ] || $ECC prepare-data data/asterisk

for cfg in gen1 base base2 base3 base4 variable-rate; do
  $ECC train --config scripts/zoo/$cfg.json
done
.venv/bin/python -m benchmarks.variable_rate calibrate runs/ecc-vr/last.pt --presets runs/ecc-vr/presets.json
$ECC export runs/ecc-vr/last.pt ecc ecc/zoo/ecc.safetensors --presets runs/ecc-vr/presets.json --half --force \
  --description "variable-rate ECC (harmonic source), 7 trained rates; see scripts/train_zoo.sh"
