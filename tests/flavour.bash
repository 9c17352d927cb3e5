# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # (the hak_* variables are for the sourcing scripts)
#
# flavour.bash - sourced by tests/run.sh, tests/negative/expect.sh and
# ci/flavour-run.sh: how to run the programs of one build flavour, as
# mk/flavours.mk says (not a test itself).
#
# flavour_load BUILD_DIR - source BUILD_DIR/flavour.env, which the build
# writes from mk/flavours.mk (`make -s flavour-env F=<flavour>` prints the
# same), and set:
#   hak_flavour      the flavour's name
#   hak_env          VAR=value words every program runs with
#   hak_runner       the command a program runs under (empty: none)
#   hak_smoke        1: tests and stress tests run with --smoke
#   hak_override     1: libhakmem.so exports malloc (programs preload it);
#                    0: programs link libhakmem.a and call hak_*
#   hak_preloadable  1: libhakmem.so preloads into plain programs
#   hak_report       ERE of the tool's report in stderr (empty: no tool)
#   hak_larson       Larson's arguments but the thread count
#   hak_stress       the stress tests `make <flavour>-run` runs
#   hak_negative     the negative programs whose bug the tool must report
#   hak_want         [program]=ERE its report must match
# Returns 1, with a message, when BUILD_DIR has no flavour.env.

hak_flavour=
hak_env=()
hak_runner=()
hak_smoke=0
hak_override=1
hak_preloadable=1
hak_report=
hak_larson=()
hak_stress=()
hak_negative=()
declare -gA hak_want=()

flavour_load() {
	if [ ! -f "$1/flavour.env" ]; then
		echo "$1/flavour.env missing: build the flavour with make" \
			"(make FLAVOUR=$(basename "$1") lib)" >&2
		return 1
	fi
	# shellcheck source=/dev/null
	. "$1/flavour.env"
}
