#!/usr/bin/env bash
# The 96-channel KLT-started ecc-mel: stage a with a 96-channel latent, stage b (the 48-channel
# recipe's config; the width comes with the checkpoint), stage c (3,000 more steps of stage b's losses,
# the trained rate gains kept), decoded through the shared vocoder with its phase reconstructed
# (PGHI + 8 Griffin-Lim iterations), and stage d-mild (4,000 steps with the log-mel L1 weighted toward
# the low bands, mel_band_weights 4, 2, 1, 1: the zoo's ecc-mel). Then scripts/publish_ecc_mel.sh with
# presets at the zoo ECC's rates plus 3k0 and 3k1 (2.9 and 3.1 kbps on the dev split)
# -> rd_curves/ecc_mel_96d_mild_voc35k/ (named for the zoo's vocoder, step 35,000). Earlier published
# sets: STAGE=d (weights 16, 4, 1, 0.5) -> rd_curves/ecc_mel_96d/, STAGE=c -> rd_curves/ecc_mel_96/.
# Resumable; ~65 min of training on two threads. Needs the shared vocoder's run (runs/vocoder/last.pt),
# or VOCODER=a vocoder file to use as it is, or VOCODER_FROM=a checkpoint or vocoder file to use with its
# phase reconstructed (the zoo's ecc-mel: VOCODER_FROM=ecc/zoo/vocoder.safetensors, step 35,000).
#   bash scripts/ecc_mel_klt96.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ECC=.venv/bin/ecc
[ -d data/speech/train ] || $ECC prepare-data data/speech --recipe speech
[ -d data/asterisk/test ] || $ECC prepare-data data/asterisk
if [ -z "${VOCODER:-}${VOCODER_FROM:-}" ] && [ ! -f runs/vocoder/last.pt ]; then
  echo "scripts/ecc_mel_klt96.sh: runs/vocoder/last.pt is missing: train the shared vocoder first (scripts/train_vocoder.sh) or give VOCODER=FILE or VOCODER_FROM=FILE" >&2
  exit 1
fi
STAGE=${STAGE:-d-mild}
case $STAGE in  # the last stage's config (none for c) and where its published set goes
  c) LAST_CONFIG=; RD=rd_curves/ecc_mel_96 ;;
  d) LAST_CONFIG=scripts/zoo/ecc-mel-klt96-d.json; RD=rd_curves/ecc_mel_96d ;;
  d-mild) LAST_CONFIG=scripts/zoo/ecc-mel-klt96-d-mild.json; RD=rd_curves/ecc_mel_96d_mild_voc35k ;;
  *) echo "scripts/ecc_mel_klt96.sh: STAGE must be c, d or d-mild, got $STAGE" >&2; exit 1 ;;
esac
$ECC train --config scripts/zoo/ecc-mel-klt96-a.json
$ECC train --config scripts/zoo/ecc-mel-klt-b.json --out runs/ecc-mel-klt96-b --init-from runs/ecc-mel-klt96/last.pt
$ECC train --config scripts/zoo/ecc-mel-klt96-c.json
[ -z "$LAST_CONFIG" ] || $ECC train --config "$LAST_CONFIG"
LAST=runs/ecc-mel-klt96-$STAGE OUT=${OUT:-runs/ecc-mel-96$STAGE-zoo} RD=$RD VOCODER=${VOCODER:-} PHASE=reconstructed \
  EXTRA_TARGETS="ecc-mel-3k0=2.9 ecc-mel-3k1=3.1" \
  DESCRIPTION="log-mel encoder and decoder with KLT-started linear paths, 96-channel latent (stage $STAGE) -> shared vocoder, phase reconstructed from its magnitude; see scripts/ecc_mel_klt96.sh" \
  bash scripts/publish_ecc_mel.sh
