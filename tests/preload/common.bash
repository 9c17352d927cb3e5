# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# common.bash - sourced by tests/preload/*.sh (not a test itself: run.sh
# runs only *.sh).  Each test runs a real program twice, plainly and under
# LD_PRELOAD=BUILD_DIR/libhakmem.so HAKMEM_STATS=1, and requires the same
# stdout from both, a zero exit status from both, and hakmem's `hakmem:`
# stats line on the preloaded run's stderr (proof that hakmem served it).
#
# Exit status of a test: 0 pass, 1 fail, 77 skip, always with a reason line.
# PRELOAD_TIMEOUT (seconds, default 120) bounds each run of a program.

T_PASS=0
T_FAIL=1
T_SKIP=77

# pl_pass/pl_fail/pl_skip REASON... - print "NAME: RESULT: reason" and exit.
pl_pass() { echo "$PL_NAME: PASS: $*"; exit "$T_PASS"; }
pl_fail() { echo "$PL_NAME: FAIL: $*" >&2; exit "$T_FAIL"; }
pl_skip() { echo "$PL_NAME: SKIP: $*"; exit "$T_SKIP"; }

# pl_init NAME BUILD_DIR - check the library, make $PL_TMP (removed at exit).
# Sets PL_NAME, PL_BUILD, PL_LIB.
pl_init() {
	PL_NAME=$1
	PL_BUILD=${2:-}
	[ -n "$PL_BUILD" ] || pl_fail "usage: $PL_NAME.sh BUILD_DIR"
	[ -f "$PL_BUILD/libhakmem.so" ] ||
		pl_fail "$PL_BUILD/libhakmem.so not built"
	PL_LIB=$(cd "$PL_BUILD" && pwd)/libhakmem.so
	# A sanitizer runtime must come first in the process; it cannot be
	# preloaded into an ordinary program behind hakmem.
	if command -v ldd >/dev/null &&
		ldd "$PL_LIB" 2>/dev/null | grep -Eq 'lib(a|t|hwa|m)san\.so'; then
		pl_skip "$PL_LIB links a sanitizer runtime; not preloadable"
	fi
	PL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-$PL_NAME.XXXXXX") ||
		pl_fail "mktemp failed"
	trap 'rm -rf "$PL_TMP"' EXIT
}

# pl_timeout CMD... - run CMD under timeout(1) when there is one.
pl_timeout() {
	if command -v timeout >/dev/null; then
		timeout -k 10 "${PRELOAD_TIMEOUT:-120}" "$@"
	else
		"$@"
	fi
}

# pl_compare LABEL [VAR=VALUE...] -- CMD... - run CMD plainly (with
# LD_PRELOAD=$PL_GLIBC_PRELOAD when that is set) and under hakmem (each with
# the given extra environment), compare stdout, check the stats line.
# Fails the test on any difference.
pl_compare() {
	local label=$1 envs=() plain pre rc base=(-u LD_PRELOAD)
	shift
	[ -n "$PL_GLIBC_PRELOAD" ] && base=(LD_PRELOAD="$PL_GLIBC_PRELOAD")
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	plain=$PL_TMP/$label.plain
	pre=$PL_TMP/$label.hakmem

	rc=0
	pl_timeout env "${base[@]}" ${envs[@]+"${envs[@]}"} "$@" \
		>"$plain.out" 2>"$plain.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		head -n 20 "$plain.err" >&2
		pl_fail "$label: exit status $rc without hakmem (test bug?)"
	fi

	rc=0
	pl_timeout env ${envs[@]+"${envs[@]}"} LD_PRELOAD="$PL_LIB" \
		HAKMEM_STATS=1 "$@" >"$pre.out" 2>"$pre.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		head -n 20 "$pre.err" >&2
		[ "$rc" -eq 124 ] && pl_fail "$label: timed out under hakmem"
		pl_fail "$label: exit status $rc under hakmem"
	fi
	if ! cmp -s "$plain.out" "$pre.out"; then
		diff -u "$plain.out" "$pre.out" | head -n 20 >&2 || true
		pl_fail "$label: output differs under hakmem"
	fi
	if ! grep -q '^hakmem:' "$pre.err"; then
		head -n 20 "$pre.err" >&2
		pl_fail "$label: no 'hakmem:' stats line; hakmem did not serve it"
	fi
	echo "$PL_NAME: $label: same output ($(wc -c <"$pre.out") bytes)," \
		"$(grep -c '^hakmem:' "$pre.err") hakmem stats line(s)"
}

