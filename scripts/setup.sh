#!/usr/bin/env bash
# Installs the Debian packages seqgrad builds with (and any package named as an argument); does
# nothing when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache
  xtensor-dev libxsimd-dev libopenblas-dev libdnnl-dev
  libtbb-dev libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev zlib1g-dev
  pkg-config libcairo2-dev fonts-dejavu-core  # the pictures: cairo, found with pkg-config, and a sans-serif font
  python3 python3-numpy  # tests/interop/read_safetensors.py reads seqgrad's weights by the format alone
  clang-14 libclang-rt-14-dev llvm-14  # the sanitizer builds and libFuzzer (llvm-symbolizer-14 for their reports)
  libopenmpi-dev openmpi-bin  # seqgrad::distributed and its tests through mpirun
  libsentencepiece-dev  # seq2seq --subwords: SentencePiece subword models (found with pkg-config)
  "$@"
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
