#!/bin/sh
# Side by side: Kamailio (../kamailio, the presence anchor) and `cmed serve`
# in one run on this machine, so that the ratio of their CPU per operation
# is measured under the same conditions. Absolute numbers belong to this
# machine only; the ratio is the result.
#   1. NOTIFY fan-out (fanout.sh): W sipp watchers over P numbers while the
#      numbers change state R times a second for S seconds; Kamailio takes
#      the changes as PUBLISH (with -A SINGLE_DIALOG: one dialog element per
#      NOTIFY, as cmed sends), cmed as SCCP off-hook/on-hook from cmed-load.
#      CPU per NOTIFY sent, the change's own input included on both sides.
#   2. SUBSCRIBE lifecycles (subscribe.sh: SUBSCRIBE, 200, NOTIFY, 200,
#      SUBSCRIBE Expires: 0, 200, NOTIFY terminated, 200) at the same rates,
#      the two servers alternating.
#
# Usage: sh test/peers/bench/peers.sh [rates="600 1200"] [seconds=10]
# (`make bench-peers`). Output lines:
#   server=<kamailio|cmed> fanout watchers=W numbers=P changes=R/s ... cpu_ms_per_notify=<ms>
#   ratio fanout kamailio/cmed cpu_ms_per_notify=<x>
#   server=<kamailio|cmed> rate=<n>/s ok=<n> failed=<n> cpu=<s> cpu_ms_per_lifecycle=<ms> rss=<MiB>
#   ratio rate=<n>/s kamailio/cmed cpu_ms_per_lifecycle=<x>
# FANOUT="W P R S" (default "300 30 100 10"; W at most 375, the trunk
# watchers' share of cmed's max-subscription 500) or FANOUT=none.
# Kamailio's CPU is its main process and workers; its RSS is left out
# (its shared memory is counted in every worker). cmed's CPU is its one
# process.
#
# Environment: WORK (scratch directory, default a new mktemp -d), CMED and
# CMED_LOAD (binaries; default built from this checkout into WORK),
# KAM_PORT (UDP, default 25070; 25071 is its digest port), CMED_PORT (UDP
# and TCP, default 25062), SIPP_PORT (sipp's local port, default 25090),
# KAM_MALLOC (Kamailio's memory manager for -x/-X, default tlsf when the
# binary has it; "default" keeps Kamailio's own), SCCP_PORT (cmed's SCCP,
# default 25000).
# Bounded: each sipp run by its call count and timeouts (subscribe.sh),
# the servers are stopped by PID on exit.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rates=${1:-"600 1200"} secs=${2:-10}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
kam_port=${KAM_PORT:-25070} cmed_port=${CMED_PORT:-25062} sccp_port=${SCCP_PORT:-25000}
fanout=${FANOUT:-300 30 100 10}
export PORT=${SIPP_PORT:-25090}
for t in sipp kamailio; do
	command -v $t > /dev/null || { echo "peers.sh: $t not installed (README Requirements)" >&2; exit 1; }
done
cmed=${CMED:-} load=${CMED_LOAD:-}
if [ -z "$cmed" ] || [ -z "$load" ]; then
	(cd "$root" && go build -o "$work/cmed" ./cmd/cmed && go build -o "$work/cmed-load" ./cmd/cmed-load)
	cmed=${cmed:-$work/cmed} load=${load:-$work/cmed-load}
fi

malloc=${KAM_MALLOC:-}
if [ -z "$malloc" ] && kamailio -v 2>/dev/null | grep -q TLSF_MALLOC; then
	malloc=tlsf
fi
kam_args="-A QUIET -A SINGLE_DIALOG"
[ -n "$malloc" ] && [ "$malloc" != default ] && kam_args="$kam_args -x $malloc -X $malloc"

# cmed's office holds the numbers subscribe.sh watches (users_1000.csv:
# 20001-21000), each `allow watch`, and lets any watcher subscribe.
"$load" genconfig -n 1000 -m 0 --base 20001 2> /dev/null |
	sed -e "s/port 2000\$/port $sccp_port/" -e 's/^ max-subscription .*/ max-subscription 500/' -e '/^end$/d' > "$work/cmed.cfg"
printf 'voice register global\n mode cme\n source-address 127.0.0.1 port %s\nsip-ua\n presence enable\nend\n' \
	"$cmed_port" >> "$work/cmed.cfg"

