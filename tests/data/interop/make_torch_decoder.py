#!/usr/bin/env python3
"""Writes torch_decoder.safetensors and torch_decoder.json beside this script: the state_dict of a
torch.nn.TransformerDecoderLayer (post-LN, relu) and of a torch.nn.TransformerDecoder (2 pre-LN layers
with the tanh gelu, a final LayerNorm), and what they computed from one target and memory.
tests/interop/test_torch_decoder.cpp loads the weights into seqgrad's modules of the same names and
must reproduce every output.

  /usr/bin/python3 make_torch_decoder.py            writes the fixture (PyTorch 1.13, Debian's python3-torch)
  /usr/bin/python3 make_torch_decoder.py --check SEQGRAD.safetensors SEQGRAD_OUTPUTS.json
      the other direction, by hand: loads weights seqgrad wrote for the same modules into PyTorch
      (strictly) and compares PyTorch's outputs on the fixture's inputs with the outputs seqgrad computed
      ({name: {shape, data}}).

Only torch and numpy: the safetensors format is written and read here by hand (8-byte header length,
JSON header, raw little-endian data), as the safetensors package does.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "torch_decoder"
D, HEADS, FEEDFORWARD, LAYERS, EPS = 8, 2, 16, 2, 1e-5
B, T, S = 2, 4, 5
TARGET_MASK = [[1, 1, 1, 1], [1, 1, 1, 0]]  # 1 = real, 0 = padding (seqgrad's convention)
MEMORY_MASK = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class Modules(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(D, HEADS, FEEDFORWARD, dropout=0.0, batch_first=True,
                                                norm_first=False, layer_norm_eps=EPS)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(D, HEADS, FEEDFORWARD, dropout=0.0, activation=gelu_tanh, batch_first=True,
                                       norm_first=True, layer_norm_eps=EPS),
            num_layers=LAYERS, norm=nn.LayerNorm(D, eps=EPS))

    def forward(self, x, memory):
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True: may not attend
        masks = dict(tgt_mask=causal, tgt_key_padding_mask=torch.tensor(TARGET_MASK) == 0,
                     memory_key_padding_mask=torch.tensor(MEMORY_MASK) == 0)
        return {"layer": self.layer(x, memory, **masks), "decoder": self.decoder(x, memory, **masks)}


def tensor_json(t):
    return {"shape": list(t.shape), "data": t.detach().double().reshape(-1).tolist()}


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def safetensors_bytes(tensors):
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the data region starts 8-byte aligned, as safetensors pads it
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    region = data[8 + n:]
    out = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(region[begin:end], dtype="<f4").copy()).reshape(entry["shape"])
    return out


def make():
    torch.manual_seed(2026)
    modules = Modules().eval()
    with torch.no_grad():
        # Every parameter its own draw: the decoder's layers start as copies of one, the norms at (1, 0).
        for name, p in modules.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm3.weight") \
                    or name == "decoder.norm.weight":
                p.uniform_(0.5, 1.5)
            else:
                p.uniform_(-0.5, 0.5)
        x, memory = torch.randn(B, T, D), torch.randn(B, S, D)
        outputs = modules(x, memory)
    state = modules.state_dict()
    write_atomically(os.path.join(HERE, NAME + ".safetensors"), safetensors_bytes(state))
    fixture = {
        "about": f"{NAME}.safetensors holds the state_dict of the modules below (PyTorch {torch.__version__} names, "
                 "float32), written by make_torch_decoder.py. With those weights, PyTorch computed the outputs "
                 "listed from `inputs` (eval mode, float32).",
        "modules": {
            "layer": f"TransformerDecoderLayer(d_model={D}, nhead={HEADS}, dim_feedforward={FEEDFORWARD}, dropout=0, "
                     "batch_first=True, norm_first=False, activation=relu)",
            "decoder": f"TransformerDecoder(TransformerDecoderLayer(d_model={D}, nhead={HEADS}, "
                       f"dim_feedforward={FEEDFORWARD}, dropout=0, batch_first=True, norm_first=True, "
                       f"activation=gelu(approximate='tanh')), num_layers={LAYERS}, norm=LayerNorm({D}))"},
        "config": {"d_model": D, "heads": HEADS, "feedforward_dim": FEEDFORWARD, "decoder_layers": LAYERS,
                   "layer_norm_eps": EPS,
                   "layer": {"norm_first": False, "activation": "relu"},
                   "decoder": {"norm_first": True, "activation": "gelu_tanh", "final_norm": True}},
        "computation": ["layer = layer(x, memory), causal, with the padding masks",
                        "decoder = decoder(x, memory), causal, with the padding masks"],
        "inputs": {"x": tensor_json(x), "memory": tensor_json(memory),
                   "target_mask": {"shape": [B, T], "data": sum(TARGET_MASK, [])},
                   "memory_mask": {"shape": [B, S], "data": sum(MEMORY_MASK, [])}, "causal": True},
        "outputs": {name: tensor_json(y) for name, y in outputs.items()},
        "tolerance": TOLERANCE,
    }
    write_atomically(os.path.join(HERE, NAME + ".json"), (json.dumps(fixture, indent=1) + "\n").encode())
    print(f"wrote {NAME}.safetensors ({len(state)} tensors) and {NAME}.json")


def check(weights_path, outputs_path):
    with open(os.path.join(HERE, NAME + ".json")) as f:
        fixture = json.load(f)
    modules = Modules().eval()
    modules.load_state_dict(read_safetensors(weights_path), strict=True)  # any other name or shape throws
    with open(outputs_path) as f:
        want = json.load(f)

    def tensor(j):
        return torch.tensor(j["data"], dtype=torch.float32).reshape(j["shape"])

    with torch.no_grad():
        got = modules(tensor(fixture["inputs"]["x"]), tensor(fixture["inputs"]["memory"]))
    ok = True
    for name, y in got.items():
        w = tensor(want[name]).double()
        err = (y.double() - w).abs().max().item()
        close = torch.allclose(y.double(), w, atol=TOLERANCE["atol"], rtol=TOLERANCE["rtol"])
        print(f"{name}: PyTorch with seqgrad's weights vs seqgrad: max |error| {err:.3g} {'OK' if close else 'FAIL'}")
        ok = ok and close
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 1:
        make()
    elif len(sys.argv) == 4 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
