#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# selfhost.sh - hakmem builds itself on itself: a fresh `make O=TMP
# FLAVOUR=release lib tests` of this source tree with make, the shell, gcc,
# cc1, as and ld all under LD_PRELOAD=BUILD_DIR/libhakmem.so (HAKMEM_STATS=1:
# every one of them must print hakmem's stats line), then
#   - every object file must be byte-identical to the one the glibc-built
#     release tree next to BUILD_DIR has (when its flags are the same and
#     the object is not older than its sources), and
#   - the self-built library's tests run: every TMP/release/tests/**/*.t
#     (with --smoke unless SELFHOST_FULL=1; a test that fails --smoke
#     gets one full-length run, which decides), then tests/preload/cxx.sh and
#     dlopen.sh with the self-built libhakmem.so.
# With PRELOAD_FIGURES=1 and SELFHOST_FULL=1 it also times a fresh `make
# lib tests` under glibc, hakmem and mimalloc.  `make self-host` sets both.
#
#   tests/preload/selfhost.sh BUILD_DIR   exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init selfhost "${1:-}"
# any sanitizer runtime (UBSan's too): that flavour's checks are for its
# own tests; building a whole tree under it is not what it is for
# (gcc's lib*san.so, clang's libclang_rt.*; ldd's output read whole, no
# grep -q closing the pipe under pipefail)
deps=$(ldd "$PL_LIB" 2>/dev/null || true)
if [[ $deps =~ san\.so|libclang_rt\. ]]; then
	pl_skip "$PL_LIB links a sanitizer runtime"
fi
for t in make gcc g++ ar; do
	command -v "$t" >/dev/null || pl_skip "no $t"
done
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
[ -f "$src/Makefile" ] || pl_skip "no Makefile in $src"
out=$PL_TMP/o
jobs=$(nproc 2>/dev/null || echo 2)
# a make above us (make test, make self-host) must not pass its O= or
# FLAVOUR= or jobserver down to this build
# the compilers that built BUILD_DIR (gcc or clang)
read -r -a compilers < <(pl_compilers) || true
mk=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -C "$src"
	--no-print-directory -j"$jobs" FLAVOUR=release
	${compilers[@]+"${compilers[@]}"})

# 1. the build, every process on hakmem
start=$EPOCHREALTIME
rc=0
pl_timeout env LD_PRELOAD="$PL_LIB" HAKMEM_STATS=1 "${mk[@]}" O="$out" \
	lib tests >"$PL_TMP/build.out" 2>"$PL_TMP/build.err" || rc=$?
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
if [ "$rc" -ne 0 ]; then
	grep -v '^hakmem\|^  \|^ *class' "$PL_TMP/build.err" | tail -n 20 >&2
	pl_fail "the build under hakmem failed: exit $rc"
fi
objs=$(find "$out/release" -name '*.o' | wc -l)
progs=$(grep -c '^hakmem: mapped=' "$PL_TMP/build.err" || true)
echo "$PL_NAME: built $objs objects and $(find "$out/release" -name '*.t' | wc -l)" \
	"tests in ${secs}s under hakmem; $progs processes printed its stats line"
[ "$progs" -ge "$objs" ] ||
	pl_fail "only $progs stats lines for $objs objects: hakmem did not serve the build"

# 2. the same objects as glibc's build, where there is one to compare with
ref=$(dirname "$PL_BUILD")/release
if [ -f "$ref/.cflags" ] && cmp -s "$ref/.cflags" "$out/release/.cflags"; then
	same=0 stale=0 differ=()
	while IFS= read -r o; do
		rel=${o#"$out/release/"}
		r=$ref/$rel
		if [ -f "$r" ] && cmp -s "$o" "$r"; then
			same=$((same + 1))
			continue
		fi
		# a reference object older than its sources proves nothing
		d=${r%.o}.d
		if [ ! -f "$r" ] || { [ -f "$d" ] && [ -n "$(cd "$src" &&
			sed -e 's/\\$//' -e 's/^[^:]*://' "$d" | tr ' ' '\n' |
			grep -v '^$' | sort -u | while read -r dep; do
				[ -f "$dep" ] && [ "$dep" -nt "$r" ] && echo "$dep"
			done)" ]; }; then
			stale=$((stale + 1))
		else
			differ+=("$rel")
		fi
	done < <(find "$out/release/obj" -name '*.o' | sort)
	echo "$PL_NAME: $same objects byte-identical to those of $ref (built on glibc)" \
		"($stale not comparable: sources newer)"
	[ ${#differ[@]} -eq 0 ] ||
		pl_fail "objects built under hakmem differ: ${differ[*]}"
else
	echo "$PL_NAME: no release tree with the same flags at $ref: objects not compared"
fi

# 3. the self-built library's own tests
args=(--smoke)
[ "${SELFHOST_FULL:-0}" = 1 ] && args=()
n=0
while IFS= read -r t; do
	rc=0
	pl_timeout "$t" ${args[@]+"${args[@]}"} >"$PL_TMP/t.out" 2>&1 </dev/null ||
		rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ ${#args[@]} -gt 0 ]; then
		# a --smoke run checks its bounds on fewer iterations, and some
		# are noisier for it: one full-length run decides
		echo "$PL_NAME: ${t#"$out/release/tests/"} failed --smoke" \
			"(exit $rc: $(grep -m1 -i 'fail' "$PL_TMP/t.out" || true));" \
			"running it at full length"
		rc=0
		pl_timeout "$t" >"$PL_TMP/t.out" 2>&1 </dev/null || rc=$?
	fi
	case $rc in
	0 | 77) n=$((n + 1)) ;;
	*)
		tail -n 20 "$PL_TMP/t.out" >&2
		pl_fail "self-built ${t#"$out/release/tests/"}: exit $rc"
		;;
	esac
done < <(find "$out/release/tests" -name '*.t' -perm -u+x | sort)
echo "$PL_NAME: $n self-built tests passed${args[*]:+ (${args[*]})}"
for s in cxx dlopen; do
	rc=0
	env -u PRELOAD_FIGURES -u PRELOAD_FIGURES_FILE bash "$here/$s.sh" \
		"$out/release" >"$PL_TMP/s.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$PL_TMP/s.out" >&2; pl_fail "$s.sh on the self-built library: exit $rc"; }
	echo "$PL_NAME: $(tail -n 1 "$PL_TMP/s.out")"
done

# 4. what the build costs under each allocator (fresh `make lib tests`):
# only for `make self-host`, it would double this test's time
if [ "${SELFHOST_FULL:-0}" = 1 ]; then
	# shellcheck disable=SC2016
	pl_figures make_lib_tests O="$PL_TMP/fig" -- bash -c \
		'rm -rf "$O" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$0" -j"$1" O="$O" "${@:2}" lib tests >/dev/null; exit $?' \
		"$src" "$jobs" ${compilers[@]+"${compilers[@]}"}
fi
pl_pass "hakmem builds itself under hakmem, and the result passes its tests"
