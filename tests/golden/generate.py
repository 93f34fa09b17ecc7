#!/usr/bin/python3
"""Computes the PyTorch-parity cases of tests/golden/cases/ (format: tests/golden/FORMAT.md).

Every case is defined once in CASES below: its op, attributes, tolerance and how to draw its inputs.
For each case the script evaluates the op in PyTorch in float64, takes L = sum_k sum(y_k * g_k) over
the float outputs y_k with the upstream tensors g_k, and writes outputs, dL/d input for every float
input and `second_order`: directions d and the Hessian-vector products d/d input [sum_k sum(dL/d
input_k * d_k)] by torch.autograd double backward.

Where the inputs come from. The committed cases were drawn from one torch generator seeded 1234,
in turn: the first six cases' inputs follow its stream exactly (linear's x, weight and bias; the
activations' x; 3 * randn for softmax; 300 + 50 * randn for logsumexp_large; layer_norm's three;
embedding's indices, then its weight), but after them the stream went through draws whose order is
not recoverable (upstream tensors, directions, module initialisation), so the inputs cannot be
re-derived from the seed. Therefore, when DIR already holds a case's file, its inputs, upstream
tensors and directions are read from it and only outputs, grads and hvp are recomputed, which
reproduces the committed cases within float64 rounding (--check shows it). A case without a file
(a new one) draws all of them from a torch generator seeded with the CRC-32 of its name, so a rerun
gives the same file; --fresh draws every named case anew that way.

Adding a case: write a forward function (inputs, attrs -> outputs) in OPS if the op is new (and
its line in FORMAT.md), add one Case(...) line to CASES, run the script naming the case, give the
conformance runner an evaluator for a new op (tests/conformance/), and run build/bin/conformance.

Run with Debian's python3 (python3-torch):
    /usr/bin/python3 tests/golden/generate.py [--dir DIR] [--fresh] [CASE ...]   write the cases
    /usr/bin/python3 tests/golden/generate.py --check [--dir DIR] [CASE ...]      recompute, compare, write nothing
DIR defaults to tests/golden/cases; no CASE means every case. The exit status is 1 when --check
finds a difference beyond float64 rounding, 2 on a bad invocation; each problem is one line.
"""
import argparse
import json
import math
import os
import sys
import tempfile
import zlib

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "cases")
# --check: |recomputed - stored| <= ROUNDING * (1 + max |stored| of that tensor), float64 rounding
# accumulated over the few hundred operations of the largest case.
ROUNDING = 1e-12


# ---- the ops: inputs (name -> tensor), attrs -> outputs (name -> tensor), in PyTorch ----

def key_padding(mask):
    """FORMAT.md masks hold 1 for a real position; torch's key_padding_mask is True for padding."""
    return mask == 0


def causal_mask(t):
    return torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)


def op_linear(i, a):
    return {"y": F.linear(i["x"], i["weight"], i["bias"])}


def op_activations(i, a):
    x = i["x"]
    return {"tanh": torch.tanh(x), "sigmoid": torch.sigmoid(x), "relu": torch.relu(x),
            "gelu": F.gelu(x, approximate="tanh")}


def op_softmax(i, a):
    return {"softmax": F.softmax(i["x"], a["dim"]), "log_softmax": F.log_softmax(i["x"], a["dim"])}


def op_logsumexp(i, a):
    return {"y": torch.logsumexp(i["x"], a["dim"])}


def op_layer_norm(i, a):
    x = i["x"]
    return {"y": F.layer_norm(x, x.shape[-1:], i["weight"], i["bias"], a["eps"])}


def op_embedding(i, a):
    return {"y": F.embedding(i["indices"], i["weight"])}


def op_cross_entropy(i, a):
    return {"loss": F.cross_entropy(i["logits"], i["target"], ignore_index=a["ignore_index"],
                                    label_smoothing=a["label_smoothing"], reduction=a["reduction"])}


def op_rnn_tanh_cell(i, a):
    return {"h": torch.rnn_tanh_cell(i["x"], i["h"], i["weight_ih"], i["weight_hh"], i["bias_ih"], i["bias_hh"])}


def op_gru_cell(i, a):
    return {"h": torch.gru_cell(i["x"], i["h"], i["weight_ih"], i["weight_hh"], i["bias_ih"], i["bias_hh"])}


