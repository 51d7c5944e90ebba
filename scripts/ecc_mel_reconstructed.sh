#!/usr/bin/env bash
# The KLT-started ecc-mel (stages a and b of scripts/ecc_mel_klt.sh) decoded through the shared
# vocoder's latest generator with its phase *reconstructed* from its magnitude (PGHI + Griffin-Lim;
# docs/vocoder.md), in place of stage c's adapted vocoder with generated phase. Then
# scripts/publish_ecc_mel.sh: presets, export, bench of both splits -> rd_curves/ecc_mel_reconstructed/.
# Needs the shared vocoder's run (runs/vocoder/last.pt, scripts/train_vocoder.sh). Resumable.
#   bash scripts/ecc_mel_reconstructed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
[ -d data/speech/train ] || $ECC prepare-data data/speech --recipe speech
[ -d data/asterisk/test ] || $ECC prepare-data data/asterisk
if [ ! -f runs/vocoder/last.pt ]; then
  echo "scripts/ecc_mel_reconstructed.sh: runs/vocoder/last.pt is missing: train the shared vocoder first (scripts/train_vocoder.sh)" >&2
  exit 1
fi
for stage in ecc-mel-klt-a ecc-mel-klt-b; do
  $ECC train --config scripts/zoo/$stage.json
done
LAST=runs/ecc-mel-klt-b OUT=${OUT:-runs/ecc-mel-reconstructed-zoo} RD=rd_curves/ecc_mel_reconstructed VOCODER=${VOCODER:-} PHASE=reconstructed \
  DESCRIPTION="log-mel encoder and decoder with KLT-started linear paths -> shared vocoder, phase reconstructed from its magnitude; see scripts/ecc_mel_reconstructed.sh" \
  bash scripts/publish_ecc_mel.sh
