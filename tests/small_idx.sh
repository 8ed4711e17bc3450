#!/bin/sh
# tests/small_idx.sh OUT SRC [N]: a small IDX data set in OUT, the first N (1280) training and
# 256 test images of the Fashion-MNIST files in SRC, with their own headers (the kill and MPI
# tests). N < 65536.
set -eu
out=$1 src=$2 n=${3:-1280}
mkdir -p "$out"
idx() { # idx OUT.gz HEADER_OCTAL BYTES_PER_ITEM COUNT SRC.gz
  { printf "$2"; gzip -dc "$5" | tail -c +"$(( $3 == 1 ? 9 : 17 ))" | head -c $(( $3 * $4 )); } | gzip -1 > "$1"
}
count() { printf '\\0\\0\\%o\\%o' $(($1 / 256)) $(($1 % 256)); } # a big-endian 32-bit count
idx "$out/train-images-idx3-ubyte.gz" "\\0\\0\\10\\3$(count "$n")\\0\\0\\0\\34\\0\\0\\0\\34" 784 "$n" "$src/train-images-idx3-ubyte.gz"
idx "$out/train-labels-idx1-ubyte.gz" "\\0\\0\\10\\1$(count "$n")" 1 "$n" "$src/train-labels-idx1-ubyte.gz"
idx "$out/t10k-images-idx3-ubyte.gz" "\\0\\0\\10\\3$(count 256)\\0\\0\\0\\34\\0\\0\\0\\34" 784 256 "$src/t10k-images-idx3-ubyte.gz"
idx "$out/t10k-labels-idx1-ubyte.gz" "\\0\\0\\10\\1$(count 256)" 1 256 "$src/t10k-labels-idx1-ubyte.gz"
