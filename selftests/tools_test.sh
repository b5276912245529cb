#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools_test.sh: the bpftrace tools in tools/ compile and count a real workload right (make check runs this in each guest).
# run-tests: timeout=600
#
# bpftrace compiles and attaches slowly under TCG (tens of seconds per
# tool), hence the long limit; tools/test-tools.sh does the work and prints KTAP.
exec "$(dirname "$0")/../tools/test-tools.sh" -k 3 -t 250
