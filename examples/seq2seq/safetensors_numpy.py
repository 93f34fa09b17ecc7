"""Reads a safetensors file with numpy alone: the fallback when the `safetensors` package cannot be
installed (`pip install safetensors` gives safetensors.numpy.load_file and safetensors.torch.load_file).

    from safetensors_numpy import read_safetensors
    tensors, metadata = read_safetensors("model.safetensors")   # {name: numpy array}, {key: str}
    state_dict = {name: torch.from_numpy(a.copy()) for name, a in tensors.items()}

The format: 8 bytes, N, the header's length as an unsigned little-endian integer; N bytes of JSON
mapping each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (and "__metadata__"
to a map of strings); then the data region, each tensor row-major and little-endian at [begin, end)
from the region's first byte.
"""
import json
import struct

import numpy as np

# The format's dtype tags as numpy dtypes (little-endian).
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


def read_safetensors(path):
    """Returns ({name: read-only numpy array}, {metadata key: value}); raises ValueError naming the
    file when its structure is not the format's."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, fewer than the 8 of the header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(data)} bytes)")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    region = memoryview(data)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if entry.get("dtype") not in DTYPES:
            raise ValueError(f"{path}: tensor {name}: unknown dtype {entry.get('dtype')!r}")
        dtype = np.dtype(DTYPES[entry["dtype"]])
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * dtype.itemsize or not 0 <= begin <= end <= len(region):
            raise ValueError(f"{path}: tensor {name}: {entry['dtype']} {list(shape)} does not fit its "
                             f"data_offsets [{begin}, {end}] (data region of {len(region)} bytes)")
        tensors[name] = np.frombuffer(region, dtype=dtype, count=count, offset=begin).reshape(shape)
    return tensors, metadata
