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
for c in version ops demo summary train eval predict filters features maximize cam gradcam saliency fool invert dream pack style; do expect "$c --help" 0 "usage: glia $c" -- "$GLIA" "$c" --help; done
expect ops-bad-option 2 "unknown option" -- "$GLIA" ops --bogus
expect demo-bad-steps 2 "bad --steps" -- "$GLIA" demo --steps x
# glia ops lists every op the issues ask for
names=$("$GLIA" ops --names)
for op in dense add sub mul scale concat slice reshape conv2d maxpool2d avgpool2d global_avgpool \
          relu leaky_relu elu sigmoid tanh linear softmax log_softmax maxout dropout batchnorm lrn \
          softmax_cross_entropy mse_loss bce_with_logits \
          rnn lstm gru seq_last seq_pool embedding embedding_bag time_flatten conv_transpose2d resize; do
  if printf '%s\n' "$names" | grep -qx "$op"; then ok; else bad "glia ops lacks $op"; fi
done
# glia summary: the zoo's LeNet-5, JSON, and a strict error with file:line
expect summary-lenet 0 "total params: 61706" -- "$GLIA" summary models/lenet5.cfg
expect summary-json 0 '"total_params": 61706, "trainable_params": 61706, "total_macs": 416520, "memory": {"batch": 64, ' -- "$GLIA" summary models/lenet5.cfg --json
expect summary-memory 0 "memory of a training step, batch 64: activations and gradients 2.6 MiB (4.1 MiB without reuse)" -- "$GLIA" summary models/lenet5.cfg
expect summary-seq2seq 0 "trainable params: 190122" -- "$GLIA" summary models/g2p-small.cfg   # shapes only: no values to fill
bad_cfg=$(mktemp)
printf '[net]\ninput = 1, 28, 28\n[conv]\nfilters = 4\nsize = 3\nstrides = 2\n' > "$bad_cfg"
expect summary-bad-key 1 "$bad_cfg:6: unknown key 'strides' in \[conv\]" -- "$GLIA" summary "$bad_cfg"
rm -f "$bad_cfg"
expect summary-missing 1 "no-such.cfg: cannot open" -- "$GLIA" summary no-such.cfg
expect summary-no-arg 2 "which model" -- "$GLIA" summary
expect pack-no-arg 2 "which run directory" -- "$GLIA" pack
expect summary-binary-bad 1 "binary.*one of none, weights, xnor" -- "$GLIA" summary /dev/stdin <<EOF2
[net]
input = 1, 8, 8
[conv]
filters = 4
size = 3
binary = ternary
EOF2
# [deconv] and [upsample]: the decoder's shapes and parameters (PyTorch's ConvTranspose2d
# weight [C, filters/groups, kh, kw]), and their errors
expect summary-decoder 0 "dec2  *deconv  *\[None, 4, 48, 24\]  *52 " -- "$GLIA" summary tests/models/decoder.cfg
expect summary-decoder-up 0 "up_bilinear      upsample       \[None, 4, 48, 48\]" -- "$GLIA" summary tests/models/decoder.cfg
expect summary-upsample-bad 1 "mode = area: nearest, bilinear or bicubic" -- "$GLIA" summary /dev/stdin <<EOF2
[net]
input = 1, 8, 8
[upsample]
mode = area
EOF2
expect summary-deconv-groups 1 "groups = 2 does not divide the 3 input channels and 4 filters" -- "$GLIA" summary /dev/stdin <<EOF2
[net]
input = 3, 8, 8
[deconv]
filters = 4
size = 2
groups = 2
EOF2
# the demo: LeNet-5 has 61,706 parameters, its gradients check, and training learns
out=$("$GLIA" demo --steps 150 2>&1); rc=$?
if [ $rc -ne 0 ]; then bad "demo exit $rc: $out"; else ok; fi
printf '%s' "$out" | grep -q "total parameters: 61706 " && ok || bad "demo parameter count: $out"
if printf '%s' "$out" | grep -q FAILED; then bad "demo gradient check failed: $out"; else ok; fi
acc=$(printf '%s\n' "$out" | sed -n 's/.*step  150 .*accuracy *\([0-9.]*\)%.*/\1/p')
if [ -n "$acc" ] && awk "BEGIN{exit !($acc >= 90)}"; then ok; else bad "demo accuracy '$acc' after 150 steps < 90%: $out"; fi
# glia train / eval / predict on real data (Fashion-MNIST; skipped when it is not installed):
# a short run (300 steps of LeNet-5, lr 0.03: 81.0% here) must beat 78% test accuracy; Ctrl-C (SIGINT) writes a
# checkpoint and --resume finishes with the same test accuracy as an uninterrupted run.
if [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  run=$(mktemp -d)
  out=$("$GLIA" train models/lenet5.cfg --epochs 1 --limit 19200 --lr 0.03 --out "$run/a" 2>&1); rc=$?
  acc=$(printf '%s\n' "$out" | sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p')
  if [ $rc -eq 0 ] && [ -n "$acc" ] && awk "BEGIN{exit !($acc >= 78)}"; then ok; else bad "train: 300 steps reached '$acc' (< 78%): $out"; fi
  for f in model.cfg weights.safetensors classes.txt metrics.csv curves.png checkpoint.safetensors; do
    [ -s "$run/a/$f" ] && ok || bad "train did not write $f"
  done
  head -c 8 "$run/a/curves.png" | od -An -c | grep -q "P   N   G" && ok || bad "curves.png is not a PNG"
  expect eval 0 "accuracy $acc%" -- "$GLIA" eval "$run/a"
  expect eval-confusion 0 "Ankle boot" -- "$GLIA" eval "$run/a"
  expect eval-missing 1 "is $run/nope a directory written by glia train" -- "$GLIA" eval "$run/nope"
  # predict: a test image written as PGM (the first test image is an ankle boot, class 9)
  { printf 'P5\n28 28\n255\n'; gzip -dc /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | tail -c +17 | head -c 784; } > "$run/boot.pgm"
  expect predict 0 "9 Ankle boot" -- "$GLIA" predict "$run/a" "$run/boot.pgm" --top 2
  expect predict-json 0 '{"class": 9, "name": "Ankle boot"' -- "$GLIA" predict "$run/a" "$run/boot.pgm" --json
  expect predict-pixel-limit 1 "boot.pgm: a 28x28 image (784 pixels) is over the limit of 100 pixels" -- "$GLIA" predict "$run/a" "$run/boot.pgm" --max-pixels 100
  printf 'not an image' > "$run/bad.png"
  expect predict-bad-image 1 "bad.png" -- "$GLIA" predict "$run/a" "$run/bad.png"
  # seeing inside: every picture command on the short LeNet-5 run (and a GAP model for CAM)
  # writes a PNG whose IHDR size is the one it reports, and that glia_image_load decodes
  png_ok() { # png_ok NAME FILE OUTPUT
    wh=$(printf '%s\n' "$3" | sed -n 's/^wrote .* (\([0-9]*\) x \([0-9]*\))$/\1 \2/p' | tail -n 1)
    hdr=$(od -An -tu1 -j16 -N8 "$2" 2>/dev/null | awk '{print $3*256+$4, $7*256+$8}')
    if [ -n "$wh" ] && [ "$wh" = "$hdr" ] && "$GLIA" predict "$run/a" "$2" >/dev/null 2>&1; then ok; else bad "$1: '$2' is not a valid PNG of size '$wh' (header '$hdr'): $3"; fi
  }
  viz() { # viz NAME FILE -- glia args...
    name=$1 file=$2; shift 3
    out=$("$GLIA" "$@" --out "$file" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then bad "$name: exit $rc: $out"; return; fi
    png_ok "$name" "$file" "$out"
  }
  viz filters "$run/f.png" -- filters "$run/a"
  viz filters-conv2 "$run/f2.png" -- filters "$run/a" --layer conv2
  viz features "$run/feat.png" -- features "$run/a" "$run/boot.pgm"
  viz maximize "$run/max.png" -- maximize "$run/a" --steps 20
  viz maximize-unit "$run/max1.png" -- maximize "$run/a" --layer conv2 --unit 3 --steps 20
  viz gradcam "$run/gc.png" -- gradcam "$run/a" "$run/boot.pgm" test:1
  viz gradcam-pp "$run/gcpp.png" -- gradcam "$run/a" test:2 --plus --layer conv1 --class 3
  viz saliency "$run/sal.png" -- saliency "$run/a" test:0
  viz fool "$run/fool.png" -- fool "$run/a" test:0 --target 3
  viz fool-fgsm "$run/fgsm.png" -- fool "$run/a" test:0 --fgsm --eps 0.05
  viz invert "$run/inv.png" -- invert "$run/a" test:0 --layer conv2 --steps 30
  viz dream "$run/dream.png" -- dream "$run/a" test:0 --layer conv2 --steps 5
  expect cam-not-gap 1 "CAM needs a network that ends in global average pooling" -- "$GLIA" cam "$run/a" test:0 --out "$run/x.png"
  expect filters-not-conv 1 "fc1' is a dense layer, not conv" -- "$GLIA" filters "$run/a" --layer fc1
  expect maximize-bad-unit 1 "has 10 units" -- "$GLIA" maximize "$run/a" --unit 10
  expect gradcam-bad-layer 1 "no layer 'nope'" -- "$GLIA" gradcam "$run/a" test:0 --layer nope
  expect fool-no-target 2 "need DIR IMAGE --target" -- "$GLIA" fool "$run/a" test:0
  expect saliency-bad-image 1 "bad.png" -- "$GLIA" saliency "$run/a" "$run/bad.png"
  # the targeted attack (to each image's label + 1) reaches its target on >= 95% of 100 test images
  out=$("$GLIA" fool "$run/a" --eval 100 2>&1)
  rate=$(printf '%s\n' "$out" | sed -n 's/.*fooling rate \([0-9.]*\)%.*/\1/p')
  if [ -n "$rate" ] && awk "BEGIN{exit !($rate >= 95)}"; then ok; else bad "targeted attack: fooling rate '$rate' < 95%: $out"; fi
  # CAM on a GAP network (models/gap-cnn.cfg, 1 short epoch)
  "$GLIA" train models/gap-cnn.cfg --epochs 1 --limit 1280 --out "$run/gap" > "$run/gap.log" 2>&1 || bad "train gap-cnn: $(cat "$run/gap.log")"
  viz cam "$run/cam.png" -- cam "$run/gap" test:0 test:1 test:2 test:3
  # SIGINT during the second of two epochs, then --resume: same test accuracy as run a + 1 epoch
  "$GLIA" train models/lenet5.cfg --epochs 2 --limit 6400 --out "$run/b" > "$run/b.log" 2>&1; rc1=$?
  "$GLIA" train models/lenet5.cfg --epochs 2 --limit 6400 --out "$run/c" > "$run/c.log" 2>&1 &
  pid=$!
  while ! grep -q "^epoch 1/2" "$run/c.log" 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 0.05; done
  kill -INT $pid; wait $pid; rc2=$?
  if [ $rc2 -eq 130 ] && grep -q "resume with: glia train --resume" "$run/c.log"; then ok; else bad "SIGINT: exit $rc2: $(cat "$run/c.log")"; fi
  "$GLIA" train --resume "$run/c" > "$run/c2.log" 2>&1; rc3=$?
  ta=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' "$run/b.log")
  tc=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' "$run/c2.log")
  if [ $rc1 -eq 0 ] && [ $rc3 -eq 0 ] && [ -n "$ta" ] && [ "$ta" = "$tc" ] && cmp -s "$run/b/weights.safetensors" "$run/c/weights.safetensors"; then ok
  else bad "resume after SIGINT: '$ta' vs '$tc' or weights differ: $(cat "$run/c.log" "$run/c2.log")"; fi
  expect resume-bad-option 2 "only --epochs may change" -- "$GLIA" train --resume "$run/c" --lr 0.1
  # a binary network (LeNet-5 XNOR, a short epoch): glia pack writes its packed weights, and the
  # network read back from them (its scales rounded to F16) is evaluated too
  "$GLIA" train models/lenet5-xnor.cfg --epochs 1 --limit 3200 --out "$run/x" > "$run/x.log" 2>&1 || bad "train lenet5-xnor: $(cat "$run/x.log")"
  expect pack 0 "packed file .*: [0-9.]*x smaller" -- "$GLIA" pack "$run/x" --eval
  [ -s "$run/x/weights.packed.safetensors" ] && ok || bad "pack wrote no weights.packed.safetensors"
  # glia eval and glia predict read the packed file directly (a file in the run, or --weights):
  # the accuracy pack --eval gave for it, and the same prediction either way
  pacc=$(printf '%s\n' "$out" | sed -n 's/.*, \([0-9.]*\)% with the packed file.*/\1/p')
  facc=$(printf '%s\n' "$out" | sed -n 's/^test accuracy *\([0-9.]*\)% with weights.safetensors.*/\1/p')
  [ -n "$pacc" ] && [ -n "$facc" ] && ok || bad "pack --eval printed no packed accuracy: $out"
  expect eval-packed 0 "accuracy $pacc%" -- "$GLIA" eval "$run/x/weights.packed.safetensors"
  expect eval-packed-weights 0 "weights $run/x/weights.packed.safetensors (packed" -- "$GLIA" eval "$run/x" --weights "$run/x/weights.packed.safetensors"
  expect eval-weights-plain 0 "accuracy $facc%" -- "$GLIA" eval "$run/x" --weights "$run/x/weights.safetensors"
  p1=$("$GLIA" predict "$run/x/weights.packed.safetensors" "$run/boot.pgm" --top 1 2>&1); r1=$?
  p2=$("$GLIA" predict "$run/x" "$run/boot.pgm" --top 1 --weights "$run/x/weights.packed.safetensors" 2>&1); r2=$?
  if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$p1" = "$p2" ] && printf '%s' "$p1" | grep -q "%  [0-9]"; then ok
  else bad "predict with the packed file: exit $r1 / $r2: $p1 / $p2"; fi
  head -c $(($(wc -c < "$run/x/weights.packed.safetensors") - 1)) "$run/x/weights.packed.safetensors" > "$run/cut.safetensors"
  expect eval-packed-cut 1 "cut.safetensors: tensor .* has data_offsets" -- "$GLIA" eval "$run/x" --weights "$run/cut.safetensors"
  expect pack-a-file 1 "is not a directory" -- "$GLIA" pack "$run/x/weights.packed.safetensors"
  expect pack-missing 1 "is $run/nope a directory written by glia train" -- "$GLIA" pack "$run/nope"
  # transfer learning from run a: conv1, conv2 frozen, fc3 new; a classifier of another shape
  # must be listed as new, and the error names it
  out=$("$GLIA" train models/lenet5.cfg --init-from "$run/a" --freeze conv1,conv2 --new fc3 --epochs 1 --limit 640 --out "$run/t" 2>&1); rc=$?
  if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "conv1 *frozen" && printf '%s' "$out" | grep -q "fc1 *loaded" &&
     printf '%s' "$out" | grep -q "4 layers loaded (2 of them frozen: 2572 values), 1 new (850 values)"; then ok
  else bad "train --init-from: exit $rc: $out"; fi
  sed 's/^units = 10$/units = 5/' models/lenet5.cfg > "$run/five.cfg"
  expect init-from-mismatch 1 "layer 'fc3': fc3.weight is \[5, 84\] here but \[10, 84\]" -- "$GLIA" train "$run/five.cfg" --init-from "$run/a" --out "$run/u"
  # per-layer learning-rate factors: a fine-tuning run of run a with small factors
  expect train-lr-factor 0 "learning-rate factors: conv1=0.1,conv2=0.1" -- "$GLIA" train models/lenet5.cfg --init-from "$run/a" --lr-factor conv1=0.1,conv2=0.1 --epochs 1 --limit 640 --out "$run/f"
  rm -rf "$run"
else
  echo "cli: Fashion-MNIST not installed (scripts/fetch-data fashion-mnist); training checks skipped"
fi
expect train-missing-model 1 "no-such.cfg: cannot open" -- "$GLIA" train no-such.cfg
expect train-bad-option 2 "unknown or incomplete option '--bogus'" -- "$GLIA" train models/lenet5.cfg --bogus
expect train-bad-optimizer 1 "optimizer = adagrad" -- "$GLIA" train models/lenet5.cfg --optimizer adagrad --data fashion-mnist --out /tmp/glia-cli-never
expect train-freeze-alone 2 "go with --init-from" -- "$GLIA" train models/lenet5.cfg --freeze conv1
expect train-lr-factor-bad-layer 1 "lr factors: 'conv9' is not a layer" -- "$GLIA" train models/lenet5.cfg --lr-factor conv9=0.1 --data fashion-mnist --out /tmp/glia-cli-never
expect train-lr-factor-resume 2 "lr-factor starts a new run" -- "$GLIA" train --resume /tmp/glia-cli-never --lr-factor conv1=0
expect train-bad-loss 1 "loss = hinge" -- "$GLIA" train models/lenet5.cfg --loss hinge --data fashion-mnist --out /tmp/glia-cli-never
expect train-bad-device 1 "no device named 'gpu'" -- "$GLIA" train models/lenet5.cfg --device gpu --data fashion-mnist --out /tmp/glia-cli-never
rm -rf /tmp/glia-cli-never
# sequence models (issue 4): summary counts, a tiny character LM trained on generated text beats
# the uniform guess, stops on SIGINT-free epochs and resumes bit for bit, then generates text;
# the gradient demonstration
for c in generate gradflow curves; do expect "$c --help" 0 "usage: glia $c" -- "$GLIA" "$c" --help; done
expect summary-char-lstm 0 "lstm             lstm           \[64, None, 256\]            888832" -- "$GLIA" summary models/char-lstm.cfg
expect summary-tagger 0 "total params: 1490992" -- "$GLIA" summary models/tagger-bilstm.cfg
seq=$(mktemp -d)
i=0; while [ $i -lt 300 ]; do printf 'the cat sat on the mat. a dog ate the hat. ' ; i=$((i + 1)); done > "$seq/t.txt"
printf '[net]\ninput = 1\nsequence = 16\nclasses = 24\nbatch = 8\nepochs = 2\nlr = 0.01\noptimizer = adam\nclip_norm = 5\n[onehot]\nvocab = 24\n[lstm]\nhidden = 32\n[seqdense]\nunits = 24\n' > "$seq/lm.cfg"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/lm.cfg" --data "chars:$seq/t.txt" --out "$seq/a" > "$seq/a.log" 2>&1; rc=$?
# uniform over the 15 symbols of the text: ln 15 = 2.7 nats; the repeated sentences are easy
bpc=$(sed -n 's/.*(\([0-9.]*\) bits\/char).*/\1/p' "$seq/a.log" | tail -1)
if [ $rc -eq 0 ] && [ -n "$bpc" ] && awk "BEGIN{exit !($bpc < 1.5)}"; then ok; else bad "char LM: exit $rc, bits/char '$bpc': $(cat "$seq/a.log")"; fi
OMP_NUM_THREADS=1 "$GLIA" train "$seq/lm.cfg" --data "chars:$seq/t.txt" --epochs 1 --out "$seq/b" > /dev/null 2>&1
OMP_NUM_THREADS=1 "$GLIA" train --resume "$seq/b" --epochs 2 > "$seq/b.log" 2>&1
if cmp -s "$seq/a/weights.safetensors" "$seq/b/weights.safetensors"; then ok; else bad "sequence resume differs: $(cat "$seq/b.log")"; fi
expect generate 0 "^the cat" -- "$GLIA" generate "$seq/a" --prime "the cat" --length 40 --temperature 0.5 --seed 3
g1=$("$GLIA" generate "$seq/a" --prime "a " --length 60 --seed 9); g2=$("$GLIA" generate "$seq/a" --prime "a " --length 60 --seed 9)
[ "$g1" = "$g2" ] && [ ${#g1} -ge 60 ] && ok || bad "generate is not repeatable: '$g1' '$g2'"
expect generate-no-dir 1 "vocab.txt" -- "$GLIA" generate "$seq/none"
expect generate-bad-temp 2 "bad value" -- "$GLIA" generate "$seq/a" --temperature 0
# the course's other recurrent cells (issue 20): a tiny clockwork and SCRN language model learn
# the text, resume bit for bit (the clockwork's clock and the SCRN's context carried in the
# checkpoint) and write their layers back, and generate text one step at a time
for cell in clockwork scrn; do
  case $cell in clockwork) k='modules = 4' ;; scrn) k='context = 8' ;; esac
  sed "s/^\[lstm\]/[$cell]\n$k/" "$seq/lm.cfg" > "$seq/$cell.cfg"
  OMP_NUM_THREADS=1 "$GLIA" train "$seq/$cell.cfg" --data "chars:$seq/t.txt" --out "$seq/$cell-a" > "$seq/$cell.log" 2>&1; rc=$?
  bpc=$(sed -n 's/.*(\([0-9.]*\) bits\/char).*/\1/p' "$seq/$cell.log" | tail -1)
  if [ $rc -eq 0 ] && [ -n "$bpc" ] && awk "BEGIN{exit !($bpc < 2.0)}" && grep -q "^$k" "$seq/$cell-a/model.cfg"; then ok; else bad "$cell LM: exit $rc, bits/char '$bpc': $(cat "$seq/$cell.log")"; fi
  OMP_NUM_THREADS=1 "$GLIA" train "$seq/$cell.cfg" --data "chars:$seq/t.txt" --epochs 1 --out "$seq/$cell-b" > /dev/null 2>&1
  OMP_NUM_THREADS=1 "$GLIA" train --resume "$seq/$cell-b" --epochs 2 > "$seq/$cell-b.log" 2>&1
  if cmp -s "$seq/$cell-a/weights.safetensors" "$seq/$cell-b/weights.safetensors"; then ok; else bad "$cell resume differs: $(cat "$seq/$cell-b.log")"; fi
done
expect generate-scrn 0 "^the cat" -- "$GLIA" generate "$seq/scrn-a" --prime "the cat" --length 20 --seed 3
expect generate-clockwork 0 "^the cat" -- "$GLIA" generate "$seq/clockwork-a" --prime "the cat" --length 20 --seed 3
expect train-seq-on-images 1 "text data set" -- "$GLIA" train "$seq/lm.cfg" --data fashion-mnist --out "$seq/c"
expect train-seq-bad-data 1 "unknown text data set" -- "$GLIA" train "$seq/lm.cfg" --data nonesuch --out "$seq/c"
# sentiment from letter trigrams ([wordhash]): a tiny sentences file learned in 2 epochs, every
# word in vocab.txt (no <other>), resumed bit for bit (at a constant rate: the model's cosine
# schedule spans the run's epochs, so 1 epoch then 2 would follow another schedule); a
# character LM cannot hash words
expect summary-trigram 0 "total params: 1468418" -- "$GLIA" summary models/sentiment-trigram.cfg
i=0; while [ $i -lt 40 ]; do printf '"1","a great film , wonderful and moving"\n"-1","a dull film , awful and boring"\n"1","the best acting , truly great"\n"-1","the worst plot , truly dull"\n'; i=$((i + 1)); done > "$seq/s.csv"
OMP_NUM_THREADS=1 "$GLIA" train models/sentiment-trigram.cfg --data "sentences:$seq/s.csv" --val 0.2 --epochs 2 --schedule constant --out "$seq/h" > "$seq/h.log" 2>&1; rc=$?
acc=$(sed -n 's/^held-out accuracy \([0-9.]*\)%.*/\1/p' "$seq/h.log")
if [ $rc -eq 0 ] && [ -n "$acc" ] && awk "BEGIN{exit !($acc >= 90)}"; then ok; else bad "trigram sentiment: exit $rc, accuracy '$acc': $(cat "$seq/h.log")"; fi
if grep -qx wonderful "$seq/h/vocab.txt" && ! grep -q "<other>" "$seq/h/vocab.txt"; then ok; else bad "trigram vocab.txt: $(head "$seq/h/vocab.txt")"; fi
OMP_NUM_THREADS=1 "$GLIA" train models/sentiment-trigram.cfg --data "sentences:$seq/s.csv" --val 0.2 --epochs 1 --schedule constant --out "$seq/h1" > /dev/null 2>&1
OMP_NUM_THREADS=1 "$GLIA" train --resume "$seq/h1" --epochs 2 > "$seq/h1.log" 2>&1
if cmp -s "$seq/h/weights.safetensors" "$seq/h1/weights.safetensors"; then ok; else bad "trigram resume differs: $(cat "$seq/h1.log")"; fi
# glia predict on sentences: the trigram classifier above, a small tagger, and the char LM
expect predict-sentence 0 "%  1 1" -- "$GLIA" predict "$seq/h" "a great film , wonderful and moving" --top 1
expect predict-sentence-json 0 '"top": \[{"class": 0, "name": "-1"' -- "$GLIA" predict "$seq/h" "the worst plot , truly dull" --json --top 1
i=0; while [ $i -lt 30 ]; do printf 'the/DT cat/NN sat/VBD\na/DT dog/NN ran/VBD\nthe/DT dog/NN sat/VBD\n'; i=$((i + 1)); done > "$seq/tags.txt"
printf '[net]\ninput = 1\nsequence = 6\nclasses = 3\nbatch = 8\nepochs = 3\nlr = 0.02\noptimizer = adam\nclip_norm = 5\n[embedding]\nvocab = 16\ndim = 8\n[lstm]\nhidden = 8\nbidirectional = 1\n[seqdense]\nunits = 3\n' > "$seq/tag.cfg"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/tag.cfg" --data "tags:$seq/tags.txt" --val 0.2 --out "$seq/tg" > "$seq/tg.log" 2>&1 || bad "tagger training: $(cat "$seq/tg.log")"
expect predict-tags 0 "the/DT cat/NN ran/VBD" -- "$GLIA" predict "$seq/tg" "The cat ran"
expect predict-lm 1 "glia generate" -- "$GLIA" predict "$seq/a" "the cat"
expect generate-wordhash 1 "letter trigrams" -- "$GLIA" generate "$seq/h"
expect predict-empty-sentence 1 "no words" -- "$GLIA" predict "$seq/h" "   "
expect train-wordhash-chars 1 "\[wordhash\] reads words as letter trigrams" -- "$GLIA" train models/sentiment-trigram.cfg --data "chars:$seq/t.txt" --out "$seq/c"
expect gradflow 0 "rnn w=1.01 .* 2.075e+04" -- "$GLIA" gradflow --png "$seq/g.png"
[ -s "$seq/g.png" ] && ok || bad "gradflow wrote no PNG"
# your own images: a folder of class subfolders (PGM files written here: dark, bright), a test
# folder, a broken file skipped with a warning naming it (or fatal with --strict-images), then
# eval on the folder and predict on one of its images
imf=$(mktemp -d)
pgm() { # pgm FILE BYTE: a 6x6 grey image, every pixel BYTE (octal), one pixel varied by the name
  { printf 'P5\n6 6\n255\n'; i=0; while [ $i -lt 35 ]; do printf "\\$2"; i=$((i + 1)); done; printf "\\$(printf '%03o' $(( ${#1} % 64 + 64 )))"; } > "$1"
}
for part in train test; do
  mkdir -p "$imf/$part/bright" "$imf/$part/dark"
  n=0; while [ $n -lt 12 ]; do pgm "$imf/$part/bright/b$n.pgm" 360; pgm "$imf/$part/dark/d$n.pgm" 020; n=$((n + 1)); done
done
printf 'not an image' > "$imf/train/dark/broken.png"
printf '[net]\ninput = 1, 4, 4\nclasses = 2\nbatch = 4\nepochs = 2\nlr = 0.1\n[dense]\nunits = 2\n' > "$imf/tiny.cfg"
expect train-folder 0 "test accuracy 100.00% (top-5 100.00%, loss [0-9.]*) on 24 images" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/run"
expect train-folder-warns 0 "warning: skipped .*broken.png" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/run2"
expect train-folder-strict 1 "broken.png.*unreadable images are errors here" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --strict-images --val 0.2 --out "$imf/run3"
expect train-folder-no-test 1 "give a folder for it (--val-dir)" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --val 0 --out "$imf/run3"
if [ "$(cat "$imf/run/classes.txt")" = "$(printf 'bright\ndark')" ]; then ok; else bad "folder classes.txt: $(cat "$imf/run/classes.txt")"; fi
expect eval-folder 0 "accuracy 100.00%" -- "$GLIA" eval "$imf/run"
expect eval-folder-data 0 "bright .*100.00%" -- "$GLIA" eval "$imf/run" --data "$imf/test"
expect predict-folder-image 0 "dark" -- "$GLIA" predict "$imf/run" "$imf/test/dark/d3.pgm" --top 1
# the batches made in the training thread or by 3 decode threads, with a cache cap: the same run
expect train-folder-threads 0 "test accuracy 100.00%" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/run4" --decode-threads 3 --cache-mb 1
expect train-folder-no-threads 0 "test accuracy 100.00%" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/run5" --decode-threads 0
if cmp -s "$imf/run/weights.safetensors" "$imf/run4/weights.safetensors" && cmp -s "$imf/run/weights.safetensors" "$imf/run5/weights.safetensors"; then ok; else bad "decode threads changed the weights"; fi
expect train-bad-cache 2 "bad value '-1' for --cache-mb" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --cache-mb -1
expect train-bad-threads 2 "bad value 'x' for --decode-threads" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --decode-threads x
expect eval-folder-cache 0 "accuracy 100.00%" -- "$GLIA" eval "$imf/run" --cache-mb 1
expect eval-bad-cache 2 "bad value 'y' for --cache-mb" -- "$GLIA" eval "$imf/run" --cache-mb y
# Ctrl-C while decode threads make batches: the loop stops at a batch's end and saves its
# checkpoint (exit 130, "resume with"), and the resumed run ends with the uninterrupted run's
# weights (a signal that comes before the run has started: the run is made again)
printf '[net]\ninput = 1, 4, 4\nclasses = 2\nbatch = 4\nepochs = 60\nlr = 0.1\nflip = 1\ncrop = 0.5\n[dense]\nunits = 2\n' > "$imf/long.cfg"
"$GLIA" train "$imf/long.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/ref" --decode-threads 3 > /dev/null 2>&1
OMP_WAIT_POLICY=passive OPENBLAS_THREAD_TIMEOUT=4 "$GLIA" train "$imf/long.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/int" --decode-threads 3 > "$imf/int.log" 2>&1 &
pid=$!; sleep 1; kill -INT $pid 2>/dev/null; wait $pid; rc=$?
if grep -q "resume with: glia train --resume" "$imf/int.log"; then
  [ $rc -eq 130 ] || bad "interrupted folder run: exit $rc, expected 130"
  "$GLIA" train --resume "$imf/int" --decode-threads 2 > /dev/null 2>&1 || bad "resume of the interrupted folder run failed"
elif [ $rc -ne 0 ]; then rm -rf "$imf/int"; "$GLIA" train "$imf/long.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/int" > /dev/null 2>&1; fi
if cmp -s "$imf/ref/weights.safetensors" "$imf/int/weights.safetensors"; then ok; else bad "interrupted and resumed folder run (exit $rc) ended with other weights"; fi
# a model trained with random resized crops: eval and predict show it the centre box
expect train-folder-crop 0 "test accuracy 100.00%" -- "$GLIA" train "$imf/tiny.cfg" --data "$imf/train" --val-dir "$imf/test" --out "$imf/run6" --crop 0.8
expect eval-folder-crop 0 "accuracy 100.00%" -- "$GLIA" eval "$imf/run6"
expect predict-folder-crop 0 "dark" -- "$GLIA" predict "$imf/run6" "$imf/test/dark/d3.pgm" --top 1
printf 'path,label\ntrain/bright/b1.pgm,bright\ntrain/dark/d1.pgm,dark\ntrain/bright/b2.pgm,bright\ntrain/dark/d2.pgm,dark\ntrain/bright/b3.pgm,bright\n' > "$imf/list.txt"
expect eval-list-file 0 "on $imf/list.txt (test split, 5 images)" -- "$GLIA" eval "$imf/run" --data "$imf/list.txt"
rm -rf "$imf"
# CSV tables: classification by a text column, regression on two targets (the progress prints
# the loss, no accuracy), and a header without the named column
tab=$(mktemp -d)
awk 'BEGIN { srand(7); print "a,b,kind,r1,r2"; for (i = 0; i < 120; i++) { a = rand() * 2 - 1; b = rand() * 2 - 1;
  printf "%.5f,%.5f,%s,%.5f,%.5f\n", a, b, (a > b ? "up" : "down"), a + 2 * b, a - b } }' > "$tab/t.csv"
printf '[net]\ninput = 4\nclasses = 2\nbatch = 8\nepochs = 15\nlr = 0.02\noptimizer = adam\n[dense]\nunits = 2\n' > "$tab/c.cfg"
expect train-csv-classify 0 "test accuracy 9[0-9].[0-9]*%.* on 24 images" -- "$GLIA" train "$tab/c.cfg" --data "$tab/t.csv" --target kind --val 0.2 --out "$tab/c"
if [ "$(cat "$tab/c/classes.txt")" = "$(printf 'down\nup')" ]; then ok; else bad "csv classes.txt: $(cat "$tab/c/classes.txt")"; fi
cut -d, -f1,2,4,5 "$tab/t.csv" > "$tab/r.csv"
printf '[net]\ninput = 2\nclasses = 2\nbatch = 8\nepochs = 30\nlr = 0.02\noptimizer = adam\nloss = mse\n[dense]\nunits = 2\n' > "$tab/r.cfg"
out=$("$GLIA" train "$tab/r.cfg" --data "$tab/r.csv" --target r1,r2 --val 0.2 --out "$tab/r" 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "^epoch 30/30  train loss [0-9.]*  val loss [0-9.]*  lr" &&
   ! printf '%s' "$out" | grep -q "acc" && printf '%s' "$out" | grep -q "^epoch 30/30 .* rows/s)$" && printf '%s' "$out" | grep -q "^test loss [0-9.e-]* (\[net\] loss mse, on the held-out part) on 24 rows"; then ok
else bad "train-csv-regress: $out"; fi
# glia eval on table runs: the held-out part, split as training split it (the same figures)
tl=$(printf '%s' "$out" | sed -n 's/^test loss \([0-9.e+-]*\) .*/\1/p') # train's (expect sets out)
acc=$(tail -n 1 "$tab/c/metrics.csv" | awk -F, '{ printf "%.2f", 100 * $5 }') # the last held-out accuracy
expect eval-csv-classify 0 "^accuracy $acc%  top-5" -- "$GLIA" eval "$tab/c"
expect eval-csv-regress 0 "^test loss $tl (\[net\] loss mse)" -- "$GLIA" eval "$tab/r"
expect train-csv-missing-column 1 "no column 'price' in the header (its columns: a, b, r1, r2)" -- "$GLIA" train "$tab/r.cfg" --data "$tab/r.csv" --target price --val 0.2 --out "$tab/x"
printf 'a,b,r1,r2\n1,2,3,4\n5,six,7,8\n' > "$tab/bad.csv"
expect train-csv-bad-cell 1 "bad.csv:3, column 2 ('b'): 'six' is not a number" -- "$GLIA" train "$tab/r.cfg" --data "$tab/bad.csv" --target r1,r2 --val 0.2 --out "$tab/x"
rm -rf "$tab"
# glia style: two small grey pictures (a ramp, stripes), a few steps; the result and the panel are PNGs
sty=$(mktemp -d)
{ printf 'P5\n16 16\n255\n'; i=0; while [ $i -lt 256 ]; do printf "\\$(printf '%03o' $(( i % 16 * 15 )))"; i=$((i + 1)); done; } > "$sty/c.pgm"
{ printf 'P5\n16 16\n255\n'; i=0; while [ $i -lt 256 ]; do printf "\\$(printf '%03o' $(( (i / 2 % 2) * 200 + 20 )))"; i=$((i + 1)); done; } > "$sty/s.pgm"
expect style-run 0 "wrote $sty/o.png and $sty/p.png" -- "$GLIA" style "$sty/c.pgm" "$sty/s.pgm" --grey --size 16 --steps 5 --filters 4 --out "$sty/o.png" --panel "$sty/p.png"
head -c 8 "$sty/p.png" | od -An -c | grep -q "P   N   G" && ok || bad "style panel is not a PNG"
expect style-no-out 2 "need CONTENT, STYLE and --out" -- "$GLIA" style "$sty/c.pgm" "$sty/s.pgm"
expect style-bad-size 2 "bad value '8' for --size" -- "$GLIA" style "$sty/c.pgm" "$sty/s.pgm" --size 8 --out "$sty/o.png"
expect style-missing-file 1 "nope.png" -- "$GLIA" style "$sty/nope.png" "$sty/s.pgm" --out "$sty/o.png"
rm -rf "$sty"
# sequence to sequence (issue 20): a tiny reversal task trained, decoded, resumed, its attention
for c in translate attention; do expect "$c --help" 0 "usage: glia $c" -- "$GLIA" "$c" --help; done
i=0; for w in 1 2 3 12 21 13 31 23 32 123 132 213 231 312 321 1 12 123; do printf '%s\t%s\n' "$(echo $w | sed 's/./& /g;s/ $//')" "$(echo $w | rev | sed 's/./& /g;s/ $//')"; done > "$seq/r1.tsv"
i=0; while [ $i -lt 20 ]; do cat "$seq/r1.tsv"; i=$((i + 1)); done > "$seq/rev.tsv"
printf '[net]\ninput = 1\nsequence = 3\ntarget = 4\nclasses = 5\nbatch = 8\nepochs = 4\nlr = 0.02\noptimizer = adam\n[embedding]\nname = s\ninput = data\nvocab = 4\ndim = 8\n[gru]\nname = enc\nhidden = 16\n[embedding]\nname = t\ninput = target\nvocab = 5\ndim = 8\n[gru]\nname = dec\nhidden = 16\n[attention]\nmemory = enc\nscore = dot\n[seqdense]\nunits = 5\n' > "$seq/rev.cfg"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --out "$seq/r" > "$seq/r.log" 2>&1 || bad "seq2seq training: $(cat "$seq/r.log")"
[ -s "$seq/r/target_vocab.txt" ] && grep -qx '</s>' "$seq/r/target_vocab.txt" && ok || bad "seq2seq run has no target_vocab.txt"
grep -q "^epoch .* tok/s)$" "$seq/r.log" && ! grep -q "img/s" "$seq/r.log" && ok || bad "seq2seq progress does not count tokens: $(cat "$seq/r.log")"
expect translate 0 "^123	3 2 1" -- "$GLIA" translate "$seq/r" 123 "2 1" --beam 2
expect translate-json 0 '"output": \["1", "2"\]' -- "$GLIA" translate "$seq/r" 21 --json
expect translate-test 0 "token (phoneme) error rate" -- "$GLIA" translate "$seq/r" --test
# one-step decoding (the default) and rerunning the prefix (--recompute) give the same
a1=$("$GLIA" translate "$seq/r" 123 321 12 3 --beam 3 --json 2>&1); a2=$("$GLIA" translate "$seq/r" 123 321 12 3 --beam 3 --json --recompute 2>&1)
[ -n "$a1" ] && [ "$(echo "$a1" | sed 's/"log_prob": [-0-9.e]*//g')" = "$(echo "$a2" | sed 's/"log_prob": [-0-9.e]*//g')" ] && ok || bad "translate --recompute differs: $a1 / $a2"
expect translate-too-long 1 "too many" -- "$GLIA" translate "$seq/r" 12312
# --file: a line per input, as if given on the command line; blank lines skipped, a bad line
# named by its number while the others are still decoded; - reads standard input
printf '123\n\n2 1\r\n12312\n321\n' > "$seq/in.txt"
f1=$("$GLIA" translate "$seq/r" --file "$seq/in.txt" --beam 2 2>"$seq/in.err"); frc=$?
f2=$("$GLIA" translate "$seq/r" 123 "2 1" 321 --beam 2 2>&1)
[ "$frc" -eq 1 ] && [ -n "$f1" ] && [ "$f1" = "$f2" ] && grep -q "in.txt:4: '12312' has too many" "$seq/in.err" && ok || bad "translate --file: rc $frc, '$f1' / '$f2', $(cat "$seq/in.err")"
expect translate-stdin 0 '"input": "321", "output": \["1", "2", "3"\]' -- sh -c "printf '321\n' | \"$GLIA\" translate \"$seq/r\" --file - --json"
expect translate-file-missing 1 "cannot open" -- "$GLIA" translate "$seq/r" --file "$seq/none.txt"
# across the 1,024-line chunks with --json: one object per good line, commas only between them;
# line 700 (too long) is named and skipped; spaces, tabs and a pairs file's target are not input
awk 'BEGIN { for (i = 1; i <= 1030; i++) print (i == 700 ? "12312" : i == 5 ? " 21\t1 2 " : (i % 3 ? "12" : "321")) }' > "$seq/many.txt"
j=$("$GLIA" translate "$seq/r" --file "$seq/many.txt" --json 2>"$seq/many.err"); jrc=$?
[ "$jrc" -eq 1 ] && [ "$(printf '%s' "$j" | grep -o '"input"' | wc -l)" -eq 1029 ] && \
  printf '%s' "$j" | grep -q '^{"beam": 1, "models": 1, "translations": \[{"input": "12".*}\]}$' && \
  ! printf '%s' "$j" | grep -q '\[, \|}, ,\|},{' && printf '%s' "$j" | grep -q '{"input": "21", "output": \["1", "2"\]' && \
  grep -q "many.txt:700: '12312'" "$seq/many.err" && ok || bad "translate --file --json over chunks: rc $jrc, $(cat "$seq/many.err")"
expect translate-not-s2s 1 "not an encoder-decoder" -- "$GLIA" translate "$seq/a" 12
expect translate-bad-beam 2 "beam" -- "$GLIA" translate "$seq/r" 12 --beam 0
expect eval-s2s 1 "glia translate" -- "$GLIA" eval "$seq/r"
expect predict-s2s 1 "glia translate" -- "$GLIA" predict "$seq/r" 12
expect attention 0 "wrote $seq/att.png" -- "$GLIA" attention "$seq/r" 312 --out "$seq/att.png"
[ -s "$seq/att.png" ] && ok || bad "attention wrote no PNG"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --epochs 2 --out "$seq/r2" > /dev/null 2>&1
OMP_NUM_THREADS=1 "$GLIA" train --resume "$seq/r2" --epochs 4 > "$seq/r2.log" 2>&1
if cmp -s "$seq/r/weights.safetensors" "$seq/r2/weights.safetensors"; then ok; else bad "seq2seq resume differs: $(cat "$seq/r2.log")"; fi
# --ensemble: r2 holds r's weights, so the pair decodes as r alone; its --test says ensemble;
# a run that is not an encoder-decoder is refused
a1=$("$GLIA" translate "$seq/r" 123 321 12 3 --beam 3 2>&1); a2=$("$GLIA" translate "$seq/r" 123 321 12 3 --beam 3 --ensemble "$seq/r2" 2>&1)
[ -n "$a1" ] && [ "$a1" = "$a2" ] && ok || bad "translate --ensemble of a model with itself differs: $a1 / $a2"
expect translate-ensemble-test 0 "beam 2, ensemble: token" -- "$GLIA" translate "$seq/r" --test --beam 2 --ensemble "$seq/r2"
# greedy --test of an ensemble runs batched (glia_seq2seq_greedy_ensemble): the same rates as r alone
g1=$("$GLIA" translate "$seq/r" --test 2>&1 | tail -n 1); g2=$("$GLIA" translate "$seq/r" --test --ensemble "$seq/r2" 2>&1 | tail -n 1)
case "$g2" in *"beam 1, ensemble: token"*) [ "${g2#*ensemble: }" = "${g1#*beam 1: }" ] && ok || bad "translate --test --ensemble greedy: $g2 / $g1" ;; *) bad "translate --test --ensemble greedy: $g2" ;; esac
expect translate-ensemble-not-s2s 1 "not an encoder-decoder" -- "$GLIA" translate "$seq/r" 12 --ensemble "$seq/a"
# input feeding ([attention_decoder] feed = 1) trained with length buckets (--bucket, kept in
# model.cfg): one-step decoding carries its attentional vector (the same as --recompute), and
# its attention picture has a row per step
printf '[net]\ninput = 1\nsequence = 3\ntarget = 4\nclasses = 5\nbatch = 8\nepochs = 2\nlr = 0.02\noptimizer = adam\n[embedding]\nname = s\ninput = data\nvocab = 4\ndim = 8\n[gru]\nname = enc\nhidden = 16\n[embedding]\nname = t\ninput = target\nvocab = 5\ndim = 8\n[attention_decoder]\nname = dec\nmemory = enc\nhidden = 16\nscore = dot\nunits = 8\n[dense]\nunits = 5\n' > "$seq/feed.cfg"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/feed.cfg" --data "pairs:$seq/rev.tsv" --bucket 2 --out "$seq/f" > "$seq/f.log" 2>&1 || bad "input feeding training: $(cat "$seq/f.log")"
grep -qx 'bucket = 2' "$seq/f/model.cfg" && grep -qx 'feed = 1' "$seq/f/model.cfg" && ok || bad "model.cfg lacks bucket = 2 or feed = 1: $(cat "$seq/f/model.cfg")"
a1=$("$GLIA" translate "$seq/f" 123 321 12 3 --beam 3 --json 2>&1); a2=$("$GLIA" translate "$seq/f" 123 321 12 3 --beam 3 --json --recompute 2>&1)
[ -n "$a1" ] && [ "$(echo "$a1" | sed 's/"log_prob": [-0-9.e]*//g')" = "$(echo "$a2" | sed 's/"log_prob": [-0-9.e]*//g')" ] && ok || bad "input feeding: translate --recompute differs: $a1 / $a2"
expect attention-feed 0 "wrote $seq/attf.png" -- "$GLIA" attention "$seq/f" 312 --out "$seq/attf.png"
# label smoothing (--label-smoothing, kept in model.cfg: --resume continues with it bit for bit);
# values outside [0, 1) and a loss without classes to smooth are refused before training
OMP_NUM_THREADS=1 "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --epochs 2 --label-smoothing 0.1 --out "$seq/ls" > "$seq/ls.log" 2>&1 || bad "label smoothing training: $(cat "$seq/ls.log")"
grep -qx 'label_smoothing = 0.1' "$seq/ls/model.cfg" && ! grep -q 'label_smoothing' "$seq/r/model.cfg" && ok || bad "model.cfg: label_smoothing = 0.1 missing (or written without being set): $(cat "$seq/ls/model.cfg")"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --epochs 1 --label-smoothing 0.1 --out "$seq/ls2" > /dev/null 2>&1
OMP_NUM_THREADS=1 "$GLIA" train --resume "$seq/ls2" --epochs 2 > "$seq/ls2.log" 2>&1
if cmp -s "$seq/ls/weights.safetensors" "$seq/ls2/weights.safetensors"; then ok; else bad "label smoothing resume differs: $(cat "$seq/ls2.log")"; fi
OMP_NUM_THREADS=1 "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --epochs 2 --out "$seq/ls0" > /dev/null 2>&1
if cmp -s "$seq/ls/weights.safetensors" "$seq/ls0/weights.safetensors"; then bad "--label-smoothing 0.1 trained the same weights as without"; else ok; fi
expect label-smoothing-negative 1 "label_smoothing = -0.1: must be in \[0, 1)" -- "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --label-smoothing -0.1 --out "$seq/lsbad"
expect label-smoothing-large 1 "label_smoothing = 1.5: must be in \[0, 1)" -- "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --label-smoothing 1.5 --out "$seq/lsbad"
expect label-smoothing-text 1 "label_smoothing = x: expected" -- "$GLIA" train "$seq/rev.cfg" --data "pairs:$seq/rev.tsv" --label-smoothing x --out "$seq/lsbad"
expect label-smoothing-resume 2 "only --epochs may change" -- "$GLIA" train --resume "$seq/ls" --label-smoothing 0.2
# issue 23, robustness: two runs on one directory (the second refused with the first's PID, the
# first's files intact), a killed run's lock gone with it and its temporary files removed
lock=$seq/tg-lock
sed 's/^epochs = 3/epochs = 4/' "$seq/tag.cfg" > "$seq/tag4.cfg"
sed 's/^hidden = 8/hidden = 16/' "$seq/tag.cfg" > "$seq/tag16.cfg"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/tag4.cfg" --data "tags:$seq/tags.txt" --val 0.2 --out "$lock" > "$seq/l1.log" 2>&1 &
pid=$!
while ! grep -q "^epoch 1/4" "$seq/l1.log" 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 0.02; done
kill -STOP $pid # holds the lock, mid-run
expect concurrent-run 1 "$lock: the run directory is in use: process $pid holds its lock" -- "$GLIA" train "$seq/tag16.cfg" --data "tags:$seq/tags.txt" --out "$lock"
expect concurrent-resume 1 "process $pid holds its lock" -- "$GLIA" train --resume "$lock"
kill -CONT $pid; wait $pid; rc=$?
if [ $rc -eq 0 ] && grep -q "^hidden = 8$" "$lock/model.cfg" && grep -q "^4," "$lock/metrics.csv"; then ok; else bad "the first run on a locked directory: exit $rc, $(cat "$seq/l1.log")"; fi
expect concurrent-files-intact 0 "the/DT cat/NN" -- "$GLIA" predict "$lock" "The cat ran"
OMP_NUM_THREADS=1 "$GLIA" train "$seq/tag4.cfg" --data "tags:$seq/tags.txt" --val 0.2 --out "$lock" > "$seq/l2.log" 2>&1 &
pid=$!
while ! grep -q "^epoch 2/4" "$seq/l2.log" 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 0.02; done
kill -KILL $pid; wait $pid 2>/dev/null
: > "$lock/weights.safetensors.tmp.4194305" # a dead process's (no PID is that large)
expect killed-run-leaves-no-lock 0 "held-out accuracy" -- "$GLIA" train --resume "$lock"
[ ! -e "$lock/weights.safetensors.tmp.4194305" ] && ok || bad "a dead process's temporary file was kept"
expect train-unwritable-dir 1 "/proc/self: the run directory cannot be written" -- "$GLIA" train "$seq/tag.cfg" --data "tags:$seq/tags.txt" --out /proc/self
expect train-negative-seed 2 "bad value '-1' for --seed" -- "$GLIA" train "$seq/tag.cfg" --seed -1
expect generate-negative-seed 2 "bad value '-1' for --seed" -- "$GLIA" generate "$seq/a" --seed -1
printf '\357\273\277[net]\ninput = 4\nclasses = 2\n[dense]\nunits = 2\n' > "$seq/bom.cfg"
expect summary-bom 0 "total params: 10" -- "$GLIA" summary "$seq/bom.cfg"
printf '[net]\ninput = 1, 28, 28\n[conv]\nfilters = 2000000000\nsize = 3\n' > "$seq/big.cfg"
expect summary-int-limit 1 "filters = 2000000000: expected an integer from 0 to 1073741824 (2^30)" -- "$GLIA" summary "$seq/big.cfg"
printf '[net]\ninput = 100000\nclasses = 10\n[dense]\nunits = 100000\n[dense]\nunits = 10\n' > "$seq/huge.cfg"
expect summary-10-billion-params 0 "total params: 10001100010" -- "$GLIA" summary "$seq/huge.cfg"
# glia curves: several runs' metrics.csv in one PNG (a run without a validation part has no val line)
mkdir -p "$seq/ca" "$seq/cb"
printf 'epoch,train_loss,train_acc,val_loss,val_acc,val_top5,lr,seconds\n1,2.0,0.30,1.9,0.35,0.9,0.1,1\n2,1.0,0.60,1.1,0.58,0.95,0.1,1\n' > "$seq/ca/metrics.csv"
printf 'epoch,train_loss,train_acc,val_loss,val_acc,val_top5,lr,seconds\n1,2.3,0.10,nan,nan,nan,0.1,1\n2,2.3,0.11,nan,nan,nan,0.1,1\n3,2.3,0.12,nan,nan,nan,0.1,1\n' > "$seq/cb/metrics.csv"
expect curves 0 "plain .*3 .*2.3000 .*nan .*12.00%" -- "$GLIA" curves "$seq/ca" "$seq/cb" --names residual,plain --out "$seq/c.png"
[ -s "$seq/c.png" ] && ok || bad "curves wrote no PNG"
expect curves-default-name 0 "^ca .*2 .*1.0000 .*1.1000 .*60.00% .*58.00%" -- "$GLIA" curves "$seq/ca/" --out "$seq/c1.png"
expect curves-missing 1 "no-such-run/metrics.csv" -- "$GLIA" curves "$seq/no-such-run" --out "$seq/c2.png"
expect curves-names-count 2 "fewer names than the 2 runs" -- "$GLIA" curves "$seq/ca" "$seq/cb" --names one --out "$seq/c3.png"
expect curves-no-run 2 "give 1 to 8 runs" -- "$GLIA" curves
printf 'step,loss\n1,2\n' > "$seq/bad.csv"
expect curves-bad-header 1 "bad.csv:1: the header has no 'epoch'" -- "$GLIA" curves "$seq/bad.csv" --out "$seq/c4.png"
[ ! -e "$seq/c4.png" ] && ok || bad "curves wrote a PNG for a bad CSV"
# the Fashion-MNIST experiments' networks (scripts/fmnist-models-gen.py) build, with their counts;
# highway, dirac and locally connected layers have no values to set when only shapes are built
for mc in depth/plain50:189986 depth/resnet50:190722 depth/plain30_fc:111160 depth/highway30_fc:182560 \
          depth/plain32:116738 depth/diracnet32:117250 blocks/inception_small:92170 \
          blocks/plain_inception_twin:88840 blocks/densenet_small:109426 blocks/plain_densenet_twin:109510 \
          zoo/highway30:192760 zoo/diracnet18:11518632 zoo/deepface:118923774; do
  expect "summary ${mc%%:*}" 0 "trainable params: ${mc##*:}$" -- "$GLIA" summary "models/${mc%%:*}.cfg"
done
rm -rf "$seq"
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
