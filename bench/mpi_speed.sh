#!/bin/sh
# [MODELS=...] [BUCKETS="64 1024"] mpi_speed.sh [ROUNDS] [LIMIT]: data-parallel training speed on this machine, as a Markdown
# table (README: data-parallel training). For LeNet-5 and the VGG-style network on Fashion-MNIST
# (LIMIT training images, default 6400, batch 64, one epoch, no held-out part), alternately, ROUNDS times
# (default 3), so that each setting sees the same machine load:
#   1 process x 2 threads   glia train (OMP_NUM_THREADS=2)
#   2 processes x 1 thread  mpirun -np 2 glia train (OMP_NUM_THREADS=1): one all-reduce after
#                           backward (GLIA_MPI_BUCKET_KB=0), and buckets of each size in BUCKETS
#                           (KB, default 64 and 1024) sent while backward goes on (src/train/dist.c)
#   4 processes x 1 thread  mpirun -np 4 (oversubscribed on 2 cores: for the scaling model)
# and prints the median images/s of the epoch and the median share of training time spent in
# the gradients' all-reduce (waiting for the slower rank included). Then MPI_Allreduce alone
# (bench/allreduce.c) at the two models' gradient sizes, for docs/scaling.md.
# Needs glia built with MPI (scripts/install-deps --mpi; make) and Fashion-MNIST.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
LIMIT=${2:-6400}
MODELS=${MODELS:-models/lenet5.cfg models/vgg-small.cfg}
BUCKETS=${BUCKETS:-64 1024}
GLIA=build/glia
# --bind-to none: Open MPI pins 2 ranks to cores 0 and 1 by default; on this shared machine a
# pinned rank cannot move off a busy core (LeNet-5, 2 ranks: 1,032 img/s pinned, 3,018 not)
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
# waiting ranks yield the core instead of spinning (this machine is shared: with spinning, 2
# ranks ran at 1,292 img/s on LeNet-5 against 2,349 img/s yielding, same minute)
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
tmp=$(mktemp -d /tmp/glia-mpi-speed-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
one() { # one MODEL PROCS THREADS [BUCKET_KB] -> "img/s comm%"
  if [ -n "${4:-}" ]; then export GLIA_MPI_BUCKET_KB=$4; else unset GLIA_MPI_BUCKET_KB; fi # glia's default
  if [ "$2" = 1 ]; then
    OMP_NUM_THREADS=$3 $GLIA train "$1" --limit "$LIMIT" --epochs 1 --val 0 --out "$tmp/r" > "$tmp/log" 2>&1
  else
    OMP_NUM_THREADS=$3 $MPIRUN -np "$2" $GLIA train "$1" --limit "$LIMIT" --epochs 1 --val 0 --out "$tmp/r" > "$tmp/log" 2>&1
  fi
  # (under mpirun the output is a terminal's: the epoch line follows the progress bar)
  ips=$(tr '\r' '\n' < "$tmp/log" | sed -n 's/.*epoch 1\/1  train.*(\([0-9]*\) img\/s)$/\1/p' | tail -1)
  comm=$(sed -n 's/^data-parallel over .*: \([0-9.]*\)% of the training time in the gradients. all-reduce (\([0-9.]*\)s)/\1 \2/p' "$tmp/log")
  echo "${ips:-0} ${comm:-0 0}"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
steps=$((LIMIT / 64))
echo "| model | setting | images/s (median of $ROUNDS) | all-reduce share of training time | all-reduce ms per step |"
echo "|---|---|---|---|---|"
for model in $MODELS; do
  : > "$tmp/a"; : > "$tmp/b"; : > "$tmp/c"
  for kb in $BUCKETS; do : > "$tmp/b$kb"; done
  r=0
  while [ $r -lt "$ROUNDS" ]; do
    one "$model" 1 2 >> "$tmp/a"
    one "$model" 2 1 0 >> "$tmp/b"
    for kb in $BUCKETS; do one "$model" 2 1 "$kb" >> "$tmp/b$kb"; done
    one "$model" 4 1 >> "$tmp/c"
    r=$((r + 1))
  done
  name=$(basename "$model" .cfg)
  ms() { awk -v s=$steps '{print 1000 * $3 / s}' "$1" | median; }
  echo "| $name | 1 process x 2 threads | $(cut -d' ' -f1 "$tmp/a" | median) | - | - |"
  echo "| $name | 2 processes x 1 thread, one all-reduce | $(cut -d' ' -f1 "$tmp/b" | median) | $(cut -d' ' -f2 "$tmp/b" | median)% | $(ms "$tmp/b") |"
  for kb in $BUCKETS; do
    echo "| $name | 2 processes x 1 thread, ${kb} KB buckets | $(cut -d' ' -f1 "$tmp/b$kb" | median) | $(cut -d' ' -f2 "$tmp/b$kb" | median)% | $(ms "$tmp/b$kb") |"
  done
  echo "| $name | 4 processes x 1 thread (oversubscribed) | $(cut -d' ' -f1 "$tmp/c" | median) | $(cut -d' ' -f2 "$tmp/c" | median)% | $(ms "$tmp/c") |"
done
mpicc -O2 bench/allreduce.c -o "$tmp/allreduce"
for k in 2 4; do $MPIRUN -np $k "$tmp/allreduce" 1 1024 16384 61706 870826; done