# pl_need PKG... - Debian packages the test needs.  Missing ones are
# installed with apt-get when running as root; otherwise the test is
# skipped, naming them.  (.ci/run installs them all up front.)  On a system
# without dpkg this checks nothing: the caller tests for its commands.
pl_need() {
	local p missing=()

	command -v dpkg-query >/dev/null || return 0
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		pl_skip "needs the packages ${missing[*]} (not root: install them)"
	fi
	echo "$PL_NAME: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		{ apt-get update -q && apt-get install -y -q \
			--no-install-recommends "${missing[@]}"; }; } \
		>"$PL_TMP/apt.log" 2>&1; then
		tail -n 5 "$PL_TMP/apt.log"
		pl_skip "could not install ${missing[*]}"
	fi
}

# The three allocators pl_figures compares.  PL_GLIBC_PRELOAD: what the
# "glibc" run preloads (empty: nothing; redis-server links jemalloc, so its
# test sets the C library itself here).
PL_MIMALLOC=${PL_MIMALLOC:-/usr/lib/x86_64-linux-gnu/libmimalloc.so.2}
PL_GLIBC_PRELOAD=${PL_GLIBC_PRELOAD:-}

# pl_mib KB - "123.4 MiB"
pl_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# pl_measure OUT PRELOAD [VAR=VALUE...] -- CMD... - run CMD once with
# LD_PRELOAD=PRELOAD (none if empty) and no HAKMEM_STATS; stdout to
# OUT.out, "SECONDS MAXRSS_KB RC" to OUT.fig.  Peak RSS is that of the
# largest process CMD waited for (getrusage), from /usr/bin/time or, without
# it, not known ("?").
pl_measure() {
	local out=$1 lib=$2 envs=() start rc=0 pre=(-u LD_PRELOAD) secs kb
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	[ -n "$lib" ] && pre=(LD_PRELOAD="$lib")
	start=$EPOCHREALTIME
	if [ -x /usr/bin/time ]; then
		pl_timeout /usr/bin/time -f '%e %M' -o "$out.time" \
			env -u HAKMEM_STATS "${pre[@]}" ${envs[@]+"${envs[@]}"} \
			"$@" >"$out.out" 2>"$out.err" || rc=$?
		# time(1) writes "Command exited with non-zero status N" first
		read -r secs kb < <(tail -n 1 "$out.time")
	else
		pl_timeout env -u HAKMEM_STATS "${pre[@]}" \
			${envs[@]+"${envs[@]}"} "$@" >"$out.out" 2>"$out.err" ||
			rc=$?
		secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" \
			'BEGIN { printf "%.2f", b - a }')
		kb='?'
	fi
	echo "$secs $kb $rc" >"$out.fig"
}

# pl_figures LABEL [VAR=VALUE...] -- CMD... - with PRELOAD_FIGURES=1 (make
# test-preload sets it), run CMD once each under glibc, hakmem (without
# HAKMEM_STATS, whose counting slows every call) and mimalloc, and print
# wall time and peak RSS side by side; also appended, tab-separated, to
# $PRELOAD_FIGURES_FILE when set.  A run that fails or prints other output
# than the glibc run is marked, not failed: pl_compare is the test.
pl_figures() {
	local label=$1 line row a lib secs kb rc note
	shift
	[ "${PRELOAD_FIGURES:-0}" = 1 ] || return 0
	line="$PL_NAME: figures: $label:"
	row="$PL_NAME/$label"
	for a in glibc hakmem mimalloc; do
		case $a in
		glibc) lib=$PL_GLIBC_PRELOAD ;;
		hakmem) lib=$PL_LIB ;;
		mimalloc)
			lib=$PL_MIMALLOC
			if [ ! -f "$lib" ]; then
				line="$line  mimalloc (not installed)"
				row="$row	-	-"
				continue
			fi
			;;
		esac
		pl_measure "$PL_TMP/fig.$a" "$lib" "$@"
		read -r secs kb rc <"$PL_TMP/fig.$a.fig"
		note=''
		if [ "$rc" != 0 ]; then
			note=" (exit $rc)"
		elif [ "$a" != glibc ] &&
			! cmp -s "$PL_TMP/fig.glibc.out" "$PL_TMP/fig.$a.out"; then
			note=' (output differs)'
		fi
		[ "$kb" = '?' ] || kb=$(pl_mib "$kb")
		line="$line  $a ${secs}s $kb$note"
		row="$row	${secs}s$note	$kb"
	done
	echo "$line"
	[ -z "${PRELOAD_FIGURES_FILE:-}" ] || echo "$row" >>"$PRELOAD_FIGURES_FILE"
}

# pl_compilers - "CC=... CXX=..." that built $PL_BUILD (the first two words
# of its .cflags stamp), for a make of this tree that must use the same
# compilers; nothing if there is no stamp.
pl_compilers() {
	local cc cxx rest
	[ -f "$PL_BUILD/.cflags" ] || return 0
	read -r cc cxx rest <"$PL_BUILD/.cflags" || true
	[ -n "$cc" ] && [ -n "$cxx" ] && echo "CC=$cc CXX=$cxx"
	return 0
}
