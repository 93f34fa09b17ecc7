#!/usr/bin/env bash
# The table of bad invocations: every program, given a
# bad option, bad data or a bad run folder, must exit non-zero without a signal (status < 128) and
# end its error output with one line naming the culprit. Usage: bad_invocations.sh BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cd "$work"
sample=$src/tests/data/cmudict_sample.js
reverse=$src/examples/seq2seq/data/reverse.tsv
failures=0 cases=0

# expect FRAGMENT PROGRAM ARGS...: non-zero, no signal, last line of stderr names FRAGMENT.
expect() {
  local fragment=$1; shift
  cases=$((cases + 1))
  timeout 120 "$@" > out.log 2> err.log < /dev/null
  local rc=$?
  local last
  last=$(tail -n 1 err.log)
  if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then
    echo "FAIL (exit $rc): $*"; tail -n 3 err.log; failures=$((failures + 1))
  elif [[ "$last" != *"$fragment"* ]]; then
    echo "FAIL (message): $*"; echo "  expected '$fragment' in the last line: $last"; failures=$((failures + 1))
  fi
}

# Run folders to refuse things in: a trained g2p run and a trained seq2seq run (a second each).
"$bin/g2p" --out g2p_run --data "$sample" train --minutes 0.05 --hidden 16 --batch 8 --epochs 1 > /dev/null 2>&1 \
  || { echo "setup: g2p train failed"; exit 1; }
"$bin/seq2seq" train --run s2s_run --train "$reverse" --hidden 16 --embedding 8 --epochs 1 > /dev/null 2>&1 \
  || { echo "setup: seq2seq train failed"; exit 1; }
: > empty.txt
head -c 4096 /dev/urandom | tr -d '\t' > random.bin  # no tab: no line is a pair
mkdir -p adir
printf 'no tab here\n\ttarget only\na\tb\tc\n' > malformed.tsv
head -n 5 "$reverse" > five.tsv

g2p() { expect "$1" "$bin/g2p" "${@:2}"; }
G="--data $sample"
# options out of range, unknown, or missing
g2p "--minutes" --out n1 $G train --minutes 0
g2p "--minutes" --out n1 $G train --minutes -1
g2p "--minutes" --out n1 $G train --minutes nan
g2p "--save-every" --out n1 $G train --save-every -1
g2p "--save-every" --out n1 $G train --save-every nan
g2p "--threads" --out n1 $G train --threads -1
g2p "--precision" --out n1 $G train --precision fp16
g2p "--epochs" --out n1 $G train --epochs 0
g2p "--shard" --out n1 $G train --shard 0
g2p "--beam" --out n1 $G train --beam 0
g2p "--batch" --out n1 $G train --batch 0
g2p "--lr" --out n1 $G train --lr nan
g2p "--lr" --out n1 $G train --lr -3
g2p "--hidden" --out n1 $G train --hidden 0
g2p "--dropout" --out n1 $G train --dropout 1.5
g2p "--cooldown" --out n1 $G train --cooldown 1
g2p "--decay" --out n1 $G train --decay linear
g2p "--teacher-forcing" --out n1 $G train --teacher-forcing linear:x
g2p "--optimizer" --out n1 $G train --optimizer rmsprop
g2p "--weight-decay" --out n1 $G train --weight-decay -0.1
g2p "--weight-decay" --out n1 $G train --weight-decay nan
g2p "--momentum" --out n1 $G train --momentum 0.9
g2p "--momentum" --out n1 $G train --optimizer adamw --momentum 0
g2p "--momentum" --out n1 $G train --optimizer sgd --momentum 1.5
g2p "--nesterov" --out n1 $G train --optimizer adam --nesterov
g2p "--nesterov needs --momentum" --out n1 $G train --optimizer sgd --nesterov
g2p "--overwrite" --out n1 $G train --resume --overwrite
g2p "--bogus" --out n1 $G train --bogus
g2p "subcommand" --out n1
[ -e n1 ] && { echo "FAIL: a refused g2p train created its run folder"; failures=$((failures + 1)); }
# the run folder: not empty, another model, nothing to resume
g2p "not empty" --out g2p_run $G train --minutes 0.05 --hidden 16 --batch 8 --epochs 1
g2p "hidden_dim" --out g2p_run $G train --resume --hidden 32
g2p "no run to resume" --out n2 $G train --resume
# data: missing, not a regular file, empty, not a dictionary
g2p "not found" --out n3 --data missing.js train
g2p "not a regular file" --out n3 --data adir train
g2p "no dictionary entries" --out n3 --data empty.txt train
g2p "no dictionary entries" --out n3 --data random.bin train
g2p "no dictionary entries" --out g2p_run --data empty.txt evaluate
g2p "no dictionary entries" --out g2p_run --data random.bin evaluate
g2p "not a regular file" --out g2p_run --data adir evaluate
g2p "run \`g2p train\` first" --out n4 $G evaluate
g2p "--beam" --out g2p_run predict --beam 0 hello
g2p "no words" --out g2p_run predict
g2p "no such file" --out g2p_run predict --input missing.txt
# an edited vocabulary or configuration, through the program
cp g2p_run/letters.json letters.bak
python3 - g2p_run/letters.json <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); s = j["symbols"]; s[4], s[5] = s[5], s[4]; json.dump(j, open(p, "w"))
PY
g2p "letters.json" --out g2p_run $G evaluate
cp letters.bak g2p_run/letters.json
cp g2p_run/config.json config.bak && : > g2p_run/config.json
g2p "config.json" --out g2p_run $G evaluate
cp config.bak g2p_run/config.json

