#!/usr/bin/env bash
# Build a small fp32 model and its int8 file from the synthetic default, then run the ARM64 check on them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${ARM64_WORK:-/tmp/ecgshrink-arm64-models}
rm -rf "$WORK"; mkdir -p "$WORK"
"$PY" -m train.cli synth --out "$WORK/synth" --records 1500 --seed 0 >/dev/null
"$PY" -m train.cli prepare "$WORK/synth" --out "$WORK/cache" >/dev/null
"$PY" -m train.cli fit --data "$WORK/cache" --arch sepresnet --width 0.5 --epochs 3 --out "$WORK/run" >/dev/null
# --preset avx2 (u8 activations, reduce_range): the files that are bit-identical on x86 and ARM64
# whatever the host (on AVX2 without VNNI, s8 x s8 saturates: tools/arm64_check.sh)
"$PY" -m compress.cli quantize "$WORK/run/model.onnx" -o "$WORK/run/model.int8.onnx" --preset avx2 >/dev/null
# 1. the runtime code with hand-picked wheels; 2. the Pi path: the wheel + base deps, console scripts.
# Exit 75 (from either) = a download was unavailable; anything else non-zero is a real failure.
# int8 within INT8_ATOL with identical decisions, bit-identity printed but not required: this
# model (trained on the default since its record means were set) differs on Cortex-A72/A76 by
# 9.5e-3 at most with every decision the same, so "avx2 files are bit-identical" is not a rule
export STRICT_INT8=0
PYTHON="$PY" bash tools/arm64_check.sh "$WORK/run/model.onnx" "$WORK/run/model.int8.onnx"
PYTHON="$PY" bash tools/pi_install_check.sh "$WORK/run/model.onnx" "$WORK/run/model.int8.onnx" "$WORK/cache"
