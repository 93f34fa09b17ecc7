# Sourced by demo.sh, test.sh, compare.sh and scaling.sh: the configure step and the processor's name they share.

# seqgrad_configure DIR CMAKE_ARGS...: Ninja and ccache when present. The generator can only be
# chosen when DIR is new.
seqgrad_configure() {
  local dir=$1; shift
  local args=()
  if [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then args+=(-G Ninja); fi
  if command -v ccache >/dev/null 2>&1; then
    args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    # Cache hits across checkouts in different folders (a CI clone, a worktree): paths relative to
    # the checkout, and the working directory left out of the hash of -g compilations.
    export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
  fi
  cmake -S . -B "$dir" "${args[@]}" "$@"
}

# The processor, as figures name it: its model name with its CPU family and model numbers (in these
# virtual machines the name alone, "AMD EPYC", does not tell a Zen 4 from a Zen 5).
seqgrad_processor() {
  awk -F': *' '/^model name/ && n == "" { n = $2 } /^cpu family/ && f == "" { f = $2 }
               /^model[ \t]*:/ && m == "" { m = $2 }
               END { printf "%s (family %s model %s)\n", n, f, m }' /proc/cpuinfo
}
