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
#   6.-7. scripts/publish_ecc_mel.sh: presets at the ECC presets' rates, export (float16) to
#      $OUT/ecc-mel.safetensors and ecc bench on both splits.
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
LAST=runs/ecc-mel-e2e-seen-ft OUT=$OUT RD=rd_curves/ecc_mel \
  DESCRIPTION="ECC analysis + latent trained for the log-mel -> log-mel decoder -> adapted shared vocoder; see scripts/ecc_mel.sh" \
  bash scripts/publish_ecc_mel.sh
