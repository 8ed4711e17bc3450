#!/bin/sh
# cli_test.sh GLIA: end-to-end checks of the glia command (help, errors, ops, demo).
GLIA=${1:-build/glia}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL cli: $1" >&2; }
expect() { # expect NAME WANTED_EXIT PATTERN -- command...
  name=$1 want=$2 pat=$3; shift 4
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, expected $want: $out"; return; fi
  if ! printf '%s' "$out" | grep -q -- "$pat"; then bad "$name: output lacks '$pat': $out"; return; fi
  ok
}
expect help 0 "usage: glia COMMAND" -- "$GLIA" --help
expect no-args 2 "usage" -- "$GLIA"
expect unknown 2 "unknown command 'frobnicate'" -- "$GLIA" frobnicate
expect version 0 "glia 0\." -- "$GLIA" version
for c in version ops demo summary; do expect "$c --help" 0 "usage: glia $c" -- "$GLIA" "$c" --help; done
expect ops-bad-option 2 "unknown option" -- "$GLIA" ops --bogus
expect demo-bad-steps 2 "bad --steps" -- "$GLIA" demo --steps x
# glia ops lists every op the issue asks for
names=$("$GLIA" ops --names)
for op in dense add sub mul scale concat slice reshape conv2d maxpool2d avgpool2d global_avgpool \
          relu leaky_relu elu sigmoid tanh linear softmax log_softmax maxout dropout batchnorm lrn \
          softmax_cross_entropy mse_loss bce_with_logits; do
  if printf '%s\n' "$names" | grep -qx "$op"; then ok; else bad "glia ops lacks $op"; fi
done
# glia summary: the zoo's LeNet-5, JSON, and a strict error with file:line
expect summary-lenet 0 "total params: 61706" -- "$GLIA" summary models/lenet5.cfg
expect summary-json 0 '"total_params": 61706, "trainable_params": 61706, "total_macs": 416520}' -- "$GLIA" summary models/lenet5.cfg --json
bad_cfg=$(mktemp)
printf '[net]\ninput = 1, 28, 28\n[conv]\nfilters = 4\nsize = 3\nstrides = 2\n' > "$bad_cfg"
expect summary-bad-key 1 "$bad_cfg:6: unknown key 'strides' in \[conv\]" -- "$GLIA" summary "$bad_cfg"
rm -f "$bad_cfg"
expect summary-missing 1 "no-such.cfg: cannot open" -- "$GLIA" summary no-such.cfg
expect summary-no-arg 2 "which model" -- "$GLIA" summary
# the demo: LeNet-5 has 61,706 parameters, its gradients check, and training learns
out=$("$GLIA" demo --steps 150 2>&1); rc=$?
if [ $rc -ne 0 ]; then bad "demo exit $rc: $out"; else ok; fi
printf '%s' "$out" | grep -q "total parameters: 61706 " && ok || bad "demo parameter count: $out"
if printf '%s' "$out" | grep -q FAILED; then bad "demo gradient check failed: $out"; else ok; fi
acc=$(printf '%s\n' "$out" | sed -n 's/.*step  150 .*accuracy *\([0-9.]*\)%.*/\1/p')
if [ -n "$acc" ] && awk "BEGIN{exit !($acc >= 90)}"; then ok; else bad "demo accuracy '$acc' after 150 steps < 90%: $out"; fi
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