bn() { expect "$1" "$bin/bottleneck" "${@:2}"; }
# the bottleneck demo's options
bn "--batch" --batch 0
bn "--hidden" --hidden 0
bn "--hidden" --hidden 30
bn "--lr" --lr nan
bn "--optimizer" --optimizer sgdm
bn "--momentum" --optimizer adam --momentum 0.9
bn "--threads" --threads -1
bn "--precision" --precision f16
bn "--train-size" --train-size 0
mkdir -p bn_out/attention.png && printf 'mine\n' > bn_out/table.md
bn "--out: bn_out/table.md exists (give --overwrite" --out bn_out
bn "--out: bn_out/attention.png is a folder" --out bn_out --overwrite
bn "--out five.tsv: a file, not a folder" --out five.tsv
bn "--out: an empty path" --out ''
[ "$(cat bn_out/table.md)" = mine ] || { echo "FAIL: a refused bottleneck run changed bn_out/table.md"; failures=$((failures + 1)); }
bn "--test-size" --test-size 0
bn "--seconds" --seconds -1
bn "--seconds" --seconds 0
bn "--task" --task sort
bn "/proc/x" --out /proc/x --seconds 0.01 --train-size 10 --test-size 10

s2s() { expect "$1" "$bin/seq2seq" "${@:2}"; }
s2s "subcommand"
s2s "--run" train --train "$reverse"
s2s "--train" train --run n5 --train missing.tsv
s2s "--train" train --run n5 --train adir
s2s "no usable pairs" train --run n5 --train empty.txt
s2s "no usable pairs" train --run n5 --train malformed.tsv
s2s "too few" train --run n5 --train five.tsv
s2s "--max-length" train --run n5 --train "$reverse" --max-length 0
s2s "--minutes" train --run n5 --train "$reverse" --minutes 0
s2s "--epochs" train --run n5 --train "$reverse" --epochs 0
s2s "--batch" train --run n5 --train "$reverse" --batch 0
s2s "--threads" train --run n5 --train "$reverse" --threads -1
s2s "--precision" train --run n5 --train "$reverse" --precision BF16
s2s "--lr" train --run n5 --train "$reverse" --lr inf
s2s "--optimizer" train --run n5 --train "$reverse" --optimizer Adam
s2s "--momentum" train --run n5 --train "$reverse" --optimizer adam --momentum 0.5
s2s "--nesterov" train --run n5 --train "$reverse" --optimizer adamw --nesterov
s2s "--weight-decay" train --run n5 --train "$reverse" --weight-decay x
s2s "--encoder" train --run n5 --train "$reverse" --encoder rnn
s2s "--context" train --run n5 --train "$reverse" --context luong
s2s "--heads" train --run n5 --train "$reverse" --hidden 30 --heads 4 --context multi_head
s2s "--dev-every" train --run n5 --train "$reverse" --dev-every 1
cut -f1 "$reverse" > src.txt
cut -f2 "$reverse" | head -n 20 > short_tgt.txt
printf 'a\tb\n' > tabbed.txt
s2s "src.txt has 800 lines and short_tgt.txt 20" train --run n5 --train-src src.txt --train-tgt short_tgt.txt
s2s "tabbed.txt:1: a tab in a line" train --run n5 --train-src tabbed.txt --train-tgt tabbed.txt
s2s "--train-src requires --train-tgt" train --run n5 --train-src src.txt
s2s "--train excludes --train-src" train --run n5 --train "$reverse" --train-src src.txt --train-tgt src.txt
s2s "no training data: give --train FILE (TSV) or --train-src FILE --train-tgt FILE" train --run n5
s2s "standard input can be read once" train --run n5 --train-src - --train-tgt -
printf 'hiden = 3\n' > typo.toml
printf 'chars = yes\n' > flag.toml
printf '[translate]\nbeam = 3\n' > section.toml
printf 'decoder = "transformer"\ncontext = "dot"\n' > unused.toml
s2s "'hiden' is not an option of seq2seq train" train --config typo.toml
s2s "'chars' is a flag: true or false, not 'yes'" train --run n5 --train "$reverse" --config flag.toml
printf 'hidden = [16, 32]\n' > list.toml
printf 'hidden = 16\nhidden = 32\n' > twice.toml
s2s "--config list.toml: 'hidden' takes one value, not 2" train --run n5 --train "$reverse" --config list.toml
s2s "--config twice.toml: 'hidden'" train --run n5 --train "$reverse" --config twice.toml
s2s "'translate.beam' is not in the [train] section" train --run n5 --train "$reverse" --config section.toml
s2s "--context is a setting of" train --run n5 --train "$reverse" --config unused.toml
s2s "--config" train --run n5 --train "$reverse" --config missing.toml
s2s "--decoder" train --run n5 --train "$reverse" --decoder gpt
s2s "--decoder-layers" train --run n5 --train "$reverse" --decoder transformer --decoder-layers 0
s2s "--positions" train --run n5 --train "$reverse" --decoder transformer --positions rotary
s2s "--heads 3 does not divide --hidden 16" train --run n5 --train "$reverse" --hidden 16 --decoder transformer --heads 3
# options the chosen model would ignore
s2s "--heads is a setting of" train --run n5 --train "$reverse" --heads 8
s2s "--ff is a setting of" train --run n5 --train "$reverse" --ff 64
s2s "--decoder-layers is a setting of" train --run n5 --train "$reverse" --decoder-layers 2
s2s "--tie-embeddings is a setting of" train --run n5 --train "$reverse" --decoder lstm --tie-embeddings
s2s "--context is a setting of" train --run n5 --train "$reverse" --decoder transformer --context dot
s2s "--attention is a setting of" train --run n5 --train "$reverse" --context dot --attention 32
s2s "--embedding is a setting of" train --run n5 --train "$reverse" --encoder transformer --decoder transformer --embedding 8
s2s "--unidirectional is a setting of" train --run n5 --train "$reverse" --encoder transformer --unidirectional
s2s "--max-positions is a setting of" train --run n5 --train "$reverse" --decoder transformer --max-positions 64
s2s "--max-positions 64 is fewer than the 201 positions" train --run n5 --train "$reverse" --decoder transformer --positions learned --max-positions 64
s2s "--norm-first is a setting of" train --run n5 --train "$reverse" --norm-first
g2p "--heads is a setting of" --out n1 $G train --heads 2
[ -e n5 ] && { echo "FAIL: a refused seq2seq train created its run folder"; failures=$((failures + 1)); }
# bfloat16 products on a CPU without them (oneDNN held below AVX512-BF16 by its environment
# variable): refused naming the missing feature, before anything is written.
no_bf16=(env ONEDNN_MAX_CPU_ISA=AVX512_CORE)
expect "AVX512-BF16" "${no_bf16[@]}" "$bin/g2p" --out nb --data "$sample" train --precision bf16
expect "AVX512-BF16" "${no_bf16[@]}" "$bin/bottleneck" --out nb --precision bf16
expect "AVX512-BF16" "${no_bf16[@]}" "$bin/seq2seq" train --run nb --train "$reverse" --precision bf16
[ -e nb ] && { echo "FAIL: a refused --precision bf16 created its output folder"; failures=$((failures + 1)); }
s2s "not empty" train --run s2s_run --train "$reverse" --hidden 16 --embedding 8 --epochs 1
s2s "hidden_dim" train --run s2s_run --train "$reverse" --hidden 8 --embedding 8 --epochs 1 --resume
s2s "optimizer differs" train --run s2s_run --train "$reverse" --hidden 16 --embedding 8 --epochs 1 --resume --optimizer adamw
s2s "optimizer differs" train --run s2s_run --train "$reverse" --hidden 16 --embedding 8 --epochs 1 --resume --lr 1e-3
s2s "source_vocab.json" train --run s2s_run --train five.tsv --dev "$reverse" --hidden 16 --embedding 8 --epochs 1 --resume
s2s "no run to resume" train --run n6 --train "$reverse" --resume
s2s "no usable pairs" evaluate --run s2s_run --data empty.txt
s2s "no usable pairs" evaluate --run s2s_run --data random.bin
s2s "--data" evaluate --run s2s_run --data adir
s2s "--beam" evaluate --run s2s_run --data "$reverse" --beam 0
s2s "no trained run" evaluate --run n7 --data "$reverse"
s2s "no such file" translate --run s2s_run --input missing.txt
s2s "not a regular file" translate --run s2s_run --input adir
s2s "--heatmaps" translate --run s2s_run --heatmaps -1
s2s "--head requires --heatmaps" translate --run s2s_run --head 0
s2s "--head 0: the model's attention (additive) has no heads" translate --run s2s_run --heatmaps 1 --head 0
g2p "--head 0: the model's attention (additive) has no heads" --out g2p_run $G predict --head 0 word
s2s "standard input can be read once" train --run n5 --train - --dev -
s2s "--nbest 3 is more than --beam 2" translate --run s2s_run --beam 2 --nbest 3
s2s "--nbest" translate --run s2s_run --nbest 0
s2s "--scores" translate --run s2s_run --nbest 2 --scores
s2s "--output five.tsv: the file exists" translate --run s2s_run --output five.tsv
s2s "--hypotheses five.tsv: the file exists" evaluate --run s2s_run --data "$reverse" --hypotheses five.tsv
s2s "--output: cannot write" translate --run s2s_run --output adir/missing/out.txt
s2s "--output: cannot write adir: it is a folder" translate --run s2s_run --output adir --overwrite
s2s "--hypotheses: cannot write adir: it is a folder" evaluate --run s2s_run --data "$reverse" --hypotheses adir --overwrite
s2s "--output: cannot write : not a file name" translate --run s2s_run --output ''
s2s "--out five.tsv: the file exists" export --run s2s_run --out five.tsv
s2s "--out adir: a folder, not a file" export --run s2s_run --out adir --overwrite
s2s "a file of the run s2s_run itself" export --run s2s_run --out s2s_run/checkpoints/best.ckpt --overwrite
s2s "before it saved a model to evaluate: give it more time (--minutes)" train --run n9 --train "$reverse" --minutes 1e-12
s2s "a file of the run s2s_run itself" export --run s2s_run --out ./s2s_run/../s2s_run/config.json --overwrite
s2s "--input: an empty file name" translate --run s2s_run --input ''
s2s "its folder adir/missing does not exist" export --run s2s_run --out adir/missing/model.safetensors
s2s "no trained run" export --run n7 --out n7.safetensors
s2s "--out is required" export --run s2s_run
[ -e n7.safetensors ] && { echo "FAIL: a refused export wrote its --out"; failures=$((failures + 1)); }
cmp -s five.tsv <(head -n 5 "$reverse") || { echo "FAIL: a refused --output or --hypotheses changed the file"; failures=$((failures + 1)); }
[ -e n5 ] && { echo "FAIL: a refused seq2seq train created its run folder"; failures=$((failures + 1)); }