def op_lstm_cell(i, a):
    h, c = torch.lstm_cell(i["x"], (i["h"], i["c"]), i["weight_ih"], i["weight_hh"], i["bias_ih"], i["bias_hh"])
    return {"h": h, "c": c}


def op_additive_attention(i, a):
    keys = i["keys"]
    query = F.linear(i["s"], i["W_s"], i["b_s"])
    scores = torch.tanh(F.linear(keys, i["W_h"]) + query.unsqueeze(1)) @ i["v"]
    weights = F.softmax(scores.masked_fill(key_padding(i["mask"]), -math.inf), dim=-1)
    return {"weights": weights, "context": (weights.unsqueeze(-1) * keys).sum(1)}


def op_mean_context(i, a):
    m = i["mask"].to(torch.float64).unsqueeze(-1)
    return {"context": (i["keys"] * m).sum(1) / m.sum(1)}


def op_scaled_dot_attention(i, a):
    q, k = i["q"], i["k"]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    blocked = key_padding(i["mask"]).unsqueeze(1)
    if a["causal"]:
        blocked = blocked | causal_mask(q.shape[1])
    weights = F.softmax(scores.masked_fill(blocked, -math.inf), dim=-1)
    return {"out": weights @ i["v"], "weights": weights}


def op_multi_head_self_attention(i, a):
    x = i["x"].transpose(0, 1)  # [T, B, D], as the functional form takes it
    d = x.shape[-1]
    y, weights = F.multi_head_attention_forward(
        x, x, x, d, a["heads"], i["in_proj_weight"], i["in_proj_bias"], None, None, False, 0.0,
        i["out_proj_weight"], i["out_proj_bias"], training=False, key_padding_mask=key_padding(i["mask"]),
        need_weights=True, average_attn_weights=False)
    return {"y": y.transpose(0, 1), "weights": weights}


def load_parameters(module, inputs):
    """Replaces the module's parameters by the case's tensors of the same names (graph kept)."""
    names = dict(module.named_parameters())
    missing = sorted(set(names) - set(inputs))
    if missing:
        raise ValueError("inputs lack the parameters " + ", ".join(missing))
    for name in names:
        owner = module
        *path, leaf = name.split(".")
        for p in path:
            owner = getattr(owner, p)
        delattr(owner, leaf)
        setattr(owner, leaf, inputs[name])


def transformer_layer(kind, i, a):
    """torch's layer of `kind` (no dropout, batch first) holding the case's parameters."""
    layer = kind(i["x"].shape[-1], a["heads"], dim_feedforward=i["linear1.weight"].shape[0], dropout=0.0,
                 activation=a["activation"], layer_norm_eps=a["eps"], batch_first=True, norm_first=a["norm_first"])
    load_parameters(layer, i)
    return layer


def op_transformer_encoder_block(i, a):
    layer = transformer_layer(torch.nn.TransformerEncoderLayer, i, a)
    return {"y": layer(i["x"], src_key_padding_mask=key_padding(i["mask"]))}


def op_transformer_decoder_block(i, a):
    layer = transformer_layer(torch.nn.TransformerDecoderLayer, i, a)
    tgt_mask = causal_mask(i["x"].shape[1]) if a["causal"] else None
    return {"y": layer(i["x"], i["memory"], tgt_mask=tgt_mask, tgt_key_padding_mask=key_padding(i["tgt_mask"]),
                       memory_key_padding_mask=key_padding(i["memory_mask"]))}


def optimizer_step(i, a, decoupled):
    param = torch.nn.Parameter(i["param"].clone())
    param.grad = i["grad"].clone()
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = kind([param], lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"], weight_decay=a["weight_decay"])
    opt.state[param] = {"step": torch.tensor(float(a["step_before"])), "exp_avg": i["exp_avg"].clone(),
                        "exp_avg_sq": i["exp_avg_sq"].clone()}
    opt.step()
    state = opt.state[param]
    return {"param": param.detach(), "exp_avg": state["exp_avg"], "exp_avg_sq": state["exp_avg_sq"]}


def op_clip_grad_norm(i, a):
    names = sorted((n for n in i if n.startswith("g")), key=lambda n: int(n[1:]))
    params = []
    for n in names:
        p = torch.nn.Parameter(torch.zeros_like(i[n]))
        p.grad = i[n].clone()
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, a["max_norm"])
    out = {n: p.grad for n, p in zip(names, params)}
    out["total_norm"] = total
    return out


