#!/bin/sh
# Load: SUBSCRIBE lifecycles (../sipp/subscribe_dialog.xml with no hold) at a
# fixed rate against a notifier on loopback, and one result line:
#   rate=<cps> rc=<sipp exit> ok=<n> failed=<n> retrans=<n> wall=<s>
#   achieved=<lifecycles/s> (<SIP messages/s>) server_cpu=<s> rtt1_avg=<ms>
# Server CPU is the utime+stime of the processes named <process> (pgrep -x),
# so run one notifier at a time, or of the process IDs in PIDS when set
# (bench/peers.sh runs both servers at once).
#
# Usage: sh subscribe.sh <host:port> <rate/s> <calls> [process=kamailio]
# Environment: WORK (directory for sipp's files; default a new mktemp -d),
#   SCEN (scenario, default ../sipp/subscribe_dialog.xml), LIMIT (max open
#   lifecycles, 2000), TMO (sipp -timeout seconds, 60), PORT (sipp's local
#   port, 5090). users_1000.csv is made in WORK when missing.
# Bounded by -m <calls>, sipp's -timeout and an outer timeout.
set -u
[ $# -ge 3 ] || { echo "usage: sh subscribe.sh <host:port> <rate> <calls> [process]" >&2; exit 2; }
target=$1 rate=$2 calls=$3 proc=${4:-kamailio}
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-$(mktemp -d)}
scen=${SCEN:-$here/../sipp/subscribe_dialog.xml}
limit=${LIMIT:-2000} tmo=${TMO:-60} port=${PORT:-5090}
cd "$work" || exit 1
[ -f users_1000.csv ] || sh "$here/../sipp/gen-csv.sh" 1000 . > /dev/null

ticks() { # clock ticks used so far by $PIDS, or every process named $proc
	n=0
	for p in ${PIDS:-$(pgrep -x "$proc")}; do
		n=$((n + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$n"
}

base=$(basename "$scen" .xml)
rm -f "${base}"_*_.csv
c0=$(ticks) t0=$(date +%s.%N)
timeout $((tmo + 20)) sipp "$target" -sf "$scen" -inf users_1000.csv -key sexp 600 -d 0 \
	-r "$rate" -m "$calls" -l "$limit" -timeout "${tmo}s" -p "$port" -nostdin -trace_err \
	-trace_stat -fd 1 > "subscribe_${rate}.out" 2>&1
rc=$?
t1=$(date +%s.%N) c1=$(ticks)
stat=$(ls "${base}"_*_.csv 2>/dev/null | head -1)
[ -n "$stat" ] || { echo "rate=$rate rc=$rc no sipp statistics (see $work/subscribe_${rate}.out)"; exit 1; }
# The statistics file's last row holds the cumulative counters; columns
# are found by their header names.
awk -F';' -v rc="$rc" -v rate="$rate" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$(getconf CLK_TCK)" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{ row = $0 }
END {
	split(row, v, ";")
	ok = v[col["SuccessfulCall(C)"]]; wall = t1 - t0
	printf "rate=%s rc=%s ok=%s failed=%s retrans=%s wall=%.1fs achieved=%.0f lifecycles/s (%.0f SIP msgs/s) server_cpu=%.2fs rtt1_avg=%s\n",
		rate, rc, ok, v[col["FailedCall(C)"]], v[col["Retransmissions(C)"]], wall,
		ok / wall, 8 * ok / wall, (c1 - c0) / hz, v[col["ResponseTime1(C)"]]
}' "$stat"
