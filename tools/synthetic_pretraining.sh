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
# EPOCHS (a list, default 30) adds the epoch budget to that grid, for both arms; INTERPOLATE=1 gives
# the started runs --interpolate (train.interpolate: alpha chosen on fold 9, alpha 1 among them).
# SOUP=1 then cooks, per N, seed and arm, the greedy soup of that arm's runs in this grid (train soup;
# the started arm may also take the start itself) into WORK_DIR/nN-soup-sS-KIND: a further recipe each
# arm may choose, on fold 9 like the others; a soup is cooked again when its grid changed (--if-changed).
#
# Usage: [SIZES="1000 5000"] [LRS="0.001"] [EPOCHS="30"] [INTERPOLATE=1] [SOUP=1] [SEEDS="0 1"] [ARCH=sepresnet] [WIDTH=1] [THREADS=N]
#        tools/synthetic_pretraining.sh REAL_CACHE SYNTHETIC_MODEL.onnx WORK_DIR
#   REAL_CACHE: 'train prepare' of real PTB-XL; SYNTHETIC_MODEL: an ARCH model of width WIDTH trained on the
#   synthetic default only. tools/real-ptbxl.sh makes a sepresnet one (WORK/extra/synthetic-sepresnet,
#   8 whole-record epochs); the better start (docs/sim-to-real.md) is trained with the fine-tuning's
#   own crops: train fit --data SYNTH_CACHE --arch ARCH --width WIDTH --crop 250 --epochs 15 --patience 5
#   Runs live in WORK_DIR/nN[-eEPOCHS][-lrLR]-sS-KIND (epochs other than 30, rates other than 0.001;
#   KIND: real, init, or init-interp; one WORK_DIR per ARCH and WIDTH). THREADS: torch's CPU threads per run (default: torch's choice).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${1:?REAL_CACHE}; INIT=${2:?SYNTHETIC_MODEL}; WORK=${3:?WORK_DIR}
BIN=${BIN:-.venv/bin}
LRS=${LRS:-0.001}
EPOCHS=${EPOCHS:-30}
INIT_KIND=init; [[ ${INTERPOLATE:-0} == 1 ]] && INIT_KIND=init-interp
mkdir -p "$WORK"
COMMON=(--data "$CACHE" --arch "${ARCH:-sepresnet}" --width "${WIDTH:-1}" --crop 250 --patience 8)
[[ -n ${THREADS:-} ]] && COMMON+=(--threads "$THREADS")
run_dir() { # N EPOCHS LR SEED KIND
  local name="n$1"
  [[ $2 == 30 ]] || name+="-e$2"
  [[ $3 == 0.001 ]] || name+="-lr$3"
  echo "$WORK/$name-s$4-$5"
}
for n in ${SIZES:-1000 5000}; do
  for epochs in $EPOCHS; do
    for lr in $LRS; do
      for seed in ${SEEDS:-0 1}; do
        for kind in real "$INIT_KIND"; do
          out=$(run_dir "$n" "$epochs" "$lr" "$seed" "$kind")
          extra=()
          [[ $kind == init* ]] && extra=(--init "$INIT")
          [[ $kind == init-interp ]] && extra+=(--interpolate)
          [[ -f $out/run.json ]] || "$BIN/train" fit "${COMMON[@]}" --epochs "$epochs" --max-train "$n" --lr "$lr" \
            --seed "$seed" "${extra[@]}" -o "$out" >/dev/null 2>"$out.log" || { tail -3 "$out.log" >&2; exit 1; }
        done
      done
    done
  done
done
if [[ ${SOUP:-0} == 1 ]]; then
  for n in ${SIZES:-1000 5000}; do
    for seed in ${SEEDS:-0 1}; do
      for kind in real "$INIT_KIND"; do
        out="$WORK/n$n-soup-s$seed-${kind%-interp}"
        ingredients=()
        for epochs in $EPOCHS; do
          for lr in $LRS; do ingredients+=("$(run_dir "$n" "$epochs" "$lr" "$seed" "$kind")"); done
        done
        extra=(--data "$CACHE")
        [[ -n ${THREADS:-} ]] && extra+=(--threads "$THREADS")
        [[ $kind == init* ]] && extra+=(--start "$INIT")
        "$BIN/train" soup "${ingredients[@]}" "${extra[@]}" --if-changed \
          -o "$out" >/dev/null 2>"$out.log" || { tail -3 "$out.log" >&2; exit 1; }
      done
    done
  done
fi
# the table: each arm at the recipe with the best mean fold-9 AUC in this grid (tools/pretraining_curves.py)
# shellcheck disable=SC2086  # SIZES, LRS and EPOCHS: lists, word-split on purpose
"$BIN/python" tools/pretraining_curves.py "$WORK" --sizes ${SIZES:-1000 5000} --lrs $LRS --epochs $EPOCHS
