#!/usr/bin/env bash
# Publish a trained ecc-mel run: presets, export and the benchmark against ECC, Opus and Lyra on the
# seen-speaker test split and the unseen-speaker set (the last stages of scripts/ecc_mel.sh and
# scripts/ecc_mel_klt.sh).
#   1. presets placed on the dev split at the zoo ECC presets' rates (benchmarks.variable_rate), and at
#      any more rates $EXTRA_TARGETS gives (e.g. "ecc-mel-3k0=2.9 ecc-mel-3k1=3.1");
#   2. export (float16) to $OUT/ecc-mel.safetensors (with the vocoder file $VOCODER in place of the
#      run's own, when given: ecc export --vocoder; or, with PHASE=reconstructed|generated, the vocoder
#      VOCODER_FROM -- a training checkpoint or vocoder file, default runs/vocoder/last.pt -- exported
#      with that phase);
#   3. ecc bench on both splits (cached; starts from the published result sets' baseline rows), the
#      RD plots and BD-rate against Lyra v2 and the zoo ECC, and the log-mel distances, all in $RD.
#   LAST=runs/ecc-mel-e2e-seen-ft OUT=runs/ecc-mel-zoo RD=rd_curves/ecc_mel DESCRIPTION="..." bash scripts/publish_ecc_mel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LAST:?the training run folder (its last.pt is published)}" "${OUT:?the output folder}" \
  "${RD:?the rd_curves folder for the tables}" "${DESCRIPTION:?the description written into the model file}"
ECC=.venv/bin/ecc
PY=.venv/bin/python
mkdir -p "$RD" "$OUT/results"
if [ -z "${VOCODER:-}" ] && [ -n "${PHASE:-}" ]; then  # the vocoder VOCODER_FROM (default: the shared run's latest step) with that phase
  VOCODER=$OUT/vocoder-$PHASE.safetensors
  $ECC export-vocoder "${VOCODER_FROM:-runs/vocoder/last.pt}" "$VOCODER" --phase "$PHASE" --half --force
fi
$PY -m benchmarks.variable_rate calibrate $LAST/last.pt --presets $LAST/presets.json --targets ecc/zoo/ecc.json \
  --prefix ecc-mel --table "$RD/calibration" ${EXTRA_TARGETS:+--extra $EXTRA_TARGETS}
$ECC export $LAST/last.pt ecc-mel "$OUT/ecc-mel.safetensors" --presets $LAST/presets.json --half --force \
  --description "$DESCRIPTION" ${VOCODER:+--vocoder "$VOCODER"}
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
$ECC plot "$OUT/results/asterisk_test/per_file.csv" "$OUT/results/unseen_test/per_file.csv" --out "$RD" \
  --anchor lyra,ecc
cp "$OUT/results/asterisk_test/bd_rate.md" "$RD/bd_rate_opus_asterisk_test.md"
cp "$OUT/results/unseen_test/bd_rate.md" "$RD/bd_rate_opus_unseen_test.md"
$PY -m benchmarks.mel_distance "$OUT/ecc-mel.safetensors" data/asterisk/test data/speech/unseen --out "$RD/mel_distance"
