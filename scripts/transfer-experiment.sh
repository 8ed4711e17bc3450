#!/bin/sh
# transfer-experiment.sh [OUT]: does transfer learning help? (README, "Transfer learning")
# LeNet-5 is pretrained on Fashion-MNIST classes 0-4 (all 30,000 training images), then learns
# classes 5-9 from 20 and from 100 labelled images per class, 5 seeds each: fine-tuned
# (--init-from the pretrained run, conv1 and conv2 frozen, a new classifier) against trained from
# scratch; prints test accuracy on the 5,000 test images of classes 5-9, mean and spread.
set -eu
GLIA=${GLIA:-build/glia}
out=${1:-runs/transfer}
epochs=${EPOCHS:-40}
mkdir -p "$out/pre"
cfg=$out/lenet5-5.cfg
sed -e 's/^classes = 10$/classes = 5/' -e 's/^units = 10$/units = 5/' models/lenet5.cfg > "$cfg"
/usr/bin/python3 scripts/fmnist-subset.py "$out/pre" 0 4
[ -s "$out/pretrained/weights.safetensors" ] ||
  "$GLIA" train "$cfg" --data "$out/pre" --epochs 3 --out "$out/pretrained" | tail -2
acc() { sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p'; }
for n in 20 100; do
  for seed in 1 2 3 4 5; do
    d=$out/d$n-$seed
    mkdir -p "$d"
    /usr/bin/python3 scripts/fmnist-subset.py "$d" 5 9 "$n" "$seed"
    a=$("$GLIA" train "$cfg" --data "$d" --epochs "$epochs" --batch 16 --val 0 --seed "$seed" \
        --out "$d/scratch" | acc)
    b=$("$GLIA" train "$cfg" --data "$d" --epochs "$epochs" --batch 16 --val 0 --seed "$seed" \
        --init-from "$out/pretrained" --freeze conv1,conv2 --new fc3 --out "$d/fine" | acc)
    echo "$n $seed $a $b" | tee -a "$out/results.txt"
  done
done
awk '{ s[$1] += $3; ss[$1] += $3 * $3; f[$1] += $4; ff[$1] += $4 * $4; k[$1]++ }
     END { for (n in k) printf "%s per class: scratch %.2f%% +- %.2f, fine-tuned %.2f%% +- %.2f (mean +- std, %d seeds)\n",
           n, s[n] / k[n], sqrt(ss[n] / k[n] - (s[n] / k[n]) ^ 2), f[n] / k[n], sqrt(ff[n] / k[n] - (f[n] / k[n]) ^ 2), k[n] }' "$out/results.txt"
