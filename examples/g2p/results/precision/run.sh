#!/bin/bash
# G2P, the README's command, float32 vs bfloat16, same number of steps (10 epochs, a budget that never binds)
cd /work/main
for prec in bf16 f32; do
  out=/tmp/g2pruns/g2p-$prec
  nice -n 15 /tmp/g2pbin/g2p --out $out train --minutes 150 --threads 2 --dropout 0.3 --lr 3e-3 --warmup 1000 --cooldown 0.2 --epochs 10 --precision $prec > /tmp/g2pruns/train-$prec.log 2>&1
  nice -n 15 /tmp/g2pbin/g2p --out $out evaluate --beam 4 > /tmp/g2pruns/eval-$prec.log 2>&1
done
