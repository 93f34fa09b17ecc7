#!/usr/bin/env python3
"""Checks that no library includes a header of a library above it.

Every source and header under a library's folder may include seqgrad headers of its own layer and
of the layers it is allowed to use, nothing else. The table below is the architecture: one line per
library, as README.md's folder table and each library's CMakeLists.txt describe it.

  check_layers.py ROOT      exit 0 when every #include "seqgrad/..." of ROOT's libraries is allowed;
                            otherwise exit 1 after one line per offending include (file:line: why)
"""
import pathlib
import re
import sys

# library -> (its folder, the libraries it may include, itself first)
LAYERS = {
    "graph": ("graph", ["graph"]),
    "ops": ("ops", ["ops", "graph"]),
    "autodiff": ("autodiff", ["autodiff", "graph"]),
    "nn": ("nn", ["nn", "autodiff", "ops", "graph"]),
    "seq2seq": ("nn/seq2seq", ["seq2seq", "nn", "autodiff", "ops", "graph"]),
    "pictures": ("nn/pictures", ["pictures", "graph"]),
    "distributed": ("nn/distributed", ["distributed", "nn", "autodiff", "ops", "graph"]),
}

# include path prefix -> the library that owns it (longest prefix wins)
OWNERS = [
    ("seqgrad/nn/seq2seq/", "seq2seq"),
    ("seqgrad/pictures/", "pictures"),
    ("seqgrad/distributed/", "distributed"),
    ("seqgrad/graph/", "graph"),
    ("seqgrad/ops/", "ops"),
    ("seqgrad/autodiff/", "autodiff"),
    ("seqgrad/nn/", "nn"),
    ("seqgrad/seqgrad.hpp", "nn"),  # the umbrella header of the core and the layers
]

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"](seqgrad/[^>"]+)[>"]')


def owner(path):
    for prefix, library in OWNERS:
        if path.startswith(prefix):
            return library
    return None


def library_of(file, root):
    """The innermost library whose folder holds `file`."""
    rel = file.relative_to(root).as_posix()
    best = None
    for name, (folder, _) in LAYERS.items():
        if rel.startswith(folder + "/") and (best is None or len(folder) > len(LAYERS[best][0])):
            best = name
    return best


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = pathlib.Path(argv[1]).resolve()
    if not root.is_dir():
        print(f"check_layers: {root} is not a folder", file=sys.stderr)
        return 2
    problems, checked = [], 0
    for file in sorted(root.rglob("*")):
        if file.suffix not in (".hpp", ".cpp", ".h") or not file.is_file():
            continue
        library = library_of(file, root)
        if library is None:
            continue
        allowed = LAYERS[library][1]
        for number, line in enumerate(file.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            checked += 1
            target = owner(m.group(1))
            where = f"{file.relative_to(root)}:{number}"
            if target is None:
                problems.append(f"{where}: {m.group(1)} belongs to no known library")
            elif target not in allowed:
                problems.append(f"{where}: {library} includes {m.group(1)} of {target}, a layer it may not use")
    for p in problems:
        print(p)
    if checked == 0:
        print(f"check_layers: no seqgrad #include found under {root}", file=sys.stderr)
        return 1
    print(f"check_layers: {checked} includes checked, {len(problems)} not allowed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
