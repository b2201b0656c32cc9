#!/bin/bash
# wrapper.sh HELPER REAL [ARGS...] - a wrapper in the manner of a pyenv
# shim: it runs helper processes (cat, $(...) subshells, a pipeline, a small
# C program that leaks) to decide what to run, then execs the real program.
set -euo pipefail
helper=$1
real=$2
shift 2
version=$(cat /proc/sys/kernel/ostype)        # a helper in a subshell
name=$(basename "$real")                      # another subshell
lines=$( (echo "$version"; echo "$name") | wc -l )
[ "$lines" = 2 ] || exit 90
"$helper" helper >/dev/null                   # a C helper that leaks
cat /dev/null
exec "$real" "$@"
