#!/bin/sh
# onnx_bench.sh BUILD_DIR: glia against onnxruntime (npm onnxruntime-node@1.30.0,
# scripts/onnx/install-ort) on the same .onnx files, side by side in one run: ResNet-18 and
# MobileNetV2 (torchvision, seeded weights, exported by scripts/onnx/export_torch.py) at
# 224x224, batch 1 latency and batch 8 throughput, and LeNet-5 (glia export) at batch 256.
# Both run one thread (OMP_NUM_THREADS=1, ORT_THREADS=1): the median of RUNS timed passes each.
# Prints a Markdown table; ratio = onnxruntime's time / glia's (> 1: glia is faster).
# Skipped with one line when node, onnxruntime-node or PyTorch is absent.
B=${1:-build}
RUNS=${RUNS:-10}
ort=scripts/onnx/ort_run.js
if ! command -v node >/dev/null || [ ! -d "$B/npm/node_modules/onnxruntime-node" ]; then
  echo "onnx bench: skipped: onnxruntime-node is absent (scripts/onnx/install-ort)"; exit 0
fi
if ! /usr/bin/python3 -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "onnx bench: skipped: PyTorch/torchvision absent (scripts/install-deps --golden)"; exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ORT_THREADS=1
for b in 1 8; do
  /usr/bin/python3 scripts/onnx/export_torch.py "$dir/b$b" --size 224 --batch "$b" resnet18 mobilenet_v2 >/dev/null 2>&1 ||
    { echo "onnx bench: export failed"; exit 1; }
done
"$B/glia" export models/lenet5.cfg "$dir/lenet5.onnx" >/dev/null || exit 1
node $ort --make-input "$dir/lenet5.in.safetensors" "data:256,1,28,28" 1
echo "| model | batch | glia ms | onnxruntime ms | ratio (ort / glia) | outputs agree |"
echo "|---|---|---|---|---|---|"
row() { # row NAME BATCH ONNX INPUT
  g=$("$B/glia" run "$3" --input "$4" --bench "$RUNS" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
  o=$(node $ort "$3" "$4" "$dir/ort.safetensors" --bench "$RUNS" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
  if "$B/glia" run "$3" --input "$4" --expect "$dir/ort.safetensors" >/dev/null 2>&1; then agree=yes; else agree=NO; fi
  echo "| $1 | $2 | $g | $o | $(awk "BEGIN{printf \"%.2f\", $o / $g}") | $agree |"
}
for m in resnet18 mobilenet_v2; do
  for b in 1 8; do row "$m 224x224" "$b" "$dir/b$b/$m.onnx" "$dir/b$b/$m.in.safetensors"; done
done
row "LeNet-5 28x28" 256 "$dir/lenet5.onnx" "$dir/lenet5.in.safetensors"
