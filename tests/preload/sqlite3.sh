#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sqlite3.sh - Debian's sqlite3 shell running tests/preload/sqlite.sql
# (200000 rows, indexes, joins, aggregates, window functions, big sorts,
# update, delete, VACUUM) under LD_PRELOAD=libhakmem.so, once in memory and
# once on a file with a 64 MiB page cache: same stdout as without, and
# hakmem's stats line on stderr.  (Debian's libsqlite3 sizes its
# allocations with malloc_usable_size, so that is exercised too.)
#
#   tests/preload/sqlite3.sh BUILD_DIR    exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init sqlite3 "${1:-}"
pl_need sqlite3
command -v sqlite3 >/dev/null || pl_skip "no sqlite3"
sql=$(cd "$(dirname "$0")" && pwd)/sqlite.sql

pl_compare memory -- sqlite3 -batch -bail :memory: ".read $sql"
# on a file: a fresh database for each run
db=$PL_TMP/test.db
# shellcheck disable=SC2016
pl_compare file DB="$db" SQL="$sql" -- \
	bash -c 'rm -f "$DB"; sqlite3 -batch -bail "$DB" ".read $SQL"; exit $?'
pl_figures memory -- sqlite3 -batch -bail :memory: ".read $sql"
pl_pass "sqlite3 gives the same output under hakmem"
