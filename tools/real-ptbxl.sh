#!/usr/bin/env bash
# Reproduce docs/real-ptbxl.md: every real-PTB-XL figure of the project, on a 2-core machine.
#
# Usage: tools/real-ptbxl.sh PTBXL_DIR WORK_DIR
#   PTBXL_DIR  real PTB-XL v1.0.3 (ptbxl_database.csv, scp_statements.csv, records100/)
#   WORK_DIR   where caches, runs and results go (about 2 GB)
# Every step is resumable: rerun the script after an interruption and finished steps are reused
# (the study keys its steps by their inputs; 'train fit --resume' continues a run's last epoch).
set -euo pipefail
PTBXL=${1:?PTBXL_DIR}
WORK=${2:?WORK_DIR}
BIN=${BIN:-.venv/bin}
mkdir -p "$WORK/extra"

# 1. The real folder -> prepared cache (21,388 records: 17,084 / 2,146 / 2,158)
[ -f "$WORK/cache/manifest.json" ] || "$BIN/train" prepare "$PTBXL" --out "$WORK/cache" --json

# 2. The study: teacher, students alone and distilled, pruning, int8, single-lead, sweep, benchmark, report
"$BIN/compress" study --recipe real --data "$WORK/cache" --out "$WORK/real-study"

# 3. The seed study's 534,005-parameter student, trained here for comparison
fit() {  # fit OUT ARGS...: resume when a checkpoint of the same run exists
  local out=$1; shift
  [ -f "$out/run.json" ] && return 0
  if [ -f "$out/checkpoint.pt" ]; then "$BIN/train" fit "$@" --out "$out" --resume; else "$BIN/train" fit "$@" --out "$out"; fi
}
fit "$WORK/extra/seed-student" --data "$WORK/cache" --arch seed-student --crop 250 --epochs 20 --patience 7

# 4. The synthetic default's model, scored on the real test fold (sim-to-real)
[ -f "$WORK/synth/ptbxl_database.csv" ] || "$BIN/train" synth --out "$WORK/synth" --records 20000 --seed 0
[ -f "$WORK/synth-cache/manifest.json" ] || "$BIN/train" prepare "$WORK/synth" --out "$WORK/synth-cache"
fit "$WORK/extra/synthetic-sepresnet" --data "$WORK/synth-cache" --arch sepresnet --width 1 --epochs 8
S=$WORK/real-study
[ -f "$WORK/extra/seed-student/model.int8.onnx" ] || \
  "$BIN/compress" quantize "$WORK/extra/seed-student/model.onnx" --data "$WORK/cache"

# 5. One table on fold 10 (choices were made on fold 9 only)
"$BIN/benchmark" run "$S/teacher.onnx" "$S/teacher.int8.onnx" \
  "$S/student-alone.onnx" "$S/student-alone.int8.onnx" \
  "$S/student-kd.onnx" "$S/student-kd.int8.onnx" "$S/student-kd-pruned.onnx" "$S/student-kd-pruned.int8.onnx" \
  "$S/lead-alone.onnx" "$S/lead-kd.onnx" \
  "$WORK/extra/seed-student/model.onnx" "$WORK/extra/seed-student/model.int8.onnx" \
  "$WORK/extra/synthetic-sepresnet/model.onnx" \
  --data "$WORK/cache" --baseline "$S/teacher.onnx" --time-s 5 --bootstrap 1000 --force \
  -o "$WORK/real-table.json" --csv "$WORK/real-table.csv" --markdown "$WORK/real-table.md" --plots "$WORK/real-plots"
# (KD vs the same student alone, with its paired bootstrap interval: real-study/report.md)

# 6. Publish the models a user starts from into runtime/pretrained (cards carry the fold-10 row above).
#    Which student ships was chosen on the validation fold (see docs/real-ptbxl.md).
publish() {  # publish SOURCE NAME
  "$BIN/compress" publish "$1" --benchmark "$WORK/real-table.json" -o "runtime/pretrained/$2.onnx" --force
}
publish "$S/teacher.onnx" ptbxl-teacher
publish "$S/teacher.int8.onnx" ptbxl-teacher.int8
publish "$S/student-kd.onnx" ptbxl-student
publish "$S/student-kd.int8.onnx" ptbxl-student.int8
publish "$S/student-kd-pruned.int8.onnx" ptbxl-tiny.int8
publish "$S/lead-alone.onnx" ptbxl-lead-II
