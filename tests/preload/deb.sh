#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deb.sh - tests/install/deb.sh (make deb, apt-get install of the
# packages, LD_PRELOAD=libhakmem.so.0 and pkg-config, apt-get purge) run
# with the preload tests, so that tests/run.sh and `make test` run it (for
# the release flavour; the others skip it).
#
#   tests/preload/deb.sh BUILD_DIR    exit 0 pass, 1 fail, 77 skip
exec bash "$(dirname "$0")/../install/deb.sh" "$@"
