#!/usr/bin/env bash
# Does pretraining on the synthetic default help when only a few real records are labelled?
# For N in 1,000 and 5,000 real PTB-XL training records (seeded subsamples of folds 1-8) and two
# seeds: sepresnet w1 (or ARCH) trained on the N records alone vs the same network started from a model
# trained only on the synthetic default (train fit --init), same recipe otherwise. Models are
# chosen on fold 9 (early stopping); fold 10 is reported. With several peak learning rates (LRS),
# each arm gets the one with the best mean fold-9 AUC over the seeds: a fair real-only baseline,
# since a small training set wants a different rate than the default's. Prints a Markdown table
# (tools/pretraining_curves.py WORK_DIR, which also plots the curves with --plot OUT.png).
#
# Usage: [SIZES="1000 5000"] [LRS="0.001"] [ARCH=sepresnet] [WIDTH=1] [THREADS=N] tools/synthetic_pretraining.sh REAL_CACHE SYNTHETIC_MODEL.onnx WORK_DIR
#   REAL_CACHE: 'train prepare' of real PTB-XL; SYNTHETIC_MODEL: an ARCH model of width WIDTH trained on the
#   synthetic default only. tools/real-ptbxl.sh makes a sepresnet one (WORK/extra/synthetic-sepresnet,
#   8 whole-record epochs); the better start (docs/sim-to-real.md) is trained with the fine-tuning's
#   own crops: train fit --data SYNTH_CACHE --arch ARCH --width WIDTH --crop 250 --epochs 15 --patience 5
#   Runs at the default rate (0.001) live in WORK_DIR/nN-sS-KIND, others in WORK_DIR/nN-lrLR-sS-KIND
#   (one WORK_DIR per ARCH and WIDTH). THREADS: torch's CPU threads per run (default: torch's choice).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${1:?REAL_CACHE}; INIT=${2:?SYNTHETIC_MODEL}; WORK=${3:?WORK_DIR}
BIN=${BIN:-.venv/bin}
LRS=${LRS:-0.001}
mkdir -p "$WORK"
COMMON=(--data "$CACHE" --arch "${ARCH:-sepresnet}" --width "${WIDTH:-1}" --crop 250 --epochs 30 --patience 8)
[[ -n ${THREADS:-} ]] && COMMON+=(--threads "$THREADS")
run_dir() { # N LR SEED KIND
  if [[ $2 == 0.001 ]]; then echo "$WORK/n$1-s$3-$4"; else echo "$WORK/n$1-lr$2-s$3-$4"; fi
}
for n in ${SIZES:-1000 5000}; do
  for lr in $LRS; do
    for seed in 0 1; do
      for kind in real init; do
        out=$(run_dir "$n" "$lr" "$seed" "$kind")
        extra=(); [[ $kind == init ]] && extra=(--init "$INIT")
        [[ -f $out/run.json ]] || "$BIN/train" fit "${COMMON[@]}" --max-train "$n" --lr "$lr" --seed "$seed" \
          "${extra[@]}" -o "$out" >/dev/null 2>"$out.log" || { tail -3 "$out.log" >&2; exit 1; }
      done
    done
  done
done
# the table: each arm at the rate with the best mean fold-9 AUC among LRS (tools/pretraining_curves.py)
# shellcheck disable=SC2086  # SIZES and LRS: lists, word-split on purpose
"$BIN/python" tools/pretraining_curves.py "$WORK" --sizes ${SIZES:-1000 5000} --lrs $LRS
