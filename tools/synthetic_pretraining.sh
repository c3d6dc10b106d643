#!/usr/bin/env bash
# Does pretraining on the synthetic default help when only a few real records are labelled?
# For N in 1,000 and 5,000 real PTB-XL training records (seeded subsamples of folds 1-8) and two
# seeds: sepresnet w1 (or ARCH) trained on the N records alone vs the same network started from a model
# trained only on the synthetic default (train fit --init), same recipe otherwise. Models are
# chosen on fold 9 (early stopping); fold 10 is reported. Prints a Markdown table.
#
# Usage: [SIZES="1000 5000"] [ARCH=sepresnet] tools/synthetic_pretraining.sh REAL_CACHE SYNTHETIC_MODEL.onnx WORK_DIR
#   REAL_CACHE: 'train prepare' of real PTB-XL; SYNTHETIC_MODEL: an ARCH w1 model trained on the
#   synthetic default only. tools/real-ptbxl.sh makes a sepresnet one (WORK/extra/synthetic-sepresnet,
#   8 whole-record epochs); the better start (docs/sim-to-real.md) is trained with the fine-tuning's
#   own crops: train fit --data SYNTH_CACHE --arch ARCH --width 1 --crop 250 --epochs 15 --patience 5
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${1:?REAL_CACHE}; INIT=${2:?SYNTHETIC_MODEL}; WORK=${3:?WORK_DIR}
BIN=${BIN:-.venv/bin}
mkdir -p "$WORK"
COMMON=(--data "$CACHE" --arch "${ARCH:-sepresnet}" --width 1 --crop 250 --epochs 30 --patience 8)
echo "| real records | seed | real only: val / test | synthetic init: val / test | test difference |"
echo "|---|---|---|---|---|"
for n in ${SIZES:-1000 5000}; do
  for seed in 0 1; do
    for kind in real init; do
      out=$WORK/n$n-s$seed-$kind
      extra=(); [[ $kind == init ]] && extra=(--init "$INIT")
      [[ -f $out/run.json ]] || "$BIN/train" fit "${COMMON[@]}" --max-train "$n" --seed "$seed" "${extra[@]}" -o "$out" \
        >/dev/null 2>"$out.log" || { tail -3 "$out.log" >&2; exit 1; }
    done
    "$BIN/python" - "$WORK/n$n-s$seed-real/run.json" "$WORK/n$n-s$seed-init/run.json" "$n" "$seed" <<'PY'
import json, sys
real, init = (json.load(open(p)) for p in sys.argv[1:3])
print(f"| {int(sys.argv[3]):,} | {sys.argv[4]} | {real['val_macro_auc']:.4f} / {real['test_macro_auc']:.4f} | "
      f"{init['val_macro_auc']:.4f} / {init['test_macro_auc']:.4f} | "
      f"{(init['test_macro_auc'] - real['test_macro_auc']) * 100:+.2f} pt |")
PY
  done
done
