#!/usr/bin/env bash
# Builds oneTBB's libtbb under ThreadSanitizer into PREFIX (once; nothing to do when it is there).
#
#   tests/tsan/build_onetbb.sh PREFIX
#
# Why: Debian's libtbb12 is not instrumented, so ThreadSanitizer cannot see the synchronization by
# which it hands a task to another thread, and reports every hand-over as a data race (hundreds per
# run, in seqgrad's code and in oneTBB's headers alike). oneTBB's own advice is to build it with
# the sanitizer (its CMake option TBB_SANITIZE; see tests/tsan/README.md). The source is the Debian
# source package of the installed version (apt-get source, through a private sources list, so the
# machine's apt setup is left alone), so the headers seqgrad compiles against match the library.
set -euo pipefail
prefix=$(realpath -m "${1:?usage: build_onetbb.sh PREFIX}")
if [ -f "$prefix/lib/cmake/TBB/TBBConfig.cmake" ]; then exit 0; fi
version=$(dpkg-query -W -f='${source:Version}' libtbb-dev)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
printf 'deb-src http://deb.debian.org/debian bookworm main\ndeb-src http://deb.debian.org/debian-security bookworm-security main\n' \
  >"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache")  # all of apt's state in $work: no root needed, the machine's apt untouched
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq "onetbb=$version")
tar -xf "$work"/onetbb_*.orig.tar.* -C "$work"
src=$(find "$work" -maxdepth 1 -type d -name 'oneTBB*' -o -maxdepth 1 -type d -name 'onetbb*' | head -1)
# libtbb alone (seqgrad uses neither tbbmalloc nor tbbbind), with the compiler of $CXX (that of the
# TSan build: scripts/test.sh sets clang's); TBB_STRICT off: g++ 12 warns that ThreadSanitizer does
# not support atomic_thread_fence, and TBB_STRICT makes warnings errors.
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DTBB_SANITIZE=thread -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF -DTBBMALLOC_BUILD=OFF \
  -DTBB_DISABLE_HWLOC_AUTOMATIC_SEARCH=ON ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
cmake --build "$work/build" -j "$(nproc)"
cmake --install "$work/build" >/dev/null
echo "build_onetbb: libtbb $version under ThreadSanitizer in $prefix"
