#!/usr/bin/env python3
"""Writes the seq2seq example's data: word sequences and the same words backwards, one pair a line
(source<TAB>target), as reverse.tsv (800 pairs, to train on) and reverse_test.tsv (100, held out).

Sequences of 2 to 5 words out of 12, drawn with a fixed seed. Every source is drawn once: no line
repeats another, in either file, and no test source is in the training file, so the test scores
measure pairs the model has never seen. Run from anywhere: python3 make_reverse.py [OUT_DIR]
(default: this script's folder); the output is the same on every run and Python version.
"""
import os
import random
import sys

WORDS = "blue cat dog fish green moon one red star sun three two".split()
SEED, TRAIN, TEST = 7, 800, 100


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(SEED)
    seen, pairs = set(), []
    while len(pairs) < TRAIN + TEST:
        # Length and words drawn afresh on a repeat: the 144 two-word sequences would run out first.
        words = tuple(WORDS[int(rng.random() * len(WORDS))] for _ in range(2 + int(rng.random() * 4)))
        if words in seen:
            continue
        seen.add(words)
        pairs.append(" ".join(words) + "\t" + " ".join(reversed(words)) + "\n")
    for name, lines in (("reverse.tsv", pairs[:TRAIN]), ("reverse_test.tsv", pairs[TRAIN:])):
        path = os.path.join(out, name)
        with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
