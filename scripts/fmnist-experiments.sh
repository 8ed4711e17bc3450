#!/bin/sh
# fmnist-experiments.sh [OUT]: the modern blocks trained on Fashion-MNIST (README, "Trained on
# Fashion-MNIST"). Depth: a 50-layer plain CNN against the same with residual connections, a
# 30-layer plain fully connected network against a highway network, a 32-layer plain CNN against
# the same as a DiracNet; then a small Inception network and a small DenseNet, each beside a
# plain network of the same parameter budget. Writes the runs under OUT (default runs/fmnist),
# the depth pictures (glia curves) in OUT/*.png, and prints every run's test accuracy.
# ResNet-20 (1.5 hours or more on 2 cores) is not run here; README gives its command.
set -eu
GLIA=${GLIA:-build/glia}
out=${1:-runs/fmnist}
mkdir -p "$out"
t() { # t NAME CFG [options]: train with seed 1 unless the run is there already
  name=$1 cfg=$2; shift 2
  [ -s "$out/$name/weights.safetensors" ] ||
    "$GLIA" train "models/$cfg.cfg" --seed 1 --out "$out/$name" "$@" > "$out/$name.log" 2>&1
  echo "$name: $(grep '^test accuracy' "$out/$name.log" 2>/dev/null || echo '(kept from an earlier run)')"
}
t plain30_fc depth/plain30_fc --epochs 5
t highway30_fc depth/highway30_fc --epochs 5
t plain50 depth/plain50 --limit 12000 --epochs 6
t resnet50 depth/resnet50 --limit 12000 --epochs 6
t plain32 depth/plain32 --limit 12000 --epochs 6
t diracnet32 depth/diracnet32 --limit 12000 --epochs 6
t inception_small blocks/inception_small --limit 20000 --epochs 3 --val 0
t plain_inception_twin blocks/plain_inception_twin --limit 20000 --epochs 3 --val 0
t densenet_small blocks/densenet_small --limit 20000 --epochs 3 --val 0
t plain_densenet_twin blocks/plain_densenet_twin --limit 20000 --epochs 3 --val 0
"$GLIA" curves "$out/plain30_fc" "$out/highway30_fc" --names "plain 30,highway 30" \
  --title "30-layer fully connected networks, Fashion-MNIST" --out "$out/depth-highway.png"
"$GLIA" curves "$out/plain50" "$out/resnet50" --names "plain 50,ResNet 50" \
  --title "50-layer CNNs, Fashion-MNIST (12,000 images)" --out "$out/depth-resnet.png"
"$GLIA" curves "$out/plain32" "$out/diracnet32" --names "plain 32,DiracNet 32" \
  --title "32-layer CNNs without skips, Fashion-MNIST (12,000 images)" --out "$out/depth-dirac.png"