OPS = {
    "linear": op_linear, "activations": op_activations, "softmax": op_softmax, "logsumexp": op_logsumexp,
    "layer_norm": op_layer_norm, "embedding": op_embedding, "cross_entropy": op_cross_entropy,
    "rnn_tanh_cell": op_rnn_tanh_cell, "gru_cell": op_gru_cell, "lstm_cell": op_lstm_cell,
    "additive_attention": op_additive_attention, "mean_context": op_mean_context,
    "scaled_dot_attention": op_scaled_dot_attention, "multi_head_self_attention": op_multi_head_self_attention,
    "transformer_encoder_block": op_transformer_encoder_block,
    "transformer_decoder_block": op_transformer_decoder_block,
    "adam_step": lambda i, a: optimizer_step(i, a, decoupled=False),
    "adamw_step": lambda i, a: optimizer_step(i, a, decoupled=True),
    "clip_grad_norm": op_clip_grad_norm,
}
# Ops whose outputs are not differentiated (an optimizer's update): no upstream, grads or second_order.
NOT_DIFFERENTIATED = {"adam_step", "adamw_step", "clip_grad_norm"}


# ---- the cases: how each draws its inputs when it has no file yet ----

class Draw:
    """Inputs drawn in order from one seeded generator."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def normal(self, *shape, scale=1.0, shift=0.0):
        return torch.randn(shape, generator=self.gen) * scale + shift

    def uniform(self, *shape, lo=0.0, hi=1.0):
        return torch.rand(shape, generator=self.gen) * (hi - lo) + lo

    def ints(self, *shape, below):
        return torch.randint(0, below, shape, generator=self.gen)


def lengths_mask(lengths, t):
    """[B, T] mask: 1 on each row's first `length` positions."""
    return (torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).to(torch.int64)


def rnn_inputs(gates, lstm=False):
    def draw(d):
        i = {"x": d.normal(3, 5), "h": d.normal(3, 4)}
        if lstm:
            i["c"] = d.normal(3, 4)
        i.update({"weight_ih": d.normal(gates * 4, 5, scale=0.5), "weight_hh": d.normal(gates * 4, 4, scale=0.5),
                  "bias_ih": d.normal(gates * 4, scale=0.5), "bias_hh": d.normal(gates * 4, scale=0.5)})
        return i
    return draw


def attention_parameters(d, prefix, dim):
    sep = "." if prefix.startswith(("self_attn", "multihead_attn")) else "_"
    return {prefix + "in_proj_weight": d.normal(3 * dim, dim, scale=0.3), prefix + "in_proj_bias": d.normal(3 * dim, scale=0.3),
            prefix + "out_proj" + sep + "weight": d.normal(dim, dim, scale=0.3),
            prefix + "out_proj" + sep + "bias": d.normal(dim, scale=0.3)}


def block_parameters(d, dim, ff, attentions, norms):
    p = {}
    for prefix in attentions:
        p.update(attention_parameters(d, prefix + ".", dim))
    p.update({"linear1.weight": d.normal(ff, dim, scale=0.3), "linear1.bias": d.normal(ff, scale=0.3),
              "linear2.weight": d.normal(dim, ff, scale=0.3), "linear2.bias": d.normal(dim, scale=0.3)})
    for n in range(1, norms + 1):
        p.update({f"norm{n}.weight": d.normal(dim, scale=0.3, shift=1.0), f"norm{n}.bias": d.normal(dim, scale=0.3)})
    return p


def encoder_block_inputs(d):
    i = {"x": d.normal(3, 5, 8), "mask": lengths_mask([5, 3, 4], 5)}
    i.update(block_parameters(d, 8, 16, ["self_attn"], 2))
    return i


def decoder_block_inputs(d):
    i = {"x": d.normal(3, 4, 8), "memory": d.normal(3, 5, 8), "tgt_mask": lengths_mask([3, 4, 4], 4),
         "memory_mask": lengths_mask([5, 3, 5], 5)}
    i.update(block_parameters(d, 8, 16, ["self_attn", "multihead_attn"], 3))
    return i


