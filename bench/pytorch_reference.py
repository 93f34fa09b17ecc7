#!/usr/bin/python3
"""The peer side of the benchmark suite: the three workloads of bench/workloads.hpp in PyTorch.

Each workload is one full training step (zero_grad, forward, backward, Adam) on fixed random data,
timed over warm-up steps and then --steps steps. Prints one JSON object per workload and line:
tokens/s (target tokens: batch * target length for seq2seq, batch * tokens for mhsa), ms/step (real
time; cpu_ms_per_step is the process's CPU time, all threads, less disturbed by other load) and
the process's peak RSS (ru_maxrss, which covers every workload run before it in this process, so
scripts/compare.sh runs one workload per process).

The models follow seqgrad's equations (nn/include/seqgrad/nn/seq2seq/model.hpp, ContextKind::additive,
EncoderKind::gru, DecoderCell::gru):
    h_1..h_T = GRU(embed(x))                      s_0 = h_T (the encoder's final state)
    e_ti     = v . tanh(W_h h_i + W_s s_{t-1} + b_s)   (W_h h_i projected once per batch)
    a_t      = softmax over the real positions of e_t   (padding mask: -inf before the softmax)
    c_t      = sum_i a_ti h_i
    s_t      = GRUCell([embed(y_{t-1}); c_t], s_{t-1})
    logits_t = W_out [s_t; c_t] + b_out           loss = mean cross-entropy over non-pad targets
Every sequence is full length, so the encoder runs on the whole tensor (no packing, which would
only add cost on PyTorch's side); the attention still applies the padding mask.

With --precision bf16 each step's forward and loss run under torch.autocast("cpu", dtype=torch.bfloat16)
(its linear layers and matrix products in bfloat16 on oneDNN, the rest float32; backward follows the
forward's dtypes), as a user switches PyTorch's mixed precision on.

Run: /usr/bin/python3 bench/pytorch_reference.py [--workload NAME|all] [--steps N] [--warmup N] [--threads N]
                                                 [--precision f32|bf16]
"""
import argparse
import contextlib
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WORKLOADS = ["seq2seq_b64_h256", "seq2seq_b1_h64", "mhsa_b16_t64_d256"]
SEQ2SEQ_SIZES = {
    "seq2seq_b64_h256": dict(batch=64, embedding=64, hidden=256, attention=256),
    "seq2seq_b1_h64": dict(batch=1, embedding=32, hidden=64, attention=64),
}
SRC_VOCAB, TGT_VOCAB, SRC_LEN, TGT_LEN, PAD = 32, 48, 12, 12, 0
PRECISION = "f32"  # --precision


def forward_precision():
    """The context of a step's forward and loss: autocast to bfloat16 with --precision bf16."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if PRECISION == "bf16" else contextlib.nullcontext()


class AdditiveAttention(nn.Module):
    """Bahdanau: score = v . tanh(W_h h_i + W_s s + b_s); the names and shapes of seqgrad's layer."""

    def __init__(self, query_dim, key_dim, attention_dim):
        super().__init__()
        self.W_h = nn.Parameter(torch.empty(attention_dim, key_dim))
        self.W_s = nn.Parameter(torch.empty(attention_dim, query_dim))
        self.b_s = nn.Parameter(torch.empty(attention_dim))
        self.v = nn.Parameter(torch.empty(attention_dim))
        for p, fan_in in ((self.W_h, key_dim), (self.W_s, query_dim), (self.b_s, query_dim), (self.v, attention_dim)):
            bound = fan_in ** -0.5
            nn.init.uniform_(p, -bound, bound)

    def precompute_keys(self, keys):  # [B, T, Dk] -> W_h h_i, [B, T, A]
        return F.linear(keys, self.W_h)

    def forward(self, query, projected_keys, values, mask):
        query_part = F.linear(query, self.W_s, self.b_s).unsqueeze(1)  # [B, 1, A]
        scores = torch.tanh(projected_keys + query_part) @ self.v      # [B, T]
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)   # [B, Dv]
        return context, weights


