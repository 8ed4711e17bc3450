#!/bin/sh
# onnx_export_test.sh GLIA [MODEL.cfg...]: glia export of every model in models/ (its seeded
# initial weights), each file held to three references:
#   checker  onnx.checker.check_model(full_check=True) (Debian python3-onnx)
#   ort      onnxruntime (npm onnxruntime-node, scripts/onnx/install-ort) on seeded inputs gives
#            glia's own outputs of the model file (glia run MODEL.cfg) within 1e-4
#   import   the file imported back into glia (glia run FILE.onnx) gives them too
# Each reference absent is skipped with one line. The inputs follow the model text: images
# [2, input...]; sequences [T, 2, input] of token ids in the first table's range (word hashing:
# -1 for an empty slot too), lengths in 1..T, and a seq2seq model's target (ids of the second
# table) and target_lengths. The list: every model in models/ and tests/models/onnx_*.cfg
# (make onnx-export), ONNX_EXPORT_MODELS or the arguments (make test: a few, ONNX_EXPORT_FAST).
GLIA=${1:-build/glia}
shift
models=${*:-${ONNX_EXPORT_MODELS:-$(find models -name '*.cfg' | sort) $(ls tests/models/onnx_*.cfg)}}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
has_onnx=0 has_node=0 has_ort=0
if /usr/bin/python3 -c "import onnx" >/dev/null 2>&1; then has_onnx=1
else echo "onnx-export: onnx.checker skipped: Debian python3-onnx is absent (scripts/install-deps --golden)"; fi
# the inputs are made by scripts/onnx/ort_run.js (node alone); onnxruntime runs the files
if command -v node >/dev/null 2>&1; then has_node=1
else echo "onnx-export: import and onnxruntime checks skipped: node is absent (Debian nodejs)"; fi
if [ $has_node = 1 ] && [ -d build/npm/node_modules/onnxruntime-node ]; then has_ort=1
elif [ $has_node = 1 ]; then echo "onnx-export: onnxruntime skipped: npm onnxruntime-node is absent (scripts/onnx/install-ort)"; fi
bad() { fail=$((fail + 1)); echo "FAIL onnx-export: $*" >&2; }
key() { sed -n "s/^$2 *= *//p" "$1" | head -n 1 | tr -d ' '; } # first "key = value" of a model text
for cfg in $models; do
  m=$(basename "$cfg" .cfg)
  f="$dir/$m.onnx"
  if out=$("$GLIA" export "$cfg" "$f" 2>&1); then pass=$((pass + 1)); else bad "$cfg: export: $out"; continue; fi
  if [ $has_onnx = 1 ]; then
    if out=$(/usr/bin/python3 -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" "$f" 2>&1)
    then pass=$((pass + 1)); else bad "$cfg: onnx.checker: $out"; fi
  fi
  [ $has_node = 1 ] || continue
  # seeded inputs, from the model text
  in=$(key "$cfg" input); T=$(key "$cfg" sequence)
  if [ -z "$T" ]; then spec="data:2,$in"
  else
    v=$(key "$cfg" vocab); lo=0
    [ -n "$v" ] || { v=$(key "$cfg" buckets); lo=-1; }
    spec="data:$T,2,$in:$lo:$((v - 1));lengths:2:1:$T"
    T2=$(key "$cfg" target)
    if [ -n "$T2" ]; then
      v2=$(sed -n 's/^vocab *= *//p' "$cfg" | sed -n 2p)
      spec="$spec;target:$T2,2,1:0:$((v2 - 1));target_lengths:2:1:$T2"
    fi
  fi
  node scripts/onnx/ort_run.js --make-input "$dir/$m.in.safetensors" "$spec" 5 >/dev/null
  if ! out=$("$GLIA" run "$cfg" --input "$dir/$m.in.safetensors" --output "$dir/$m.glia.safetensors" 2>&1); then
    bad "$cfg: glia run on the model file: $out"; continue
  fi
  if out=$("$GLIA" run "$f" --input "$dir/$m.in.safetensors" --expect "$dir/$m.glia.safetensors" 2>&1); then
    pass=$((pass + 1)); echo "onnx-export: $m: glia import: $out"
  else bad "$cfg: glia import of the file: $out"; fi
  [ $has_ort = 1 ] || continue
  if ! out=$(node scripts/onnx/ort_run.js "$f" "$dir/$m.in.safetensors" "$dir/$m.ort.safetensors" 2>&1); then
    bad "$cfg: onnxruntime: $out"
  elif out=$("$GLIA" run "$cfg" --input "$dir/$m.in.safetensors" --expect "$dir/$m.ort.safetensors" 2>&1); then
    pass=$((pass + 1)); echo "onnx-export: $m: onnxruntime: $out"
  else bad "$cfg: onnxruntime's outputs: $out"; fi
done
echo "onnx-export: $pass checks passed, $fail failed"
[ "$fail" -eq 0 ]