def adam_inputs(d):
    return {"param": d.normal(5), "grad": d.normal(5), "exp_avg": d.normal(5, scale=0.1),
            "exp_avg_sq": d.uniform(5, lo=0.01, hi=0.1)}


TARGETS = torch.tensor([1, 0, 2, 3, 4, 0, 3, 5, 6, 0, 4, 4])  # 0 is padding in both cross-entropy cases
CLOSE = {"atol": 1e-5, "rtol": 1e-4}
OPTIMIZER = {"atol": 1e-6, "rtol": 1e-5}
BLOCK = {"atol": 1e-4, "rtol": 1e-3}
ADAM = {"lr": 0.01, "beta1": 0.9, "beta2": 0.98, "eps": 1e-8}


class Case:
    def __init__(self, name, op, attrs, tolerance, draw):
        self.name, self.op, self.attrs, self.tolerance, self.draw = name, op, attrs, tolerance, draw


CASES = [
    Case("linear", "linear", {}, CLOSE, lambda d: {"x": d.normal(3, 5), "weight": d.normal(4, 5), "bias": d.normal(4)}),
    Case("tanh_sigmoid_relu", "activations", {}, CLOSE, lambda d: {"x": d.normal(3, 5)}),
    Case("softmax_logsoftmax", "softmax", {"dim": -1}, CLOSE, lambda d: {"x": d.normal(3, 6, scale=3.0)}),
    Case("logsumexp_large", "logsumexp", {"dim": -1}, CLOSE, lambda d: {"x": d.normal(3, 5, scale=50.0, shift=300.0)}),
    Case("layer_norm", "layer_norm", {"eps": 1e-5}, CLOSE,
         lambda d: {"x": d.normal(3, 5, 8), "weight": d.normal(8), "bias": d.normal(8)}),
    Case("embedding", "embedding", {}, CLOSE, lambda d: {"indices": d.ints(3, 4, below=7), "weight": d.normal(7, 5)}),
    Case("cross_entropy_ignore_pad", "cross_entropy", {"ignore_index": 0, "label_smoothing": 0.0, "reduction": "mean"},
         CLOSE, lambda d: {"logits": d.normal(12, 7), "target": TARGETS}),
    Case("cross_entropy_smoothing", "cross_entropy", {"ignore_index": 0, "label_smoothing": 0.1, "reduction": "mean"},
         CLOSE, lambda d: {"logits": d.normal(12, 7), "target": TARGETS}),
    Case("rnn_tanh_cell", "rnn_tanh_cell", {}, CLOSE, rnn_inputs(1)),
    Case("gru_cell", "gru_cell", {}, CLOSE, rnn_inputs(3)),
    Case("lstm_cell", "lstm_cell", {}, CLOSE, rnn_inputs(4, lstm=True)),
    Case("additive_attention", "additive_attention", {}, CLOSE,
         lambda d: {"s": d.normal(3, 4), "keys": d.normal(3, 5, 6), "W_h": d.normal(3, 6, scale=0.5),
                    "W_s": d.normal(3, 4, scale=0.5), "b_s": d.normal(3, scale=0.5), "v": d.normal(3),
                    "mask": lengths_mask([3, 5, 5], 5)}),
    Case("mean_context", "mean_context", {}, CLOSE,
         lambda d: {"keys": d.normal(3, 5, 6), "mask": lengths_mask([3, 5, 5], 5)}),
    Case("scaled_dot_attention", "scaled_dot_attention", {"causal": False}, CLOSE,
         lambda d: {"q": d.normal(3, 4, 6), "k": d.normal(3, 5, 6), "v": d.normal(3, 5, 5),
                    "mask": lengths_mask([3, 5, 5], 5)}),
    Case("scaled_dot_attention_causal", "scaled_dot_attention", {"causal": True}, CLOSE,
         lambda d: {"q": d.normal(3, 4, 6), "k": d.normal(3, 4, 6), "v": d.normal(3, 4, 5),
                    "mask": lengths_mask([4, 3, 4], 4)}),
    Case("multi_head_self_attention", "multi_head_self_attention", {"heads": 2}, CLOSE,
         lambda d: dict({"x": d.normal(3, 5, 8), "mask": lengths_mask([5, 4, 5], 5)},
                        **attention_parameters(d, "", 8))),
    Case("transformer_encoder_block_post_ln", "transformer_encoder_block",
         {"heads": 2, "norm_first": False, "activation": "relu", "eps": 1e-5}, BLOCK, encoder_block_inputs),
    Case("transformer_decoder_block_post_ln", "transformer_decoder_block",
         {"heads": 2, "norm_first": False, "activation": "relu", "eps": 1e-5, "causal": True}, BLOCK,
         decoder_block_inputs),
    Case("transformer_decoder_block_pre_ln", "transformer_decoder_block",
         {"heads": 2, "norm_first": True, "activation": "relu", "eps": 1e-5, "causal": True}, BLOCK,
         decoder_block_inputs),
    Case("adam_step", "adam_step", dict(ADAM, weight_decay=0.0, step_before=4), OPTIMIZER, adam_inputs),
    Case("adamw_step", "adamw_step", dict(ADAM, weight_decay=0.01, step_before=4), OPTIMIZER, adam_inputs),
    Case("clip_grad_norm", "clip_grad_norm", {"max_norm": 1.0}, OPTIMIZER,
         lambda d: {"g0": d.normal(3, 4), "g1": d.normal(5)}),
]


