#!/usr/bin/env bash
# The KLT-started ecc-mel (docs/vocoder.md, "Starting from the KLT"): a log-mel encoder and decoder,
# each a conv net beside a linear block transform that training starts at the KLT of the training
# log-mel; the shared vocoder. Three training stages, then scripts/publish_ecc_mel.sh.
#   1. scripts/zoo/ecc-mel-klt-a.json: from scratch (linear paths at the KLT of 300 training files,
#      klt_step; conv paths at zero), log-mel L1 + lambda * kbps at 7 rates, vocoder frozen;
#   2. ecc-mel-klt-b.json: stage 1 continued with a wider rate range (lambda 0.5 -> 0.015, rate gains
#      0.3 -> 3.2);
#   3. ecc-mel-klt-c.json: decoder and vocoder fine-tuned on the waveform losses, encoder and latent
#      frozen (the bitstream stays stage 2's);
#   4. presets at the zoo ECC's rates, export to $OUT/ecc-mel.safetensors, ecc bench on both splits;
#      tables and plots in rd_curves/ecc_mel_klt/.
# Needs the shared vocoder's training run (runs/vocoder/last.pt, scripts/train_vocoder.sh): stage 1
# copies its vocoder as it is then. Resumable: a finished stage returns at once; bench jobs are cached.
#   bash scripts/ecc_mel_klt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
[ -d data/speech/train ] || $ECC prepare-data data/speech --recipe speech
if [ ! -f runs/ecc-mel-klt/last.pt ] && [ ! -f runs/vocoder/last.pt ]; then
  echo "scripts/ecc_mel_klt.sh: runs/vocoder/last.pt is missing: train the shared vocoder first (scripts/train_vocoder.sh)" >&2
  exit 1
fi
for stage in ecc-mel-klt-a ecc-mel-klt-b ecc-mel-klt-c; do
  $ECC train --config scripts/zoo/$stage.json
done
LAST=runs/ecc-mel-klt-c OUT=${OUT:-runs/ecc-mel-klt-zoo} RD=rd_curves/ecc_mel_klt \
  DESCRIPTION="log-mel encoder and decoder with KLT-started linear paths -> adapted shared vocoder; see scripts/ecc_mel_klt.sh" \
  bash scripts/publish_ecc_mel.sh
