#!/usr/bin/env python3
"""The seq2seq command's model in PyTorch, built from a file of `seq2seq export`, decoding greedily
exactly as `seq2seq translate --beam 1` does.

    seq2seq export --run RUN --out model.safetensors
    python3 examples/seq2seq/torch_reference.py model.safetensors [--input FILE]   (default: standard input)

One output line per input line. It needs torch and numpy only: the file is read by
safetensors_numpy.read_safetensors (beside this file), not by the `safetensors` package.

The model in PyTorch terms (names are the file's tensor names):
  ids       0 <pad>, 1 <sos>, 2 <eos>, 3 <unk> in both vocabularies; the data's symbols from 4. An input
            symbol the vocabulary lacks is <unk>; <eos> is appended to every source.
  encoder   GRU / LSTM (batch_first, num_layers, bidirectional) over src_embedding; or
            nn.TransformerEncoder (post-LN, or pre-LN with a final `norm`) over src_embedding + positions
            (NOT scaled by sqrt(d)); positions sinusoidal (sin on even, cos on odd columns) or
            src_positions (learned).
  recurrent decoder (GRUCell / LSTMCell "decoder"):
            s_0 = tanh(bridge(summary)) when there is a bridge, else summary, where summary is the top
            layer's final states [forward; backward] (an RNN encoder) or the mean of the states (a
            transformer encoder). An LSTM decoder's c_0 is the encoder's final cell state when the
            encoder is a one-direction LSTM and there is no bridge, else zeros.
            c_t = context(s_{t-1}, states); s_t = cell([embed(y_{t-1}); c_t], s_{t-1});
            logits = output([s_t; c_t]). Contexts: none, mean, dot (s . h), scaled_dot (/ sqrt(d)),
            general (s . W h), additive (v . tanh(W_h h + W_s s + b_s)), multi_head
            (nn.MultiheadAttention with the query s_{t-1}, keys and values memory_proj(states) or states).
  transformer decoder: nn.TransformerDecoder (causal self-attention) over
            tgt_embedding(y) * sqrt(d) + positions; logits = output(y_t), or with tied embeddings
            y_t @ tgt_embedding.weight.T + output_bias. Its memory is memory_proj(states) or states.
  ReLU feed-forward blocks, LayerNorm eps 1e-5; dropout is a training matter (none here).
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_numpy import read_safetensors  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

PAD, SOS, EOS, UNK = 0, 1, 2, 3
EXPORT_VERSION = "1"
ENCODERS = ("gru", "lstm", "transformer")
DECODERS = ("gru", "lstm", "transformer")
CONTEXTS = ("none", "mean", "dot", "scaled_dot", "general", "additive", "multi_head")
POSITIONS = ("sinusoidal", "learned")


class Unsupported(ValueError):
    pass


def sinusoidal_positions(count, d_model, first, dtype):
    """[count, d_model]: sin(pos / 10000^(2i/d)) in column 2i, cos of the same in column 2i + 1."""
    pos = torch.arange(first, first + count, dtype=torch.float64).unsqueeze(1)
    pair = torch.arange(d_model, dtype=torch.float64)
    pair = pair - pair.remainder(2)
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), pair / d_model)
    columns = torch.arange(d_model)
    return torch.where(columns % 2 == 0, torch.sin(angle), torch.cos(angle)).to(dtype)


class AdditiveAttention(nn.Module):
    """Bahdanau: score_t = v . tanh(W_h h_t + W_s s + b_s)."""

    def __init__(self, query_dim, key_dim, attention_dim):
        super().__init__()
        self.W_h = nn.Parameter(torch.empty(attention_dim, key_dim))
        self.W_s = nn.Parameter(torch.empty(attention_dim, query_dim))
        self.b_s = nn.Parameter(torch.empty(attention_dim))
        self.v = nn.Parameter(torch.empty(attention_dim))

    def scores(self, query, states):  # [B, H], [B, T, De] -> [B, T]
        keys = states @ self.W_h.T
        return torch.tanh(keys + (query @ self.W_s.T + self.b_s).unsqueeze(1)) @ self.v


class GeneralAttention(nn.Module):
    """Luong general: score_t = s . (W h_t), W [H, De]."""

    def __init__(self, query_dim, key_dim):
        super().__init__()
        self.W = nn.Parameter(torch.empty(query_dim, key_dim))

    def scores(self, query, states):
        return ((states @ self.W.T) @ query.unsqueeze(-1)).squeeze(-1)


class Seq2SeqReference(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = self.config = config
        for key, known in (("encoder", ENCODERS), ("decoder", DECODERS), ("context", CONTEXTS), ("positions", POSITIONS)):
            if c.get(key, known[0]) not in known:
                raise Unsupported(f"model {key} {c[key]!r} is not one this reference builds ({', '.join(known)})")
        if c["pad_id"] != PAD:
            raise Unsupported(f"model pad_id {c['pad_id']} (this reference knows pad_id {PAD})")
        if c["dtype"] not in ("f32", "f64"):
            raise Unsupported(f"model dtype {c['dtype']!r} (f32 or f64)")
        H, E = c["hidden_dim"], c["embedding_dim"]
        self.transformer_encoder = c["encoder"] == "transformer"
        self.transformer_decoder = c["decoder"] == "transformer"
        self.learned_positions = c.get("positions", "sinusoidal") == "learned"
        norm_first = c.get("norm_first", False)

        def stack_norm():  # pre-LN stacks end with a LayerNorm named "norm"
            return nn.LayerNorm(H, eps=1e-5) if norm_first else None

        self.src_embedding = nn.Embedding(c["src_vocab"], H if self.transformer_encoder else E, padding_idx=PAD)
        if self.transformer_encoder:
            if self.learned_positions:
                self.src_positions = nn.Embedding(c["max_positions"], H)
            layer = nn.TransformerEncoderLayer(H, c["heads"], c["feedforward_dim"], dropout=0.0, activation="relu",
                                               layer_norm_eps=1e-5, batch_first=True, norm_first=norm_first)
            self.encoder = nn.TransformerEncoder(layer, c["encoder_layers"], norm=stack_norm(), enable_nested_tensor=False)
            encoder_dim = H
        else:
            rnn = nn.GRU if c["encoder"] == "gru" else nn.LSTM
            self.encoder = rnn(E, H, num_layers=c["encoder_layers"], batch_first=True, bidirectional=c["bidirectional"])
            encoder_dim = 2 * H if c["bidirectional"] else H
        self.memory_proj = None
        self.bridge = None

        if self.transformer_decoder:
            if encoder_dim != H:
                self.memory_proj = nn.Linear(encoder_dim, H)
            self.tgt_embedding = nn.Embedding(c["tgt_vocab"], H, padding_idx=PAD)
            if self.learned_positions:
                self.tgt_positions = nn.Embedding(c["max_positions"], H)
            layer = nn.TransformerDecoderLayer(H, c["heads"], c["feedforward_dim"], dropout=0.0, activation="relu",
                                               layer_norm_eps=1e-5, batch_first=True, norm_first=norm_first)
            self.decoder = nn.TransformerDecoder(layer, c["decoder_layers"], norm=stack_norm())
            if c.get("tie_embeddings", False):
                self.output_bias = nn.Parameter(torch.empty(c["tgt_vocab"]))
                self.output = None
            else:
                self.output = nn.Linear(H, c["tgt_vocab"])
            return

        if c.get("tie_embeddings", False) or c.get("decoder_layers", 1) != 1:
            raise Unsupported("tie_embeddings and decoder_layers > 1 are the transformer decoder's")
        if self.transformer_encoder or encoder_dim != H:
            self.bridge = nn.Linear(encoder_dim, H)
        context = c["context"]
        if context in ("dot", "scaled_dot") and encoder_dim != H:
            raise Unsupported(f"{context} attention over encoder states of size {encoder_dim} for a decoder of size {H}")
        if context == "general":
            self.attention = GeneralAttention(H, encoder_dim)
        elif context == "additive":
            self.attention = AdditiveAttention(H, encoder_dim, c["attention_dim"])
        elif context == "multi_head":
            if encoder_dim != H:
                self.memory_proj = nn.Linear(encoder_dim, H)
            self.attention = nn.MultiheadAttention(H, c["heads"], batch_first=True)
        context_dim = {"none": 0, "multi_head": H}.get(context, encoder_dim)
        self.tgt_embedding = nn.Embedding(c["tgt_vocab"], E, padding_idx=PAD)
        cell = nn.GRUCell if c["decoder"] == "gru" else nn.LSTMCell
        self.decoder = cell(E + context_dim, H)
        self.output = nn.Linear(H + context_dim, c["tgt_vocab"])

    def positions(self, table, first, count, dtype):
        if not self.learned_positions:
            return sinusoidal_positions(count, self.config["hidden_dim"], first, dtype)
        if first + count > self.config["max_positions"]:
            raise ValueError(f"position {first + count - 1} is beyond the {self.config['max_positions']} learned positions")
        return table(torch.arange(first, first + count))

    def encode(self, src):
        """src int64 [1, T] (ending with <eos>) -> a dict of what the decoder reads."""
        c, H = self.config, self.config["hidden_dim"]
        x = self.src_embedding(src)
        out = {}
        summary = final_cell = None
        if self.transformer_encoder:
            x = x + self.positions(getattr(self, "src_positions", None), 0, src.shape[1], x.dtype)
            states = self.encoder(x)
            summary = states.mean(1)
        else:
            if c["encoder"] == "lstm":
                states, (h_n, c_n) = self.encoder(x)
            else:
                states, h_n = self.encoder(x)
                c_n = None
            dirs = 2 if c["bidirectional"] else 1
            top = (c["encoder_layers"] - 1) * dirs
            summary = h_n[top:top + dirs].permute(1, 0, 2).reshape(src.shape[0], dirs * H)  # [forward; backward]
            if c_n is not None and dirs == 1:
                final_cell = c_n[top]
        out["states"] = states
        out["memory"] = self.memory_proj(states) if self.memory_proj is not None else states
        if self.transformer_decoder:
            return out
        out["h"] = torch.tanh(self.bridge(summary)) if self.bridge is not None else summary
        if c["decoder"] == "lstm":
            out["c"] = final_cell if final_cell is not None and self.bridge is None else torch.zeros_like(out["h"])
        return out

    def context(self, source, h):
        kind, states = self.config["context"], source["states"]
        if kind == "none":
            return None
        if kind == "mean":
            return states.mean(1)
        if kind == "multi_head":
            memory = source["memory"]
            return self.attention(h.unsqueeze(1), memory, memory, need_weights=False)[0].squeeze(1)
        if kind in ("dot", "scaled_dot"):
            scores = (states @ h.unsqueeze(-1)).squeeze(-1)
            if kind == "scaled_dot":
                scores = scores / math.sqrt(states.shape[2])
        else:
            scores = self.attention.scores(h, states)
        weights = torch.softmax(scores, -1)  # [B, T]
        return (weights.unsqueeze(1) @ states).squeeze(1)

    def recurrent_step(self, source, prev, state):
        emb = self.tgt_embedding(prev)
        ctx = self.context(source, state["h"])
        cell_input = emb if ctx is None else torch.cat([emb, ctx], 1)
        if self.config["decoder"] == "gru":
            state = {"h": self.decoder(cell_input, state["h"])}
        else:
            h, c = self.decoder(cell_input, (state["h"], state["c"]))
            state = {"h": h, "c": c}
        features = state["h"] if ctx is None else torch.cat([state["h"], ctx], 1)
        return self.output(features), state

    def transformer_step(self, source, prefix):
        """The logits of the last position of prefix [1, t] (every position run again, causally)."""
        H = self.config["hidden_dim"]
        y = self.tgt_embedding(prefix) * math.sqrt(H)
        y = y + self.positions(getattr(self, "tgt_positions", None), 0, prefix.shape[1], y.dtype)
        t = prefix.shape[1]
        causal = torch.triu(torch.full((t, t), float("-inf"), dtype=y.dtype), diagonal=1)
        y = self.decoder(y, source["memory"], tgt_mask=causal)[:, -1]
        if self.output is not None:
            return self.output(y)
        return y @ self.tgt_embedding.weight.T + self.output_bias

    @torch.no_grad()
    def greedy(self, source_ids, max_length):
        """Token ids (without <eos>) of the greedy output for source ids (<eos> is appended here)."""
        src = torch.tensor([list(source_ids) + [EOS]], dtype=torch.int64)
        source = self.encode(src)
        state = {k: source[k] for k in ("h", "c") if k in source}
        tokens, prev = [], torch.tensor([SOS])
        prefix = prev.unsqueeze(0)
        while len(tokens) < max_length:
            if self.transformer_decoder:
                logits = self.transformer_step(source, prefix)
            else:
                logits, state = self.recurrent_step(source, prev, state)
            best = int(torch.log_softmax(logits, -1).argmax(-1)[0])
            if best == EOS:
                break
            tokens.append(best)
            prev = torch.tensor([best])
            prefix = torch.cat([prefix, prev.unsqueeze(0)], 1)
        return tokens


class Translator:
    """The exported file as translate uses it: vocabularies, tokenization, model, output limit."""

    def __init__(self, path):
        tensors, meta = read_safetensors(path)
        if meta.get("seq2seq.export") != EXPORT_VERSION:
            raise Unsupported(f"{path}: not a `seq2seq export` file of version {EXPORT_VERSION} "
                              f"(its seq2seq.export is {meta.get('seq2seq.export')!r})")
        self.config = json.loads(meta["model"])
        self.source_symbols = json.loads(meta["source_vocab"])["symbols"]
        self.target_symbols = json.loads(meta["target_vocab"])["symbols"]
        self.source_ids = {s: i for i, s in enumerate(self.source_symbols)}
        for key in ("source_tokens", "target_tokens"):
            if meta[key] not in ("whitespace", "characters"):
                raise Unsupported(f"{path}: {key} {meta[key]!r} (whitespace or characters)")
        self.source_chars = meta["source_tokens"] == "characters"
        self.target_chars = meta["target_tokens"] == "characters"
        self.max_length = int(meta["max_output_length"])
        dtype = torch.float64 if self.config["dtype"] == "f64" else torch.float32
        self.model = Seq2SeqReference(self.config).to(dtype)
        state = {name: torch.from_numpy(a.copy()) for name, a in tensors.items()}
        self.model.load_state_dict(state, strict=True)
        self.model.eval()

    def tokenize(self, line):
        """The symbols of a line (bytes), or None when it is not valid UTF-8."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return list(text) if self.source_chars else [s for s in text.split(" ") if s]

    def translate(self, line):
        symbols = self.tokenize(line)
        if not symbols:
            return ""  # translate writes an empty line for an empty or invalid input
        ids = [self.source_ids.get(s, UNK) for s in symbols]
        out = [self.target_symbols[i] for i in self.model.greedy(ids, self.max_length) if i not in (PAD, SOS)]
        return ("" if self.target_chars else " ").join(out)


def lines_of(data):
    """Lines as translate reads them: split at '\\n', a final '\\r' dropped, no line after the last '\\n'."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a file of `seq2seq export`")
    parser.add_argument("--input", default="-", help="source lines ('-': standard input)")
    args = parser.parse_args(argv[1:])
    try:
        translator = Translator(args.model)
        data = sys.stdin.buffer.read() if args.input == "-" else open(args.input, "rb").read()
    except (Unsupported, OSError, KeyError, ValueError, RuntimeError) as e:
        print(f"torch_reference.py: {e}", file=sys.stderr)
        return 1
    torch.set_num_threads(1)  # one line at a time: matrices this small gain nothing from threads
    out = sys.stdout.buffer
    for line in lines_of(data):
        out.write(translator.translate(line).encode("utf-8") + b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
