#!/usr/bin/env bash
# The ecc-mel candidate, end to end: ECC's analysis side and latent codec, a decoder predicting the
# shared vocoder's log-mel, and the vocoder. Five training stages, then presets, export and the
# benchmark against ECC, Opus and Lyra on the seen-speaker test split and the unseen-speaker set.
#   1. scripts/zoo/ecc-mel.json: the log-mel decoder on the frozen zoo ECC model (7 minutes);
#      exported to runs/ecc-mel/ecc-mel.safetensors (the ECC presets, renamed ecc-mel-*);
#   2. ecc-mel-recon-ft.json: decoder and vocoder (the shared run's runs/vocoder/last.pt, as it is
#      when the stage starts) fine-tuned on the waveform losses, encoder and latent frozen;
#   3. ecc-mel-e2e.json: encoder, latent codec and decoder trained for the log-mel + lambda * kbps
#      (the bitstream changes: new rates);
#   4. ecc-mel-e2e-seen.json: stage 3 continued with the four Asterisk voices (the zoo ECC's whole
#      training set) drawn three times as often per second (data_weights);
#   5. ecc-mel-e2e-ft.json: stage 2 again on the new encoder, with the same weights;
#   6. presets placed on the dev split at the ECC presets' rates (benchmarks.variable_rate);
#   7. export (float16) to $OUT/ecc-mel.safetensors and ecc bench on both splits.
# Resumable: each stage resumes from its run folder's last.pt (a finished stage returns at once);
# bench jobs are cached. Results: $OUT/results/{asterisk_test,unseen_test}, published side by side in
# rd_curves/ecc_mel/ with the log-mel distances (benchmarks/mel_distance.py).
#   bash scripts/ecc_mel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
PY=.venv/bin/python
OUT=${OUT:-runs/ecc-mel-zoo}
[ -d data/speech/train ] || $ECC prepare-data data/speech --recipe speech

$ECC train --config scripts/zoo/ecc-mel.json
$PY -c "import json, sys; print(json.dumps([{**p, 'name': p['name'].replace('ecc-', 'ecc-mel-')} for p in json.load(open('ecc/zoo/ecc.json'))['presets']], indent=2))" > runs/ecc-mel/presets.json
[ -f runs/ecc-mel/ecc-mel.safetensors ] || $ECC export runs/ecc-mel/last.pt ecc-mel runs/ecc-mel/ecc-mel.safetensors \
  --presets runs/ecc-mel/presets.json --half --description "ecc-mel stage 1: log-mel decoder on the frozen ECC model"
for stage in ecc-mel-recon-ft ecc-mel-e2e ecc-mel-e2e-seen ecc-mel-e2e-ft; do
  $ECC train --config scripts/zoo/$stage.json
done
LAST=runs/ecc-mel-e2e-seen-ft
$PY -m benchmarks.variable_rate calibrate $LAST/last.pt --presets $LAST/presets.json --targets ecc/zoo/ecc.json \
  --prefix ecc-mel --table rd_curves/ecc_mel/calibration
mkdir -p "$OUT/results"
$ECC export $LAST/last.pt ecc-mel "$OUT/ecc-mel.safetensors" --presets $LAST/presets.json --half --force \
  --description "ECC analysis + latent trained for the log-mel -> log-mel decoder -> adapted shared vocoder; see scripts/ecc_mel.sh"
POINTS=ecc-mel=$($PY -c "import json; print(','.join(p['name'] for p in json.load(open('$LAST/presets.json'))))")
for split in asterisk_test unseen_test; do  # start from the published result sets (their baselines' rows)
  mkdir -p "$OUT/results/$split"
  cp rd_curves/$split/per_file.csv "$OUT/results/$split/"
done
export ECC_ZOO_PATH=$OUT
$ECC bench data/asterisk/test --codecs ecc-mel --points "$POINTS" --metrics pesq,stoi,visqol --anchor opus \
  --jobs "${JOBS:-2}" --out "$OUT/results/asterisk_test" --update
$ECC bench data/speech/unseen --exclude 'asterisk/*' --spread 150 --codecs ecc-mel --points "$POINTS" \
  --metrics pesq,stoi,visqol --anchor opus --jobs "${JOBS:-2}" --out "$OUT/results/unseen_test" --update
# both splits side by side, BD-rate against Lyra v2 and the zoo ECC (against Opus: each split's bd_rate.md above)
$ECC plot "$OUT/results/asterisk_test/per_file.csv" "$OUT/results/unseen_test/per_file.csv" --out rd_curves/ecc_mel \
  --anchor lyra,ecc
cp "$OUT/results/asterisk_test/bd_rate.md" rd_curves/ecc_mel/bd_rate_opus_asterisk_test.md
cp "$OUT/results/unseen_test/bd_rate.md" rd_curves/ecc_mel/bd_rate_opus_unseen_test.md
$PY -m benchmarks.mel_distance "$OUT/ecc-mel.safetensors" data/asterisk/test data/speech/unseen
