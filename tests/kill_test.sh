#!/bin/sh
# kill_test.sh GLIA [KILLS]: no lost work. A small training run (1,280 Fashion-MNIST images,
# 20 batches an epoch, a checkpoint and five other files written after every epoch) is killed
# with SIGKILL at random moments, KILLS times (default 25), each time resumed from its latest
# checkpoint (or restarted when none was written yet). Every restart must load the checkpoint
# (a resume that fails exits 1; killed runs exit 137), and the run, finished at last, must end
# with weights.safetensors byte-identical to an uninterrupted run's, and no temporary file of a
# killed run left in the directory (each run removes those of dead processes when it opens it,
# src/train/run_lock.c). Skipped without the data.
GLIA=${1:-build/glia}
KILLS=${2:-25}
src=/usr/share/datasets/fashion-mnist
if [ ! -r "$src/train-images-idx3-ubyte.gz" ]; then
  echo "kill: Fashion-MNIST not installed (scripts/fetch-data fashion-mnist); skipped"
  exit 0
fi
tmp=$(mktemp -d /tmp/glia-kill-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 # bit-exact needs the same thread count; 1 keeps the machine free
# a small IDX data set: the first 1280 training and 256 test images, with their own headers
data=$tmp/data
"$(dirname "$0")/small_idx.sh" "$data" "$src"
cat > "$tmp/small.cfg" <<'CFG'
[net]
input = 1, 28, 28
classes = 10
batch = 64
epochs = 40
lr = 0.02
optimizer = adam
[conv]
name = c1
filters = 4
size = 5
stride = 2
batchnorm = 1
activation = relu
[dropout]
p = 0.1
[dense]
name = fc
units = 10
CFG
args="$tmp/small.cfg --data $data --val 0.1 --seed 9"
if ! "$GLIA" train $args --out "$tmp/ref" > "$tmp/ref.log" 2>&1; then
  echo "FAIL kill: the uninterrupted run failed: $(tail -3 "$tmp/ref.log")" >&2
  exit 1
fi
# the length of a whole run, to spread the kills over it
t0=$(date +%s.%N)
"$GLIA" train $args --out "$tmp/x" > /dev/null 2>&1
t1=$(date +%s.%N)
span=$(awk "BEGIN{print $t1 - $t0}")
rm -rf "$tmp/x"
run=$tmp/run
kills=0 in_write=0 restarts=0 resumes=0 fail=0
i=0
while [ $i -lt "$KILLS" ]; do
  i=$((i + 1))
  if [ -s "$run/checkpoint.safetensors" ]; then
    "$GLIA" train --resume "$run" > "$tmp/last.log" 2>&1 &
    resumes=$((resumes + 1))
  else
    "$GLIA" train $args --out "$run" > "$tmp/last.log" 2>&1 &
    restarts=$((restarts + 1))
  fi
  pid=$!
  # uniform in [0.02, 2 span / KILLS]: the kills spread over the whole run
  sleep "$(awk -v s="$i$$" -v span="$span" -v k="$KILLS" 'BEGIN{srand(s); printf "%.3f", 0.02 + rand() * 2 * span / k}')"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  rc=$?
  if [ $rc -eq 137 ]; then
    kills=$((kills + 1))
    # a temporary file left behind means the kill landed while a file was being written; it
    # stays: the next run on the directory must remove it (its process is gone)
    ls "$run"/*.tmp.* > /dev/null 2>&1 && in_write=$((in_write + 1))
  elif [ $rc -ne 0 ]; then
    echo "FAIL kill: restart $i exited $rc: $(tail -3 "$tmp/last.log")" >&2
    fail=1
    break
  fi
done
# finish the run
if [ $fail -eq 0 ]; then
  if [ -s "$run/checkpoint.safetensors" ]; then
    "$GLIA" train --resume "$run" > "$tmp/last.log" 2>&1
  else
    "$GLIA" train $args --out "$run" > "$tmp/last.log" 2>&1
  fi || { echo "FAIL kill: the final resume failed: $(tail -3 "$tmp/last.log")" >&2; fail=1; }
fi
if [ $fail -eq 0 ] && ! cmp -s "$tmp/ref/weights.safetensors" "$run/weights.safetensors"; then
  echo "FAIL kill: after $kills kills the final weights differ from the uninterrupted run's" >&2
  fail=1
fi
if [ $fail -eq 0 ] && ls "$run"/*.tmp.* > /dev/null 2>&1; then
  echo "FAIL kill: temporary files of killed runs were left: $(ls "$run"/*.tmp.*)" >&2
  fail=1
fi
echo "kill: $kills SIGKILLs ($in_write during a file write), $resumes resumes, $restarts fresh starts; final weights $( [ $fail -eq 0 ] && echo bit-identical || echo DIFFERENT)"
exit $fail
