#!/usr/bin/env bash
# ARM64 check: run our fp32 and int8 ONNX files with aarch64 onnxruntime under QEMU user-mode
# emulation, through the project's own torch-free runtime code, and compare with x86 outputs:
# int8 must be bit-identical, fp32 within 1e-5. Exercises Cortex-A72 (Raspberry Pi 4, no
# dot-product) and Cortex-A76 (Raspberry Pi 5, dot-product), which take different int8 kernels.
#
# int8 must be bit-identical (STRICT_INT8=0 relaxes it to INT8_ATOL with identical decisions).
# Measured on an AVX2 host without VNNI: files of the default 'auto' preset there (avx2: uint8
# activations, reduce_range) are bit-identical on x86 and on Cortex-A72/A76; s8/s8 files
# (x86-vnni preset) are not, because AVX2's s8 x s8 path saturates on x86 (max |diff| ~0.07).
# Measured on an AVX-512 VNNI host: avx2-preset files are bit-identical there too; the shipped
# x86-vnni files (s8/s8, asymmetric activations) are bit-identical for the strided-cnn students and
# within 9e-8 for the teacher, whose depthwise convolutions stay float (runtime/pretrained/PRETRAINED.md).
#
# Usage: tools/arm64_check.sh MODEL.onnx [MODEL.onnx ...]   (as root, on an x86-64 Debian host)
# Exit: 0 pass, 1 a comparison failed, 75 a download (apt, debootstrap, wheels) was unavailable.
# Env:   ARM64_LAB (default /tmp/ecgshrink-arm64), CPUS (default "cortex-a72 cortex-a76"), SETUP_ONLY=1
#        (build the emulated root and stop),
#        PYTHON (host python with the project installed; default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/arm64_cpuinfo.sh
[[ $# -ge 1 ]] || { echo "usage: $0 MODEL.onnx [...]" >&2; exit 2; }
LAB=${ARM64_LAB:-/tmp/ecgshrink-arm64}
ROOTFS=$LAB/rootfs
SITE=$ROOTFS/opt/site
CPUS=${CPUS:-"cortex-a72 cortex-a76"}
PYTHON=${PYTHON:-.venv/bin/python}
RECORDS=(tests/data/cpsc2018/A0001.hea tests/data/cpsc2018/A0002.hea tests/data/cpsc2018/A0003.hea tests/data/ptbdb/s0010_re.hea)
say() { echo "[arm64-check] $*" >&2; }

missing=()
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || { say "UNAVAILABLE: could not install ${missing[*]} (package mirror)"; exit 75; }
fi

if [[ ! -f $ROOTFS/.complete ]]; then
  mirror=$( { awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' /etc/apt/sources.list.d/*.sources 2>/dev/null
              awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' \
                /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; } | grep -E '/debian/?$' | head -n1 || true)
  say "debootstrap (foreign, minbase) bookworm arm64 from ${mirror:-http://deb.debian.org/debian}"
  rm -rf "$ROOTFS"; mkdir -p "$ROOTFS"
  debootstrap --foreign --arch=arm64 --variant=minbase --include=python3 bookworm "$ROOTFS" "${mirror:-http://deb.debian.org/debian}" >/dev/null \
    || { say "UNAVAILABLE: debootstrap could not download the arm64 root"; exit 75; }
  for deb in "$ROOTFS"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$ROOTFS"; done
  touch "$ROOTFS/.complete"
fi
PYBIN=$(cd "$ROOTFS/usr/bin" && ls python3.[0-9]* | grep -E '^python3\.[0-9]+$' | sort -V | tail -n1)
PYVER=${PYBIN#python}

if [[ ! -f $SITE/.complete ]]; then
  say "aarch64 wheels (onnxruntime, numpy, onnx) for Python $PYVER"
  rm -rf "$SITE"; mkdir -p "$SITE"
  env -u PIP_FIND_LINKS -u PIP_CONSTRAINT "$PYTHON" -m pip install -q --no-compile --target "$SITE" --only-binary=:all: \
    --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 \
    --platform manylinux2014_aarch64 --python-version "$PYVER" --implementation cp onnxruntime numpy onnx 2>&1 \
    | grep -v "is ignored: it is neither" >&2 || true
  [[ -d $SITE/onnxruntime ]] || { say "UNAVAILABLE: aarch64 wheels could not be downloaded"; exit 75; }
  touch "$SITE/.complete"
fi
# the project's torch-free runtime package, as a device would install it
rm -rf "$ROOTFS/opt/project"; mkdir -p "$ROOTFS/opt/project"
cp -r runtime tools/arm64_runner.py "$ROOTFS/opt/project/"
# onnxruntime's cpuinfo reads /proc/cpuinfo and /sys: give the emulated process ARM-looking files
mkdir -p "$ROOTFS/proc" "$ROOTFS/sys/devices/system/cpu"
echo 0 > "$ROOTFS/sys/devices/system/cpu/possible"; echo 0 > "$ROOTFS/sys/devices/system/cpu/present"

[[ ${SETUP_ONLY:-0} == 1 ]] && exit 0  # tools/pi_install_check.sh: only the root and QEMU
OUT=$LAB/out; rm -rf "$OUT"; mkdir -p "$OUT"
models=(); for m in "$@"; do [[ -f $m ]] || { echo "no such model: $m" >&2; exit 2; }; models+=("$(readlink -f "$m")"); done
records=(); for r in "${RECORDS[@]}"; do records+=("$(readlink -f "$r")"); done
# the emulated runner opens the same absolute paths: they must hold these files, not earlier copies
mapfile -t folders < <(for r in "${records[@]}"; do dirname "$r"; done | sort -u)
arm64_mirror "$ROOTFS" "${models[@]}" "${folders[@]}"
say "x86-64 reference"
PYTHONPATH=. "$PYTHON" tools/arm64_runner.py "$OUT/x86" "${models[@]}" -- "${records[@]}" >/dev/null

status=0
for cpu in $CPUS; do
  arm64_cpuinfo "$cpu" "$ROOTFS"
  say "aarch64 under QEMU, QEMU_CPU=$cpu"
  env -i PATH=/usr/bin:/bin HOME=/root PYTHONPATH=/opt/project:/opt/site QEMU_CPU="$cpu" \
    qemu-aarch64-static -L "$ROOTFS" "$ROOTFS/usr/bin/$PYBIN" /opt/project/arm64_runner.py "$OUT/$cpu" \
    "${models[@]}" -- "${records[@]}" >/dev/null
  for m in "${models[@]}"; do
    stem=$(basename "$m" .onnx)
    STRICT_INT8=${STRICT_INT8:-1} INT8_ATOL=${INT8_ATOL:-0.02} \
    "$PYTHON" - "$OUT/x86/$stem.npy" "$OUT/$cpu/$stem.npy" "$m" "$cpu" <<'PY' || status=1
import json, os, sys, numpy as np, onnx
ref, arm = np.load(sys.argv[1]), np.load(sys.argv[2])
model = onnx.load(sys.argv[3])
int8 = any(n.op_type == "QuantizeLinear" for n in model.graph.node)
card = {p.key: p.value for p in model.metadata_props}
thresholds = np.asarray(json.loads(card.get("ecgshrink.thresholds", "0.5")))
diff = float(np.abs(ref.astype(np.float64) - arm).max())
agree = float(np.mean((ref >= thresholds) == (arm >= thresholds)))
if int8:
    strict = os.environ["STRICT_INT8"] == "1"
    ok = diff == 0.0 if strict else (diff <= float(os.environ["INT8_ATOL"]) and agree == 1.0)
    rule = "bit-identical" if strict else f"<= {os.environ['INT8_ATOL']}, same decisions; bit-identical: {diff == 0.0}"
else:
    ok, rule = diff <= 1e-5, "<= 1e-5"
print(f"{sys.argv[4]:<11} {sys.argv[3].rsplit('/', 1)[-1]:<28} {'int8' if int8 else 'fp32'} max|diff| {diff:.3e} "
      f"decisions agree {agree:.3f} ({rule}): {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
  done
done
exit $status
