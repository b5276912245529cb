#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools_test.sh: the bpftrace tools in tools/ compile and count a real workload right (make check runs this in each guest).
# run-tests: timeout=600
#
# bpftrace compiles and attaches slowly under TCG (tens of seconds per
# tool), hence the long limit; tools/test-tools.sh does the work and prints KTAP.
#
# On the debug kernel only the compile tests run: there the tools printed the
# workload's hops, but bpftrace took over 250 s to exit after SIGINT (a
# 382 s run that failed only for that), and waiting longer would stretch
# make check-debug by up to 20 minutes for nothing the stock kernels miss.
case $(uname -r) in
*-hopdebug) exec "$(dirname "$0")/../tools/test-tools.sh" -k 3 -t 250 \
	-c "on the debug kernel bpftrace takes over 250 s to exit (selftests/tools_test.sh)" ;;
esac
exec "$(dirname "$0")/../tools/test-tools.sh" -k 3 -t 250
