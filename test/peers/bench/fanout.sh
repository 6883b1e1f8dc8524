#!/bin/sh
# Load: fan-out of state changes to many watchers. W watchers, spread
# evenly over P numbers, hold dialog subscriptions
# (../sipp/subscribe_dialog.xml, sipp -aa answers every NOTIFY) while the
# numbers' state changes R times a second for S seconds; each change should
# reach W/P watchers.
#   - A presence server that takes line state by PUBLISH (the Kamailio of
#     ../kamailio): a publisher (../sipp/publish_dialog.xml) sends R
#     PUBLISH/s.
#   - cmed (SOURCE=sccp): the numbers are SCCP lines of `cmed serve`, and
#     `cmed-load blf --office gen -m 0` takes them off hook and back R times
#     a second (one SCCP OffHook or OnHook per change, as PUBLISH is one
#     request per change on the other side).
# One result line:
#   watchers=W presentities=P publish_rate=R/s secs=S publishes_ok=<n>
#   watch_ok=<n> watch_failed=<n> notifies_answered=<n>
#   publish_phase_wall=<s> server_cpu=<s> notifies_due=<changes x W/P>
#   cpu_ms_per_notify=<server_cpu / the smaller of answered and due>
# server_cpu is the server's utime+stime over the change phase only.
#
# Usage: sh fanout.sh <host:port> [W=1000] [P=100] [R=200] [S=10] [process=kamailio]
# Environment: WORK (default a new mktemp -d); PIDS (the server's process
# ids, default every process named <process>); SIPP_WATCH_PORT (default
# 5090) and SIPP_PUB_PORT (5091), sipp's local ports. SOURCE=sccp also needs
# CMED_LOAD (the binary), SCCP_ADDR (cmed's SCCP host:port) and BASE (the
# number of phone 0 in cmed's generated office; the watched numbers are
# BASE .. BASE+P-1, as on the PUBLISH side 20001 .. 20000+P).
# Everything is bounded by -m, -timeout and outer timeouts.
set -u
[ $# -ge 1 ] || { echo "usage: sh fanout.sh <host:port> [W] [P] [R] [S] [process]" >&2; exit 2; }
target=$1 w=${2:-1000} p=${3:-100} r=${4:-200} s=${5:-10} proc=${6:-kamailio}
here=$(cd "$(dirname "$0")" && pwd)
sippdir=$here/../sipp
work=${WORK:-$(mktemp -d)}
source=${SOURCE:-publish} base=${BASE:-20001}
wport=${SIPP_WATCH_PORT:-5090} pport=${SIPP_PUB_PORT:-5091}
cd "$work" || exit 1
rm -f subscribe_dialog_*_.csv publish_dialog_*_.csv

awk -v w="$w" -v p="$p" -v b="$base" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= w; i++) printf "w%d;%d\n", 10000 + i, b + i % p }' > fan_watchers.csv
awk -v p="$p" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= p; i++) printf "%d\n", 20000 + i }' > fan_numbers.csv

ticks() {
	n=0
	for q in ${PIDS:-$(pgrep -x "$proc")}; do
		n=$((n + $(awk '{ print $14 + $15 }' "/proc/$q/stat" 2>/dev/null || echo 0)))
	done
	echo "$n"
}
column() { # column <sipp statistics file> <header name>: last row's value
	awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { v = $c } END { print v }' "$1"
}

# Watchers subscribe at 250/s and hold until the publisher is done. All W
# share one sipp socket, which sipp gives a 64 KiB receive buffer unless
# told otherwise: cmed's fan-outs (W/P NOTIFYs written back to back)
# overflowed it (~700 of 10,000 datagrams dropped, counted by the kernel's
# UDP RcvbufErrors, then retransmitted after T1, BENCHMARKS.md), where a
# peer's stack would have the system default (208 KiB here) or more. The
# watchers get 1 MiB, for both servers.
hold=$((w / 250 + s + 15))
timeout $((hold + 60)) sipp "$target" -sf "$sippdir/subscribe_dialog.xml" -inf fan_watchers.csv \
	-key sexp 600 -d $((hold * 1000)) -aa -r 250 -m "$w" -l $((w + 100)) -timeout $((hold + 40))s -buff_size 1048576 \
	-p "$wport" -nostdin -trace_err -trace_stat -fd 1 > fan_watchers.out 2>&1 &
watchers=$!
sleep $((w / 250 + 2))
c0=$(ticks) t0=$(date +%s.%N)
if [ "$source" = sccp ]; then
	pid=$(echo ${PIDS:-$(pgrep -x "$proc")} | cut -d' ' -f1)
	timeout $((s + 60)) "$CMED_LOAD" blf --office gen -n "$p" -m 0 --base "$base" --addr "$SCCP_ADDR" \
		--rate "$r" -d "${s}s" --pid "$pid" > fan_publisher.out 2>&1
	t1=$(date +%s.%N) c1=$(ticks)
	changes=$(sed -n 's/^line_changes=\([0-9]*\).*/\1/p' fan_publisher.out)
	# cmed-load measures the daemon over the change phase alone (after
	# the P phones registered): "during churn: daemon_cpu=<s>s over ...".
	churn_cpu=$(sed -n '/^during churn:/,$ s/^daemon_cpu=\([0-9.]*\)s.*/\1/p' fan_publisher.out | head -1)
else
	timeout $((s + 30)) sipp "$target" -sf "$sippdir/publish_dialog.xml" -inf fan_numbers.csv \
		-key dstate confirmed -key pexp 3600 -m $((r * s)) -r "$r" -l 1000 -timeout $((s + 20))s \
		-p "$pport" -nostdin -trace_err -trace_stat -fd 1 > fan_publisher.out 2>&1
	t1=$(date +%s.%N) c1=$(ticks)
fi
wait "$watchers"

wstat=$(ls subscribe_dialog_*_.csv | head -1)
if [ "$source" = sccp ]; then
	published=${changes:-0} cpu=${churn_cpu:-0}
else
	pstat=$(ls publish_dialog_*_.csv | head -1)
	published=$(column "$pstat" 'SuccessfulCall(C)')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
fi
answered=$(column "$wstat" 'AutoAnswered(C)')
# The NOTIFYs the changes call for: W/P per change. A server may send fewer
# (cmed coalesces changes that come while a NOTIFY is in flight,
# docs/sip-presence.md §Notify-discipline), so the CPU is divided by the
# smaller of that and the NOTIFYs the watchers answered.
due=$(awk -v c="${published:-0}" -v w="$w" -v p="$p" 'BEGIN { printf "%d", c * w / p }')
sent=$(awk -v a="${answered:-0}" -v d="$due" 'BEGIN { print (a < d ? a : d) }')
echo "watchers=$w presentities=$p publish_rate=$r/s secs=$s publishes_ok=$published" \
	"watch_ok=$(column "$wstat" 'SuccessfulCall(C)') watch_failed=$(column "$wstat" 'FailedCall(C)')" \
	"notifies_answered=$answered" \
	"publish_phase_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s" \
	"server_cpu=${cpu}s" \
	"notifies_due=$due cpu_ms_per_notify=$(awk -v c="$cpu" -v n="$sent" 'BEGIN { if (n > 0) printf "%.4f", 1000 * c / n; else print "-" }')"