# ---- computing a case ----

def to_json(t):
    t = t.detach()
    data = t.flatten().tolist()
    return {"shape": list(t.shape), "data": [int(v) for v in data] if not t.is_floating_point() else data}


def from_json(j, where):
    data, shape = j["data"], j["shape"]
    if len(data) != math.prod(shape):
        raise ValueError(f"{where} has {len(data)} values for shape {shape}")
    if data and all(isinstance(v, int) for v in data):
        return torch.tensor(data, dtype=torch.int64).reshape(shape)
    return torch.tensor(data, dtype=torch.float64).reshape(shape)


def compute(case, old, fresh):
    """The case's JSON object; inputs, upstream and directions from `old` unless fresh or absent."""
    d = Draw(zlib.crc32(case.name.encode()))
    if old is not None and not fresh:
        inputs = {k: from_json(v, f"inputs.{k}") for k, v in old["inputs"].items()}
    else:
        inputs = {k: torch.as_tensor(v).clone() for k, v in case.draw(d).items()}
    float_names = [k for k, v in inputs.items() if v.is_floating_point()]
    differentiated = case.op not in NOT_DIFFERENTIATED
    leaves = {k: (v.clone().requires_grad_(True) if differentiated and k in float_names else v)
              for k, v in inputs.items()}
    outputs = OPS[case.op](leaves, case.attrs)
    result = {"case": case.name, "op": case.op, "attrs": case.attrs,
              "inputs": {k: to_json(v) for k, v in inputs.items()},
              "outputs": {k: to_json(v) for k, v in outputs.items()}, "upstream": {}, "grads": {}}
    if differentiated:
        def reuse_or_draw(section, name, like):
            if old is not None and not fresh and name in old.get(section, {}):
                return from_json(old[section][name], f"{section}.{name}")
            return d.normal(*like.shape)

        upstream = {k: reuse_or_draw("upstream", k, y) for k, y in outputs.items()}
        loss = sum((y * upstream[k]).sum() for k, y in outputs.items())
        xs = [leaves[k] for k in float_names]
        grads = [g if g is not None else torch.zeros_like(x)
                 for g, x in zip(torch.autograd.grad(loss, xs, create_graph=True, allow_unused=True), xs)]
        old_dirs = (old or {}).get("second_order", {}).get("directions", {})
        directions = {k: (from_json(old_dirs[k], f"second_order.directions.{k}") if k in old_dirs and not fresh
                          else d.normal(*leaves[k].shape)) for k in float_names}
        inner = sum((g * directions[k]).sum() for g, k in zip(grads, float_names) if g.requires_grad)
        hvp = (torch.autograd.grad(inner, xs, allow_unused=True) if torch.is_tensor(inner) and inner.requires_grad
               else [None] * len(xs))
        result["upstream"] = {k: to_json(v) for k, v in upstream.items()}
        result["grads"] = {k: to_json(g) for k, g in zip(float_names, grads)}
        result["second_order"] = {
            "directions": {k: to_json(directions[k]) for k in float_names},
            "hvp": {k: to_json(h if h is not None else torch.zeros_like(x)) for k, h, x in zip(float_names, hvp, xs)}}
    result["tolerance"] = case.tolerance
    return result


