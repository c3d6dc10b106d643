#!/usr/bin/env bash
# Does pretraining on the synthetic default help when only a few real records are labelled?
# For N in 1,000 and 5,000 real PTB-XL training records (seeded subsamples of folds 1-8) and two
# seeds: sepresnet w1 (or ARCH) trained on the N records alone vs the same network started from a model
# trained only on the synthetic default (train fit --init), same recipe otherwise. Models are
# chosen on fold 9 (early stopping); fold 10 is reported. With several peak learning rates (LRS),
# each arm gets the one with the best mean fold-9 AUC over the seeds: a fair real-only baseline,
# since a small training set wants a different rate than the default's. Prints a Markdown table.
#
# Usage: [SIZES="1000 5000"] [LRS="0.001"] [ARCH=sepresnet] tools/synthetic_pretraining.sh REAL_CACHE SYNTHETIC_MODEL.onnx WORK_DIR
#   REAL_CACHE: 'train prepare' of real PTB-XL; SYNTHETIC_MODEL: an ARCH w1 model trained on the
#   synthetic default only. tools/real-ptbxl.sh makes a sepresnet one (WORK/extra/synthetic-sepresnet,
#   8 whole-record epochs); the better start (docs/sim-to-real.md) is trained with the fine-tuning's
#   own crops: train fit --data SYNTH_CACHE --arch ARCH --width 1 --crop 250 --epochs 15 --patience 5
#   Runs at the default rate (0.001) live in WORK_DIR/nN-sS-KIND, others in WORK_DIR/nN-lrLR-sS-KIND.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${1:?REAL_CACHE}; INIT=${2:?SYNTHETIC_MODEL}; WORK=${3:?WORK_DIR}
BIN=${BIN:-.venv/bin}
LRS=${LRS:-0.001}
mkdir -p "$WORK"
COMMON=(--data "$CACHE" --arch "${ARCH:-sepresnet}" --width 1 --crop 250 --epochs 30 --patience 8)
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
runs=()
for n in ${SIZES:-1000 5000}; do for lr in $LRS; do for seed in 0 1; do for kind in real init; do
  runs+=("$n:$lr:$seed:$kind:$(run_dir "$n" "$lr" "$seed" "$kind")/run.json")
done; done; done; done
"$BIN/python" - "${runs[@]}" <<'PY'
import json, sys
from collections import defaultdict
runs = defaultdict(dict)  # (n, kind) -> lr -> seed -> run summary
for spec in sys.argv[1:]:
    n, lr, seed, kind, path = spec.split(":", 4)
    runs[int(n), kind].setdefault(lr, {})[seed] = json.load(open(path))

def chosen(n: int, kind: str) -> tuple[str, dict]:
    """The learning rate with the best mean fold-9 AUC over the seeds, and its runs."""
    by_lr = runs[n, kind]
    lr = max(by_lr, key=lambda r: sum(s["val_macro_auc"] for s in by_lr[r].values()) / len(by_lr[r]))
    return lr, by_lr[lr]

print("| real records | seed | real only (lr): val / test | synthetic init (lr): val / test | test difference |")
print("|---|---|---|---|---|")
for n in sorted({n for n, _ in runs}):
    (real_lr, real), (init_lr, init) = chosen(n, "real"), chosen(n, "init")
    for seed in sorted(real):
        r, i = real[seed], init[seed]
        print(f"| {n:,} | {seed} | ({real_lr}) {r['val_macro_auc']:.4f} / {r['test_macro_auc']:.4f} | "
              f"({init_lr}) {i['val_macro_auc']:.4f} / {i['test_macro_auc']:.4f} | "
              f"{(i['test_macro_auc'] - r['test_macro_auc']) * 100:+.2f} pt |")
    if len(runs[n, "real"]) > 1:
        for kind in ("real", "init"):
            means = {lr: sum(s["val_macro_auc"] for s in seeds.values()) / len(seeds) for lr, seeds in runs[n, kind].items()}
            print(f"\n{n:,} records, {kind}: mean fold-9 AUC by learning rate: "
                  + ", ".join(f"{lr} {auc:.4f}" for lr, auc in sorted(means.items(), key=lambda kv: float(kv[0]))))
PY
