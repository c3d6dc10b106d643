#!/usr/bin/env bash
# The Pi path, end to end: build the project's wheel, install it with its base dependencies only
# (no train extra) for an aarch64 Python of the Pi's OS generation (Debian bookworm, Python 3.11),
# then run the console scripts under QEMU as a Pi user would, for Cortex-A72 (Pi 4) and
# Cortex-A76 (Pi 5), and compare with the same commands on x86:
#   benchmark run FP32 INT8 --data CACHE   -> AUC identical to x86
#   runtime classify RECORDS --model INT8   -> int8 probabilities bit-identical to x86
#   runtime classify RECORDS --model FP32   -> fp32 probabilities within 1e-5
#   runtime monitor RECORD --model INT8     -> the same stream of results as x86
#   compress quantize FP32 --data CACHE     -> torch-free on the Pi; its AUCs printed
# Prints the install footprint (MB, packages, seconds). Reuses tools/arm64_check.sh's root.
#
# Usage: tools/pi_install_check.sh FP32.onnx INT8.onnx CACHE_DIR   (as root, x86-64 Debian host)
# Exit:  0 pass, 1 a real failure (install, a command, a comparison), 75 a download was unavailable.
# Env:   ARM64_LAB (default /tmp/ecgshrink-arm64), CPUS (default "cortex-a72 cortex-a76"),
#        PYTHON (host python with the project installed; default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/arm64_cpuinfo.sh
[[ $# -eq 3 ]] || { echo "usage: $0 FP32.onnx INT8.onnx CACHE_DIR" >&2; exit 2; }
FP32=$(readlink -f "$1"); INT8=$(readlink -f "$2"); CACHE=$(readlink -f "$3")
LAB=${ARM64_LAB:-/tmp/ecgshrink-arm64}
ROOTFS=$LAB/rootfs
CPUS=${CPUS:-"cortex-a72 cortex-a76"}
PYTHON=${PYTHON:-.venv/bin/python}
RECORDS=(tests/data/cpsc2018/A0001.hea tests/data/cpsc2018/A0002.hea tests/data/ptbdb/s0010_re.hea)
say() { echo "[pi-install] $*" >&2; }

# the emulated Debian bookworm arm64 root (python3 3.11) and QEMU, as the ARM64 check builds them
SETUP_ONLY=1 PYTHON="$PYTHON" bash tools/arm64_check.sh "$FP32" >/dev/null || exit $?
PYBIN=$(cd "$ROOTFS/usr/bin" && ls python3.[0-9]* | grep -E '^python3\.[0-9]+$' | sort -V | tail -n1)
PYVER=${PYBIN#python}

say "building the wheel"
DIST=$LAB/dist; rm -rf "$DIST"; mkdir -p "$DIST"
offline() { grep -qiE "connection|timed out|name resolution|max retries|network is unreachable" "$1"; }
if ! "$PYTHON" -m pip wheel -q --no-deps -w "$DIST" . > "$LAB/wheel.log" 2>&1; then
  cat "$LAB/wheel.log" >&2
  if offline "$LAB/wheel.log"; then say "UNAVAILABLE: the build backend could not be downloaded"; exit 75; fi
  say "FAIL: the project's wheel does not build"; exit 1
fi
rm -rf build  # setuptools' staging folder, not part of the checkout
WHEEL=$(ls "$DIST"/ecg_shrink-*.whl)

SITE=$ROOTFS/opt/pi-site
say "pip install $(basename "$WHEEL") (base dependencies, aarch64 wheels for Python $PYVER)"
rm -rf "$SITE"; started=$(date +%s)
env -u PIP_FIND_LINKS -u PIP_CONSTRAINT "$PYTHON" -m pip install -q --no-compile --target "$SITE" --only-binary=:all: \
  --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 \
  --platform manylinux2014_aarch64 --python-version "$PYVER" --implementation cp "$WHEEL" > "$LAB/pip.log" 2>&1 || true
if [[ ! -f $SITE/benchmark/cli.py ]]; then
  grep -v "is ignored: it is neither" "$LAB/pip.log" >&2 || true
  if offline "$LAB/pip.log"; then
    say "UNAVAILABLE: the package index could not be reached"; exit 75
  fi
  say "FAIL: the wheel does not install on aarch64 Python $PYVER (see pip's message above)"; exit 1
fi
seconds=$(( $(date +%s) - started ))
packages=$(ls -d "$SITE"/*.dist-info | wc -l)
megabytes=$(du -sm "$SITE" | cut -f1)
biggest=$(du -sm "$SITE"/* | sort -rn | head -n 6 | awk '{printf "%s %s MB, ", $2, $1}' | sed "s|$SITE/||g")
say "installed: $packages packages, $megabytes MB, ${seconds} s (largest: ${biggest%, })"
if ls -d "$SITE"/torch* >/dev/null 2>&1; then say "FAIL: torch was installed on the Pi path"; exit 1; fi

# host files the emulated commands read, at the same paths inside the root
arm64_mirror "$ROOTFS" "$FP32" "$INT8" "$CACHE" "$(pwd)/tests/data"
records=(); for r in "${RECORDS[@]}"; do records+=("$(readlink -f "$r")"); done

OUT=$LAB/pi-out; rm -rf "$OUT"; mkdir -p "$OUT"
run_all() {  # run_all LABEL COMMAND_PREFIX... : the console scripts, outputs under $OUT/LABEL
  local label=$1; shift
  local dir=$OUT/$label; mkdir -p "$dir"
  "$@" benchmark run "$FP32" "$INT8" --data "$CACHE" --time-s 0.3 --warmup-s 0.05 --bootstrap 0 --no-floor \
    -o "$dir/bench.json" --json >/dev/null
  "$@" runtime classify "${records[@]}" --model "$INT8" --json > "$dir/int8.json"
  "$@" runtime classify "${records[@]}" --model "$FP32" --json > "$dir/fp32.json"
  "$@" runtime monitor "${records[0]}" --model "$INT8" --json > "$dir/monitor.json"
  "$@" compress quantize "$FP32" --data "$CACHE" --calib-samples 64 --preset avx2 -o "$dir/quantized.onnx" \
    > "$dir/quantize.txt"
}
say "x86-64 reference (the host's console scripts)"
run_all x86 env PATH="$(dirname "$PYTHON"):$PATH"

status=0
for cpu in $CPUS; do
  arm64_cpuinfo "$cpu" "$ROOTFS"
  say "aarch64 console scripts under QEMU, QEMU_CPU=$cpu"
  started=$(date +%s)
  emulated() {  # emulated SCRIPT ARGS...: a console script of the installed wheel, run by aarch64 python
    local script=$1; shift
    env -i PATH=/usr/bin:/bin HOME=/root PYTHONPATH=/opt/pi-site QEMU_CPU="$cpu" \
      qemu-aarch64-static -L "$ROOTFS" "$ROOTFS/usr/bin/$PYBIN" "/opt/pi-site/bin/$script" "$@"
  }
  run_all "$cpu" emulated || { say "FAIL: a console script failed on $cpu"; status=1; continue; }
  say "$cpu: all commands ran in $(( $(date +%s) - started )) s"
  "$PYTHON" - "$OUT/x86" "$OUT/$cpu" "$cpu" <<'PY' || status=1
import json, os, sys
from pathlib import Path
ref, arm, cpu = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
failures = []
def probabilities(path):
    return [row["probabilities"] for row in json.loads(path.read_text())]
int8 = max(abs(a - b) for x, y in zip(probabilities(ref / "int8.json"), probabilities(arm / "int8.json"))
           for a, b in zip(x.values(), y.values()))
fp32 = max(abs(a - b) for x, y in zip(probabilities(ref / "fp32.json"), probabilities(arm / "fp32.json"))
           for a, b in zip(x.values(), y.values()))
auc = {Path(r["model"]).name: r["macro_auc"] for r in json.loads((ref / "bench.json").read_text())["rows"]}
auc_arm = {Path(r["model"]).name: r["macro_auc"] for r in json.loads((arm / "bench.json").read_text())["rows"]}
monitor_same = (ref / "monitor.json").read_text().count("\n") == (arm / "monitor.json").read_text().count("\n")
strict, atol = os.environ.get("STRICT_INT8", "1") == "1", float(os.environ.get("INT8_ATOL", "0.02"))
auc_gap = max(abs(auc[name] - auc_arm[name]) for name in auc)
checks = [("int8 classify bit-identical" if strict else f"int8 classify within {atol}", int8 == 0.0 if strict else int8 <= atol,
           f"max |diff| {int8:.3g}"),
          ("fp32 classify within 1e-5", fp32 <= 1e-5, f"max |diff| {fp32:.3g}"),
          ("benchmark AUC identical" if strict else "benchmark AUC within 0.002", auc == auc_arm if strict else auc_gap <= 0.002,
           f"{auc_arm}"),
          ("monitor emits the same number of results", monitor_same, ""),
          ("quantize ran torch-free", (arm / "quantized.onnx").is_file(), (arm / "quantize.txt").read_text().strip().splitlines()[0])]
for name, ok, detail in checks:
    print(f"{cpu:<11} {name:<42} {'PASS' if ok else 'FAIL'}  {detail}")
    failures += [name] if not ok else []
sys.exit(1 if failures else 0)
PY
done
exit $status