def differences(new, old):
    """One line per tensor of `new` that differs from `old` beyond float64 rounding."""
    problems = []
    for section in ("inputs", "outputs", "upstream", "grads"):
        extra = sorted(set(old.get(section, {})) - set(new[section]))
        if extra:
            problems.append(f"{section}: the file also has {', '.join(extra)}")
        pairs = [(f"{section}.{k}", v, old.get(section, {}).get(k)) for k, v in new[section].items()]
        problems += compare_pairs(pairs)
    if "second_order" in new:
        so = old.get("second_order", {})
        for part in ("directions", "hvp"):
            pairs = [(f"second_order.{part}.{k}", v, so.get(part, {}).get(k)) for k, v in new["second_order"][part].items()]
            problems += compare_pairs(pairs)
    if new["attrs"] != old.get("attrs") or new["tolerance"] != old.get("tolerance") or new["op"] != old.get("op"):
        problems.append("op, attrs or tolerance differ from the file's")
    return problems


def compare_pairs(pairs):
    problems = []
    for where, got, want in pairs:
        if want is None:
            problems.append(f"{where}: not in the file")
            continue
        if got["shape"] != want["shape"]:
            problems.append(f"{where}: shape {got['shape']}, the file has {want['shape']}")
            continue
        scale = 1.0 + max((abs(v) for v in want["data"]), default=0.0)
        worst = max((abs(a - b) for a, b in zip(got["data"], want["data"])), default=0.0)
        if worst > ROUNDING * scale:
            problems.append(f"{where}: differs by {worst:.3g} (allowed {ROUNDING * scale:.3g})")
    return problems


def write_atomically(path, obj):
    text = json.dumps(obj, separators=(",", ":")) + "\n"
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp) as f:  # verified before it replaces anything
            if json.load(f) != json.loads(text):
                raise OSError(f"{tmp} does not read back as written")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help="case names (default: all)")
    parser.add_argument("--dir", default=DEFAULT_DIR, help="the case folder (default: tests/golden/cases)")
    parser.add_argument("--check", action="store_true", help="compare with the files in DIR, write nothing")
    parser.add_argument("--fresh", action="store_true", help="draw inputs anew even where DIR has the case")
    args = parser.parse_args()

    by_name = {c.name: c for c in CASES}
    unknown = [n for n in args.cases if n not in by_name]
    if unknown:
        parser.error("no case named " + ", ".join(unknown) + " (known: " + ", ".join(by_name) + ")")
    if not os.path.isdir(args.dir):
        parser.error(f"--dir {args.dir} is not a folder")
    if args.check and args.fresh:
        parser.error("--check compares the files' own inputs; it cannot be combined with --fresh")
    chosen = [by_name[n] for n in args.cases] if args.cases else CASES

    results, failures, skipped, reproduced = [], 0, 0, 0
    for case in chosen:  # everything is computed and checked before anything is written
        path = os.path.join(args.dir, case.name + ".json")
        old = None
        if os.path.exists(path):
            with open(path) as f:
                old = json.load(f)
        elif args.check:
            # Every case has a line in CASES, but a folder may hold some of them only (one op's
            # evaluator still to come); a case named on the command line must be there.
            print(f"{case.name}: no file {path}" + (" to check" if args.cases else ", not checked"))
            failures += bool(args.cases)
            skipped += 1
            continue
        new = compute(case, old, args.fresh)
        if args.check:
            problems = differences(new, old)
            for p in problems:
                print(f"{case.name}: {p}")
            print(f"{case.name}: {'reproduced' if not problems else 'DIFFERS'}")
            failures += bool(problems)
            reproduced += not problems
        results.append((path, new))
    if args.check:
        print(f"{reproduced} of {len(chosen) - (0 if args.cases else skipped)} cases in {args.dir} reproduced within float64 rounding")
        return 1 if failures else 0
    for path, new in results:
        write_atomically(path, new)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError, KeyError) as e:
        print(f"generate.py: {e}", file=sys.stderr)
        sys.exit(1)