K= D=
cleanup() {
	[ -n "$K" ] && kill "$K" 2> /dev/null
	[ -n "$D" ] && kill "$D" 2> /dev/null
	wait 2> /dev/null
}
trap cleanup EXIT INT TERM

KAM_DIR=$work/kam KAM_OPEN_PORT=$kam_port KAM_AUTH_PORT=$((kam_port + 1)) \
	sh "$here/../kamailio/run.sh" $kam_args > "$work/kamailio.log" 2>&1 &
K=$!
mkdir -p "$work/cmed-state"
"$cmed" serve --config "$work/cmed.cfg" --state-dir "$work/cmed-state" --log-level error > "$work/cmed.log" 2>&1 &
D=$!
sleep 3
kill -0 "$K" 2> /dev/null || { echo "peers.sh: kamailio did not start, see $work/kamailio.log" >&2; exit 1; }
kill -0 "$D" 2> /dev/null || { echo "peers.sh: cmed did not start, see $work/cmed.log" >&2; exit 1; }

echo "machine: $(nproc) CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kamailio: $(kamailio -v 2>/dev/null | head -1 | cut -d' ' -f2-3), memory manager ${malloc:-default}; cmed: $("$cmed" version 2>/dev/null | head -1)"

# run <server> <pids> <host:port> <rate>: one subscribe.sh run, one line.
run() {
	mkdir -p "$work/$1-$4"
	out=$(WORK=$work/$1-$4 PIDS=$2 sh "$here/subscribe.sh" "$3" "$4" $(($4 * secs)) "$1")
	ok=$(echo "$out" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
	failed=$(echo "$out" | sed -n 's/.* failed=\([0-9]*\).*/\1/p')
	cpu=$(echo "$out" | sed -n 's/.* server_cpu=\([0-9.]*\)s.*/\1/p')
	rss=-
	[ "$1" = cmed ] && rss=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$D/status")
	ms=$(awk -v c="${cpu:-0}" -v n="${ok:-0}" 'BEGIN { if (n > 0) printf "%.3f", 1000 * c / n; else print "-" }')
	echo "server=$1 rate=$4/s ok=${ok:-?} failed=${failed:-?} cpu=${cpu:-?}s cpu_ms_per_lifecycle=$ms rss=${rss}MiB"
	eval "ms_$1_$4=$ms"
}

# fan <server> <pids> <host:port>: one fanout.sh run, one line.
fan() {
	mkdir -p "$work/fan-$1"
	if [ "$1" = cmed ]; then
		out=$(WORK=$work/fan-$1 PIDS=$2 SOURCE=sccp CMED_LOAD=$load SCCP_ADDR=127.0.0.1:$sccp_port BASE=20001 \
			SIPP_WATCH_PORT=$PORT SIPP_PUB_PORT=$((PORT + 1)) sh "$here/fanout.sh" "$3" $fanout "$1")
	else
		out=$(WORK=$work/fan-$1 PIDS=$2 SIPP_WATCH_PORT=$PORT SIPP_PUB_PORT=$((PORT + 1)) sh "$here/fanout.sh" "$3" $fanout "$1")
	fi
	ms=$(echo "$out" | sed -n 's/.* cpu_ms_per_notify=\([0-9.]*\).*/\1/p')
	echo "server=$1 fanout $(echo "$out" | sed -e 's/publishes_ok=/changes_ok=/' -e 's/presentities=/numbers=/' -e 's/publish_rate=/changes=/')"
	eval "fan_$1=\${ms:-}"
}

if [ "$fanout" != none ]; then
	fan kamailio "$K $(pgrep -P "$K" | tr '\n' ' ')" "127.0.0.1:$kam_port"
	fan cmed "$D" "127.0.0.1:$cmed_port"
	awk -v a="$fan_kamailio" -v b="$fan_cmed" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "ratio fanout kamailio/cmed cpu_ms_per_notify=%.2f\n", a / b; else print "ratio fanout not measured" }'
fi

for r in $rates; do
	run kamailio "$K $(pgrep -P "$K" | tr '\n' ' ')" "127.0.0.1:$kam_port" "$r"
	run cmed "$D" "127.0.0.1:$cmed_port" "$r"
	eval "a=\$ms_kamailio_$r b=\$ms_cmed_$r"
	awk -v a="$a" -v b="$b" -v r="$r" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "ratio rate=%s/s kamailio/cmed cpu_ms_per_lifecycle=%.2f\n", r, a / b; else printf "ratio rate=%s/s not measured\n", r }'
done
echo "scratch: $work"
