#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# install.sh - tests/install/install.sh (make install, pkg-config, dynamic
# and static linking, make uninstall) run with the preload tests, so that
# tests/run.sh and `make test` run it for every flavour.
#
#   tests/preload/install.sh BUILD_DIR    exit 0 pass, 1 fail, 77 skip
exec bash "$(dirname "$0")/../install/install.sh" "$@"