class Seq2Seq(nn.Module):
    def __init__(self, embedding, hidden, attention):
        super().__init__()
        self.src_embedding = nn.Embedding(SRC_VOCAB, embedding, padding_idx=PAD)
        self.encoder = nn.GRU(embedding, hidden, batch_first=True)
        self.attention = AdditiveAttention(hidden, hidden, attention)
        self.tgt_embedding = nn.Embedding(TGT_VOCAB, embedding, padding_idx=PAD)
        self.decoder = nn.GRUCell(embedding + hidden, hidden)
        self.output = nn.Linear(hidden + hidden, TGT_VOCAB)

    def forward(self, src, src_lengths, tgt_in):
        steps = src.shape[1]
        mask = torch.arange(steps).unsqueeze(0) < src_lengths.unsqueeze(1)  # [B, Ts], True at real tokens
        states, h_n = self.encoder(self.src_embedding(src))                 # [B, Ts, H], [1, B, H]
        keys = self.attention.precompute_keys(states)
        s = h_n[0]
        logits = []
        for t in range(tgt_in.shape[1]):  # teacher forcing
            emb = self.tgt_embedding(tgt_in[:, t])
            c, _ = self.attention(s, keys, states, mask)  # c_t from s_{t-1}
            s = self.decoder(torch.cat([emb, c], dim=1), s)
            logits.append(self.output(torch.cat([s, c], dim=1)))
        return torch.stack(logits, dim=1)  # [B, Tt, V]


def random_tokens(batch, steps, vocab, gen):
    return torch.randint(1, vocab, (batch, steps), generator=gen)  # 0 is the padding id


def make_seq2seq(name):
    sizes = SEQ2SEQ_SIZES[name]
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(1234)
    batch = sizes["batch"]
    model = Seq2Seq(sizes["embedding"], sizes["hidden"], sizes["attention"])
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    src = random_tokens(batch, SRC_LEN, SRC_VOCAB, gen)
    tgt_in = random_tokens(batch, TGT_LEN, TGT_VOCAB, gen)
    tgt_out = random_tokens(batch, TGT_LEN, TGT_VOCAB, gen)
    src_lengths = torch.full((batch,), SRC_LEN, dtype=torch.int64)

    def step():
        adam.zero_grad()
        with forward_precision():
            logits = model(src, src_lengths, tgt_in)
            loss = F.cross_entropy(logits.reshape(-1, TGT_VOCAB), tgt_out.reshape(-1), ignore_index=PAD)
        loss.backward()
        adam.step()
        return loss.item()

    return step, batch * TGT_LEN, model


def make_mhsa():
    torch.manual_seed(1234)
    batch, tokens, d = 16, 64, 256
    layer = nn.TransformerEncoderLayer(d, 4, 1024, dropout=0.0, activation="relu", batch_first=True)
    adam = torch.optim.Adam(layer.parameters(), lr=1e-3)
    x = torch.rand(batch, tokens, d) * 2 - 1

    def step():
        adam.zero_grad()
        with forward_precision():
            y = layer(x)
            loss = (y * y).mean()
        loss.backward()
        adam.step()
        return loss.item()

    return step, batch * tokens, layer


def make_workload(name):
    if name in SEQ2SEQ_SIZES:
        return make_seq2seq(name)
    if name == "mhsa_b16_t64_d256":
        return make_mhsa()
    raise SystemExit(f"unknown workload {name!r} (known: {', '.join(WORKLOADS)})")


def run(name, steps, warmup, min_seconds):
    step, tokens, model = make_workload(name)
    for _ in range(warmup):
        step()
    # At least `steps` steps and at least min_seconds, so fast workloads are timed long enough.
    done, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while done < steps or time.perf_counter() - start < min_seconds:
        loss = step()
        done += 1
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start  # every thread of the process
    return {
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "workload": name,
        "threads": torch.get_num_threads(),
        "precision": PRECISION,
        "steps": done,
        "ms_per_step": 1e3 * seconds / done,
        "tokens_per_second": tokens * done / seconds,
        "tokens_per_step": tokens,
        "parameters": sum(p.numel() for p in model.parameters()),
        "cpu_ms_per_step": 1e3 * cpu_seconds / done,
        "loss": loss,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="all", help="one of %s, or all" % ", ".join(WORKLOADS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps (at least)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=0.0, help="time at least this long")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--precision", choices=["f32", "bf16"], default="f32",
                        help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    args = parser.parse_args()
    global PRECISION
    PRECISION = args.precision
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    names = WORKLOADS if args.workload == "all" else [args.workload]
    for name in names:
        print(json.dumps(run(name, args.steps, args.warmup, args.min_seconds)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
