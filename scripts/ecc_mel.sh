#!/usr/bin/env bash
# The ecc-mel family's cheap stage, end to end: train its log-mel decoder on the shipped ECC model
# (encoder, latent codec and vocoder frozen: the bitstream and its presets are the ECC model's),
# export it with the shared vocoder's latest checkpoint, and measure it against ECC, Opus and Lyra
# on the seen-speaker test split and the unseen-speaker set. Resumable (training resumes from
# runs/ecc-mel/last.pt; bench jobs are cached). Results: $OUT/results/{asterisk_test,unseen_test},
# published side by side in rd_curves/ecc_mel/ with the log-mel distances (benchmarks/mel_distance.py).
#   VOCODER=runs/vocoder/last.pt bash scripts/ecc_mel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
PY=.venv/bin/python
VOCODER=${VOCODER:-runs/vocoder/last.pt}
OUT=${OUT:-runs/ecc-mel-zoo}
[ -d data/speech/train ] || $ECC prepare-data data/speech --recipe speech
$ECC train --config scripts/zoo/ecc-mel.json
mkdir -p "$OUT/results"
# same operating points as the ECC presets (same symbols, same bytes), renamed ecc-mel-*
$PY -c "import json, sys; print(json.dumps([{**p, 'name': p['name'].replace('ecc-', 'ecc-mel-')} for p in json.load(open('ecc/zoo/ecc.json'))['presets']], indent=2))" > runs/ecc-mel/presets.json
$ECC export runs/ecc-mel/last.pt ecc-mel "$OUT/ecc-mel.safetensors" --presets runs/ecc-mel/presets.json --half \
  --vocoder "$VOCODER" --force --description "ECC latent -> log-mel -> shared vocoder (candidate)"
POINTS=ecc-mel=$($PY -c "import json; print(','.join(p['name'] for p in json.load(open('runs/ecc-mel/presets.json'))))")
for split in asterisk_test unseen_test; do  # start from the published result sets (their baselines' rows)
  mkdir -p "$OUT/results/$split"
  cp rd_curves/$split/per_file.csv "$OUT/results/$split/"
done
export ECC_ZOO_PATH=$OUT
$ECC bench data/asterisk/test --codecs ecc-mel --points "$POINTS" --metrics pesq,stoi,visqol --anchor opus \
  --jobs "${JOBS:-2}" --out "$OUT/results/asterisk_test" --update
$ECC bench data/speech/unseen --exclude 'asterisk/*' --spread 150 --codecs ecc-mel --points "$POINTS" \
  --metrics pesq,stoi,visqol --anchor opus --jobs "${JOBS:-2}" --out "$OUT/results/unseen_test" --update
# both splits side by side, BD-rate against Lyra v2 (against Opus: each split's bd_rate.md above)
$ECC plot "$OUT/results/asterisk_test/per_file.csv" "$OUT/results/unseen_test/per_file.csv" --out rd_curves/ecc_mel \
  --anchor lyra
cp "$OUT/results/asterisk_test/bd_rate.md" rd_curves/ecc_mel/bd_rate_opus_asterisk_test.md
cp "$OUT/results/unseen_test/bd_rate.md" rd_curves/ecc_mel/bd_rate_opus_unseen_test.md
$PY -m benchmarks.mel_distance "$OUT/ecc-mel.safetensors" data/asterisk/test data/speech/unseen
