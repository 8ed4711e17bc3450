#!/bin/sh
# onnx_ref_test.sh GLIA [MODEL...]: glia's ONNX import against PyTorch. scripts/onnx/export_torch.py
# exports each model (seeded random weights) with torch.onnx.export, with an input and PyTorch's
# output; glia run --expect must match that output to 1e-4 of max(|PyTorch|, its RMS).
# Without Debian's python3-torch and python3-torchvision (scripts/install-deps --golden) the
# check is skipped with one line. make test runs a few models (ONNX_REF_MODELS overrides);
# make onnx-ref runs all of them.
GLIA=${1:-build/glia}
shift
models=${*:-${ONNX_REF_MODELS:-resnet18 mobilenet_v3_small squeezenet1_1 lstm gru}}
if ! /usr/bin/python3 -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "onnx-ref: skipped: PyTorch or torchvision is absent (scripts/install-deps --golden)"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
/usr/bin/python3 scripts/onnx/export_torch.py "$dir" $models > "$dir/export.log" 2>&1 || true
for m in $models; do
  if [ ! -s "$dir/$m.onnx" ]; then
    echo "FAIL onnx-ref: $m: export failed: $(grep "^$m" "$dir/export.log")" >&2
    fail=$((fail + 1)); continue
  fi
  if out=$("$GLIA" run "$dir/$m.onnx" --input "$dir/$m.in.safetensors" --expect "$dir/$m.out.safetensors" 2>&1); then
    pass=$((pass + 1)); echo "onnx-ref: $m: $out"
  else
    fail=$((fail + 1)); echo "FAIL onnx-ref: $m: $out" >&2
  fi
done
echo "onnx-ref: $pass passed, $fail failed (PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
[ "$fail" -eq 0 ]
