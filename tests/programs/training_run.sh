# What the kill and interrupt tests share (sourced, after `fail` is defined and the working folder
# entered): the small `seq2seq train` run they stop, and the check that a finished run folder is
# bitwise the uninterrupted run's. Needs $bin, $src and $epochs.
data=$src/examples/seq2seq/data/reverse.tsv
args=(--train "$data" --hidden 32 --embedding 16 --batch 32 --shard 16 --lr 5e-3 --epochs "$epochs" --threads 2 --seed 3)
# metrics.jsonl without its timing field, one sorted record a line.
strip() { python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line); d.pop("tokens_per_s", None); print(json.dumps(d, sort_keys=True))' "$1"; }
# expect_same_as WHOLE RUN WHAT: the same checkpoints, byte for byte, the same metrics records
# (timing aside) and no temporary files left; else fail naming WHAT.
expect_same_as() {
  local whole=$1 run=$2 what=$3 f leftovers
  for f in checkpoints/best.ckpt checkpoints/last.ckpt config.json source_vocab.json target_vocab.json; do
    cmp -s "$whole/$f" "$run/$f" || fail "$what: $f differs from the uninterrupted run's"
  done
  diff <(strip "$whole/metrics.jsonl") <(strip "$run/metrics.jsonl") > /dev/null || fail "$what: metrics.jsonl differs from the uninterrupted run's"
  leftovers=$(find "$run" -name '.*.tmp-*' | wc -l)
  [ "$leftovers" -eq 0 ] || fail "$what: temporary files left: $(find "$run" -name '.*.tmp-*')"
}
