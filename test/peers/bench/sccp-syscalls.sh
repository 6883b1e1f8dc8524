#!/bin/sh
# Syscalls per SCCP registration: `cmed serve` with an office of N phones
# (cmed-load genconfig, no BLF) is traced with strace -c -f while
# cmed-load registers and provisions every phone, then disconnects. Prints
# strace's summary and one line:
#   registrations=<n> syscalls=<total> per_registration=<x>
# Usage: sh test/peers/bench/sccp-syscalls.sh [N=1000]
# Environment: WORK (default a new mktemp -d), CMED and CMED_LOAD
# (binaries; default built from this checkout), SCCP_PORT (default 12000).
# Needs strace (Debian package strace). Bounded: cmed-load's own timeouts;
# the daemon and strace are stopped by PID.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
n=${1:-1000}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
port=${SCCP_PORT:-12000}
command -v strace > /dev/null || { echo "sccp-syscalls.sh: strace not installed" >&2; exit 1; }
cmed=${CMED:-} load=${CMED_LOAD:-}
if [ -z "$cmed" ] || [ -z "$load" ]; then
	(cd "$root" && go build -o "$work/cmed" ./cmd/cmed && go build -o "$work/cmed-load" ./cmd/cmed-load)
	cmed=${cmed:-$work/cmed} load=${load:-$work/cmed-load}
fi
"$load" genconfig -n "$n" -m 0 2> /dev/null | sed "s/port 2000\$/port $port/" > "$work/reg.cfg"
rm -rf "$work/state" && mkdir -p "$work/state"
"$cmed" serve --config "$work/reg.cfg" --state-dir "$work/state" --log-level error > "$work/cmed.log" 2>&1 &
D=$!
S=
trap 'kill $S $D 2> /dev/null; wait 2> /dev/null' EXIT INT TERM
sleep 2
strace -c -f -p "$D" -o "$work/strace.txt" 2> /dev/null &
S=$!
sleep 1
"$load" register --office gen -n "$n" -m 0 -c 100 --addr "127.0.0.1:$port" > "$work/register.txt" 2>&1 || true
sleep 1
kill -INT "$S"
wait "$S" 2> /dev/null || true
S=
grep -E "registered=" "$work/register.txt"
cat "$work/strace.txt"
awk -v n="$n" '$NF == "total" { printf "registrations=%d syscalls=%d per_registration=%.1f\n", n, $4, $4 / n }' "$work/strace.txt"
