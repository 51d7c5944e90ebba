#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine: apt packages (codecs, speech
# corpus), a virtual environment in .venv, and the package with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg libavcodec-extra opus-tools codec2 speex libsndfile1
  asterisk-core-sounds-en-g722 asterisk-core-sounds-es-g722 asterisk-core-sounds-fr-g722
  asterisk-core-sounds-it-g722 asterisk-core-sounds-ru-g722 festvox-ru klettres-data ktuberling-data chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
# torch first and alone (its pin, from setup.cfg), so the CPU wheel on the machine is used and
# nothing pulls another build
.venv/bin/pip install -q "$(grep -Eo 'torch==[0-9.]+' setup.cfg)"
.venv/bin/pip install -q -e ".[test]"
# Encodec's model code for the benchmark adapter, without its dependency list (it names torchaudio,
# which would pull another torch; see benchmarks/codecs/encodec.py)
.venv/bin/pip install -q --no-deps encodec==0.1.1 einops==0.8.1
echo "installed: $(.venv/bin/python -c 'import torch, constriction; print("torch", torch.__version__)')"
