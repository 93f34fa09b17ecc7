#!/usr/bin/env python3
"""Reads a safetensors file knowing only the format (json, struct and numpy; no seqgrad, no torch).

  read_safetensors.py FILE                       lists every tensor (name, dtype, shape) and the metadata
  read_safetensors.py FILE EXPECTED.json [--same-names-as OTHER.safetensors]
      checks FILE against EXPECTED, a dump written by seqgrad's test:
        {"metadata": {key: value}, "tensors": {name: {"dtype": "F32", "shape": [...], "values": [...]}}}
      every name (no more, no fewer), dtype, shape and value (exactly) and the metadata; with
      --same-names-as also that FILE holds the same names, dtypes and shapes as OTHER (e.g. the file
      PyTorch wrote from the same modules' state_dict).
Exits 0 when all holds; otherwise prints every difference and exits 1 (2 for usage errors).

The format: 8 bytes, N as unsigned little-endian; N bytes of a JSON object mapping each name to
{"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__" of strings); then
the data region, each tensor row-major little-endian at [begin, end) from the region's start.
"""
import json
import struct
import sys

try:
    import numpy as np
except ImportError:
    print("read_safetensors.py needs numpy: run scripts/setup.sh (it installs Debian's python3-numpy)",
          file=sys.stderr)
    sys.exit(1)

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


class FormatError(Exception):
    pass


def read(path):
    """Returns ({name: numpy array}, metadata), checking the file's structure on the way."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError(f"{path}: {len(data)} bytes, fewer than the 8 of the header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise FormatError(f"{path}: header length {n} runs past the end ({len(data)} bytes)")
    raw_header = data[8:8 + n]
    if not raw_header.startswith(b"{"):
        raise FormatError(f"{path}: the header does not begin with '{{'")
    header = json.loads(raw_header.decode("utf-8"))
    if not isinstance(header, dict):
        raise FormatError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise FormatError(f"{path}: __metadata__ is not a map of strings")
    region = data[8 + n:]
    tensors, spans = {}, []
    for name, entry in header.items():
        if set(entry) != {"dtype", "shape", "data_offsets"}:
            raise FormatError(f"{path}: {name}: fields {sorted(entry)}")
        dtype = np.dtype(DTYPES[entry["dtype"]])
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != count * dtype.itemsize or not 0 <= begin <= end <= len(region):
            raise FormatError(f"{path}: {name}: {entry['dtype']} {list(shape)} does not fit [{begin}, {end}]")
        tensors[name] = np.frombuffer(region, dtype=dtype, count=count, offset=begin).reshape(shape)
        spans.append((begin, end, name))
    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            raise FormatError(f"{path}: {name} begins at {begin}, the data before it ends at {covered}")
        covered = end
    if covered != len(region):
        raise FormatError(f"{path}: the tensors cover {covered} of the data region's {len(region)} bytes")
    return tensors, metadata


def check(path, expected_path, same_names_as):
    tensors, metadata = read(path)
    with open(expected_path) as f:
        expected = json.load(f)
    problems = []
    want = expected["tensors"]
    for name in sorted(set(want) - set(tensors)):
        problems.append(f"missing: {name}")
    for name in sorted(set(tensors) - set(want)):
        problems.append(f"unexpected: {name}")
    for name in sorted(set(want) & set(tensors)):
        w, got = want[name], tensors[name]
        dtype = np.dtype(DTYPES[w["dtype"]])
        if got.dtype != dtype:
            problems.append(f"{name}: dtype {got.dtype}, expected {dtype}")
        elif list(got.shape) != w["shape"]:
            problems.append(f"{name}: shape {list(got.shape)}, expected {w['shape']}")
        else:
            values = np.array(w["values"], dtype=dtype).reshape(w["shape"])
            if not np.array_equal(got, values):
                bad = np.flatnonzero(got.reshape(-1) != values.reshape(-1))
                problems.append(f"{name}: {len(bad)} values differ, the first at element {bad[0]}: "
                                f"{got.reshape(-1)[bad[0]]!r}, expected {values.reshape(-1)[bad[0]]!r}")
    if metadata != expected["metadata"]:
        problems.append(f"metadata {metadata}, expected {expected['metadata']}")
    if same_names_as:
        other, _ = read(same_names_as)
        for name in sorted(set(other) | set(tensors)):
            if name not in tensors:
                problems.append(f"{same_names_as} has {name}, {path} does not")
            elif name not in other:
                problems.append(f"{path} has {name}, {same_names_as} does not")
            elif (other[name].dtype, other[name].shape) != (tensors[name].dtype, tensors[name].shape):
                problems.append(f"{name}: {tensors[name].dtype} {list(tensors[name].shape)} here, "
                                f"{other[name].dtype} {list(other[name].shape)} in {same_names_as}")
    for p in problems:
        print(p)
    print(f"{path}: {len(tensors)} tensors, {sum(t.size for t in tensors.values())} values, "
          f"{len(metadata)} metadata entries: {'OK' if not problems else f'{len(problems)} problems'}")
    return not problems


def main(argv):
    args = argv[1:]
    same_names_as = None
    if "--same-names-as" in args:
        i = args.index("--same-names-as")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        same_names_as = args[i + 1]
        del args[i:i + 2]
    if len(args) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if len(args) == 1:
            tensors, metadata = read(args[0])
            for name, t in sorted(tensors.items()):
                print(f"{name}\t{t.dtype}\t{list(t.shape)}")
            print(f"__metadata__\t{metadata}")
            return 0
        return 0 if check(args[0], args[1], same_names_as) else 1
    except (FormatError, KeyError, ValueError, OSError) as e:
        print(f"error: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
