#!/usr/bin/env bash
# run_in_process_group leaves nothing running: not when the command ends and leaves a background
# process behind, not when the launcher itself is killed (SIGKILL, as CTest does on a timeout),
# and a SIGTERM reaches the command's trap. The command's exit status comes back.
# Usage: process_group_test.sh LAUNCHER WORK_DIR
set -uo pipefail
launcher=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "process_group_test: $*" >&2; exit 1; }
# A zombie still answers kill -0: alive means a /proc entry whose state is not Z.
alive() { [ -e "/proc/$1" ] && ! grep -qE '^[0-9]+ \(.*\) Z' "/proc/$1/stat" 2> /dev/null; }
wait_for_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; fail "$1 never appeared"; }
gone_soon() { for _ in $(seq 50); do alive "$1" || return 0; sleep 0.1; done; kill -KILL "$1"; return 1; }

"$launcher" bash -c 'exit 3'
[ $? -eq 3 ] || fail "the command's exit status did not come back"

# The command ends, its background process would live on.
"$launcher" bash -c 'sleep 600 & echo $! > left.pid' || fail "the launcher failed"
wait_for_file left.pid
gone_soon "$(cat left.pid)" || fail "a background process outlived its command"

# signal_launcher SIGNAL COMMAND PIDFILE: runs COMMAND under the launcher, waits until COMMAND has
# written PIDFILE, sends SIGNAL to the launcher and waits for it to end.
signal_launcher() {
  "$launcher" bash -c "$2" &
  local launcher_pid=$!
  wait_for_file "$3"
  kill "-$1" "$launcher_pid"
  wait "$launcher_pid" 2> /dev/null
}

# The launcher is killed while the command and its background process run.
signal_launcher KILL 'sleep 600 & echo $! > orphan.pid; wait' orphan.pid
gone_soon "$(cat orphan.pid)" || fail "a process outlived its killed launcher"

# SIGTERM to the launcher reaches the command, whose trap runs.
signal_launcher TERM 'trap "echo trapped > trap.txt; exit 0" TERM; echo $$ > command.pid; while :; do sleep 0.1; done' command.pid
[ "$(cat trap.txt 2> /dev/null)" = trapped ] || fail "SIGTERM did not reach the command's trap"
echo "process_group_test: ok"
