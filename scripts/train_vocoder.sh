#!/usr/bin/env bash
# Resumable training of the shared vocoder, in rounds: train EVAL_EVERY more steps, then write the
# copy-synthesis learning curve (rd_curves/vocoder/). Run again after an interruption; it continues
# from runs/vocoder/last.pt. Uses a CUDA GPU when present (same code path). Each round also exports
# the generator (float16) to runs/vocoder/vocoder.safetensors: the file a milestone commits
# (ecc/zoo/vocoder.safetensors) and a lost run restarts from (INIT_FROM=ecc/zoo/vocoder.safetensors).
#   TOTAL=100000 EVAL_EVERY=2500 nohup bash scripts/train_vocoder.sh > runs/vocoder.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL=${TOTAL:-100000}
EVAL_EVERY=${EVAL_EVERY:-2500}
OUT=${OUT:-runs/vocoder}
DATA=${DATA:-data/speech}
PY=${PY:-.venv/bin/python}
INIT_FROM=${INIT_FROM:-}
[ -d "$DATA/train" ] || "$PY" -m ecc prepare-data "$DATA" --recipe speech
while :; do
  step=0
  [ -f "$OUT/last.pt" ] && step=$("$PY" -c "import torch, sys; print(int(torch.load(sys.argv[1], weights_only=True)['step']))" "$OUT/last.pt")
  [ "$step" -ge "$TOTAL" ] && break
  target=$(( (step / EVAL_EVERY + 1) * EVAL_EVERY ))
  "$PY" -m ecc train-vocoder --data "$DATA/train" --out "$OUT" --steps "$target" ${INIT_FROM:+--init-from "$INIT_FROM"}
  "$PY" -m ecc export-vocoder "$OUT/last.pt" "$OUT/vocoder.safetensors" --half --force
  "$PY" -m benchmarks.vocoder_curve "$OUT/last.pt" --data "$DATA" --out rd_curves/vocoder --reference rd_curves/vocoder/run1/curve.csv
done
