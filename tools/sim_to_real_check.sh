#!/usr/bin/env bash
# The quick sim-to-real screen used to choose generator changes (docs/sim-to-real.md): generate the
# synthetic default (20,000 records, seed 0), train strided-cnn w1 on it alone (2.5 s crops, up to
# 10 epochs, one thread), and score it on real PTB-XL's fold 9 (the validation fold: choices only).
# About 2 minutes on 2 cores. Prints the macro and per-class AUC. SEEDS="0 1" trains one model per
# training seed and prints their mean too (one seed moves the macro AUC by ~0.5 pt: compare means);
# FIT_ARGS adds 'train fit' options (e.g. --augment).
#
# Usage: tools/sim_to_real_check.sh REAL_CACHE WORK_DIR
#   REAL_CACHE: 'train prepare' of real PTB-XL. For generator version 1, run it from a checkout
#   of commit 669201f.
set -euo pipefail
REAL=${1:?REAL_CACHE}; WORK=${2:?WORK_DIR}
BIN=${BIN:-.venv/bin}
mkdir -p "$WORK"
if [ ! -f "$WORK/cache/manifest.json" ]; then
  [ -f "$WORK/data/ptbxl_database.csv" ] || "$BIN/train" synth --out "$WORK/data" --records 20000 --seed 0 >/dev/null 2>&1
  "$BIN/train" prepare "$WORK/data" --out "$WORK/cache" >/dev/null 2>&1
fi
for seed in ${SEEDS:-0}; do
  run=$WORK/run; [[ $seed == 0 ]] || run=$WORK/run-s$seed
  # shellcheck disable=SC2086  # FIT_ARGS: extra 'train fit' options, word-split on purpose
  [ -f "$run/model.onnx" ] || "$BIN/train" fit --data "$WORK/cache" --arch strided-cnn --width 1 --crop 250 \
    --epochs 10 --patience 4 --threads 1 --seed "$seed" ${FIT_ARGS:-} -o "$run" >"$WORK/fit-s$seed.log" 2>&1
  "$BIN/benchmark" run "$run/model.onnx" --data "$REAL" --split val --no-floor --time-s 0.1 --json \
    >"$WORK/real-val-s$seed.json" 2>"$WORK/bench.log"
done
"$BIN/python" - "$WORK"/real-val-s*.json <<'PY'
import json, sys
rows = [json.load(open(path))["rows"][0] for path in sys.argv[1:]]
for path, row in zip(sys.argv[1:], rows):
    print(f"{path.rsplit('-', 1)[-1][:-5]}: real fold 9 macro AUC {row['macro_auc']:.4f};",
          " ".join(f"{name} {auc:.3f}" for name, auc in row["auc"].items()))
if len(rows) > 1:
    print(f"mean of {len(rows)} training seeds: {sum(r['macro_auc'] for r in rows) / len(rows):.4f};",
          " ".join(f"{name} {sum(r['auc'][name] for r in rows) / len(rows):.3f}" for name in rows[0]["auc"]))
PY
