#!/bin/sh
# Write injection files with N rows for load runs:
#   <dir>/users_<N>.csv         w<10000+i>;<20000+i>   (watcher;number)
#   <dir>/presentities_<N>.csv  <20000+i>              (number)
# for i = 1..N. Usage: sh gen-csv.sh [N=1000] [dir=.]
set -eu
n=${1:-1000}
dir=${2:-.}
awk -v n="$n" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= n; i++) printf "w%d;%d\n", 10000 + i, 20000 + i }' > "$dir/users_$n.csv"
awk -v n="$n" 'BEGIN { print "SEQUENTIAL"; for (i = 1; i <= n; i++) printf "%d\n", 20000 + i }' > "$dir/presentities_$n.csv"
echo "$dir/users_$n.csv $dir/presentities_$n.csv"
