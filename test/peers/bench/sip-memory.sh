#!/bin/sh
# SIP memory under SUBSCRIBE load: for each rate, a fresh `cmed serve`
# (cmed-load genconfig office plus a SIP section) runs SECS seconds of
# `cmed-load subscribe` lifecycles at that rate; the daemon's RSS is read
# from /proc at the end of the run (after at least Timer J, 32 s, the
# finished-transaction state has reached its steady size, RFC 3261
# §17.2.2). Prints one line per rate and the ratio of the last to the first:
#   rate=<r> rss_mib=<x> lifecycles ok=<n> failed=<n> ... daemon_rss=<x> peak=<y>
#   rss_ratio=<last/first>
# Usage: sh test/peers/bench/sip-memory.sh ["300 3000"] [SECS=60]
# Environment: WORK (default a new mktemp -d), CMED and CMED_LOAD
# (binaries; default built from this checkout), SIP_PORT (default 5062).
# Needs sipp (Debian package sip-tester). Bounded by cmed-load's --calls;
# each daemon is stopped by PID.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rates=${1:-300 3000}
secs=${2:-60}
work=${WORK:-$(mktemp -d)}
port=${SIP_PORT:-5062}
mkdir -p "$work"
command -v sipp > /dev/null || { echo "sip-memory.sh: sipp not installed" >&2; exit 1; }
cmed=${CMED:-} load=${CMED_LOAD:-}
if [ -z "$cmed" ] || [ -z "$load" ]; then
	(cd "$root" && go build -o "$work/cmed" ./cmd/cmed && go build -o "$work/cmed-load" ./cmd/cmed-load)
	cmed=${cmed:-$work/cmed} load=${load:-$work/cmed-load}
fi
"$load" genconfig -n 50 -m 10 2> /dev/null | sed '/^end$/d' > "$work/sip.cfg"
printf 'voice register global\n mode cme\n source-address 127.0.0.1 port %s\nsip-ua\n presence enable\nend\n' "$port" >> "$work/sip.cfg"
D=
trap '[ -z "$D" ] || kill "$D" 2> /dev/null; wait 2> /dev/null' EXIT INT TERM
first= last=
for r in $rates; do
	rm -rf "$work/state" && mkdir -p "$work/state"
	"$cmed" serve --config "$work/sip.cfg" --state-dir "$work/state" --log-level error > "$work/cmed-$r.log" 2>&1 &
	D=$!
	sleep 2
	calls=$(awk -v r="$r" -v s="$secs" 'BEGIN { printf "%d", r * s }')
	"$load" subscribe --office gen -n 50 --sip "127.0.0.1:$port" --sub-rate "$r" --calls "$calls" --pid "$D" > "$work/load-$r.txt" 2>&1 || true
	rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$D/status")
	kill "$D"
	wait "$D" 2> /dev/null || true
	D=
	summary=$(grep -E "^lifecycles ok=|^daemon_rss=" "$work/load-$r.txt" | tr '\n' ' ')
	echo "rate=$r rss_mib=$rss $summary"
	[ -n "$first" ] || first=$rss
	last=$rss
done
awk -v a="$first" -v b="$last" 'BEGIN { printf "rss_ratio=%.2f (last rate / first rate)\n", b / a }'
