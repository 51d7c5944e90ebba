#!/usr/bin/env bash
# Re-measure the shipped zoo model against the published baselines: the ECC rows of the seen-speaker
# (rd_curves/asterisk_test) and unseen-speaker (rd_curves/unseen_test) result sets (other codecs'
# rows kept), its comparison with the per-rate zoo it replaced (rd_curves/variable_rate), cross-thread
# exactness on every test file at every preset (rd_curves/ecc_determinism), and rate vs estimate
# and speed (rd_curves/ecc_zoo).
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
PY=.venv/bin/python
POINTS=ecc=ecc-0k4,ecc-0k6,ecc-1k1,ecc-1k5,ecc-1k7,ecc-3k6,ecc-6k0
$ECC bench data/asterisk/test --codecs ecc --points "$POINTS" --metrics pesq,stoi,visqol --anchor opus \
  --jobs "${JOBS:-2}" --out rd_curves/asterisk_test --update
bash scripts/bench_unseen.sh --codecs ecc --update
for split in asterisk_test unseen_test; do
  $PY -m benchmarks.variable_rate compare rd_curves/$split/aggregate.csv \
    rd_curves/variable_rate/per_rate_zoo_$split.csv --split $split
done
$PY -m benchmarks.ecc_determinism
$PY -m benchmarks.ecc_report
