#!/usr/bin/env bash
# The quick sim-to-real screen used to choose generator changes (docs/sim-to-real.md): generate the
# synthetic default (20,000 records, seed 0), train strided-cnn w1 on it alone (2.5 s crops, up to
# 10 epochs, one thread), and score it on real PTB-XL's fold 9 (the validation fold: choices only).
# About 2 minutes on 2 cores. Prints the macro and per-class AUC.
#
# Usage: tools/sim_to_real_check.sh REAL_CACHE WORK_DIR
#   REAL_CACHE: 'train prepare' of real PTB-XL. For generator version 1, run it from a checkout
#   of commit 669201f.
set -euo pipefail
REAL=${1:?REAL_CACHE}; WORK=${2:?WORK_DIR}
BIN=${BIN:-.venv/bin}
mkdir -p "$WORK"
[ -f "$WORK/data/ptbxl_database.csv" ] || "$BIN/train" synth --out "$WORK/data" --records 20000 --seed 0 >/dev/null 2>&1
[ -f "$WORK/cache/manifest.json" ] || "$BIN/train" prepare "$WORK/data" --out "$WORK/cache" >/dev/null 2>&1
[ -f "$WORK/run/model.onnx" ] || "$BIN/train" fit --data "$WORK/cache" --arch strided-cnn --width 1 --crop 250 \
  --epochs 10 --patience 4 --threads 1 -o "$WORK/run" >"$WORK/fit.log" 2>&1
"$BIN/benchmark" run "$WORK/run/model.onnx" --data "$REAL" --split val --no-floor --time-s 0.1 --json \
  >"$WORK/real-val.json" 2>"$WORK/bench.log"
"$BIN/python" - "$WORK/real-val.json" <<'PY'
import json, sys
row = json.load(open(sys.argv[1]))["rows"][0]
print(f"real fold 9 macro AUC {row['macro_auc']:.4f};",
      " ".join(f"{name} {auc:.3f}" for name, auc in row["auc"].items()))
PY
