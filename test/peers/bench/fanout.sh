#!/bin/sh
# Load: fan-out of state changes to many watchers on a presence server that
# takes line state by PUBLISH (the Kamailio of ../kamailio). W watchers,
# spread evenly over P numbers, hold dialog subscriptions
# (../sipp/subscribe_dialog.xml, sipp -aa answers every NOTIFY) while a
# publisher (../sipp/publish_dialog.xml) sends R PUBLISH/s for S seconds.
# Each PUBLISH should reach W/P watchers. One result line:
#   watchers=W presentities=P publish_rate=R/s secs=S publishes_ok=<n>
#   watch_ok=<n> watch_failed=<n> notifies_answered=<n>
#   publish_phase_wall=<s> server_cpu=<s>
#
# Usage: sh fanout.sh <host:port> [W=1000] [P=100] [R=200] [S=10] [process=kamailio]
# Environment: WORK (default a new mktemp -d). sipp uses local ports 5090
# (watchers) and 5091 (publisher). Everything is bounded by -m, -timeout
# and outer timeouts.
set -u
[ $# -ge 1 ] || { echo "usage: sh fanout.sh <host:port> [W] [P] [R] [S] [process]" >&2; exit 2; }
target=$1 w=${2:-1000} p=${3:-100} r=${4:-200} s=${5:-10} proc=${6:-kamailio}
here=$(cd "$(dirname "$0")" && pwd)
sippdir=$here/../sipp
work=${WORK:-$(mktemp -d)}
cd "$work" || exit 1
rm -f subscribe_dialog_*_.csv publish_dialog_*_.csv

awk -v w="$w" -v p="$p" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= w; i++) printf "w%d;%d\n", 10000 + i, 20001 + i % p }' > fan_watchers.csv
awk -v p="$p" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= p; i++) printf "%d\n", 20000 + i }' > fan_numbers.csv

ticks() {
	n=0
	for q in $(pgrep -x "$proc"); do
		n=$((n + $(awk '{ print $14 + $15 }' "/proc/$q/stat" 2>/dev/null || echo 0)))
	done
	echo "$n"
}
column() { # column <sipp statistics file> <header name>: last row's value
	awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { v = $c } END { print v }' "$1"
}

# Watchers subscribe at 250/s and hold until the publisher is done.
hold=$((w / 250 + s + 15))
timeout $((hold + 60)) sipp "$target" -sf "$sippdir/subscribe_dialog.xml" -inf fan_watchers.csv \
	-key sexp 600 -d $((hold * 1000)) -aa -r 250 -m "$w" -l $((w + 100)) -timeout $((hold + 40))s \
	-p 5090 -nostdin -trace_err -trace_stat -fd 1 > fan_watchers.out 2>&1 &
watchers=$!
sleep $((w / 250 + 2))
c0=$(ticks) t0=$(date +%s.%N)
timeout $((s + 30)) sipp "$target" -sf "$sippdir/publish_dialog.xml" -inf fan_numbers.csv \
	-key dstate confirmed -key pexp 3600 -m $((r * s)) -r "$r" -l 1000 -timeout $((s + 20))s \
	-p 5091 -nostdin -trace_err -trace_stat -fd 1 > fan_publisher.out 2>&1
t1=$(date +%s.%N) c1=$(ticks)
wait "$watchers"

wstat=$(ls subscribe_dialog_*_.csv | head -1)
pstat=$(ls publish_dialog_*_.csv | head -1)
echo "watchers=$w presentities=$p publish_rate=$r/s secs=$s publishes_ok=$(column "$pstat" 'SuccessfulCall(C)')" \
	"watch_ok=$(column "$wstat" 'SuccessfulCall(C)') watch_failed=$(column "$wstat" 'FailedCall(C)')" \
	"notifies_answered=$(column "$wstat" 'AutoAnswered(C)')" \
	"publish_phase_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s" \
	"server_cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')s"
