# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# redis-work.bash DIR - the workload of tests/preload/redis.sh (not a test
# itself).  Starts redis-server on 127.0.0.1 only, on a free port that is
# not Redis's default, with no persistence and DIR as its directory; the
# server inherits LD_PRELOAD (and HAKMEM_STATS) from this script.  Loads a
# deterministic data set through redis-cli --pipe (strings, lists, hashes,
# sets, sorted sets; then appends, trims, deletes), runs a bounded
# redis-benchmark on database 1, flushes it, reloads the data set from an
# RDB file and prints only deterministic results: command replies and DEBUG
# DIGEST of the data set.  The server is always shut down (SIGKILL if it
# will not go).  With HAKMEM_STATS=1 the server's own stats line must reach
# its stderr: proof that hakmem, not the jemalloc redis links, served it.
set -euo pipefail

dir=$1
pid=
port=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	return 0
}
trap cleanup EXIT

# start SERVER on PORT; 0 when it answers PING, 1 if it died (port taken)
start() {
	port=$1
	redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes \
		--save '' --appendonly no --dir "$dir" --dbfilename dump.rdb \
		--enable-debug-command local --daemonize no \
		--logfile "$dir/server.log" 2>"$dir/server.err" &
	pid=$!
	for _ in $(seq 1 100); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
		kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; pid=; return 1; }
		sleep 0.1
	done
	echo "redis-server on port $port did not answer" >&2
	exit 1
}
for try in 1 2 3 4 5 6 7 8; do
	p=$((20000 + (RANDOM * 7 + $$ + try * 977) % 30000))
	[ "$p" -eq 6379 ] && continue
	start "$p" && break
	[ "$try" -eq 8 ] && { cat "$dir/server.log" >&2; exit 1; }
done
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# 1. the data set, through the pipe (inline commands)
awk 'BEGIN {
	for (i = 0; i < 60000; i++)
		printf "SET key:%d %s\r\n", i, substr("0123456789abcdefghijklmnopqrstuvwxyz", 1 + i % 30, 1 + i % 7) sprintf("%0*d", 1 + (i * 37) % 900, i)
	for (l = 0; l < 40; l++)
		for (i = 0; i < 1500; i++)
			printf "RPUSH list:%d item-%d-%d\r\n", l, l, i * i
	for (h = 0; h < 80; h++)
		for (i = 0; i < 400 + h * 10; i++)
			printf "HSET hash:%d field%d %d%s\r\n", h, i, i * h, (i % 50 == 0) ? sprintf("%0300d", i) : ""
	for (z = 0; z < 20; z++)
		for (i = 0; i < 3000; i++)
			printf "ZADD zset:%d %d member:%d\r\n", z, (i * 7919) % 10007, i
	for (s = 0; s < 30; s++)
		for (i = 0; i < 800; i++)
			printf "SADD set:%d m%d\r\n", s, (i * (s + 3)) % 2000
	for (i = 0; i < 60000; i += 3)
		printf "APPEND key:%d %0*d\r\n", i, 1 + i % 200, i
	for (i = 1; i < 60000; i += 4)
		printf "DEL key:%d\r\n", i
	for (l = 0; l < 40; l += 2)
		printf "LTRIM list:%d %d -%d\r\n", l, l * 10, l * 5 + 1
	for (z = 0; z < 20; z += 3)
		printf "ZREMRANGEBYRANK zset:%d 0 %d\r\n", z, z * 50
	for (h = 0; h < 80; h += 5)
		for (i = 0; i < 200; i += 2)
			printf "HDEL hash:%d field%d\r\n", h, i
}' | cli --pipe

# 2. replies
cli dbsize
cli strlen key:300
cli lrange list:4 0 5
cli llen list:10
cli hlen hash:17
cli hget hash:50 field350
cli zrange zset:3 0 4 withscores
cli zcard zset:9
cli zrangebyscore zset:5 100 200 limit 0 3
cli sunionstore union set:1 set:2 set:3
cli sinterstore inter set:4 set:6
cli sort set:7 alpha limit 0 5
cli sort list:3 by nosort limit 0 3
cli debug digest

# 3. load: bounded request counts, on database 1 only
redis-benchmark -h 127.0.0.1 -p "$port" --dbnum 1 -q -c 20 -P 8 \
	-n 20000 -r 20000 -d 200 \
	-t set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset >/dev/null
cli -n 1 flushdb

# 4. the data set survives a save and reload unchanged
cli debug reload
cli debug digest
cli dbsize

cli shutdown nosave >/dev/null 2>&1 || true
for _ in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	echo "redis-server did not shut down" >&2
	exit 1
fi
rc=0
wait "$pid" || rc=$?
pid=
cat "$dir/server.err" >&2
if [ "$rc" -ne 0 ]; then
	tail -n 20 "$dir/server.log" >&2
	echo "redis-server exit status $rc" >&2
	exit 1
fi
if [ "${HAKMEM_STATS:-0}" = 1 ] && ! grep -q '^hakmem: mapped=' "$dir/server.err"; then
	echo "redis-server printed no hakmem stats line" >&2
	exit 1
fi
