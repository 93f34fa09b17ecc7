#!/usr/bin/env bash
# Options from a file: `train --dump-config` prints the options given as a TOML file, `--config`
# reads it back (the command line wins over it), and the run records the same choices; the given
# options appear as settings, the rest as commented defaults.
# Usage: config_file.sh BIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "config_file: $*" >&2; exit 1; }
reverse=$src/examples/seq2seq/data/reverse.tsv
"$bin/seq2seq" train --run run --train "$reverse" --decoder transformer --hidden 16 --heads 2 --tie-embeddings --epochs 1 \
  --dump-config > train.toml || fail "--dump-config failed"
[ ! -e run ] || fail "--dump-config wrote a run folder"
grep -qx 'decoder = "transformer"' train.toml || { cat train.toml; fail "the dump lacks decoder = \"transformer\""; }
grep -qx 'tie-embeddings = true' train.toml || fail "the dump lacks the flag"
grep -qx '# context = "additive"' train.toml || fail "an option not given is not a commented default"
# Read back, with --hidden overridden on the command line.
"$bin/seq2seq" train --config train.toml --hidden 32 --minutes 0.2 > train.log 2>&1 || { cat train.log; fail "--config run failed"; }
grep -q '"decoder": "transformer"' run/config.json || fail "the run did not take --decoder from the file"
grep -q '"tie_embeddings": true' run/config.json || fail "the run did not take the flag from the file"
grep -q '"hidden_dim": 32' run/config.json || fail "the command line did not win over the file"
# The pairs as a source file and a target file, named in a config file that the command line completes.
cut -f1 "$reverse" > src.txt && cut -f2 "$reverse" > tgt.txt
printf 'train-src = "src.txt"\ntrain-tgt = "tgt.txt"\ndecoder = "transformer"\n' > files.toml
"$bin/seq2seq" train --run files_run --config files.toml --decoder-layers 2 --hidden 16 --heads 2 --epochs 1 > files.log 2>&1 \
  || { cat files.log; fail "training from --train-src/--train-tgt named in --config failed"; }
grep -q "^data: src.txt + tgt.txt: 800 lines: 800 pairs" files.log || { cat files.log; fail "the pairs of the two files were not read"; }
grep -q '"decoder_layers": 2' files_run/config.json || fail "--decoder-layers on the command line was refused or lost beside the file's --decoder"
echo "config_file: ok"
