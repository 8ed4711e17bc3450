#!/bin/sh
# crossload_test.sh [BUILD_DIR]: glia-written weights give PyTorch's outputs
# (scripts/crossload_check.py) for the zoo's models and tests/models/all_layers.cfg, and a
# real difference between the two sides fails the check. Needs BUILD_DIR/libglia.a (default
# build) and Debian's python3-torch (or $PYTHON); without torch it prints "skipped" and succeeds.
B=${1:-build}
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
  echo "crossload: skipped ($PY cannot import torch and numpy)"
  exit 0
fi
if [ ! -f "$B/libglia.a" ]; then
  echo "crossload: $B/libglia.a is missing (make B=$B first)" >&2
  exit 1
fi
pass=0 fail=0
check() { # check NAME WANTED_EXIT -- arguments of crossload_check.py
  name=$1 want=$2; shift 3
  out=$("$PY" scripts/crossload_check.py --build "$B" "$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL crossload: $name: exit $rc, expected $want: $out" >&2; fi
  [ -n "$VERBOSE" ] && printf '%s\n' "$out"
  return 0
}
for m in tests/models/all_layers.cfg tests/models/relu6_ceil.cfg models/lenet5.cfg models/vgg-small.cfg; do
  check "$m" 0 -- "$m" --glia-init 7 --batch 4
done
# a trained run, when there is one (make train)
if [ -f runs/lenet5/model.cfg ] && [ -f runs/lenet5/weights.safetensors ]; then
  check runs/lenet5 0 -- runs/lenet5/model.cfg runs/lenet5/weights.safetensors
fi
# the check fails when PyTorch's model differs (LRN beta 0.75 -> 0.8)
tmp=$(mktemp -d)
sed 's/^beta = 0.75/beta = 0.8/' tests/models/all_layers.cfg > "$tmp/perturbed.cfg"
check "a real difference is found" 1 -- tests/models/all_layers.cfg --glia-init 7 --batch 4 \
  --torch-cfg "$tmp/perturbed.cfg"
rm -rf "$tmp"
echo "crossload: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