# The readers' reports reach the user: the first few with file and line, then a count per reason.
reports() {  # FILE_FRAGMENT PROGRAM ARGS...: stderr shows line-numbered reports and the summary
  local file=$1; shift
  cases=$((cases + 1))
  "$@" > rep.out 2> rep.err < /dev/null
  if ! grep -qE "$file:[0-9]+: " rep.err || ! grep -qE "skipped [0-9]+ lines of .*$file \(" rep.err; then
    echo "FAIL (reports not shown): $*"; cat rep.err; failures=$((failures + 1))
  fi
}
reports cmudict_malformed.js "$bin/g2p" --out g2p_run --data "$src/tests/data/cmudict_malformed.js" evaluate
reports malformed.tsv "$bin/seq2seq" train --run n8 --train malformed.tsv

# The tutorial programs take no arguments, and say so.
for demo in custom_op second_order write_a_model train_seq2seq; do expect "$demo: takes no arguments" "$bin/$demo" --help; done

pm() { expect "$1" "$bin/plot_metrics" "${@:2}"; }
printf '{"step": 1, "train_loss": 2}\n' > m.jsonl
pm "expected the metrics file"
pm "--x and --y" m.jsonl out.png
pm "--width" m.jsonl out.png --x step --y train_loss --width abc
pm "--width" m.jsonl out.png --x step --y train_loss --width 0
pm "--height" m.jsonl out.png --x step --y train_loss --height 1e9
pm "--ymin" m.jsonl out.png --x step --y train_loss --ymin nan
pm "--ymin" m.jsonl out.png --x step --y train_loss --ymin 2 --ymax 1
pm "missing.jsonl" missing.jsonl out.png --x step --y train_loss
pm "adir" adir out.png --x step --y train_loss
pm "unknown option --bogus" m.jsonl out.png --bogus
pm "--x is given twice" m.jsonl out.png --x step --x step --y train_loss
pm "--height" m.jsonl out.png --x step --y train_loss --height 0x10
pm "the y range [-1e+308, 1e+308] spans more than a double can hold" m.jsonl out.png --x step --y train_loss --ymin -1e308 --ymax 1e308
pm "no line has both \"step\" and any of \"dev_loss\"" m.jsonl out.png --x step --y dev_loss
pm "adir: a folder, not a file" m.jsonl adir --x step --y train_loss --overwrite
printf 'mine\n' > mine.png
pm "mine.png: the file exists (give --overwrite" m.jsonl mine.png --x step --y train_loss
[ "$(cat mine.png)" = mine ] || { echo "FAIL: a refused plot_metrics changed its OUT"; failures=$((failures + 1)); }
"$bin/plot_metrics" m.jsonl mine.png --x step --y train_loss --overwrite > /dev/null \
  && [ "$(head -c 4 mine.png | tail -c 3)" = PNG ] || { echo "FAIL: plot_metrics --overwrite did not replace OUT"; failures=$((failures + 1)); }
"$bin/plot_metrics" --help | grep -q "^usage: plot_metrics" || { echo "FAIL: plot_metrics --help"; failures=$((failures + 1)); }

echo "bad_invocations: $cases cases, $failures failed"
[ $failures -eq 0 ]
