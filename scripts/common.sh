# Sourced by demo.sh, test.sh and compare.sh: the environment and configure step they share.

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
