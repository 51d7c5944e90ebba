#!/usr/bin/env bash
# The published results set on speakers unseen in training: 150 files spread over the KDE voices held
# out whole (klettres/ktuberling de, hu, nl, uk). The held-out Asterisk voice (asterisk/fr) is left
# out here because the current ECC zoo was trained on it (it predates the unseen split).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d data/speech/unseen ] || .venv/bin/ecc prepare-data data/speech --recipe speech
.venv/bin/ecc bench data/speech/unseen --exclude 'asterisk/*' --spread 150 \
  --codecs opus,opus-cbr,amrwb,codec2,speex,lyra,lpcnet,ecc --metrics pesq,stoi,visqol --anchor opus \
  --points opus=6k,7k,8k,10k,12k,16k --points opus-cbr=6k,8k,12k,16k --points amrwb=6.6k,8.85k,12.65k,23.85k \
  --points codec2=3200,2400,1600,1200,700C --points speex=q0,q2,q4,q6 --points lyra=3.2k,6k,9.2k \
  --points ecc=ecc-0k4,ecc-0k6,ecc-1k1,ecc-1k5,ecc-1k7,ecc-3k6,ecc-6k0 \
  --jobs "${JOBS:-2}" --out rd_curves/unseen_test --html --listen 3 "$@"
