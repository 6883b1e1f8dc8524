#!/bin/sh
# Start the test presence server (presence.cfg next to this script) in the
# foreground; kamailio replaces this shell, so the PID printed by `$!` (or
# held by a test) is kamailio's main process. Stop it with kill <PID>.
#
# Environment:
#   KAM_DIR        work directory for the db_text tables (default: a fresh
#                  mktemp -d directory, printed on stderr)
#   KAM_OPEN_PORT  UDP port without authentication (default 5070)
#   KAM_AUTH_PORT  UDP port with digest authentication (default 5071)
#   KAM_SHM_MB     shared memory in MB (default 512; 128 runs out near
#                  1000 subscriptions/s)
#   KAM_PKG_MB     private memory per process in MB (default 16)
# Extra arguments go to kamailio, e.g. -A QUIET for benchmarks.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${KAM_DIR:-}
if [ -z "$dir" ]; then
	dir=$(mktemp -d)
	echo "kamailio work directory: $dir" >&2
fi
schema=${KAM_DBTEXT_SCHEMA:-/usr/share/kamailio/dbtext/kamailio}
if [ ! -f "$schema/version" ]; then
	echo "db_text schema not found in $schema (Debian package kamailio)" >&2
	exit 1
fi
rm -rf "$dir/db"
mkdir -p "$dir"
cp -r "$schema" "$dir/db"
exec kamailio -f "$here/presence.cfg" -DD -E \
	-m "${KAM_SHM_MB:-512}" -M "${KAM_PKG_MB:-16}" \
	-A "OPEN_PORT=${KAM_OPEN_PORT:-5070}" -A "AUTH_PORT=${KAM_AUTH_PORT:-5071}" \
	-A "DB_URL=\"text://$dir/db\"" "$@"
