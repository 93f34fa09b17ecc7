#!/usr/bin/env bash
# The demo: grapheme-to-phoneme conversion with attention on the CMU Pronouncing Dictionary, with a
# short training budget (SEQGRAD_DEMO_MINUTES, default 3), then the pronunciations of a few words
# and their attention heatmaps. The full run and its figures: README, "The demos".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

if command -v npm >/dev/null 2>&1; then bash scripts/setup.sh; else bash scripts/setup.sh npm; fi
bash scripts/fetch_cmudict.sh
seqgrad_configure build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)" --target g2p

out=runs/demo
# The 15-minute recipe (README, "The demos") at half the width: 6 epochs with a cool-down, short
# enough for a first run; SEQGRAD_DEMO_MINUTES caps it on slower machines. Its time and WER:
# examples/g2p/results/README.md.
# --overwrite: each run of the demo replaces the previous one's folder.
./build/bin/g2p --out "$out" train --overwrite --minutes "${SEQGRAD_DEMO_MINUTES:-3}" --hidden 128 \
  --dropout 0.2 --lr 3e-3 --warmup 500 --cooldown 0.3 --epochs 6
echo
./build/bin/g2p --out "$out" predict seqgrad attention phoneme colonel through "$@"
echo
echo "attention heatmaps: $out/heatmaps/*.png; loss curve: $out/loss.png"
