#!/bin/sh
# scaling_model.sh: the ring all-reduce model of docs/scaling.md, as Markdown tables. A step on K
# machines, each with a batch of b samples, takes
#     t(b) = b * c + T(K),   T(K) = 2 (K - 1) a + 2 (K - 1) / K * M / bw
# c: seconds of forward + backward per sample on one machine; M: bytes of gradient (4 bytes per
# parameter: glia sums one contiguous float buffer); a: latency per message; bw: bytes/s of one
# link. The ring sends 2 (K - 1) messages of M / K bytes each way (reduce-scatter, all-gather).
# Speed-up over one machine at the same per-machine batch: K b c / t(b). Communication stays
# under 20% of a step when b c >= 4 T(K), i.e. b >= 4 T(K) / c.
# The inputs (edit to taste; the defaults are glia's figures, README and docs/scaling.md):
#   ResNet-50: 25,557,032 parameters (102.2 MB of gradient); 4.09 G multiply-adds forward per
#     224x224 image, about 3x that for forward + backward = 24.5 GFLOP; at the 199 GFLOP/s glia's
#     VGG-style training reaches on 2 cores (1,740 img/s x 114.6 MFLOP, README's benchmark
#     table) that is c = 0.123 s per image on a 2-core machine like this one.
#   char-LSTM (models/char-lstm.cfg): 913,504 parameters (3.65 MB); 31,658 tokens/s on 2 cores
#     (README's lstm-train), a sample is a sequence of 64 tokens: c = 64 / 31658 s.
#   Links: 10 Gb/s Ethernet (TCP, a = 30 us) and 100 Gb/s (RDMA, a = 3 us).
# Usage: bench/scaling_model.sh [SPEEDUP]  (SPEEDUP: machines that many times faster than 2 cores)
F=${1:-1}
awk -v F="$F" 'BEGIN {
  split("ResNet-50,char-LSTM", name, ",")
  M[1] = 25557032 * 4; c[1] = 24.5e9 / 199e9 / F; unit[1] = "images"
  M[2] = 913504 * 4;   c[2] = 64 / 31658 / F;     unit[2] = "sequences of 64"
  split("10,100", gbps, ","); a[1] = 30e-6; a[2] = 3e-6
  split("2,4,8,16,32,64", Ks, ",")
  for (m = 1; m <= 2; m++) {
    printf "\n%s: %.1f MB of gradient, %.3g s of compute per sample (machines %gx 2 cores)\n\n", name[m], M[m] / 1e6, c[m], F
    printf "| link | K | all-reduce T(K) | speed-up at b = 32 | b for comm <= 20%% (%s) |\n|---|---|---|---|---|\n", unit[m]
    for (l = 1; l <= 2; l++)
      for (i = 1; i <= 6; i++) {
        K = Ks[i]; bw = gbps[l] * 1e9 / 8
        T = 2 * (K - 1) * a[l] + 2 * (K - 1) / K * M[m] / bw
        b = 32; s = K * b * c[m] / (b * c[m] + T)
        bmin = 4 * T / c[m]; bmin = bmin == int(bmin) ? bmin : int(bmin) + 1
        printf "| %s Gb/s | %d | %.1f ms | %.1f | %d |\n", gbps[l], K, 1e3 * T, s, bmin < 1 ? 1 : bmin
      }
  }
}'
